// Every figure a lab measures has a label in words: each name a spec passes to lab.measure or lab.series
// is worded in labs/<lab>.labels.yaml, and so is every measurement and series of the site's fixture
// reports. A labels file that is malformed says where and how.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { labelsFile, readLabels, unlabelled, unlabelledError, type LabLabels } from '../../harness/report/labels.ts';
import { parseRunReport } from '../../harness/report/model.ts';
import { labsDir, repoRoot } from '../../harness/paths.ts';
import { specFigures, type SpecFigure } from './spec-figures.ts';

const specs = readdirSync(labsDir).filter((name) => name.endsWith('.spec.ts')).sort();
const fixtureDir = path.join(repoRoot, 'docs-site', 'test', 'fixtures', 'reports');

// The figures of `spec` that `labels` has no words for, one line each with the spec's line.
function missingLabels(spec: string, labels: LabLabels): string[] {
  const found = specFigures(path.join(labsDir, spec));
  const keys = { measurement: Object.keys(labels.measurements), series: Object.keys(labels.series) };
  const labelled = (figure: SpecFigure) => (figure.pattern
    ? keys[figure.kind].some((key) => figure.pattern!.test(key))
    : keys[figure.kind].includes(figure.name));
  const missing = [...found.figures, ...found.builtSeries].filter((figure) => !labelled(figure))
    .map((figure) => `labs/${spec}:${figure.line}: ${figure.kind} ${figure.name} has no label in ${path.basename(labelsFile(found.labId ?? '?'))}`);
  // A lab.series call whose name the source does not state is covered only by the series the spec itself builds.
  if (found.builtSeries.length === 0) {
    missing.push(...found.unreadable.map((call) => `labs/${spec}:${call.line}: cannot tell which ${call.kind} \`${call.text}\` reports: name it in the call`));
  }
  return missing;
}

describe('labels of the labs\' measurements', () => {
  test('the specs are found and read', () => {
    expect(specs.length).toBeGreaterThanOrEqual(9);
    const patroni = specFigures(path.join(labsDir, '06-patroni.spec.ts'));
    expect(patroni.labId).toBe('06-patroni');
    expect(patroni.figures.map((f) => f.name)).toContain('failover.write_gap_s');
    expect(patroni.figures.find((f) => f.name === 'sync_failover.kill${…}.write_gap_s')?.pattern?.test('sync_failover.kill2.write_gap_s')).toBe(true);
    expect(patroni.figures.filter((f) => f.kind === 'series').map((f) => f.name)).toEqual(expect.arrayContaining(['writer.acknowledged_per_second', 'failover.pgbench_tps']));
    expect(specFigures(path.join(labsDir, '04-replication.spec.ts')).builtSeries.map((f) => f.name)).toContain('replication.lag_bytes.${…}');
  });

  test.each(specs)('every measurement and series of labs/%s has a label in words', (spec) => {
    const { labId } = specFigures(path.join(labsDir, spec));
    expect(labId, `labs/${spec}: no useLab('<id>') call`).toBeDefined();
    expect(missingLabels(spec, readLabels(labelsFile(labId!)))).toEqual([]);
  });

  test('a measurement without a label is reported with the spec\'s line', () => {
    const labels = readLabels(labelsFile('04-replication'));
    const { 'commit.latency_ms_sync': _dropped, ...rest } = labels.measurements;
    expect(missingLabels('04-replication.spec.ts', { ...labels, measurements: rest }))
      .toEqual([expect.stringMatching(/^labs\/04-replication\.spec\.ts:\d+: measurement commit\.latency_ms_sync has no label in 04-replication\.labels\.yaml$/)]);
  });

  test('every measurement and series of the site\'s fixture reports has a label', () => {
    const missing = readdirSync(fixtureDir).filter((name) => name.endsWith('.json')).flatMap((name) => {
      const report = parseRunReport(readFileSync(path.join(fixtureDir, name), 'utf8'), name);
      return report.labs.flatMap((lab) => unlabelled(lab.id, lab, readLabels(labelsFile(lab.id))));
    });
    expect(missing).toEqual([]);
  });

  test('what a report holds without a label is named, with the file to word it in', () => {
    const labels = readLabels(labelsFile('06-patroni'));
    const report = { measurements: [{ name: 'failover.write_gap_s', unit: 's' }, { name: 'failover.new_figure_s', unit: 's' }], series: [{ name: 'failover.new_series', unit: 'tps' }] };
    const missing = unlabelled('06-patroni', report, labels);
    expect(missing.map((m) => `${m.kind} ${m.name}`)).toEqual(['measurement failover.new_figure_s', 'series failover.new_series']);
    expect(unlabelledError(missing).message).toBe([
      'Measured figures without a label in words (a reader would see their machine names):',
      'labs/06-patroni.labels.yaml:',
      '  measurements: failover.new_figure_s (s): add `failover.new_figure_s: { label: <what it is, in words>, unit: s }`',
      '  series: failover.new_series (tps): add `failover.new_series: { label: <what it is, in words>, unit: tps }`',
    ].join('\n'));
  });
});

describe('a labels file', () => {
  const write = (text: string) => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'labels-')), 'lab.labels.yaml');
    writeFileSync(file, text);
    return file;
  };

  test('reads labels and units; no file is no labels', () => {
    expect(readLabels(write('measurements:\n  a.b_s: { label: time to do a, unit: s }\n'))).toEqual({ measurements: { 'a.b_s': { label: 'time to do a', unit: 's' } }, series: {} });
    expect(readLabels(path.join(os.tmpdir(), 'no-such.labels.yaml'))).toEqual({ measurements: {}, series: {} });
  });

  test('a malformed one fails naming the file, the line and the key', () => {
    expect(() => readLabels(write('measurements:\n  a.b_s: { label: time to do a }\n  a.c_s: { lable: typo }\n')))
      .toThrow(/lab\.labels\.yaml:3: measurements\.a\.c_s: Unrecognized key: "lable"/);
    expect(() => readLabels(write('measurements:\n  a.b_s: { label: "  ", unit: s }\n'))).toThrow(/:2: measurements\.a\.b_s\.label: a label in words is needed/);
    expect(() => readLabels(write('measurement:\n  a.b_s: { label: x }\n'))).toThrow(/:1: \(top\): Unrecognized key: "measurement"/);
    expect(() => readLabels(write('measurements:\n  a: { label: x }\n  a: { label: y }\n'))).toThrow(/:3: not valid YAML: Map keys must be unique/);
  });

  test('two measurements of a lab cannot share a label', () => {
    expect(() => readLabels(write('measurements:\n  a.gap_s: { label: Longest pause, unit: s }\n  b.gap_s: { label: longest pause, unit: s }\n')))
      .toThrow(/measurements: b\.gap_s has the label "longest pause" of a\.gap_s: a reader could not tell them apart/);
  });
});
