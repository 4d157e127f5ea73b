// Checkpoints on a fixture lab whose state is a folder of files: run by the spec flow and page-only
// right after the step before them, re-checked while still expected, recorded in the report, and
// failing the lab when they do not hold or never ran.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { openLab, StepFailedError } from '../../harness/spec/lab.ts';
import { verifyPageOnly } from '../../harness/spec/page-only.ts';
import { parseLabReport } from '../../harness/report/model.ts';
import { check } from '../../harness/cli/check.ts';
import { checkStopAfter } from '../../harness/cli/verify.ts';
import { findLabs } from '../../harness/lab/catalog.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'labs');
const file = 'test/fixtures/labs/06-checkpoints/lab.md';

beforeAll(() => {
  process.env.WORKSHOP_RUN_DIR = mkdtempSync(path.join(tmpdir(), 'workshop-run-'));
});

// The lab's state: the terminals and the checkpoints both read CHECK_STATE.
beforeEach(() => {
  process.env.CHECK_STATE = mkdtempSync(path.join(tmpdir(), 'check-state-'));
});

describe('checkpoints in a verified lab', () => {
  test('each runs right after the step before it, and the report records them', async () => {
    const lab = openLab('06-checkpoints', { root, major: 18 });
    expect(lab.checkpoints.map((c) => c.id)).toEqual(['table', 'filled', 'emptied', 'table-kept']);
    await lab.runThrough();
    const report = await lab.close();
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.checkpoints!.map((c) => [c.id, c.after, c.outcome])).toEqual([
      ['table', 'create', 'passed'], ['filled', 'count', 'passed'], ['emptied', 'empty', 'passed'], ['table-kept', 'empty', 'passed'],
    ]);
    expect(report.checkpoints![0]).toMatchObject({ title: 'The accounts table exists', source: `${file}:16`, exitCode: 0, output: 'accounts', expectation: { source: `${file}:21`, ok: true } });
    expect(report.checkpointsNotRun).toEqual([]);
    // Read back through the schema, as the site and `verify` read it.
    expect(parseLabReport(JSON.stringify(report), 'lab-report.json').checkpoints).toHaveLength(4);
  });

  test('page-only runs them too, between the typed steps', async () => {
    const report = await verifyPageOnly('06-checkpoints', { root, major: 18, pauseSeconds: 0 });
    expect(report.status).toBe('passed');
    expect(report.checkpoints!.map((c) => c.id)).toEqual(['table', 'filled', 'emptied', 'table-kept']);
  });

  test('a checkpoint runs on its own, not in the terminal: one that does not hold fails the lab at its step, saying what it saw', async () => {
    // The terminals write their state elsewhere: the checkpoint, which reads CHECK_STATE, finds nothing.
    const lab = openLab('06-checkpoints', { root, major: 18, env: { CHECK_STATE: mkdtempSync(path.join(tmpdir(), 'terminal-state-')) } });
    const error = await lab.run('create').catch((e: Error) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain(`Checkpoint \`table\` (${file}:16) "The accounts table exists" does not hold after step \`create\` (${file}:12)`);
    expect((error as Error).message).toContain('exited with 1, expected 0');
    expect((error as Error).message).toContain('No such file or directory');
    await expect(lab.run('fill')).rejects.toThrow(`not run: checkpoint \`table\` (${file}:16) failed earlier`);
    const report = await lab.close();
    expect(report.status).toBe('failed');
    expect(report.checkpoints!.map((c) => [c.id, c.outcome])).toEqual([['table', 'failed']]);
    expect(report.checkpointsNotRun).toEqual([`filled (${file}:38)`, `emptied (${file}:52)`, `table-kept (${file}:60)`]);
  });

  test('an earlier checkpoint a later step undoes without `until=` fails where it stops holding', async () => {
    const lab = openLab('06-checkpoints', { root, major: 18 });
    await lab.runThrough('fill');
    // What a step of a careless page would do: remove what an earlier checkpoint says is there.
    rmSync(path.join(process.env.CHECK_STATE!, 'table'));
    const error = await lab.run('count').catch((e: Error) => e);
    expect((error as Error).message).toContain(`Checkpoint \`table\` (${file}:16) "The accounts table exists" no longer holds after step \`count\` (${file}:30)`);
    expect((error as Error).message).toContain('until=<id of the first checkpoint after that change>');
    const report = await lab.close();
    expect(report.checkpoints!.map((c) => [c.id, c.after, c.outcome, c.recheck ?? false])).toEqual([
      ['table', 'create', 'passed', false], ['filled', 'count', 'passed', false], ['table', 'count', 'failed', true],
    ]);
  });

  test('a checkpoint that already holds before its step fails the lab: the check could not tell where the attendee stands', async () => {
    const lab = openLab('06-checkpoints', { root, major: 18 });
    // The rows are there before the step that fills them: `filled` cannot tell the two points apart.
    writeFileSync(path.join(process.env.CHECK_STATE!, 'rows'), '1\n2\n3\n');
    const error = await lab.run('create').catch((e: Error) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain(`Checkpoint \`filled\` (${file}:38) "accounts holds 3 rows" already holds after step \`create\` (${file}:12), before the step it follows has run: \`workshop check\` would tell an attendee who stands here that they are 1 checkpoint(s) further on`);
    await lab.close().catch(() => undefined);
  });

  test('a checkpoint whose step never ran fails the lab, listed in the report', async () => {
    const lab = openLab('06-checkpoints', { root, major: 18 });
    await lab.run('create');
    await expect(lab.close()).rejects.toThrow('step(s) that apply to PostgreSQL 18 never ran');
    const report = parseLabReport(JSON.stringify(await import('node:fs').then((fs) => JSON.parse(fs.readFileSync(path.join(lab.workDir, 'lab-report.json'), 'utf8')))), 'lab-report.json');
    expect(report.status).toBe('failed');
    expect(report.checkpointsNotRun).toEqual([`filled (${file}:38)`, `emptied (${file}:52)`, `table-kept (${file}:60)`]);
  });

  test('a report written before checkpoints existed still reads as schema 1', () => {
    const old = { id: 'x', title: 'x', file: 'x', major: 18, status: 'passed', startedAt: '', durationMs: 0, steps: [], stepsNotRun: [], measurements: [], series: [], errors: [] };
    writeFileSync(path.join(process.env.CHECK_STATE!, 'old.json'), JSON.stringify(old));
    expect(parseLabReport(JSON.stringify(old), 'old.json').checkpoints).toBeUndefined();
  });
});

describe('a lab stopped halfway (`verify --page-only --stop-after`)', () => {
  test('owes only the steps up to the stop and their checkpoints, and `workshop check` places the attendee there', async () => {
    const report = await verifyPageOnly('06-checkpoints', { root, major: 18, pauseSeconds: 0, stopAfter: 'create' });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.stoppedAfter).toBe('create');
    expect(report.steps.map((s) => s.id)).toEqual(['create']);
    expect(report.stepsNotRun).toEqual([]);
    expect(report.checkpoints!.map((c) => c.id)).toEqual(['table']);
    expect(report.checkpointsNotRun).toEqual([]);
    // The state the page left is what `workshop check` reads: the first section done, the next steps named.
    const lines: string[] = [];
    const code = await check({ lab: '06-checkpoints', root, major: 18, print: (line) => lines.push(stripVTControlCharacters(line)) });
    expect(code).toBe(1);
    expect(lines).toContain('  last section completed: Create the table');
    expect(lines).toContain('  the page makes it true in Steps 2 to 3, from “Fill it” (test/fixtures/labs/06-checkpoints/lab.md:26)');
  });

  test('a step that is not on the page, two labs, or a background step still running: bad input, saying why', () => {
    const labs = findLabs('06-checkpoints', root);
    expect(() => checkStopAfter(labs, [18], 'drop')).toThrow('verify --stop-after: test/fixtures/labs/06-checkpoints/lab.md has no step `drop` on PostgreSQL 18; its steps: create, fill, count, empty');
    expect(() => checkStopAfter([...labs, ...findLabs('02-page-only', root)], [18], 'create')).toThrow('give one lab and one major');
    expect(() => checkStopAfter(labs, [17, 18], 'create')).toThrow('give one lab and one major');
    expect(() => checkStopAfter(findLabs('02-page-only', root), [18], 'read')).toThrow('verify --stop-after read: background step(s) `server` (test/fixtures/labs/02-page-only/lab.md:18) still run after it');
    expect(() => checkStopAfter(findLabs('02-page-only', root), [18], 'stopped')).not.toThrow();
  });
});
