// What the verification panel says, from run reports: the fixture reports and variations of them, with
// every measurement and series under its label in words (labs/<lab>.labels.yaml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReports, summarize as summarizeWith, type LoadedReport } from '../src/plugins/reports/summary.mts';
import { labelsReader } from '../../harness/report/labels.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/reports');
const LAB = 'curriculum/01-architecture/lab.md';
const noTools = () => [];
const summarize = (reports: LoadedReport[], tools: (environment: string | undefined) => string[]) => summarizeWith(reports, tools, labelsReader());

function withLabStatus(reports: LoadedReport[], statuses: Record<number, 'passed' | 'failed'>): LoadedReport[] {
  return reports.map(({ file, report }) => {
    const copy = structuredClone(report);
    for (const lab of copy.labs) lab.status = statuses[copy.major] ?? lab.status;
    return { file, report: copy };
  });
}

test('labs that passed on every major are verified on each version, with the date of the run', () => {
  const lab = summarize(readReports(fixtures), noTools)[LAB]!;
  assert.equal(lab.state, 'verified');
  assert.equal(lab.headline, 'Verified on PostgreSQL 15.18, 17.12 and 18.6 on 27 November 2026');
  assert.deepEqual(lab.runs.map((run) => run.duration), ['15.7 s', '17.0 s', '14.4 s']);
  assert.deepEqual(lab.measurements.find((m) => m.name === 'accounts.bytes_after_vacuum')?.values, { 15: '6,897,664', 17: '7,405,568', 18: '7,405,568' });
});

test('the tools an environment runs are named with their versions', () => {
  const lab = summarize(readReports(fixtures), () => ['patroni'])[LAB]!;
  assert.equal(lab.headline, 'Verified on PostgreSQL 15.18, 17.12 and 18.6 (Patroni 3.0.2, 4.0.7 and 4.1.5) on 27 November 2026');
});

test('a lab that failed on some majors says where it passed and where it failed', () => {
  const lab = summarize(withLabStatus(readReports(fixtures), { 18: 'failed' }), noTools)[LAB]!;
  assert.equal(lab.state, 'partly');
  assert.equal(lab.headline, 'Verified on PostgreSQL 15.18 and 17.12 on 27 November 2026; failed on PostgreSQL 18.6 on 27 November 2026');
});

test('a lab that failed everywhere is not verified', () => {
  const lab = summarize(withLabStatus(readReports(fixtures), { 15: 'failed', 17: 'failed', 18: 'failed' }), noTools)[LAB]!;
  assert.equal(lab.state, 'failed');
  assert.match(lab.headline, /^Not verified: the last run failed on PostgreSQL 15\.18, 17\.12 and 18\.6/);
});

test('measurements and series carry their labels and units in words; the names stay for the page\'s data attributes', () => {
  const lab = summarize(readReports(fixtures), noTools)['curriculum/05-failure/lab.md']!;
  assert.deepEqual(lab.measurements.map((m) => [m.name, m.label, m.unit]), [['failover.write_gap_s', 'longest pause between acknowledged writes', 's']]);
  assert.deepEqual(lab.series.map((s) => [s.name, s.label, s.unit]), [['pgbench.tps', 'pgbench transactions per second', 'transactions/s']]);
});

test('a measurement or series the reports hold without a label fails the summary, naming the labels file and the line to add', () => {
  const reports = readReports(fixtures).map(({ file, report }) => {
    const copy = structuredClone(report);
    const lab = copy.labs.find((entry) => entry.id === '05-failure')!;
    lab.measurements.push({ name: 'failover.unheard_of_s', value: 1, unit: 's' });
    lab.series.push({ ...lab.series[0]!, name: 'failover.unheard_of_tps' });
    return { file, report: copy };
  });
  assert.throws(() => summarize(reports, noTools), (error: Error) => {
    assert.equal(error.message, [
      'Measured figures without a label in words (a reader would see their machine names):',
      'labs/05-failure.labels.yaml:',
      '  measurements: failover.unheard_of_s (s): add `failover.unheard_of_s: { label: <what it is, in words>, unit: s }`',
      '  series: failover.unheard_of_tps (tps): add `failover.unheard_of_tps: { label: <what it is, in words>, unit: tps }`',
    ].join('\n'));
    return true;
  });
});

test('series are aligned on their first mark, in seconds', () => {
  const chart = summarize(readReports(fixtures), noTools)['curriculum/05-failure/lab.md']!.series[0]!;
  assert.equal(chart.xLabel, 'seconds from “leader killed”');
  assert.deepEqual(chart.lines.map((line) => line.marks.map((mark) => mark.at)), [[0, 9.6], [0, 20.7], [0, 21.2]]);
  assert.deepEqual(chart.lines[0]!.points[0], [-20, chart.lines[0]!.points[0]![1]]);
});

test('no reports folder means no report; a file of another schema fails naming itself', () => {
  assert.deepEqual(readReports(path.join(os.tmpdir(), 'no-such-reports-folder')), []);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'site-reports-'));
  writeFileSync(path.join(dir, 'pg18.json'), JSON.stringify({ schemaVersion: 2 }));
  assert.throws(() => readReports(dir), /pg18\.json: report schemaVersion 2, expected 1/);
});

test('per lab and major the newest report wins, so a run of one lab leaves the others standing', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'site-reports-'));
  const [first] = readReports(fixtures);
  const lab = first!.report.labs[0]!;
  // The 03 lab of this test measures nothing: 01's measurements are not 03's to label.
  const other = { ...lab, id: '03-tuning', file: 'curriculum/03-tuning/lab.md', title: 'Lab: tuning', measurements: [], series: [] };
  writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ ...first!.report, runId: 'older', endedAt: '2026-01-01T00:00:00Z', labs: [{ ...lab, status: 'failed' }] }));
  writeFileSync(path.join(dir, 'pg15.json'), JSON.stringify({ ...first!.report, runId: 'newer', labs: [lab, other] }));
  writeFileSync(path.join(dir, 'only-03.json'), JSON.stringify({ ...first!.report, runId: 'latest', endedAt: '2026-12-01T00:00:00Z', labs: [other] }));
  const labs = summarize(readReports(dir), noTools);
  assert.deepEqual(labs[LAB]!.runs.map((run) => [run.runId, run.status]), [['newer', 'passed']]);
  assert.deepEqual(labs['curriculum/03-tuning/lab.md']!.runs.map((run) => run.runId), ['latest']);
});
