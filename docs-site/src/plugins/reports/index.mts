// Docusaurus plugin: gives every page what the reports say about each lab (the verification panel),
// the curriculum's modules and the README's start-up sections (the landing page), as global data.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadContext, Plugin } from '@docusaurus/types';
import { readReports, summarize, type LabVerification } from './summary.mts';
import { readmeSections, type ReadmeSections } from './readme.mts';
import { labelsReader } from '../../../../harness/report/labels.ts';

export const PLUGIN_NAME = 'workshop-reports';

export interface ModuleSummary {
  number: string;
  folder: string;
  title: string;
  description?: string;
  lessonPath: string;
  labPath?: string;
  labTitle?: string;
  // Further labs of the module (lab-<name>.md), in sidebar order.
  moreLabs: { path: string; title: string }[];
  environment?: string;
}

export interface WorkshopData {
  // Keyed by the doc's `source` (`@site/../curriculum/01-architecture/lab.md`), as useDoc() gives it.
  labs: Record<string, LabVerification>;
  reports: { file: string; major: number; postgres: string; endedAt: string; status: string }[];
  modules: ModuleSummary[];
  readme: ReadmeSections;
  repositoryUrl?: string;
}

export interface ReportsPluginOptions {
  repoRoot: string;
  reportsDir: string;
  repositoryUrl?: string;
}

// The tools of the report's `versions` that an environment runs: those its compose file names.
function toolsOf(repoRoot: string) {
  return (environment: string | undefined): string[] => {
    const compose = environment ? path.join(repoRoot, 'environments', environment, 'compose.yaml') : undefined;
    if (!compose || !existsSync(compose)) return [];
    const text = readFileSync(compose, 'utf8').toLowerCase();
    return ['patroni', 'pgbouncer', 'haproxy', 'etcd'].filter((tool) => text.includes(tool));
  };
}

interface DocMetadata {
  id: string;
  title: string;
  description?: string;
  permalink: string;
  source: string;
  sourceDirName: string;
  frontMatter: Record<string, unknown>;
}

function modulesOf(docs: DocMetadata[]): ModuleSummary[] {
  const modules = new Map<string, ModuleSummary>();
  const folderOf = (doc: DocMetadata) => /^(\d+)-[^/]+$/.exec(doc.sourceDirName);
  for (const doc of docs.filter((candidate) => candidate.source.endsWith('/index.md'))) {
    const match = folderOf(doc);
    if (!match) continue;
    modules.set(doc.sourceDirName, {
      number: match[1]!, folder: doc.sourceDirName, title: doc.title, description: doc.description, lessonPath: doc.permalink, moreLabs: [],
    });
  }
  for (const doc of docs.filter((candidate) => candidate.source.endsWith('/lab.md'))) {
    const module = modules.get(doc.sourceDirName);
    if (!module) continue;
    module.labPath = doc.permalink;
    module.labTitle = doc.title;
    if (typeof doc.frontMatter.environment === 'string') module.environment = doc.frontMatter.environment;
  }
  for (const doc of docs.filter((candidate) => /\/lab-[\w-]+\.md$/.test(candidate.source))) {
    modules.get(doc.sourceDirName)?.moreLabs.push({ path: doc.permalink, title: doc.title });
  }
  return [...modules.values()].sort((a, b) => Number(a.number) - Number(b.number));
}

// Docusaurus passes the options given in docusaurus.config.ts, untyped.
export default function reportsPlugin(context: LoadContext, given: unknown): Plugin {
  const options = given as ReportsPluginOptions;
  const toSource = (file: string) => `@site/${path.relative(context.siteDir, path.join(options.repoRoot, file)).split(path.sep).join('/')}`;
  return {
    name: PLUGIN_NAME,
    getPathsToWatch: () => [path.join(options.reportsDir, '*.json'), path.join(options.repoRoot, 'labs', '*.labels.yaml'), path.join(options.repoRoot, 'README.md')],
    async loadContent() {
      const loaded = readReports(options.reportsDir);
      console.info(`[${PLUGIN_NAME}] ${loaded.length} report(s) from ${options.reportsDir}${loaded.length ? `: ${loaded.map((r) => path.basename(r.file)).join(', ')}` : ''}`);
      const byFile = summarize(loaded, toolsOf(options.repoRoot), labelsReader(path.join(options.repoRoot, 'labs')));
      return {
        labs: Object.fromEntries(Object.entries(byFile).map(([file, lab]) => [toSource(file), lab])),
        reports: loaded.map(({ file, report }) => ({
          file: path.basename(file), major: report.major, postgres: report.versions.postgres ?? String(report.major), endedAt: report.endedAt, status: report.status,
        })),
      };
    },
    async allContentLoaded({ allContent, actions }) {
      const own = allContent[PLUGIN_NAME]?.default as { labs: WorkshopData['labs']; reports: WorkshopData['reports'] };
      const docsContent = allContent['docusaurus-plugin-content-docs']?.default as { loadedVersions?: { docs: DocMetadata[] }[] } | undefined;
      const docs = docsContent?.loadedVersions?.[0]?.docs ?? [];
      const data: WorkshopData = {
        ...own,
        modules: modulesOf(docs),
        readme: readmeSections(path.join(options.repoRoot, 'README.md')),
        ...(options.repositoryUrl && { repositoryUrl: options.repositoryUrl }),
      };
      actions.setGlobalData(data);
    },
  };
}
