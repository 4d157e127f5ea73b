// Merging run reports: CI's shards each verify some labs on one major; the site wants one report per
// major holding the newest result of every lab.
import { readFileSync } from 'node:fs';
import { REPORT_SCHEMA_VERSION, type LabReport, type RunReport } from './model.ts';

// Reads a report file; throws naming the file and what was found when it is not a run report of this schema.
export function readReport(file: string): RunReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: expected a run report (JSON), could not read it: ${(error as Error).message}`, { cause: error });
  }
  const report = parsed as Partial<RunReport>;
  if (report?.schemaVersion !== REPORT_SCHEMA_VERSION || typeof report.major !== 'number' || !Array.isArray(report.labs)) {
    const seen = parsed && typeof parsed === 'object' ? `schemaVersion ${JSON.stringify(report.schemaVersion)}, major ${JSON.stringify(report.major)}, labs ${Array.isArray(report.labs) ? 'a list' : JSON.stringify(report.labs)}` : JSON.stringify(parsed);
    throw new Error(`${file}: expected a run report with schemaVersion ${REPORT_SCHEMA_VERSION}, a numeric major and a list of labs; found ${seen}`);
  }
  return report as RunReport;
}

// One report per major: for each lab the newest result (by the lab's start), where a lab that ran
// always wins over a `not-applicable` entry. The merged report's status is failed when any lab is.
export function mergeReports(reports: RunReport[]): RunReport[] {
  const byMajor = new Map<number, RunReport[]>();
  for (const report of reports) byMajor.set(report.major, [...(byMajor.get(report.major) ?? []), report]);
  return [...byMajor.entries()].sort(([a], [b]) => a - b).map(([major, group]) => {
    const newestFirst = [...group].sort((a, b) => b.endedAt.localeCompare(a.endedAt));
    const labs = new Map<string, LabReport>();
    for (const report of newestFirst) {
      for (const lab of report.labs) {
        const kept = labs.get(lab.id);
        if (!kept || isNewer(lab, kept)) labs.set(lab.id, lab);
      }
    }
    const merged = [...labs.values()].sort((a, b) => a.id.localeCompare(b.id));
    const newest = newestFirst[0]!;
    return {
      ...newest,
      major,
      // The versions come from the image; every shard of a major loads the same one, the newest says it.
      versions: newest.versions,
      startedAt: group.map((r) => r.startedAt).sort()[0]!,
      endedAt: newest.endedAt,
      status: merged.some((lab) => lab.status === 'failed') ? 'failed' : 'passed',
      labs: merged,
    } satisfies RunReport;
  });
}

function isNewer(candidate: LabReport, kept: LabReport): boolean {
  const ran = (lab: LabReport) => lab.status !== 'not-applicable';
  if (ran(candidate) !== ran(kept)) return ran(candidate);
  return candidate.startedAt > kept.startedAt;
}
