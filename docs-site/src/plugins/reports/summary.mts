// Reads the run reports (validated by the harness's schema, harness/report/model.ts) and sums up, per lab, what the site shows:
// on which versions it was verified and when, its duration per major, its measurements and series under
// their labels in words (labs/<lab>.labels.yaml, harness/report/labels.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parseRunReport, type LabReport, type Measurement, type RunReport, type Series } from '../../../../harness/report/model.ts';
import { unlabelled, unlabelledError, type LabLabels, type Unlabelled } from '../../../../harness/report/labels.ts';

export { REPORT_SCHEMA_VERSION } from '../../../../harness/report/model.ts';
export type { LabReport, Measurement, RunReport, Series };

export interface LoadedReport { file: string; report: RunReport }

// Reads every *.json of `dir` (none when it does not exist); throws naming a file that is not a report.
export function readReports(dir: string): LoadedReport[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((entry) => entry.endsWith('.json')).sort().map((name) => {
    const file = path.join(dir, name);
    const report = parseRunReport(readFileSync(file, 'utf8'), file);
    return { file, report };
  }).sort((a, b) => a.report.major - b.report.major || a.report.endedAt.localeCompare(b.report.endedAt));
}

export type VerificationState = 'verified' | 'partly' | 'failed' | 'not-verified';

export interface LabRun {
  major: number;
  postgres: string;
  status: LabReport['status'];
  durationMs: number;
  duration: string;
  endedAt: string;
  date: string;
  runId: string;
  // The tool versions of the image that matter to the lab's environment (`Patroni`: `4.1.5`).
  tools: Record<string, string>;
  problems: string[];
}

export interface MeasurementRow {
  name: string;
  // What the figure is, in words, and its unit as a reader reads it (the labels file's, else the report's).
  label: string;
  unit: string;
  description?: string;
  // Per major, the value as the page shows it (`6,897,664`).
  values: Record<number, string>;
}

export interface SeriesLine {
  major: number;
  label: string;
  // [seconds from the origin, value]; the origin is the line's first mark, else its first point.
  points: [number, number][];
  marks: { at: number; label: string }[];
}

export interface SeriesChart {
  name: string;
  label: string;
  unit: string;
  description?: string;
  xLabel: string;
  lines: SeriesLine[];
}

export interface LabVerification {
  file: string;
  title: string;
  state: VerificationState;
  headline: string;
  runs: LabRun[];
  toolNames: string[];
  measurements: MeasurementRow[];
  series: SeriesChart[];
}

// Tools named in the reports' `versions`, in the order the page lists them, with their display names.
const TOOLS: [key: string, name: string][] = [['patroni', 'Patroni'], ['pgbouncer', 'PgBouncer'], ['haproxy', 'HAProxy'], ['etcd', 'etcd']];

export function formatDate(iso: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(iso));
}

export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.round(seconds - minutes * 60)).padStart(2, '0')} s`;
}

export function formatValue(value: number): string {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: Number.isInteger(value) ? 0 : 2 }).format(value);
}

// "15.18, 17.12 and 18.6"
export function listText(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function whenText(runs: LabRun[]): string {
  const dates = [...new Set([...runs].sort((a, b) => a.endedAt.localeCompare(b.endedAt)).map((run) => run.date))];
  return dates.length === 1 ? `on ${dates[0]}` : `between ${dates[0]} and ${dates.at(-1)}`;
}

function headlineOf(runs: LabRun[], toolNames: string[]): { state: VerificationState; headline: string } {
  const passed = runs.filter((run) => run.status === 'passed');
  const failed = runs.filter((run) => run.status === 'failed');
  const tools = (list: LabRun[]) => toolNames
    .map((tool) => {
      const versions = [...new Set(list.map((run) => run.tools[tool]).filter((version): version is string => Boolean(version)))];
      return versions.length > 0 ? `${tool} ${listText(versions)}` : '';
    })
    .filter(Boolean);
  const versions = (list: LabRun[]) => listText(list.map((run) => run.postgres));
  if (passed.length === 0 && failed.length === 0) return { state: 'not-verified', headline: 'Not verified' };
  if (passed.length === 0) {
    return { state: 'failed', headline: `Not verified: the last run failed on PostgreSQL ${versions(failed)} ${whenText(failed)}` };
  }
  const withTools = tools(passed).length > 0 ? ` (${tools(passed).join('; ')})` : '';
  const verified = `Verified on PostgreSQL ${versions(passed)}${withTools} ${whenText(passed)}`;
  if (failed.length === 0) return { state: 'verified', headline: verified };
  return { state: 'partly', headline: `${verified}; failed on PostgreSQL ${versions(failed)} ${whenText(failed)}` };
}

function seriesCharts(entries: { run: RunReport; lab: LabReport }[], labels: LabLabels): SeriesChart[] {
  const charts = new Map<string, SeriesChart>();
  const origins = new Map<string, Set<string>>();
  for (const { run, lab } of entries) {
    for (const series of lab.series ?? []) {
      if (!charts.has(series.name)) {
        const words = labels.series[series.name]!;
        charts.set(series.name, { name: series.name, label: words.label, unit: words.unit ?? series.unit, description: series.description, xLabel: '', lines: [] });
        origins.set(series.name, new Set());
      }
      const marks = [...(series.marks ?? [])].sort((a, b) => a.at - b.at);
      const origin = marks[0]?.at ?? series.points[0]?.[0] ?? 0;
      origins.get(series.name)!.add(marks[0]?.label ?? '');
      charts.get(series.name)!.lines.push({
        major: run.major,
        label: `PostgreSQL ${run.versions.postgres ?? run.major}`,
        points: series.points.map(([at, value]) => [(at - origin) / 1000, value]),
        marks: marks.map((mark) => ({ at: (mark.at - origin) / 1000, label: mark.label })),
      });
    }
  }
  for (const chart of charts.values()) {
    const labels = [...origins.get(chart.name)!];
    // Lines are aligned on their first mark (the kill) when every line has the same one.
    chart.xLabel = labels.length === 1 && labels[0] ? `seconds from “${labels[0]}”` : 'seconds from the first point';
  }
  return [...charts.values()];
}

// What the site shows for each lab that any report covers, keyed by the lab's repository path. Throws,
// naming the labels file and the line to add, when a report holds a measurement or series without a label.
export function summarize(reports: LoadedReport[], toolsOfEnvironment: (environment: string | undefined) => string[],
  labelsOf: (labId: string) => LabLabels): Record<string, LabVerification> {
  // Per lab and major the newest result: a run of one lab (`workshop verify 03`) leaves the others' standing.
  const byLab = new Map<string, Map<number, { run: RunReport; lab: LabReport }>>();
  for (const { report } of reports) {
    for (const lab of report.labs) {
      if (!byLab.has(lab.file)) byLab.set(lab.file, new Map());
      const known = byLab.get(lab.file)!.get(report.major);
      if (!known || known.run.endedAt < report.endedAt) byLab.get(lab.file)!.set(report.major, { run: report, lab });
    }
  }
  const result: Record<string, LabVerification> = {};
  const missing: Unlabelled[] = [];
  for (const [file, byMajor] of byLab) {
    const entries = [...byMajor.values()].sort((a, b) => a.run.major - b.run.major);
    const labels = labelsOf(entries[0]!.lab.id);
    const without = entries.flatMap(({ lab }) => unlabelled(lab.id, lab, labels));
    missing.push(...without.filter((entry, at) => without.findIndex((other) => other.kind === entry.kind && other.name === entry.name) === at));
    if (without.length > 0) continue;
    const environment = entries.find((entry) => entry.lab.environment)?.lab.environment;
    const toolKeys = toolsOfEnvironment(environment);
    const toolNames = TOOLS.filter(([key]) => toolKeys.includes(key)).map(([, name]) => name);
    const runs: LabRun[] = entries.map(({ run, lab }) => ({
      major: run.major,
      postgres: run.versions.postgres ?? String(run.major),
      status: lab.status,
      durationMs: lab.durationMs,
      duration: formatDuration(lab.durationMs),
      endedAt: run.endedAt,
      date: formatDate(run.endedAt),
      runId: run.runId,
      tools: Object.fromEntries(TOOLS.filter(([key]) => toolKeys.includes(key) && run.versions[key]).map(([key, name]) => [name, run.versions[key]!])),
      problems: [...(lab.errors ?? []), ...(lab.stepsNotRun?.length ? [`steps not run: ${lab.stepsNotRun.join(', ')}`] : [])],
    }));
    const measurements = new Map<string, MeasurementRow>();
    for (const { run, lab } of entries) {
      for (const measurement of lab.measurements ?? []) {
        if (!measurements.has(measurement.name)) {
          const words = labels.measurements[measurement.name]!;
          measurements.set(measurement.name, {
            name: measurement.name, label: words.label, unit: words.unit ?? measurement.unit, description: measurement.description, values: {},
          });
        }
        measurements.get(measurement.name)!.values[run.major] = formatValue(measurement.value);
      }
    }
    result[file] = {
      file,
      title: entries[0]!.lab.title,
      ...headlineOf(runs, toolNames),
      runs,
      toolNames,
      measurements: [...measurements.values()],
      series: seriesCharts(entries, labels),
    };
  }
  if (missing.length > 0) throw unlabelledError(missing);
  return result;
}
