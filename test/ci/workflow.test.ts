// The GitHub workflow is checked against the matrix and the CLI, so it cannot drift from them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, test } from 'vitest';
import { knownMajors } from '../../harness/lab/majors.ts';
import { repoRoot } from '../../harness/paths.ts';

interface Step { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { 'runs-on': string; needs?: string | string[]; strategy?: { matrix: Record<string, unknown[]> }; steps: Step[]; 'timeout-minutes'?: number }
interface Workflow { name: string; on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

const file = path.join(repoRoot, '.github', 'workflows', 'verify.yml');
const workflow = YAML.parse(readFileSync(file, 'utf8')) as Workflow;

describe('the verify workflow', () => {
  test('has the shape GitHub Actions requires: a trigger, and jobs whose steps each use or run something', () => {
    expect(workflow.name).toBeTruthy();
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job['runs-on'], `job ${name}`).toMatch(/^ubuntu-/);
      expect(job.steps.length, `job ${name}`).toBeGreaterThan(0);
      for (const step of job.steps) {
        expect(Boolean(step.uses) !== Boolean(step.run), `job ${name}, step ${JSON.stringify(step)}: exactly one of uses/run`).toBe(true);
        if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
      }
    }
  });

  test('runs the labs on exactly the majors of environments/majors.yaml', () => {
    expect(workflow.jobs.verify!.strategy!.matrix.pg).toEqual(knownMajors());
  });

  test('verifies with the CLI per major, keeps reports always and evidence on failure, then cleans up', () => {
    const steps = workflow.jobs.verify!.steps;
    const runs = steps.map((s) => s.run).filter(Boolean);
    expect(runs).toContain('npx workshop verify --pg ${{ matrix.pg }}');
    // The component tests run on the same major, after its image is built and before the labs.
    const components = steps.findIndex((s) => s.run === 'npx vitest run --project components');
    expect(steps[components]?.env).toEqual({ WORKSHOP_PG: '${{ matrix.pg }}' });
    expect(components).toBeGreaterThan(steps.findIndex((s) => s.run === 'npx workshop images --pg ${{ matrix.pg }}'));
    expect(components).toBeLessThan(steps.findIndex((s) => s.run === 'npx workshop verify --pg ${{ matrix.pg }}'));
    const report = steps.find((s) => s.name === 'keep the report')!;
    expect(report.if).toBe('always()');
    expect(report.with!.path).toBe('reports/pg${{ matrix.pg }}.json');
    expect(steps.find((s) => s.name === 'keep the evidence of a failure')!.if).toBe('failure()');
    expect(steps.at(-1)).toMatchObject({ if: 'always()', run: 'npx workshop clean' });
  });

  test('uses the Node version of .nvmrc', () => {
    const nvmrc = readFileSync(path.join(repoRoot, '.nvmrc'), 'utf8').trim();
    expect(nvmrc).toBe('24');
    for (const job of Object.values(workflow.jobs)) {
      expect(job.steps.find((s) => s.uses?.startsWith('actions/setup-node'))!.with!['node-version-file']).toBe('.nvmrc');
    }
  });
});
