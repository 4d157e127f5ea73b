// Runs a lab's checkpoints the one way both `workshop verify` and `workshop check` do: each in a fresh,
// non-interactive bash in the environment's folder, reaching its compose project by name, and its
// output matched against the checkpoint's expectation.
import path from 'node:path';
import { execa } from 'execa';
import type { Checkpoint, Expectation, LabDocument } from '../lab/model.ts';
import { matchOutput } from '../expect/match.ts';
import { composeEnv, type ComposeProject } from '../environment/compose.ts';
import { environmentsDir, repoRoot } from '../paths.ts';

// A checkpoint without `timeout=` gets this long: it reads state, it never waits for it.
export const DEFAULT_CHECKPOINT_TIMEOUT_S = 20;

// Where checkpoints run: the folder an attendee's `docker compose` commands run in, and the
// variables that name the project (`COMPOSE_PROJECT_NAME`, `PG_MAJOR`).
export interface CheckpointTarget {
  cwd: string;
  env: Record<string, string>;
}

export interface CheckpointResult {
  checkpoint: Checkpoint;
  expectation: Expectation | undefined;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  timedOut: boolean;
  // stdout and stderr as they came, interleaved.
  output: string;
  // The exit code was 0 and the output matched the expectation.
  ok: boolean;
  diff?: string[];
}

// The target of a lab's environment: its folder under environments/ and the project, or the
// repository root for a lab without an environment.
export function checkpointTarget(project: ComposeProject | undefined): CheckpointTarget {
  if (!project?.environment) return { cwd: repoRoot, env: project ? composeEnv(project) : {} };
  return { cwd: path.join(environmentsDir, project.environment), env: composeEnv(project) };
}

// The checkpoints of a lab that apply to a major, in document order.
export function checkpointsFor(document: LabDocument, major: number): Checkpoint[] {
  return document.checkpoints.filter((c) => !c.pg || c.pg.includes(major));
}

// The expectation of a checkpoint on a major (lint requires one for every major it applies to).
export function checkpointExpectation(document: LabDocument, id: string, major: number): Expectation | undefined {
  return document.expectations.find((e) => e.step === id && (!e.pg || e.pg.includes(major)));
}

// Runs one checkpoint; never throws for a failing command: the result says what was seen.
export async function runCheckpoint(checkpoint: Checkpoint, expectation: Expectation | undefined, target: CheckpointTarget, timeFactor = 1): Promise<CheckpointResult> {
  const started = new Date();
  const timeoutMs = (checkpoint.timeoutSeconds ?? DEFAULT_CHECKPOINT_TIMEOUT_S) * 1000 * timeFactor;
  // stdin is not a terminal: `docker compose exec` then allocates no TTY, as under `-T`.
  const result = await execa('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', checkpoint.code], {
    cwd: target.cwd, env: target.env, stdin: 'ignore', all: true, reject: false, timeout: timeoutMs, forceKillAfterDelay: 2000,
  });
  const output = result.all ?? '';
  const exitCode = result.timedOut ? 124 : (result.exitCode ?? 1);
  const matched = expectation ? matchOutput(expectation.lines, output) : undefined;
  const ok = exitCode === 0 && (matched?.ok ?? false);
  return {
    checkpoint, expectation, startedAt: started.toISOString(), durationMs: Date.now() - started.getTime(), exitCode, timedOut: result.timedOut,
    output, ok, ...(matched && !matched.ok && { diff: matched.diff }),
  };
}

// Checkpoints run at once: they only read, and most of each is `docker compose` starting.
export const CONCURRENT_CHECKPOINTS = 4;

// Runs checkpoints of a lab on a major, a few at once; the results in the checkpoints' order.
export async function runCheckpoints(document: LabDocument, major: number, checkpoints: Checkpoint[], target: CheckpointTarget, timeFactor = 1): Promise<CheckpointResult[]> {
  const results: CheckpointResult[] = new Array(checkpoints.length);
  let next = 0;
  const worker = async () => {
    while (next < checkpoints.length) {
      const index = next++;
      const checkpoint = checkpoints[index]!;
      results[index] = await runCheckpoint(checkpoint, checkpointExpectation(document, checkpoint.id, major), target, timeFactor);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CHECKPOINTS, checkpoints.length) }, worker));
  return results;
}
