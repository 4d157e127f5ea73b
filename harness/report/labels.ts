// A lab's measurements and series in a reader's words. labs/<lab id>.labels.yaml, beside the spec that
// measures them, is the one place where a measurement or series gets its human label and the unit a reader
// sees; the reports keep the machine names, and the site shows every measured figure under these words.
// test/report/labels.test.ts checks every name a spec measures has its label here; the site's build
// fails on a reported measurement or series without one (docs-site/src/plugins/reports).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML, { LineCounter } from 'yaml';
import * as z from 'zod';
import { labsDir, relativeToRepo } from '../paths.ts';

// `label`: what the figure is, in words ("commit latency with a synchronous standby"); `unit`: how a
// reader reads the value's unit, when the report's own (`x`, `ratio`) is not already that.
export const Words = z.strictObject({
  label: z.string().trim().min(1, 'a label in words is needed'),
  unit: z.string().trim().min(1).optional(),
});
export type Words = z.infer<typeof Words>;

export const LabLabels = z.strictObject({
  measurements: z.record(z.string(), Words).default({}),
  series: z.record(z.string(), Words).default({}),
});
export type LabLabels = z.infer<typeof LabLabels>;

export class LabelsError extends Error {
  override name = 'LabelsError';
}

const EXAMPLE = 'expected, for instance:\nmeasurements:\n  commit.latency_ms_sync: { label: commit latency with a synchronous standby, unit: ms }\n'
  + 'series:\n  pgbench.tps: { label: pgbench transactions per second, unit: transactions/s }';

// The labels file of the lab `labId` (`06-patroni-guardrails` → labs/06-patroni-guardrails.labels.yaml).
export function labelsFile(labId: string, dir = labsDir): string {
  return path.join(dir, `${labId}.labels.yaml`);
}

// Reads and validates a labels file; no file means no labels. Throws naming the file, the line and the key.
export function readLabels(file: string): LabLabels {
  if (!existsSync(file)) return { measurements: {}, series: {} };
  const where = relativeToRepo(file);
  const lineCounter = new LineCounter();
  const document = YAML.parseDocument(readFileSync(file, 'utf8'), { lineCounter, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? '' : `:${lineCounter.linePos(offset).line}`);
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    throw new LabelsError(`${where}${lineOf(error.pos[0])}: not valid YAML: ${error.message}\n${EXAMPLE}`);
  }
  const parsed = LabLabels.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((issue) => {
      const node = document.getIn(issue.path as (string | number)[], true) as { range?: [number, number, number] } | undefined;
      return `${where}${lineOf(node?.range?.[0])}: ${issue.path.join('.') || '(top)'}: ${issue.message}`;
    });
    throw new LabelsError(`${problems.join('\n')}\n${EXAMPLE}`);
  }
  // Rows of the verification details are told apart by their labels: two alike would read as one figure.
  for (const kind of ['measurements', 'series'] as const) {
    const seen = new Map<string, string>();
    for (const [name, words] of Object.entries(parsed.data[kind])) {
      const other = seen.get(words.label.toLowerCase());
      if (other) throw new LabelsError(`${where}: ${kind}: ${name} has the label "${words.label}" of ${other}: a reader could not tell them apart; say what differs`);
      seen.set(words.label.toLowerCase(), name);
    }
  }
  return parsed.data;
}

// Labels by lab id, each file read once (the site asks per lab and report).
export function labelsReader(dir = labsDir): (labId: string) => LabLabels {
  const cache = new Map<string, LabLabels>();
  return (labId) => {
    if (!cache.has(labId)) cache.set(labId, readLabels(labelsFile(labId, dir)));
    return cache.get(labId)!;
  };
}

export interface Unlabelled {
  labId: string;
  kind: 'measurement' | 'series';
  name: string;
  unit: string;
}

// What a lab's report holds that its labels file does not word: each entry is a figure a reader would see by its machine name.
export function unlabelled(labId: string, report: { measurements: { name: string; unit: string }[]; series: { name: string; unit: string }[] },
  labels: LabLabels): Unlabelled[] {
  return [
    ...report.measurements.filter((m) => !labels.measurements[m.name]).map((m) => ({ labId, kind: 'measurement' as const, name: m.name, unit: m.unit })),
    ...report.series.filter((s) => !labels.series[s.name]).map((s) => ({ labId, kind: 'series' as const, name: s.name, unit: s.unit })),
  ];
}

// One error for all of them, grouped by labels file, with the line to add.
export function unlabelledError(missing: Unlabelled[], dir = labsDir): LabelsError {
  const byFile = new Map<string, string[]>();
  for (const entry of missing) {
    const file = relativeToRepo(labelsFile(entry.labId, dir));
    const key = entry.kind === 'measurement' ? 'measurements' : 'series';
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(`  ${key}: ${entry.name} (${entry.unit}): add \`${entry.name}: { label: <what it is, in words>, unit: ${entry.unit} }\``);
  }
  const lines = [...byFile].flatMap(([file, entries]) => [`${file}:`, ...entries]);
  return new LabelsError(`Measured figures without a label in words (a reader would see their machine names):\n${lines.join('\n')}`);
}
