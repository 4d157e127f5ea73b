// The report schema is declared once (harness/report/model.ts) and checked wherever a report is read.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseRunReport } from '../../harness/report/model.ts';
import { repoRoot } from '../../harness/paths.ts';

const fixture = path.join(repoRoot, 'docs-site', 'test', 'fixtures', 'reports', 'pg18.json');

describe('the run report schema', () => {
  test('accepts the site\'s fixture reports', () => {
    const report = parseRunReport(readFileSync(fixture, 'utf8'), fixture);
    expect(report.major).toBe(18);
    expect(report.labs.length).toBeGreaterThan(0);
  });

  test('refuses a report with a field of the wrong kind, naming the file and the field', () => {
    const report = JSON.parse(readFileSync(fixture, 'utf8')) as { labs: { measurements: { value: unknown }[] }[] };
    const lab = report.labs.findIndex((l) => l.measurements.length > 0);
    report.labs[lab]!.measurements[0]!.value = '12 s';
    expect(() => parseRunReport(JSON.stringify(report), 'reports/pg18.json'))
      .toThrow(new RegExp(`^reports/pg18.json: not a valid run report \\(harness/report/model.ts\\):\\n  labs\\.${lab}\\.measurements\\.0\\.value: `));
  });

  test('refuses another schema version and text that is not JSON', () => {
    expect(() => parseRunReport('{"schemaVersion": 2}', 'pg18.json')).toThrow('pg18.json: report schemaVersion 2, expected 1');
    expect(() => parseRunReport('{', 'pg18.json')).toThrow(/^pg18.json: not a run report: /);
  });
});
