import { describe, expect, test } from 'vitest';
import { composeEnv, composeFile, environmentNames, projectName } from '../../harness/environment/compose.ts';
import { UsageError } from '../../harness/lab/majors.ts';
import { projectKey } from '../../harness/spec/lab.ts';

describe('compose projects of the harness', () => {
  test('names are valid compose project names, unique per run, lab and major', () => {
    expect(projectName(['ws', '20261127-105250', '01', 'pg18'])).toBe('ws-20261127-105250-01-pg18');
    expect(projectName(['WS', 'a b', 'x/y'])).toBe('ws-a-b-x-y');
  });

  test('each lab of a module has its own part of the name, as short as the module\'s number for its first lab', () => {
    expect(projectKey('06-patroni', 'curriculum/06-patroni/lab.md')).toBe('06');
    expect(projectKey('06-patroni-guardrails', 'curriculum/06-patroni/lab-guardrails.md')).toBe('06-guardrails');
    expect(projectKey('06-patroni-partition', 'curriculum/06-patroni/lab-partition.md')).toBe('06-partition');
  });

  test('a terminal gets the project name and the major, so the page\'s own commands reach this run', () => {
    expect(composeEnv({ name: 'ws-1-01-pg15', environment: 'single', major: 15 })).toEqual({ COMPOSE_PROJECT_NAME: 'ws-1-01-pg15', PG_MAJOR: '15' });
  });

  test('an unknown environment is named with the folders that exist', () => {
    expect(() => composeFile('atlantis')).toThrow('Environment `atlantis`: no such environment; expected one of partition, patroni, platform, replication, single');
    expect(() => composeFile('../single')).toThrow(UsageError);
    expect(composeFile('single')).toMatch(/environments\/single\/compose.yaml$/);
  });

  test('the environments are the folders of environments/ with a compose.yaml', () => {
    // image/ and config/ hold no compose.yaml: they are not environments.
    expect(environmentNames()).toEqual(['partition', 'patroni', 'platform', 'replication', 'single']);
  });
});
