// The run report: one JSON per run and PostgreSQL major. The site and CI read it; see README "Run report".

export const REPORT_SCHEMA_VERSION = 1;

export interface StepReport {
  id: string;
  terminal: string;
  // Where the step stands in the lab, `curriculum/…/lab.md:12`.
  source: string;
  command: string;
  background: boolean;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  expectedExitCode: number;
  timedOut: boolean;
  // `passed` when the exit code and the expectation (if any) matched.
  outcome: 'passed' | 'failed';
  expectation?: { source: string; ok: boolean; diff?: string[] };
  output: string;
}

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  description?: string;
}

export interface Series {
  name: string;
  unit: string;
  description?: string;
  // [unix time in ms, value]; `marks` name instants on the same clock (a kill, a new leader).
  points: [number, number][];
  marks?: { at: number; label: string }[];
}

export interface LabReport {
  id: string;
  title: string;
  file: string;
  environment?: string;
  major: number;
  status: 'passed' | 'failed' | 'not-applicable';
  startedAt: string;
  durationMs: number;
  steps: StepReport[];
  // Applicable steps that never ran: a lab with any is failed.
  stepsNotRun: string[];
  measurements: Measurement[];
  series: Series[];
  errors: string[];
  // Run-folder path of the evidence kept on failure (logs, transcripts, patronictl output).
  evidence?: string;
  // In reports/pg<major>.json: the earlier run a lab's result comes from, when this run did not run it.
  fromRunId?: string;
}

export interface RunReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  runId: string;
  major: number;
  // Versions of the software the labs ran against, read from the image.
  versions: Record<string, string>;
  startedAt: string;
  endedAt: string;
  status: 'passed' | 'failed';
  host: { platform: string; cpus: number; memoryGiB: number; node: string };
  labs: LabReport[];
}
