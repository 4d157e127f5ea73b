// The run report: one JSON per run and PostgreSQL major, declared once as a schema. The harness writes
// it, `workshop verify` and the site read it back through parseRunReport, which validates it.
import * as z from 'zod';

export const REPORT_SCHEMA_VERSION = 1;

export const StepReport = z.object({
  id: z.string(),
  terminal: z.string(),
  // Where the step stands in the lab, `curriculum/…/lab.md:12`.
  source: z.string(),
  command: z.string(),
  background: z.boolean(),
  startedAt: z.string(),
  durationMs: z.number(),
  exitCode: z.number(),
  expectedExitCode: z.number(),
  timedOut: z.boolean(),
  // `passed` when the exit code and the expectation (if any) matched.
  outcome: z.enum(['passed', 'failed']),
  expectation: z.object({ source: z.string(), ok: z.boolean(), diff: z.array(z.string()).optional() }).optional(),
  output: z.string(),
});
export type StepReport = z.infer<typeof StepReport>;

// A checkpoint run by verify right after the step before it (`after`), as `workshop check` runs it.
export const CheckpointReport = z.object({
  id: z.string(),
  title: z.string(),
  source: z.string(),
  // The step it ran after.
  after: z.string(),
  command: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  exitCode: z.number(),
  timedOut: z.boolean(),
  outcome: z.enum(['passed', 'failed']),
  // Run at another checkpoint's place (verify runs them all at each): recorded only when it failed
  // the lab there, as an earlier checkpoint that no longer holds or a later one that holds too early.
  recheck: z.boolean().optional(),
  expectation: z.object({ source: z.string(), ok: z.boolean(), diff: z.array(z.string()).optional() }).optional(),
  output: z.string(),
});
export type CheckpointReport = z.infer<typeof CheckpointReport>;

export const Measurement = z.object({
  name: z.string(),
  value: z.number(),
  unit: z.string(),
  description: z.string().optional(),
});
export type Measurement = z.infer<typeof Measurement>;

export const Series = z.object({
  name: z.string(),
  unit: z.string(),
  description: z.string().optional(),
  // [unix time in ms, value]; `marks` name instants on the same clock (a kill, a new leader).
  points: z.array(z.tuple([z.number(), z.number()])),
  marks: z.array(z.object({ at: z.number(), label: z.string() })).optional(),
});
export type Series = z.infer<typeof Series>;

// The environment's containers sampled with `docker stats` while the lab ran (probes/resources.ts):
// peaks of the sums over the compose project's containers. Memory is docker's MemUsage (without the
// page cache it can reclaim); CPU percent is of one core (200 = two cores busy).
export const LabResources = z.object({
  // The pause after each sample; `docker stats --no-stream` takes ~2 s more.
  pauseMs: z.number(),
  // Samples that saw at least one container of the project.
  samples: z.number().int(),
  // Samples that failed (a container gone, a busy engine): gaps in `points`, not failures of the lab.
  errors: z.number().int(),
  lastError: z.string().optional(),
  peakMemoryBytes: z.number(),
  peakMemoryAt: z.string().optional(),
  peakCpuPercent: z.number(),
  peakCpuAt: z.string().optional(),
  // The most containers one sample saw.
  containers: z.number().int(),
  // [unix ms, memory bytes, CPU percent] per sample: the peaks of a part of the lab (a section's steps).
  points: z.array(z.tuple([z.number(), z.number(), z.number()])),
});
export type LabResources = z.infer<typeof LabResources>;

export const LabReport = z.object({
  id: z.string(),
  title: z.string(),
  file: z.string(),
  environment: z.string().optional(),
  major: z.number().int(),
  status: z.enum(['passed', 'failed', 'not-applicable']),
  startedAt: z.string(),
  durationMs: z.number(),
  steps: z.array(StepReport),
  // `verify --page-only --stop-after <step>`: the lab was stopped on purpose after this step, its
  // environment kept; the steps after it are not owed.
  stoppedAfter: z.string().optional(),
  // `verify --page-only --core-path`: only the lab's core path was typed; the deep dives listed
  // (`Title (file:line)`) were skipped, their steps and checkpoints neither run nor owed.
  corePath: z.literal(true).optional(),
  deepDivesSkipped: z.array(z.string()).optional(),
  // Applicable steps that never ran: a lab with any is failed.
  stepsNotRun: z.array(z.string()),
  // Optional, so that reports written before checkpoints existed still read as schema 1.
  checkpoints: z.array(CheckpointReport).optional(),
  // Applicable checkpoints that never ran: a lab with any is failed.
  checkpointsNotRun: z.array(z.string()).optional(),
  measurements: z.array(Measurement),
  series: z.array(Series),
  errors: z.array(z.string()),
  // Optional, so that reports written before it existed (and labs without an environment) stay valid.
  resources: LabResources.optional(),
  // Run-folder path of the evidence kept on failure (logs, transcripts, patronictl output).
  evidence: z.string().optional(),
  // In reports/pg<major>.json: the earlier run a lab's result comes from, when this run did not run it.
  fromRunId: z.string().optional(),
});
export type LabReport = z.infer<typeof LabReport>;

export const RunReport = z.object({
  // `page-only`: each lab typed straight through, without its spec (`workshop verify --page-only`).
  mode: z.literal('page-only').optional(),
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  runId: z.string(),
  major: z.number().int(),
  // Versions of the software the labs ran against, read from the image.
  versions: z.record(z.string(), z.string()),
  startedAt: z.string(),
  endedAt: z.string(),
  status: z.enum(['passed', 'failed']),
  host: z.object({ platform: z.string(), cpus: z.number(), memoryGiB: z.number(), node: z.string() }),
  labs: z.array(LabReport),
});
export type RunReport = z.infer<typeof RunReport>;

export class ReportError extends Error {
  override name = 'ReportError';
}

// Validates a run report read from `file`; throws naming the file, the field and what was wrong.
export function parseRunReport(text: string, file: string): RunReport {
  return parseWith(RunReport, text, file, 'run report');
}

// Validates one lab's report (lab-report.json in the run folder).
export function parseLabReport(text: string, file: string): LabReport {
  return parseWith(LabReport, text, file, 'lab report');
}

function parseWith<T>(schema: z.ZodType<T>, text: string, file: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReportError(`${file}: not a ${what}: ${(error as Error).message}`, { cause: error });
  }
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (what === 'run report' && version !== REPORT_SCHEMA_VERSION) {
    throw new ReportError(`${file}: report schemaVersion ${JSON.stringify(version)}, expected ${REPORT_SCHEMA_VERSION} (harness/report/model.ts)`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new ReportError(`${file}: not a valid ${what} (harness/report/model.ts):\n${problems.join('\n')}`);
  }
  return parsed.data;
}
