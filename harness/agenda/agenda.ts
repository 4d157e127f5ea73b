// The agenda: an attendee's time per section of every lesson and lab, the core path and its budget.
// Time of a section = its prose read at WORDS_PER_MINUTE + SECONDS_PER_COMMAND per command typed +
// the measured duration of its steps in the latest run report of the major. A page marks its deep
// dives in its front matter (`deep_dives: [<heading slug>, …]`); every other section is core. A deep
// dive may sit anywhere in a lab, between core sections too: the core path is verified by typing it
// alone (core-path.ts, `workshop verify --page-only --core-path`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import type { Code, Heading, Root, RootContent, Yaml } from 'mdast';
import { toString } from 'mdast-util-to-string';
import remarkFrontmatter from 'remark-frontmatter';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import YAML from 'yaml';
import { parseInfoOptions } from '../lab/info-string.ts';
import { LAB_FILE, labIdOf, parseLab, PROGRAM_LANGUAGES, SHELL_LANGUAGES } from '../lab/parse.ts';
import type { LabDocument, Problem } from '../lab/model.ts';
import { curriculumDir, relativeToRepo, repoRoot } from '../paths.ts';
import { corePathProblems } from './core-path.ts';

// Reading speed for prose, and the time a person takes to type (or paste) one command and look at
// what it printed, before the command's own run time.
export const WORDS_PER_MINUTE = 200;
export const SECONDS_PER_COMMAND = 20;
// The workshop's slot, and the part of it the core path may take: the rest is breaks and questions.
export const SLOT_MINUTES = 180;
export const CORE_BUDGET_MINUTES = 150;

export type Mark = 'core' | 'deep-dive';

// One H2 section of a page (the text before the first H2 is the page's introduction).
export interface Section {
  file: string;
  module: string;
  // The lab id for lab pages; undefined for lessons.
  lab?: string;
  kind: 'lesson' | 'lab';
  title: string;
  // The heading's anchor on the site (github-slugger, as Docusaurus makes it); '' for the introduction.
  slug: string;
  line: number;
  mark: Mark;
  words: number;
  commands: number;
  steps: string[];
  // Its steps only remove the environment (`docker compose down`): the clean-up that ends a lab.
  tearsDown: boolean;
}

export interface TimedSection extends Section {
  readingMinutes: number;
  typingMinutes: number;
  // Measured duration of the section's steps in the report, undefined when no report has the lab.
  runMinutes: number | undefined;
  minutes: number;
}

export interface Agenda {
  major: number;
  sections: TimedSection[];
  coreMinutes: number;
  deepDiveMinutes: number;
  // Per module: its core and deep-dive minutes.
  modules: { module: string; title: string; coreMinutes: number; deepDiveMinutes: number }[];
  problems: Problem[];
}

interface PageSections { sections: Section[]; problems: Problem[]; title: string }

// Splits a lesson or lab into its sections, with their marks, prose words and commands.
export function pageSections(markdown: string, file: string): PageSections {
  const shown = relativeToRepo(file);
  const kind = LAB_FILE.test(path.basename(file)) ? 'lab' : 'lesson';
  const module = path.basename(path.dirname(file));
  const tree = unified().use(remarkParse).use(remarkFrontmatter, ['yaml']).parse(markdown) as Root;
  const problems: Problem[] = [];
  const front = tree.children.find((node): node is Yaml => node.type === 'yaml');
  let raw: Record<string, unknown> = {};
  try {
    raw = (front ? YAML.parse(front.value) : {}) as Record<string, unknown> ?? {};
  } catch {
    // `workshop lint` reports front matter that is not YAML; the agenda reads what it can.
  }
  const deepDives = readDeepDives(raw.deep_dives, shown, front, problems);
  const slugger = new GithubSlugger();
  const base = { file: shown, module, kind, ...(kind === 'lab' && { lab: labIdOf(file) }) } as const;
  const intro: Section = { ...base, title: typeof raw.title === 'string' ? raw.title : module, slug: '', line: 1, mark: 'core', words: 0, commands: 0, steps: [], tearsDown: false };
  const sections: Section[] = [intro];
  let current = intro;
  for (const node of tree.children) {
    if (node.type === 'yaml') continue;
    if (node.type === 'heading' && (node as Heading).depth === 2) {
      const title = toString(node);
      const slug = slugger.slug(title);
      current = { ...base, title, slug, line: node.position!.start.line, mark: deepDives.has(slug) ? 'deep-dive' : 'core', words: countWords(title), commands: 0, steps: [], tearsDown: false };
      sections.push(current);
      continue;
    }
    if (node.type === 'heading') slugger.slug(toString(node));
    if (node.type === 'code') {
      const step = runnableStep(node as Code);
      if (step) {
        const tearsDown = /^\s*(cd \S+\s*\n\s*)?docker compose down\b[^\n]*\s*$/.test(node.value);
        current.tearsDown = (current.steps.length === 0 || current.tearsDown) && tearsDown;
        current.steps.push(step.id);
        current.commands += step.commands;
      }
      continue;
    }
    current.words += countWords(proseOf(node));
  }
  for (const slug of deepDives) {
    if (!sections.some((section) => section.slug === slug)) {
      problems.push({ position: { file: shown, line: keyLine(front, 'deep_dives'), column: 1 }, message: `\`deep_dives\` names \`${slug}\`, but no \`##\` heading of this page has that anchor: expected one of ${sections.slice(1).map((s) => `\`${s.slug}\``).join(', ') || '(no ## headings)'}` });
    }
  }
  // A deep dive may sit anywhere, also between core sections; what would keep the core path from being
  // typed alone is refused (core-path.ts), and the rest is proved by typing it (`verify --core-path`).
  if (kind === 'lab') problems.push(...corePathProblems(parseLab(markdown, file), sections));
  const title = typeof raw.title === 'string' ? raw.title : module;
  return { sections, problems, title };
}

// The sections of a parsed lab, read again from its file (the parsed model keeps no headings).
export function labSectionsOf(document: LabDocument): Section[] {
  const file = path.resolve(repoRoot, document.file);
  return pageSections(readFileSync(file, 'utf8'), file).sections;
}

function readDeepDives(value: unknown, file: string, front: Yaml | undefined, problems: Problem[]): Set<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item.trim() !== '')) {
    problems.push({ position: { file, line: keyLine(front, 'deep_dives'), column: 1 }, message: `Front matter \`deep_dives\`: expected a list of the page's \`##\` heading anchors (for instance \`[synchronous-replication]\`), found ${JSON.stringify(value)}` });
    return new Set();
  }
  return new Set(value as string[]);
}

function keyLine(front: Yaml | undefined, key: string): number {
  if (!front) return 1;
  const offset = front.value.split('\n').findIndex((line) => line.startsWith(`${key}:`));
  return front.position!.start.line + 1 + Math.max(0, offset);
}

// A runnable block and the commands a person types in it: shell lines (a trailing `\` continues one),
// or SQL statements typed into psql.
function runnableStep(node: Code): { id: string; commands: number } | undefined {
  const options = parseInfoOptions(node.meta ?? '');
  if (!Array.isArray(options)) return undefined;
  const id = options.find((option) => option.key === 'step')?.value;
  if (!id) return undefined;
  const lang = node.lang ?? '';
  let commands = 1;
  if (SHELL_LANGUAGES.includes(lang)) {
    const lines = node.value.split('\n');
    commands = lines.filter((line, index) => line.trim() !== '' && !line.trim().startsWith('#') && !(lines[index - 1] ?? '').trimEnd().endsWith('\\')).length;
  } else if (PROGRAM_LANGUAGES.includes(lang)) {
    commands = node.value.split(/;\s*(?:\n|$)|^\\\w+.*$/m).filter((part) => part?.trim()).length;
  }
  return { id, commands: Math.max(1, commands) };
}

function proseOf(node: RootContent): string {
  // Tables and lists are read like paragraphs; HTML and MDX carry no prose of their own here.
  if (node.type === 'html') return '';
  return toString(node);
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => /[\p{L}\p{N}]/u.test(word)).length;
}

interface ReportLab { id: string; status: string; steps: { id: string; background?: boolean; durationMs: number }[] }

// Step durations (ms) per lab from reports/pg<major>.json, the latest verified figures of that major.
export function measuredSteps(major: number, reportsDir = path.join(repoRoot, 'reports')): Map<string, Map<string, number>> {
  const file = path.join(reportsDir, `pg${major}.json`);
  const byLab = new Map<string, Map<string, number>>();
  if (!existsSync(file)) return byLab;
  const report = JSON.parse(readFileSync(file, 'utf8')) as { labs?: ReportLab[] };
  for (const lab of report.labs ?? []) {
    if (lab.status === 'not-applicable') continue;
    const steps = new Map<string, number>();
    // The attendee waits for foreground steps; a background load runs while they type.
    for (const step of lab.steps) if (!step.background) steps.set(step.id, (steps.get(step.id) ?? 0) + step.durationMs);
    byLab.set(lab.id, steps);
  }
  return byLab;
}

// Every lesson and lab of the curriculum, timed for `major`, in module order (lesson, then its labs).
export function buildAgenda(major: number, options: { root?: string; reportsDir?: string } = {}): Agenda {
  const root = options.root ?? curriculumDir;
  const measured = measuredSteps(major, options.reportsDir);
  const problems: Problem[] = [];
  const sections: TimedSection[] = [];
  const modules: Agenda['modules'] = [];
  const folders = readdirSync(root, { withFileTypes: true }).filter((entry) => entry.isDirectory() && /^\d+-/.test(entry.name)).map((entry) => entry.name).sort();
  for (const module of folders) {
    const files = readdirSync(path.join(root, module)).filter((name) => name === 'index.md' || LAB_FILE.test(name))
      .sort((a, b) => (a === 'index.md' ? -1 : b === 'index.md' ? 1 : a === 'lab.md' ? -1 : b === 'lab.md' ? 1 : a.localeCompare(b)));
    let title = module;
    const moduleSections: TimedSection[] = [];
    for (const name of files) {
      const file = path.join(root, module, name);
      const page = pageSections(readFileSync(file, 'utf8'), file);
      if (name === 'index.md') title = page.title;
      problems.push(...page.problems);
      const steps = page.sections[0]?.lab ? measured.get(page.sections[0].lab) : undefined;
      for (const section of page.sections) moduleSections.push(timed(section, steps));
    }
    sections.push(...moduleSections);
    const sum = (mark: Mark) => round(moduleSections.filter((s) => s.mark === mark).reduce((total, s) => total + s.minutes, 0));
    modules.push({ module, title, coreMinutes: sum('core'), deepDiveMinutes: sum('deep-dive') });
    for (const kind of ['lesson', 'lab'] as const) {
      const pages = moduleSections.filter((s) => s.kind === kind);
      if (pages.length > 0 && !pages.some((s) => s.mark === 'core' && s.slug !== '')) {
        problems.push({ position: { file: pages[0]!.file, line: 1, column: 1 }, message: `Module ${module} has no core section in its ${kind}: the core path must cover every topic` });
      }
    }
  }
  const total = (mark: Mark) => round(sections.filter((s) => s.mark === mark).reduce((sum, s) => sum + s.minutes, 0));
  return { major, sections, coreMinutes: total('core'), deepDiveMinutes: total('deep-dive'), modules, problems };
}

function timed(section: Section, steps: Map<string, number> | undefined): TimedSection {
  const readingMinutes = section.words / WORDS_PER_MINUTE;
  const typingMinutes = (section.commands * SECONDS_PER_COMMAND) / 60;
  const runMs = steps ? section.steps.reduce((sum, id) => sum + (steps.get(id) ?? 0), 0) : undefined;
  const runMinutes = runMs === undefined ? undefined : runMs / 60_000;
  return { ...section, readingMinutes: round(readingMinutes), typingMinutes: round(typingMinutes), runMinutes: runMinutes === undefined ? undefined : round(runMinutes), minutes: round(readingMinutes + typingMinutes + (runMinutes ?? 0)) };
}

function round(minutes: number): number {
  return Math.round(minutes * 10) / 10;
}

// The agenda as a person reads it: per module its core sections with their times, then the totals.
export function formatAgenda(agenda: Agenda, options: { all?: boolean } = {}): string {
  const lines: string[] = [`Core path on PostgreSQL ${agenda.major}: ${fmt(agenda.coreMinutes)} of a ${CORE_BUDGET_MINUTES} min budget (${SLOT_MINUTES} min slot less breaks and questions); deep dives: ${fmt(agenda.deepDiveMinutes)}`];
  lines.push(`(prose at ${WORDS_PER_MINUTE} words/min + ${SECONDS_PER_COMMAND} s per command + measured step time from reports/pg${agenda.major}.json)`);
  for (const module of agenda.modules) {
    lines.push('', `${module.module}  ${module.title}: core ${fmt(module.coreMinutes)}, deep dives ${fmt(module.deepDiveMinutes)}`);
    for (const section of agenda.sections.filter((s) => s.module === module.module && (options.all || s.mark === 'core'))) {
      const where = `${section.kind === 'lesson' ? 'lesson' : section.lab} › ${section.slug ? section.title : 'introduction'}`;
      const run = section.runMinutes === undefined ? (section.commands > 0 ? ', not measured' : '') : `, run ${fmt(section.runMinutes)}`;
      lines.push(`  ${section.mark === 'core' ? '●' : '○'} ${fmt(section.minutes).padStart(8)}  ${where}  (${section.words} words, ${section.commands} commands${run})`);
    }
  }
  lines.push('', agenda.coreMinutes <= CORE_BUDGET_MINUTES
    ? `core path: ${fmt(agenda.coreMinutes)} ≤ ${CORE_BUDGET_MINUTES} min: fits the ${SLOT_MINUTES} min slot`
    : `core path: ${fmt(agenda.coreMinutes)} > ${CORE_BUDGET_MINUTES} min: ${fmt(round(agenda.coreMinutes - CORE_BUDGET_MINUTES))} over budget; mark sections as deep dives (front matter \`deep_dives\`) or shorten them`);
  return lines.join('\n');
}

function fmt(minutes: number): string {
  return `${minutes.toFixed(1)} min`;
}

