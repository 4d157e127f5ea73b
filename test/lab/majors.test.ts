import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { MajorRange, imageBuildArgs, knownMajors, matrix, parseMajorList, readMatrix, versionFacts } from '../../harness/lab/majors.ts';
import { environmentsDir } from '../../harness/paths.ts';

describe('the version table', () => {
  test('is read from environments/majors.yaml, with the default major of environments/.env', () => {
    expect(knownMajors()).toEqual([15, 17, 18]);
    expect(matrix().defaultMajor).toBe(18);
    expect(matrix().majors.get(15)).toMatchObject({ suite: 'bookworm', patroni: '3.0' });
  });

  test('answers typed questions about a major instead of comparisons of major numbers', () => {
    expect(versionFacts(15).patroni).toMatchObject({ leaderRole: 'master', ttlFloorSeconds: 0, metricsMemberLabel: false });
    expect(versionFacts(17).patroni).toMatchObject({ leaderRole: 'primary', ttlFloorSeconds: 20, replicaState: 'streaming' });
    expect(versionFacts(15).checkpointCounters).toBe('pg_stat_bgwriter');
    expect(versionFacts(18).checkpointCounters).toBe('pg_stat_checkpointer');
    expect(imageBuildArgs(15)).toEqual({ DEBIAN_SUITE: 'bookworm', PG_MAJOR: '15', PG_WALINSPECT: 'yes', CHECKPOINT_COUNTERS: 'pg_stat_bgwriter', PATRONI_PATCHES: 'etcd3-leader-key-create-revision' });
    expect(imageBuildArgs(18).PATRONI_PATCHES).toBe('none');
    // Every patch the table names is an executable script the image build can run.
    for (const major of knownMajors()) {
      for (const name of matrix().majors.get(major)!.patroni_patches) {
        const script = path.join(environmentsDir, 'image', 'patches', `${name}.sh`);
        expect(statSync(script).mode & 0o111, `${script} (named by PostgreSQL ${major}'s patroni_patches) is executable`).not.toBe(0);
      }
    }
  });

  test('a malformed table is refused, naming the file, the entry and what is wrong', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'versions-'));
    const file = path.join(dir, 'majors.yaml');
    const env = path.join(dir, '.env');
    writeFileSync(env, 'PG_MAJOR=19\n');
    writeFileSync(file, 'majors:\n  19:\n    suite: duke\n    postgres: "19"\n    checkpoint_counters: pg_stat_everything\n');
    expect(() => readMatrix(file, env)).toThrow(new RegExp(`${file}: not a valid version table:\\n(.|\\n)*majors\\.19\\.checkpoint_counters: `));
    expect(() => readMatrix(file, env)).toThrow(/majors\.19\.patroni: /);
    writeFileSync(env, 'PG_MAJOR=20\n');
    writeFileSync(file, 'majors: {}\n');
    expect(() => readMatrix(file, env)).toThrow(`${env}: default major 20 is not in ${file}`);
  });

  test('`pg=` ranges select majors', () => {
    const pick = (text: string) => knownMajors().filter((m) => (MajorRange.parse(text) as MajorRange).includes(m));
    expect(pick('15')).toEqual([15]);
    expect(pick('>=17')).toEqual([17, 18]);
    expect(pick('<18')).toEqual([15, 17]);
    expect(pick('15 || 18')).toEqual([15, 18]);
    expect(MajorRange.parse('newest')).toMatch(/expected a PostgreSQL major or range/);
  });

  test('a `patroni=` range selects the majors whose row ships such a Patroni', () => {
    const pick = (text: string) => knownMajors().filter((m) => (MajorRange.forTool('patroni', text) as MajorRange).includes(m));
    expect(pick('<4')).toEqual([15]);
    expect(pick('>=4')).toEqual([17, 18]);
    expect(pick('>=4.1')).toEqual([18]);
    expect((MajorRange.forTool('patroni', '>=4') as MajorRange).describe()).toBe('Patroni >=4');
    expect(MajorRange.forTool('patroni', 'four')).toMatch(/expected a Patroni version or range/);
  });

  test('--pg lists are checked against the table', () => {
    expect(parseMajorList('15,18')).toEqual([15, 18]);
    expect(parseMajorList('all')).toEqual([15, 17, 18]);
    expect(parseMajorList(undefined)).toEqual([18]);
    expect(() => parseMajorList('16')).toThrow('found `16`');
  });
});
