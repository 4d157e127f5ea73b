// The agenda page's plan, from the harness's agenda (harness/agenda/agenda.ts, what `workshop agenda`
// prints): the core path module by module with each core section's link and time, breaks placed at module
// boundaries, the totals against the budget and the slot, then the deep dives. Times are the harness's;
// this module only orders, links and rounds them.
import type { Agenda, TimedSection } from '../../../../harness/agenda/agenda.ts';

// A break of BREAK_MINUTES once the core content since the start (or the last break) reaches the window
// BREAK_AFTER_MINUTES: attention holds for about 75-90 minutes of reading and typing.
export const BREAK_MINUTES = 15;
export const BREAK_AFTER_MINUTES = { from: 75, to: 90 } as const;
// No break when less core content than this is left: the end of the session is near.
export const NO_BREAK_IN_LAST_MINUTES = 20;

// What the plan needs of a doc page: where it is served, its title, and what its front matter says.
export interface PageInfo {
  permalink: string;
  title: string;
  description?: string;
  // The lesson's `outcome` front matter: what the attendee leaves able to do.
  outcome?: string;
}

export interface PlanSection {
  title: string;
  // The anchor on the page ('' for the text before the first `##`), and the link with it.
  slug: string;
  href: string;
  minutes: number;
}

export interface PlanPage {
  file: string;
  kind: 'lesson' | 'lab';
  title: string;
  permalink: string;
  coreMinutes: number;
  deepDiveMinutes: number;
  // A lab with steps that no report of the major measured: its commands' run time is not counted.
  measured: boolean;
  sections: PlanSection[];
}

export interface PlanModule {
  module: string;
  number: string;
  title: string;
  // What the module leaves the attendee able to do (`outcome`), else what it covers (the lesson's description).
  summary?: { kind: 'outcome' | 'covers'; text: string };
  coreMinutes: number;
  deepDiveMinutes: number;
  // Minutes from the start of the session (core content and breaks before it).
  startsAt: number;
  pages: PlanPage[];
}

export interface PlanBreak {
  minutes: number;
  startsAt: number;
  // Core content since the start or the previous break.
  afterCoreMinutes: number;
}

export type PlanItem = { type: 'module'; module: PlanModule } | { type: 'break'; break: PlanBreak };

export interface DeepDive extends PlanSection {
  module: string;
  pageTitle: string;
}

export interface AgendaPlan {
  major: number;
  coreMinutes: number;
  deepDiveMinutes: number;
  budgetMinutes: number;
  slotMinutes: number;
  // All breaks together, and the window of content after which one comes.
  breakMinutes: number;
  breakAfterMinutes: { from: number; to: number };
  wordsPerMinute: number;
  secondsPerCommand: number;
  items: PlanItem[];
  deepDives: DeepDive[];
}

// What a lesson or lab page shows under its title, by the page's repository path.
export interface PageTimes {
  coreMinutes: number;
  deepDiveMinutes: number;
  measured: boolean;
  // The deep dives' minutes by anchor, for their markers.
  deepDives: Record<string, number>;
}

export interface PlanConstants {
  budgetMinutes: number;
  slotMinutes: number;
  wordsPerMinute: number;
  secondsPerCommand: number;
}

const sum = (sections: TimedSection[]) => Math.round(sections.reduce((total, s) => total + s.minutes, 0) * 10) / 10;

// Where the breaks go: after module i when the core content since the last break has reached the window,
// or when waiting for the next boundary would overshoot the window by more than stopping here falls short.
export function breakBoundaries(moduleMinutes: number[]): number[] {
  const total = moduleMinutes.reduce((a, b) => a + b, 0);
  const after: number[] = [];
  let since = 0;
  let done = 0;
  moduleMinutes.forEach((minutes, index) => {
    since += minutes;
    done += minutes;
    const next = moduleMinutes[index + 1];
    if (next === undefined || total - done < NO_BREAK_IN_LAST_MINUTES) return;
    const reached = since >= BREAK_AFTER_MINUTES.from;
    const closerThanNext = since + next > BREAK_AFTER_MINUTES.to && BREAK_AFTER_MINUTES.from - since < since + next - BREAK_AFTER_MINUTES.to;
    if (reached || closerThanNext) {
      after.push(index);
      since = 0;
    }
  });
  return after;
}

// The plan of the agenda page from the harness's agenda and the doc pages (by repository path).
export function agendaPlan(agenda: Agenda, pages: Map<string, PageInfo>, constants: PlanConstants): AgendaPlan {
  const pageOf = (file: string): PageInfo => {
    const page = pages.get(file);
    if (!page) throw new Error(`The agenda names ${file}, which is not a page of the site: expected a doc at that path under curriculum/`);
    return page;
  };
  const href = (section: TimedSection) => `${pageOf(section.file).permalink}${section.slug ? `#${section.slug}` : ''}`;
  const planSection = (section: TimedSection): PlanSection => ({
    title: section.slug ? section.title : 'Introduction', slug: section.slug, href: href(section), minutes: section.minutes,
  });
  const modules: PlanModule[] = agenda.modules.map((module) => {
    const sections = agenda.sections.filter((s) => s.module === module.module);
    const files = [...new Set(sections.map((s) => s.file))];
    const lesson = files.map((file) => ({ file, info: pageOf(file) })).find(({ file }) => sections.some((s) => s.file === file && s.kind === 'lesson'));
    const summary: PlanModule['summary'] = lesson?.info.outcome ? { kind: 'outcome', text: lesson.info.outcome }
      : lesson?.info.description ? { kind: 'covers', text: lesson.info.description } : undefined;
    return {
      module: module.module,
      number: /^(\d+)-/.exec(module.module)?.[1] ?? module.module,
      title: module.title,
      ...(summary && { summary }),
      coreMinutes: module.coreMinutes,
      deepDiveMinutes: module.deepDiveMinutes,
      startsAt: 0,
      pages: files.map((file) => {
        const own = sections.filter((s) => s.file === file);
        const core = own.filter((s) => s.mark === 'core');
        return {
          file, kind: own[0]!.kind, title: pageOf(file).title, permalink: pageOf(file).permalink,
          coreMinutes: sum(core), deepDiveMinutes: sum(own.filter((s) => s.mark === 'deep-dive')),
          measured: own.every((s) => s.commands === 0 || s.runMinutes !== undefined),
          sections: core.map(planSection),
        };
      }),
    };
  });
  const breaks = new Set(breakBoundaries(modules.map((m) => m.coreMinutes)));
  const items: PlanItem[] = [];
  let clock = 0;
  let since = 0;
  modules.forEach((module, index) => {
    module.startsAt = clock;
    items.push({ type: 'module', module });
    clock += module.coreMinutes;
    since += module.coreMinutes;
    if (breaks.has(index)) {
      items.push({ type: 'break', break: { minutes: BREAK_MINUTES, startsAt: clock, afterCoreMinutes: Math.round(since * 10) / 10 } });
      clock += BREAK_MINUTES;
      since = 0;
    }
  });
  const deepDives = agenda.sections.filter((s) => s.mark === 'deep-dive')
    .map((s) => ({ ...planSection(s), module: s.module, pageTitle: pageOf(s.file).title }));
  return {
    major: agenda.major, coreMinutes: agenda.coreMinutes, deepDiveMinutes: agenda.deepDiveMinutes,
    budgetMinutes: constants.budgetMinutes, slotMinutes: constants.slotMinutes, breakMinutes: breaks.size * BREAK_MINUTES, breakAfterMinutes: { ...BREAK_AFTER_MINUTES },
    wordsPerMinute: constants.wordsPerMinute, secondsPerCommand: constants.secondsPerCommand, items, deepDives,
  };
}

// Per page (by repository path): its core and deep-dive minutes, and each deep dive's.
export function pageTimes(agenda: Agenda): Record<string, PageTimes> {
  const times: Record<string, PageTimes> = {};
  for (const file of new Set(agenda.sections.map((s) => s.file))) {
    const own = agenda.sections.filter((s) => s.file === file);
    const deep = own.filter((s) => s.mark === 'deep-dive');
    times[file] = {
      coreMinutes: sum(own.filter((s) => s.mark === 'core')), deepDiveMinutes: sum(deep),
      measured: own.every((s) => s.commands === 0 || s.runMinutes !== undefined),
      deepDives: Object.fromEntries(deep.map((s) => [s.slug, s.minutes])),
    };
  }
  return times;
}
