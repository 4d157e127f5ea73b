import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mergeReports, readReport } from '../../harness/report/merge.ts';
import { markdownSummary } from '../../harness/report/summary.ts';
import type { LabReport, RunReport } from '../../harness/report/model.ts';

function labReport(id: string, major: number, status: LabReport['status'], startedAt: string, extra: Partial<LabReport> = {}): LabReport {
  return {
    id, title: `Lab ${id}`, file: `curriculum/${id}/lab.md`, major, status, startedAt, durationMs: 1000, steps: [], stepsNotRun: [],
    measurements: [], series: [], errors: [], ...extra,
  };
}

function runReport(runId: string, major: number, endedAt: string, labs: LabReport[]): RunReport {
  return {
    schemaVersion: 1, runId, major, versions: { postgres: `${major}.1` }, startedAt: labs[0]?.startedAt ?? endedAt, endedAt,
    status: labs.some((lab) => lab.status === 'failed') ? 'failed' : 'passed',
    host: { platform: 'Linux', cpus: 4, memoryGiB: 16, node: 'v24' }, labs,
  };
}

describe('merging the shards\' reports', () => {
  test('one report per major holds every lab of every shard', () => {
    const merged = mergeReports([
      runReport('r1', 18, '2026-12-07T10:10:00Z', [labReport('01-a', 18, 'passed', '2026-12-07T10:00:00Z')]),
      runReport('r2', 15, '2026-12-07T10:12:00Z', [labReport('01-a', 15, 'passed', '2026-12-07T10:01:00Z')]),
      runReport('r3', 18, '2026-12-07T10:20:00Z', [labReport('02-b', 18, 'failed', '2026-12-07T10:02:00Z')]),
    ]);
    expect(merged.map((r) => [r.major, r.labs.map((l) => `${l.id}:${l.status}`), r.status, r.startedAt, r.endedAt, r.runId])).toEqual([
      [15, ['01-a:passed'], 'passed', '2026-12-07T10:01:00Z', '2026-12-07T10:12:00Z', 'r2'],
      [18, ['01-a:passed', '02-b:failed'], 'failed', '2026-12-07T10:00:00Z', '2026-12-07T10:20:00Z', 'r3'],
    ]);
  });

  test('the newest result of a lab wins, whichever file comes first (a re-run shard overrides its failure)', () => {
    const failed = runReport('first', 17, '2026-12-07T10:10:00Z', [labReport('06-p', 17, 'failed', '2026-12-07T10:00:00Z', { errors: ['timed out'] })]);
    const rerun = runReport('rerun', 17, '2026-12-07T11:10:00Z', [labReport('06-p', 17, 'passed', '2026-12-07T11:00:00Z')]);
    for (const order of [[failed, rerun], [rerun, failed]]) {
      const [merged] = mergeReports(order);
      expect(merged!.labs.map((l) => `${l.id}:${l.status}`)).toEqual(['06-p:passed']);
      expect(merged!.status).toBe('passed');
    }
  });

  test('a lab that ran beats a newer `not-applicable` entry of it', () => {
    const ran = runReport('a', 15, '2026-12-07T10:10:00Z', [labReport('09-o', 15, 'failed', '2026-12-07T10:00:00Z')]);
    const skipped = runReport('b', 15, '2026-12-07T12:00:00Z', [labReport('09-o', 15, 'not-applicable', '2026-12-07T11:59:00Z')]);
    expect(mergeReports([skipped, ran])[0]!.labs[0]!.status).toBe('failed');
  });

  describe('report files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'merge-test-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('a report file is read back as written', () => {
      const report = runReport('r', 18, '2026-12-07T10:10:00Z', [labReport('01-a', 18, 'passed', '2026-12-07T10:00:00Z')]);
      const file = path.join(dir, 'pg18.json');
      writeFileSync(file, JSON.stringify(report));
      expect(readReport(file)).toEqual(report);
    });

    test('a file that is not a report is named with what was found', () => {
      const notJson = path.join(dir, 'broken.json');
      writeFileSync(notJson, '{"schemaVersion": 1,');
      expect(() => readReport(notJson)).toThrow(new RegExp(`^${notJson}: expected a run report \\(JSON\\), could not read it: `));
      const other = path.join(dir, 'other.json');
      writeFileSync(other, JSON.stringify({ schemaVersion: 2, major: 18, labs: [] }));
      expect(() => readReport(other)).toThrow(`${other}: expected a run report with schemaVersion 1, a numeric major and a list of labs; found schemaVersion 2, major 18, labs a list`);
    });
  });
});

describe('the lab table of the run summary', () => {
  test('has a row per lab and major, with why a failed lab failed', () => {
    const report = runReport('r', 17, '2026-12-07T10:10:00Z', [
      labReport('01-a', 17, 'passed', '2026-12-07T10:00:00Z', { durationMs: 61_500, measurements: [{ name: 'failover.write_gap_s', value: 9.6, unit: 's' }] }),
      labReport('02-b', 17, 'failed', '2026-12-07T10:02:00Z', { errors: ['step `up` exited 1 | see log\nsecond line'], stepsNotRun: ['check'] }),
    ]);
    expect(markdownSummary([report]).split('\n')).toEqual([
      '### Labs: 1 passed, 1 failed',
      '',
      '| PostgreSQL | lab | status | steps passed | time | measurements | why it failed |',
      '|---|---|---|---|---|---|---|',
      '| PostgreSQL 17.1 | 01-a | ✅ passed | 0/0 | 61.5 s | failover.write_gap_s 9.6 s |  |',
      '| PostgreSQL 17.1 | 02-b | ❌ failed | 0/0 | 1.0 s |  | step `up` exited 1 \\| see log second line<br>not run: check |',
      '',
    ]);
  });

  test('says so when no report was written', () => {
    expect(markdownSummary([])).toBe('**No run report was written** (the run ended before its first report).\n');
  });
});
