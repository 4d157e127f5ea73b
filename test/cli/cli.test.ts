import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { allLabs } from '../../harness/lab/catalog.ts';
import { knownMajors } from '../../harness/lab/majors.ts';
import { repoRoot } from '../../harness/paths.ts';

// Each call starts Node with tsx: seconds each on a loaded 2-core machine; tests making several get this budget.
const SEVERAL_CALLS_MS = 90_000;

const workshop = (...args: string[]) => execa(path.join(repoRoot, 'bin', 'workshop.mjs'), args, { cwd: repoRoot, reject: false, env: { NO_COLOR: '1' } });

describe('the workshop CLI', () => {
  test('lint exits 2 and prints file:line:col for each problem', async () => {
    const result = await workshop('lint', 'test/fixtures/lint/duplicate-step-id/lab.md');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('test/fixtures/lint/duplicate-step-id/lab.md:10:1 Duplicate step id `up`');
  });

  test('lint exits 0 on a clean lab', async () => {
    const result = await workshop('lint', 'test/fixtures/lint/clean/lab.md');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('lint: 1 file(s), no problems');
  });

  // Two CLI starts (each compiles the harness): seconds each on a loaded machine.
  test('bad input exits 2 with the accepted values', { timeout: 60_000 }, async () => {
    const result = await workshop('verify', '--pg', '16');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--pg: expected a comma-separated list of 15, 17, 18 (or `all`), found `16`');
    const unknown = await workshop('verify', 'no-such-lab');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Lab `no-such-lab`: no such lab');
  });

  test('agenda reads the reports of --reports-dir, and refuses a folder that does not exist', { timeout: 60_000 }, async () => {
    const missing = await workshop('agenda', '--reports-dir', 'test/fixtures/agenda/no-such-folder');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('agenda --reports-dir test/fixtures/agenda/no-such-folder: no such directory');
    // A report in which lab 01's `up` took 90 s: its section is timed from that folder, and no other lab is measured.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agenda-reports-'));
    writeFileSync(path.join(dir, 'pg18.json'), JSON.stringify({ labs: [{ id: '01-architecture', status: 'passed', steps: [{ id: 'up', durationMs: 90_000 }] }] }));
    const measured = await workshop('agenda', '--reports-dir', dir, '--json');
    rmSync(dir, { recursive: true, force: true });
    const agenda = JSON.parse(measured.stdout) as { sections: { lab?: string; slug: string; runMinutes?: number }[] };
    expect(agenda.sections.find((s) => s.lab === '01-architecture' && s.slug === 'start-the-server')?.runMinutes).toBe(1.5);
    expect(agenda.sections.filter((s) => s.runMinutes !== undefined && s.lab !== '01-architecture')).toEqual([]);
  });

  test('the labs npm test leaves out for now are labs of the curriculum, each with its reason', async () => {
    const { STAGED_LABS } = await import('../../harness/cli/verify.ts');
    const ids = allLabs().map((lab) => lab.id);
    for (const [id, reason] of STAGED_LABS) {
      expect(ids, `staged lab ${id}`).toContain(id);
      expect(reason.length).toBeGreaterThan(10);
    }
  });

  test('verify --pause needs --page-only and a number of seconds', async () => {
    const alone = await workshop('verify', '01', '--pause', '2');
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('verify --pause: applies with --page-only only');
    const bad = await workshop('verify', '01', '--page-only', '--pause', 'soon');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('verify --pause: expected a number of seconds (0 or more), found `soon`');
  }, SEVERAL_CALLS_MS);

  test('verify --core-path needs --page-only, and --stop-after a step of the core path, before touching Docker', async () => {
    const alone = await workshop('verify', '01', '--core-path');
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toContain('verify --core-path: applies with --page-only only');
    // `backend-types` is a step of the deep dive "One process per connection".
    const stopped = await workshop('verify', '01', '--page-only', '--core-path', '--stop-after', 'backend-types', '--pg', '18');
    expect(stopped.exitCode).toBe(2);
    expect(stopped.stderr).toContain('verify --stop-after: curriculum/01-architecture/lab.md has no step `backend-types` on its core path on PostgreSQL 18; its core path\'s steps: up, version, ');
  }, SEVERAL_CALLS_MS);

  test('an unknown command exits 2 and shows help', async () => {
    const result = await workshop('frobnicate');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  test('up and down of an unknown environment exit 2 listing the environments, before touching Docker', async () => {
    for (const command of ['up', 'down']) {
      const result = await workshop(command, 'singel');
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe('Environment `singel`: no such environment; expected one of partition, patroni, platform, replication, single (the folders of environments/ with a compose.yaml)');
    }
  }, SEVERAL_CALLS_MS);

  test('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const result = await workshop('--version');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  test('ci plan prints shards covering every lab on every major its front matter lists, with the image cache key', async () => {
    const result = await workshop('ci', 'plan');
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as { majors: { pg: number; image: string; key: string }[]; shards: { name: string; pg: number; labs: string[]; key: string }[] };
    expect(plan.majors.map((m) => m.pg)).toEqual(knownMajors());
    for (const major of plan.majors) expect(major.key).toMatch(new RegExp(`^workshop-postgres-${major.pg}-[0-9a-f]{16}$`));
    const planned = plan.shards.flatMap((shard) => shard.labs.map((id) => `${id}@${shard.pg}`)).sort();
    const expected = allLabs().flatMap((lab) => lab.document.frontMatter!.majors.map((major) => `${lab.id}@${major}`)).sort();
    expect(planned).toEqual(expected);
    expect(plan.shards.length).toBeLessThanOrEqual(19);
    for (const shard of plan.shards) expect(shard.key).toBe(plan.majors.find((m) => m.pg === shard.pg)!.key);
  });

  test('ci plan --github-output appends majors= and shards= for the workflow', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-plan-'));
    try {
      const output = path.join(dir, 'output');
      const result = await execa(path.join(repoRoot, 'bin', 'workshop.mjs'), ['ci', 'plan', '--github-output', '--max-jobs', '3'], { cwd: repoRoot, reject: false, env: { GITHUB_OUTPUT: output } });
      expect(result.exitCode, result.stderr).toBe(0);
      const lines = readFileSync(output, 'utf8').trim().split('\n');
      expect(lines.map((line) => line.split('=')[0])).toEqual(['majors', 'shards']);
      expect(JSON.parse(lines[1]!.slice('shards='.length))).toHaveLength(3);
      const bad = await workshop('ci', 'plan', '--max-jobs', 'many');
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('--max-jobs: expected a positive integer, found `many`');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SEVERAL_CALLS_MS);

  test('ci merge-reports merges the shards\' artifact folders into pg<major>.json, and ci summary prints their table', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-merge-'));
    try {
      const lab = (id: string, status: string, startedAt: string) => ({ id, title: id, file: `curriculum/${id}/lab.md`, major: 18, status, startedAt, durationMs: 2000, steps: [], stepsNotRun: [], measurements: [], series: [], errors: [] });
      const report = (runId: string, endedAt: string, labs: unknown[]) => ({ schemaVersion: 1, runId, major: 18, versions: { postgres: '18.6' }, startedAt: endedAt, endedAt, status: 'passed', host: { platform: 'Linux', cpus: 4, memoryGiB: 16, node: 'v24' }, labs });
      for (const [shard, content] of [
        ['report-pg18-1', report('a', '2026-12-07T10:00:00Z', [lab('01-a', 'passed', '2026-12-07T09:59:00Z')])],
        ['report-pg18-2', report('b', '2026-12-07T10:05:00Z', [lab('02-b', 'failed', '2026-12-07T10:01:00Z')])],
      ] as const) {
        mkdirSync(path.join(dir, 'in', shard), { recursive: true });
        writeFileSync(path.join(dir, 'in', shard, 'pg18.json'), JSON.stringify(content));
      }
      const merge = await workshop('ci', 'merge-reports', '--out', path.join(dir, 'out'), path.join(dir, 'in'));
      expect(merge.exitCode, merge.stderr).toBe(0);
      expect(readdirSync(path.join(dir, 'out'))).toEqual(['pg18.json']);
      const merged = JSON.parse(readFileSync(path.join(dir, 'out', 'pg18.json'), 'utf8')) as { labs: { id: string; status: string }[]; status: string };
      expect([merged.status, merged.labs.map((l) => `${l.id}:${l.status}`)]).toEqual(['failed', ['01-a:passed', '02-b:failed']]);
      const summary = await workshop('ci', 'summary', path.join(dir, 'out'), path.join(dir, 'never-written'));
      expect(summary.exitCode, summary.stderr).toBe(0);
      expect(summary.stdout).toContain('### Labs: 1 passed, 1 failed');
      expect(summary.stdout).toContain('| PostgreSQL 18.6 | 02-b | ❌ failed | 0/0 | 2.0 s |  |  |');
      const missing = await workshop('ci', 'merge-reports', '--out', path.join(dir, 'out2'), path.join(dir, 'nope'));
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain(`${path.join(dir, 'nope')}: no such file or folder`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, SEVERAL_CALLS_MS);
});
