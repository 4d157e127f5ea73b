// Docusaurus plugin: the agenda. Times come from the harness's own computation (buildAgenda, what
// `workshop agenda --json` prints) over the curriculum and the reports the site shows, for the default
// major: the /agenda/ page, and, as global data, each lesson's and lab's core and deep-dive minutes
// (PageTime under a page's title, DeepDiveMark at a deep dive's heading).
import path from 'node:path';
import type { LoadContext, Plugin } from '@docusaurus/types';
import {
  buildAgenda, CORE_BUDGET_MINUTES, SECONDS_PER_COMMAND, SLOT_MINUTES, WORDS_PER_MINUTE, type Agenda,
} from '../../../../harness/agenda/agenda.ts';
import { agendaPlan, pageTimes, type AgendaPlan, type PageInfo, type PageTimes } from './plan.mts';

export const PLUGIN_NAME = 'workshop-agenda';
// Where the agenda is served, under the baseUrl.
export const AGENDA_ROUTE = 'agenda/';

export interface AgendaPluginOptions {
  repoRoot: string;
  reportsDir: string;
  // The major whose report gives the measured step times (the matrix's default, as `workshop agenda`).
  major: number;
}

// What every page gets: each lesson's and lab's times by the doc's source (as useDoc() gives it), and the
// core path's total for the landing page.
export interface AgendaGlobalData {
  pages: Record<string, PageTimes>;
  coreMinutes: number;
  budgetMinutes: number;
  route: string;
}

interface DocMetadata {
  title: string;
  description?: string;
  permalink: string;
  source: string;
  frontMatter: Record<string, unknown>;
}

// Docusaurus passes the options given in docusaurus.config.ts, untyped.
export default function agendaPlugin(context: LoadContext, given: unknown): Plugin {
  const options = given as AgendaPluginOptions;
  const toSource = (file: string) => `@site/${path.relative(context.siteDir, path.join(options.repoRoot, file)).split(path.sep).join('/')}`;
  return {
    name: PLUGIN_NAME,
    getPathsToWatch: () => [path.join(options.reportsDir, '*.json')],
    async loadContent() {
      const agenda = buildAgenda(options.major, { reportsDir: options.reportsDir });
      // The marks are the linter's to check (`workshop lint`); a site built on wrong marks would link to
      // anchors that do not exist or show a core path that skips a topic.
      if (agenda.problems.length > 0) {
        throw new Error(`The agenda's marks are wrong (front matter \`deep_dives\`):\n${agenda.problems.map((p) => `  ${p.position.file}:${p.position.line}:${p.position.column} ${p.message}`).join('\n')}`);
      }
      console.info(`[${PLUGIN_NAME}] core path on PostgreSQL ${agenda.major}: ${agenda.coreMinutes} min of a ${CORE_BUDGET_MINUTES} min budget; deep dives ${agenda.deepDiveMinutes} min`);
      return agenda;
    },
    async allContentLoaded({ allContent, actions }) {
      const agenda = allContent[PLUGIN_NAME]?.default as Agenda;
      const docsContent = allContent['docusaurus-plugin-content-docs']?.default as { loadedVersions?: { docs: DocMetadata[] }[] } | undefined;
      const docs = docsContent?.loadedVersions?.[0]?.docs ?? [];
      const pages = new Map<string, PageInfo>();
      for (const file of new Set(agenda.sections.map((s) => s.file))) {
        const doc = docs.find((candidate) => candidate.source === toSource(file));
        if (!doc) continue;
        const outcome = doc.frontMatter.outcome;
        pages.set(file, {
          permalink: doc.permalink, title: doc.title,
          ...(doc.description && { description: doc.description }),
          ...(typeof outcome === 'string' && outcome.trim() && { outcome: outcome.trim() }),
        });
      }
      const plan: AgendaPlan = agendaPlan(agenda, pages, {
        budgetMinutes: CORE_BUDGET_MINUTES, slotMinutes: SLOT_MINUTES, wordsPerMinute: WORDS_PER_MINUTE, secondsPerCommand: SECONDS_PER_COMMAND,
      });
      const route = `${context.baseUrl}${AGENDA_ROUTE}`;
      const data: AgendaGlobalData = {
        pages: Object.fromEntries(Object.entries(pageTimes(agenda)).map(([file, times]) => [toSource(file), times])),
        coreMinutes: agenda.coreMinutes,
        budgetMinutes: CORE_BUDGET_MINUTES,
        route,
      };
      actions.setGlobalData(data);
      const planPath = await actions.createData('agenda-plan.json', JSON.stringify(plan));
      actions.addRoute({ path: route, component: '@site/src/components/AgendaPage/index.tsx', modules: { plan: planPath }, exact: true });
    },
  };
}
