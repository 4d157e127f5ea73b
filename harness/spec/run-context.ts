// What one verify run shares between the CLI and the spec workers, passed through the environment.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { matrix, majorInfo } from '../lab/majors.ts';
import { repoRoot } from '../paths.ts';

export interface RunContext {
  runId: string;
  major: number;
  runDir: string;
  keep: boolean;
  eventsFile: string;
}

export function newRunId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-').toLowerCase();
}

let fallbackRunId: string | undefined;

export function runContext(): RunContext {
  const major = process.env.WORKSHOP_PG ? Number(process.env.WORKSHOP_PG) : matrix().defaultMajor;
  majorInfo(major);
  fallbackRunId ??= newRunId();
  const runId = process.env.WORKSHOP_RUN_ID ?? fallbackRunId;
  const runDir = process.env.WORKSHOP_RUN_DIR ?? path.join(repoRoot, 'runs', runId);
  mkdirSync(runDir, { recursive: true });
  return {
    runId, major, runDir,
    keep: process.env.WORKSHOP_KEEP === '1',
    eventsFile: process.env.WORKSHOP_EVENTS ?? path.join(runDir, `events-pg${major}.jsonl`),
  };
}

export type RunEvent =
  | { type: 'step-start'; lab: string; step: string; terminal: string; at: string; background: boolean }
  | { type: 'step-end'; lab: string; step: string; at: string; exitCode: number; durationMs: number; outcome: 'passed' | 'failed'; timedOut: boolean }
  | { type: 'lab-start'; lab: string; at: string; project?: string }
  | { type: 'lab-end'; lab: string; at: string; status: string; report: string }
  | { type: 'checkpoint'; lab: string; checkpoint: string; title: string; at: string; outcome: 'passed' | 'failed'; durationMs: number; recheck: boolean }
  | { type: 'note'; lab: string; at: string; text: string };

// Appends one event for the CLI, which prints them as they come.
export function emit(context: RunContext, event: RunEvent): void {
  appendFileSync(context.eventsFile, `${JSON.stringify(event)}\n`);
}
