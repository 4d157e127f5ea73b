// The core path of a lab: what an attendee of the 3-hour workshop types, every section of the page
// but its deep dives (front matter `deep_dives`). A deep dive may sit anywhere in a lab, also between
// two core sections: the core path is then verified by typing it alone (`workshop verify --page-only
// --core-path`), which proves that no later core section needs what the deep dive made. What a static
// check can decide is refused here, before any run: a core path that would end a background step it
// never started, leave one running, type SQL into a shell, or check a state only a deep dive makes.
import type { Checkpoint, LabDocument, Problem, Step } from '../lab/model.ts';
import { PROGRAM_LANGUAGES } from '../lab/parse.ts';
import { knownMajors } from '../lab/majors.ts';
// Types only: agenda.ts calls corePathProblems from pageSections, and a module cycle at run time
// would hand one of them the other's exports before they exist under a CommonJS loader (the site's).
import type { Section } from './agenda.ts';

// A deep dive of a lab and what it holds on one major: the steps and checkpoints the core path skips.
export interface SkippedDeepDive {
  section: Section;
  steps: Step[];
  checkpoints: Checkpoint[];
}

export interface CorePath {
  // The core sections' applicable steps and checkpoints, in document order.
  steps: Step[];
  checkpoints: Checkpoint[];
  // The deep dives with something to type or check on this major, in document order.
  skipped: SkippedDeepDive[];
}

// The section a line of the page belongs to: the last one that starts at or before it.
export function sectionAt(sections: Section[], line: number): Section {
  return sections.filter((section) => section.line <= line).at(-1) ?? sections[0]!;
}

// The steps and checkpoints a lab's core path types and checks on `major`, and what it skips.
// A checkpoint belongs to the section it sits in (lint makes sure a core one follows a core step).
export function corePath(document: LabDocument, sections: Section[], major: number): CorePath {
  const applies = (block: Step | Checkpoint) => !block.pg || block.pg.includes(major);
  const isCore = (block: Step | Checkpoint) => sectionAt(sections, block.position.line).mark === 'core';
  const steps = document.steps.filter(applies);
  const checkpoints = document.checkpoints.filter(applies);
  const skipped = sections.filter((section) => section.mark === 'deep-dive').map((section) => ({
    section,
    steps: steps.filter((step) => sectionAt(sections, step.position.line) === section),
    checkpoints: checkpoints.filter((checkpoint) => sectionAt(sections, checkpoint.position.line) === section),
  })).filter((dive) => dive.steps.length > 0 || dive.checkpoints.length > 0);
  return { steps: steps.filter(isCore), checkpoints: checkpoints.filter(isCore), skipped };
}

// Whether typing the whole page does not already type the core path first: a deep dive with steps on
// `major` comes before a core step. (When the deep dives only follow the core steps, the whole-page
// run types the core path as its prefix, in the same state, and a run of its own would prove nothing
// more.) A core clean-up that only removes the environment (`docker compose down`) does not count:
// it needs nothing a deep dive made.
export function corePathNeedsOwnRun(document: LabDocument, sections: Section[], major: number): boolean {
  const { steps, skipped } = corePath(document, sections, major);
  const firstDeep = skipped.flatMap((dive) => dive.steps).map((step) => step.position.line).sort((a, b) => a - b)[0];
  if (firstDeep === undefined) return false;
  return steps.some((step) => step.position.line > firstDeep && !sectionAt(sections, step.position.line).tearsDown);
}

// The rules a core path must keep to be typed alone, checked on every major the lab runs on: each
// problem names the step, the deep dive involved, what the core path would do, and how to fix it.
export function corePathProblems(document: LabDocument, sections: Section[]): Problem[] {
  if (!sections.some((section) => section.mark === 'deep-dive')) return [];
  const problems = new Map<string, Problem>();
  const report = (block: { position: Problem['position'] }, message: string) => {
    const position = { ...block.position, column: 1 };
    problems.set(`${position.line}\n${message}`, { position, message });
  };
  const sectionOf = (line: number) => sectionAt(sections, line);
  const named = (section: Section) => `the deep dive \`${section.title}\` (line ${section.line})`;
  const coreNamed = (section: Section) => section.slug === '' ? 'the introduction' : `the core section \`${section.title}\` (line ${section.line})`;
  for (const major of document.frontMatter?.majors ?? knownMajors()) {
    const applies = (block: Step | Checkpoint) => !block.pg || block.pg.includes(major);
    const steps = document.steps.filter(applies);
    const isCore = (block: { position: Problem['position'] }) => sectionOf(block.position.line).mark === 'core';
    steps.forEach((step, index) => {
      const earlier = steps.slice(0, index);
      const started = (id: string) => earlier.filter((s) => s.id === id && s.background).at(-1);
      for (const option of ['stops', 'waits'] as const) {
        const target = step[option];
        if (target === undefined) continue;
        const background = started(target);
        // No background step of that id at all is the parser's problem (lint reports it there).
        if (!background) continue;
        // A core `waits=` on a deep dive's step waits for nothing on the core path ("once it has ended").
        if (isCore(step) && !isCore(background) && option === 'stops') {
          report(step, `Core step \`${step.id}\` has \`${option}=${target}\`, but background step \`${target}\` (line ${background.position.line}) is in ${named(sectionOf(background.position.line))}: an attendee on the core path skips the deep dive, never starts \`${target}\` and has nothing to ${option === 'stops' ? 'stop' : 'wait for'} here. Start and end it in the same kind of section: move \`${target}\` into a core section, or mark this step's section a deep dive too`);
        } else if (!isCore(step) && isCore(background) && !steps.slice(index + 1).some((s) => isCore(s) && s.waits === target)) {
          report(step, `Step \`${step.id}\` of ${named(sectionOf(step.position.line))} has \`${option}=${target}\`, but background step \`${target}\` (line ${background.position.line}) is in ${coreNamed(sectionOf(background.position.line))}: an attendee on the core path starts \`${target}\`, skips the deep dive and leaves it running. End it in a core section too (a later core step with \`waits=${target}\`, which waits for nothing once it has ended), or mark the section that starts it a deep dive too`);
        }
      }
      if (isCore(step) && PROGRAM_LANGUAGES.includes(step.lang)) {
        const opener = earlier.filter((s) => s.terminal === step.terminal && s.interactive).at(-1);
        const coreOpener = earlier.filter((s) => s.terminal === step.terminal && s.interactive && isCore(s)).at(-1);
        if (opener && !coreOpener) {
          report(step, `Core step \`${step.id}\` is ${step.lang} typed into terminal \`${step.terminal}\`, but the program it types into is started by \`${opener.id}\` (line ${opener.position.line}) in ${named(sectionOf(opener.position.line))}: on the core path no program runs in that terminal and the shell would get the ${step.lang}. Start the program (psql) in a core section before it, or mark this step's section a deep dive too`);
        }
      }
    });
    for (const checkpoint of document.checkpoints.filter(applies)) {
      if (!isCore(checkpoint)) continue;
      const step = steps.filter((s) => s.position.line < checkpoint.position.line).at(-1);
      if (step && !isCore(step)) {
        report(checkpoint, `Core checkpoint \`${checkpoint.id}\` follows step \`${step.id}\` (line ${step.position.line}) of ${named(sectionOf(step.position.line))}: a checkpoint checks the state the step before it leaves, which an attendee on the core path never makes. Move the checkpoint into the deep dive, or below a step of its own section`);
      }
    }
    for (const expectation of document.expectations.filter((e) => !e.pg || e.pg.includes(major))) {
      const owner = [...steps, ...document.checkpoints.filter(applies)].filter((b) => b.id === expectation.step && b.position.line < expectation.position.line).at(-1);
      if (!owner || isCore(owner) === isCore(expectation)) continue;
      const kind = steps.includes(owner as Step) ? 'step' : 'checkpoint';
      report(expectation, isCore(owner)
        ? `The expected output of core ${kind} \`${owner.id}\` (line ${owner.position.line}) sits in ${named(sectionOf(expectation.position.line))}: an attendee on the core path skips it and never reads what the command should print. Place the \`expect=${owner.id}\` block right after its ${kind}`
        : `The expected output of ${kind} \`${owner.id}\` (line ${owner.position.line}) of ${named(sectionOf(owner.position.line))} sits in ${coreNamed(sectionOf(expectation.position.line))}: an attendee on the core path reads the output of a command they never typed. Place the \`expect=${owner.id}\` block right after its ${kind}`);
    }
  }
  return [...problems.values()].sort((a, b) => a.position.line - b.position.line);
}

