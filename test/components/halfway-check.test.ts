// An attendee who stopped halfway through a lab: the page of 01-architecture typed on a real
// environment up to a step in the middle of a section (`verify --page-only --stop-after`, the
// environment kept), then `workshop check` run against it as the attendee would, from the CLI.
// It must name exactly the sections done and the steps that come next, and only read.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanProjects } from '../../harness/environment/compose.ts';
import { parseLabReport } from '../../harness/report/model.ts';
import { repoRoot } from '../../harness/paths.ts';
import { componentsMajor } from './support/cluster.ts';

const LAB = '01-architecture';
const PAGE = 'curriculum/01-architecture/lab.md';
// In the MVCC section: row 1 of items was updated, pageinspect is not installed yet.
const STOP_AFTER = 'update-new-version';
const workshop = path.join(repoRoot, 'bin', 'workshop.mjs');
const major = componentsMajor();
const runsDir = mkdtempSync(path.join(tmpdir(), 'halfway-runs-'));
let runId = '';
let project = '';

interface Result { exitCode: number; output: string }

async function cli(...args: string[]): Promise<Result> {
  const result = await execa(process.execPath, [workshop, ...args], { cwd: repoRoot, all: true, reject: false, env: { FORCE_COLOR: '0' }, timeout: 240_000 });
  return { exitCode: result.exitCode ?? 1, output: stripVTControlCharacters(result.all ?? '') };
}

const check = () => cli('check', LAB, '--pg', String(major), '--project', project);

beforeAll(async () => {
  const verified = await cli('verify', '--page-only', '--pause', '0', '--stop-after', STOP_AFTER, LAB, '--pg', String(major), '--runs-dir', runsDir, '--reports-dir', path.join(runsDir, 'reports'));
  runId = readdirSync(runsDir).find((name) => /^\d{8}-\d{6}$/.test(name)) ?? '';
  project = /kept: (ws-\S+)/.exec(verified.output)?.[1] ?? '';
  if (verified.exitCode !== 0 || !project) {
    throw new Error(`verify --page-only --stop-after ${STOP_AFTER} ${LAB} exited with ${verified.exitCode}, kept project: ${project || '(none printed)'}:\n${verified.output}`);
  }
}, 300_000);

// The kept environment is this file's to remove, passed or failed (its logs kept on the way).
afterAll(async () => {
  if (runId) await cleanProjects(`ws-${runId}`, path.join(runsDir, 'evidence'));
}, 180_000);

describe(`${LAB} stopped after step ${STOP_AFTER}`, () => {
  test('the report says where the run stopped and owes no later step', () => {
    const file = path.join(runsDir, runId, `pg${major}`, LAB, 'lab-report.json');
    const report = parseLabReport(readFileSync(file, 'utf8'), file);
    expect(report.status).toBe('passed');
    expect(report.stoppedAfter).toBe(STOP_AFTER);
    expect(report.steps.at(-1)!.id).toBe(STOP_AFTER);
    expect(report.stepsNotRun).toEqual([]);
    expect(report.checkpoints!.map((c) => c.id)).toEqual(['server-up', 'accounts-table', 'row-through-wal', 'events-loaded']);
  });

  test('workshop check: the sections done, the first checkpoint that does not hold, the steps that make it true', async () => {
    const first = await check();
    expect(first.exitCode, first.output).toBe(1);
    const lines = first.output.split('\n');
    for (const title of ['PostgreSQL runs in pg1 and answers queries', 'pg_buffercache is installed', 'The row written through the WAL is in accounts', 'The events table holds its 300,000 rows']) {
      expect(lines.some((l) => l.startsWith(`✓ ${title}`)), `✓ ${title}\n${first.output}`).toBe(true);
    }
    expect(lines.some((l) => l.startsWith('✗ Row 1 of items was updated to banana, and pageinspect is installed')), first.output).toBe(true);
    expect(lines).toContain('  last section completed: Who writes the data pages');
    expect(lines).toContain('    expected: banana|1');
    expect(lines).toContain('    seen:     banana|0');
    const next = lines.find((l) => l.startsWith('  the page makes it true in Steps '));
    expect(next, first.output).toMatch(new RegExp(`^  the page makes it true in Steps \\d+ to \\d+, from “MVCC: every update writes a new row version” \\(${PAGE}:\\d+\\)$`));
    expect(lines).toContain('    on the site: /01-architecture/lab/#mvcc-every-update-writes-a-new-row-version');
    // Read-only: a second check sees the same state and says the same.
    const second = await check();
    expect(second.exitCode).toBe(1);
    const standing = (output: string) => output.split('\n').filter((l) => !/checkpoints in [\d.]+ s$/.test(l));
    expect(standing(second.output)).toEqual(standing(first.output));
  });
});

test('with no environment of the lab running, workshop check exits 2 and says how to start one', async () => {
  // Environments of verify runs (ws-<run id>-…) are never taken for the attendee's own.
  const result = await cli('check', '04-replication', '--pg', String(major));
  expect(result.exitCode, result.output).toBe(2);
  expect(result.output).toContain('no `replication` environment is running');
  expect(result.output).toContain('start it: cd environments/replication && docker compose up --detach --wait');
});
