// Where an attendee stands in a lab, from the results of its checkpoints run against their environment.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Checkpoint, LabDocument, Step } from '../lab/model.ts';
import { pageSections } from '../agenda/agenda.ts';
import type { CheckpointResult } from './run.ts';
import { repoRoot } from '../paths.ts';

// An H2 section of the page: its title, its anchor on the site and its first line.
export interface PageSection {
  title: string;
  slug: string;
  line: number;
}

export interface NextStep {
  // The first checkpoint that does not hold where the attendee stands.
  result: CheckpointResult;
  // The steps of the page that make it true: those after the previous checkpoint's step, up to the
  // step it follows; numbered as the site numbers steps (Step N).
  firstStep: Step;
  firstStepNumber: number;
  step: Step;
  stepNumber: number;
  // The section of the first of those steps.
  section: PageSection;
  // The page on the site with the section's anchor: `/04-replication/lab/#promote-pg2`.
  link: string;
}

export interface Standing {
  results: CheckpointResult[];
  // How many checkpoints, in page order, the attendee has reached: every checkpoint still expected
  // there holds. Equal to results.length when the lab is done.
  reached: number;
  // Sections whose checkpoints were all reached, in page order.
  sectionsDone: PageSection[];
  next?: NextStep;
}

// The checkpoints expected to hold once the first `count` checkpoints are reached: all of them,
// except those a reached checkpoint named in `until` replaced (the row updated again, a new leader).
export function expectedAt(checkpoints: Checkpoint[], count: number): number[] {
  const reached = checkpoints.slice(0, count);
  return reached.flatMap((checkpoint, index) => (checkpoint.until !== undefined && reached.some((c) => c.id === checkpoint.until) ? [] : [index]));
}

// The furthest point whose expected checkpoints all hold, the sections done, and the step to look at
// for the first checkpoint that does not hold beyond it. `steps`: the steps the attendee types, every
// step of the page on `major` by default, the core path's only for `workshop check --core-path`.
export function standing(document: LabDocument, major: number, results: CheckpointResult[], sections: PageSection[], steps?: Step[]): Standing {
  const applicable = steps ?? document.steps.filter((s) => !s.pg || s.pg.includes(major));
  const checkpoints = results.map((r) => r.checkpoint);
  let reached = 0;
  for (let count = checkpoints.length; count > 0; count--) {
    if (expectedAt(checkpoints, count).every((index) => results[index]!.ok)) {
      reached = count;
      break;
    }
  }
  const sectionOf = (line: number): PageSection => sections.filter((s) => s.line <= line).at(-1) ?? { title: document.frontMatter?.title ?? document.file, slug: '', line: 1 };
  const bySection = new Map<PageSection, number[]>();
  checkpoints.forEach((checkpoint, index) => {
    const section = sectionOf(checkpoint.position.line);
    bySection.set(section, [...(bySection.get(section) ?? []), index]);
  });
  const sectionsDone = [...bySection].filter(([, indexes]) => indexes.every((index) => index < reached)).map(([section]) => section);
  if (reached === checkpoints.length) return { results, reached, sectionsDone };
  const failing = expectedAt(checkpoints, reached + 1).find((index) => !results[index]!.ok)!;
  const result = results[failing]!;
  const step = stepBefore(document, result.checkpoint, major, applicable)!;
  const previous = failing > 0 ? stepBefore(document, checkpoints[failing - 1]!, major, applicable) : undefined;
  const firstStep = applicable.find((s) => s.position.line > (previous?.position.line ?? 0) && s.position.line <= step.position.line) ?? step;
  const section = sectionOf(firstStep.position.line);
  return {
    results, reached, sectionsDone,
    next: {
      result, firstStep, firstStepNumber: stepNumber(document, firstStep.id), step, stepNumber: stepNumber(document, step.id), section,
      link: `${pagePath(document.file)}${section.slug ? `#${section.slug}` : ''}`,
    },
  };
}

// The step a checkpoint checks on a major: the last step before it that applies there (among `steps`
// when given: the core path's).
export function stepBefore(document: LabDocument, checkpoint: Checkpoint, major: number, steps?: Step[]): Step | undefined {
  return (steps ?? document.steps).filter((s) => s.position.line < checkpoint.position.line && (!s.pg || s.pg.includes(major))).at(-1);
}

// Steps are numbered in order of first appearance, variants of one id sharing a number (as the site titles them).
export function stepNumber(document: LabDocument, id: string): number {
  return [...new Set(document.steps.map((s) => s.id))].indexOf(id) + 1;
}

// A lab page's path on the site: curriculum/04-replication/lab.md is /04-replication/lab/.
export function pagePath(file: string): string {
  const parts = file.split('/');
  return `/${parts.at(-2)}/${path.basename(parts.at(-1)!, '.md')}/`;
}

// The page's H2 sections with their site anchors (as the agenda reads them).
export function labSections(document: LabDocument): PageSection[] {
  const file = path.resolve(repoRoot, document.file);
  return pageSections(readFileSync(file, 'utf8'), file).sections.filter((s) => s.slug !== '').map(({ title, slug, line }) => ({ title, slug, line }));
}
