// Page-only verification: a lab typed straight through as an attendee would, with nothing between steps.
// No spec code runs: no poll, no SQL check, no hidden wait. Each step starts after a human pause;
// background steps end where the page says (`stops=`, `waits=`); every exit code and expectation holds.
// With `corePath`, only the lab's core sections are typed, as an attendee of the 3-hour workshop who
// skips the deep dives does: a later core section that needs what a deep dive made fails there.
import type { Step } from '../lab/model.ts';
import type { LabReport } from '../report/model.ts';
import { openLab, StepFailedError, type Lab, type LabOptions } from './lab.ts';
import { emit } from './run-context.ts';
import { budget } from './wait.ts';

// What a person takes between two commands: reading the output, the next paragraph, typing.
export const DEFAULT_PAUSE_SECONDS = 3;
// A background step that the page says to wait for, without a timeout of its own.
const BACKGROUND_WAIT_MS = 10 * 60_000;

export interface PageOnlyOptions extends LabOptions {
  // Seconds between the end of one step and the start of the next.
  pauseSeconds?: number;
  // Checked between steps: a Ctrl-C of the run stops the lab at the next step.
  interrupted?: () => boolean;
}

// The background steps still running once the page has been typed through `stopAfter`: those it
// started and has not yet ended (`stops=`, `waits=`) by then.
export function runningAfter(steps: Step[], stopAfter: string): Step[] {
  const running = new Map<string, Step>();
  for (const step of steps) {
    if (step.stops !== undefined) running.delete(step.stops);
    if (step.waits !== undefined) running.delete(step.waits);
    if (step.background) running.set(step.id, step);
    if (step.id === stopAfter) break;
  }
  return [...running.values()];
}

// Opens the lab, types every applicable step in document order, and closes it (report, teardown).
export async function verifyPageOnly(id: string, options: PageOnlyOptions = {}): Promise<LabReport> {
  const lab = openLab(id, options);
  emit(lab.context, { type: 'lab-start', lab: lab.id, at: new Date().toISOString(), ...(lab.project && { project: lab.project.name }) });
  if (lab.skipped) {
    const dives = lab.skipped.map((d) => `\`${d.section.title}\` (${d.section.file}:${d.section.line}: ${[...d.steps.map((s) => s.id), ...d.checkpoints.map((c) => `check ${c.id}`)].join(', ')})`);
    emit(lab.context, { type: 'note', lab: lab.id, at: new Date().toISOString(), text: `core path only: ${dives.length > 0 ? `skipping the deep dive(s) ${dives.join('; ')}` : 'no deep dive has steps on this major, the core path is the whole page'}` });
  }
  try {
    await typeThrough(lab, options);
  } catch (error) {
    // A failed step has recorded itself; anything else (a terminal gone, bad input) is recorded here.
    lab.markFailed(error instanceof StepFailedError ? undefined : `page-only run stopped: ${(error as Error).message}`);
  }
  // Writes the lab's report and removes the environment; throws when steps never ran without a failure.
  return lab.close();
}

async function typeThrough(lab: Lab, options: PageOnlyOptions): Promise<void> {
  const pauseMs = (options.pauseSeconds ?? DEFAULT_PAUSE_SECONDS) * 1000;
  const running = new Map<string, Step>();
  const ended = new Set<string>();
  const skippedSteps = new Set((lab.skipped ?? []).flatMap((dive) => dive.steps.map((s) => s.id)));
  let first = true;
  for (const step of lab.steps) {
    if (options.interrupted?.()) {
      lab.markFailed('interrupted');
      return;
    }
    if (!first && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    first = false;
    // `waits=` reads "once it has ended": a step that already ended (an earlier step waited for it),
    // or that the core path never started (its deep dive was skipped), leaves nothing to wait for.
    if (step.waits !== undefined && !running.has(step.waits) && (ended.has(step.waits) || skippedSteps.has(step.waits))) {
      emit(lab.context, { type: 'note', lab: lab.id, at: new Date().toISOString(), text: `step \`${step.id}\`: nothing to wait for, \`${step.waits}\` ${ended.has(step.waits) ? 'has already ended' : 'was not started (its deep dive is skipped)'}` });
    } else if (step.waits !== undefined && !running.has(step.waits)) {
      // Lint refuses this; should it reach here, it fails at once rather than wait for a step that never started.
      const at = `${step.position.file}:${step.position.line}`;
      lab.markFailed(`Step \`${step.id}\` (${at}) waits for background step \`${step.waits}\`, which this run never started (on this major, no step that starts it applies): start it on the same majors as the step that waits for it`, `step \`${step.id}\` (${at})`);
      return;
    }
    // Lint refuses a core path that stops a background step only a deep dive starts; should one reach
    // here, it fails at once rather than stop a step that never started.
    const ends = [step.stops].find((id) => id !== undefined && !running.has(id));
    if (ends !== undefined) {
      const at = `${step.position.file}:${step.position.line}`;
      lab.markFailed(`Step \`${step.id}\` (${at}) ends background step \`${ends}\`, which this run never started${lab.skipped ? ' (the core path skips the deep dive that starts it)' : ' (on this major, no step that starts it applies)'}: start it in the same kind of section, on the same majors, as the step that ends it`, `step \`${step.id}\` (${at})`);
      return;
    }
    // The page ends a background step before the step that says so, as the attendee would first
    // press Ctrl-C in its terminal (or see it finish), then type the next command.
    if (step.stops !== undefined) {
      await lab.stop(step.stops);
      running.delete(step.stops);
    }
    if (step.stops !== undefined) ended.add(step.stops);
    if (step.waits !== undefined && running.has(step.waits)) {
      const background = running.get(step.waits)!;
      await lab.wait(step.waits, budget((background.timeoutSeconds ?? BACKGROUND_WAIT_MS / 1000) * 1000));
      running.delete(step.waits);
      ended.add(step.waits);
    }
    await lab.run(step.id);
    if (step.background) running.set(step.id, step);
    if (step.id === options.stopAfter) return;
  }
  if (running.size > 0) {
    const names = [...running.values()].map((s) => `\`${s.id}\` (${s.position.file}:${s.position.line})`);
    lab.markFailed(`The ${lab.skipped ? 'core path' : 'page'} never ends background step(s) ${names.join(', ')}: say where the attendee ends each (Ctrl-C in its terminal: \`stops=<id>\` on the step before which it is done; it ends by itself: \`waits=<id>\`)`);
  }
}
