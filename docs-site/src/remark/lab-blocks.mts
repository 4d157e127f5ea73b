// Renders the lab format's fenced blocks for readers: runnable steps get a title, expected output is
// styled as output, `pg=` variants of one step or expectation become version tabs, and `file=` blocks
// show the repository's file as it is on disk at build time. The options stay out of the page.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Code, Parent, Root, RootContent } from 'mdast';
import type { VFile } from 'vfile';
import { visit } from 'unist-util-visit';
import { parseInfoOptions, type InfoOptions } from './info-string.mts';
import { majorsInRange, majorsInToolRange, toolVersion, VERSIONED_TOOLS, type Matrix } from '../site/matrix.mts';

export interface LabBlocksOptions {
  repoRoot: string;
  matrix: Matrix;
}

// The class of the wrapper around expected output; the site's CSS styles it as a terminal's output.
export const EXPECTED_CLASS = 'lab-expected';
// The collapsed wrapper of a `file=` block.
export const FILE_CLASS = 'lab-file';
// The "Check your work" box around a checkpoint (`check=<id>`).
export const CHECK_CLASS = 'lab-check';
// The note that explains expected output's wildcards, once per page.
export const WILDCARDS_CLASS = 'lab-wildcards';
const DEFAULT_TERMINAL = 'main';
const PROGRAM_LANGUAGES = ['sql', 'psql'];

interface LabBlock {
  node: Code;
  options: InfoOptions;
  // `step:<id>` or `expect:<id>`: blocks that are variants of one another share it.
  variantKey?: string;
  // Majors the block applies to (its `pg=` or tool range over the version table), when it has one.
  pgMajors?: number[];
  // The tool whose version chose the variant (`patroni=">=4"`) and how the page names the range.
  tool?: { name: string; label: string };
}

interface JsxAttribute {
  type: 'mdxJsxAttribute';
  name: string;
  value: string;
}

// An MDX JSX element; `Tabs` and `TabItem` resolve through the theme's MDXComponents, `div` is HTML.
function jsx(name: string, attributes: Record<string, string>, children: RootContent[]): RootContent {
  const attrs: JsxAttribute[] = Object.entries(attributes).map(([key, value]) => ({ type: 'mdxJsxAttribute', name: key, value }));
  return { type: 'mdxJsxFlowElement', name, attributes: attrs, children } as unknown as RootContent;
}

function where(file: VFile, node: Code): string {
  const relative = file.path ? path.relative(process.cwd(), file.path) : '(markdown)';
  return `${relative}:${node.position?.start.line ?? 0}:${node.position?.start.column ?? 0}`;
}

function majorsText(majors: number[]): string {
  if (majors.length <= 1) return majors.join('');
  return `${majors.slice(0, -1).join(', ')} and ${majors.at(-1)}`;
}

// Reads a `file=` block's file from the repository; a missing file fails the build like a broken link.
function repositoryFile(target: string, options: LabBlocksOptions, file: VFile, node: Code): string {
  const absolute = path.resolve(options.repoRoot, target);
  if (!target || !absolute.startsWith(options.repoRoot + path.sep) || !existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new Error(`${where(file, node)}: \`file=${target}\` does not exist: expected a file path relative to the repository root (${options.repoRoot})`);
  }
  return readFileSync(absolute, 'utf8').replace(/\n$/, '');
}

// What the page knows while its blocks are rendered: its terminals (in order of first use), its steps
// (numbered in order of first appearance) and whether the wildcards of expected output were explained.
interface PageState {
  terminals: Set<string>;
  steps: Map<string, number>;
  // The ids of the page's checkpoints: their expected output is what the check looks for.
  checks: Set<string>;
  // The lab's id, as `npx workshop check <lab>` takes it.
  lab: string;
  // Whether the page has deep dives and core sections (front matter `deep_dives` names some of its
  // `##` sections, not all): the check then has a core-path form.
  coreAndDeepDives: boolean;
  wildcardsExplained: boolean;
}

// A terminal as a person thinks of it: `terminal 2 — load`, numbered in the order the page opens them.
function terminalName(terminal: string, page: PageState): string {
  const number = [...page.terminals].indexOf(terminal) + 1;
  if (number === 0) return `terminal ${terminal}`;
  return terminal === DEFAULT_TERMINAL ? `terminal ${number}` : `terminal ${number} — ${terminal}`;
}

function titleOf(block: LabBlock, page: PageState, inTabs: boolean): string | undefined {
  const { options, node } = block;
  const given = options.get('title');
  if (typeof given === 'string') return given;
  const parts: string[] = [];
  const step = options.get('step');
  const expect = options.get('expect');
  const norun = options.get('norun');
  const target = options.get('file');
  const check = options.get('check');
  if (typeof expect === 'string' && page.checks.has(expect)) {
    parts.push('What the check looks for');
  } else if (typeof expect === 'string') {
    // Variants in version tabs sit under their tab; a lone block names the step it belongs to.
    const number = page.steps.get(expect);
    parts.push(number && !inTabs ? `What you should see after step ${number}` : 'What you should see');
  } else if (typeof check === 'string') {
    parts.push('What is checked (read-only)');
  } else if (typeof step === 'string') {
    const terminal = typeof options.get('terminal') === 'string' ? (options.get('terminal') as string) : DEFAULT_TERMINAL;
    parts.push(`Step ${page.steps.get(step) ?? step}`);
    if (PROGRAM_LANGUAGES.includes(node.lang ?? '')) parts.push(`type into the program running in ${terminalName(terminal, page)}`);
    else if (page.terminals.size > 1 || terminal !== DEFAULT_TERMINAL) parts.push(`in ${terminalName(terminal, page)}`);
    if (options.has('background')) parts.push('keeps running while you go on');
    if (options.has('interactive')) parts.push('starts a program you type into');
    const exit = options.get('exit');
    if (typeof exit === 'string' && exit !== '0') parts.push(`ends with exit code ${exit}, as it should`);
  } else if (norun !== undefined) {
    parts.push(typeof norun === 'string' && norun ? `Not run here: ${norun}` : 'Not run here');
  } else if (typeof target === 'string') {
    parts.push(target);
  } else {
    return undefined;
  }
  if (!inTabs && block.tool) parts.push(`${block.tool.label} (PostgreSQL ${majorsText(block.pgMajors ?? [])}) only`);
  else if (!inTabs && block.pgMajors) parts.push(`PostgreSQL ${majorsText(block.pgMajors)} only`);
  return parts.join(' · ');
}

// Expected output with a wildcard (`...`, a `(re)` line) is followed, once per page, by what they mean.
const WILDCARD_NOTE = 'In what you should see, `...` stands for text that differs from run to run (numbers, names, timings); '
  + 'a `...` line alone stands for any number of lines; a line ending in `(re)` is a pattern: `pg[123]` is pg1, pg2 or pg3.';

function hasWildcards(text: string): boolean {
  return text.split('\n').some((line) => line.includes('...') || /\s\(re\)\s*$/.test(line));
}

function wildcardNote(): RootContent {
  const children = WILDCARD_NOTE.split('`').map((part, index) => (index % 2 === 1 ? { type: 'inlineCode', value: part } : { type: 'text', value: part }));
  return jsx('div', { className: WILDCARDS_CLASS }, [{ type: 'paragraph', children } as RootContent]);
}

// Rewrites the block's meta to what Docusaurus's CodeBlock reads: a title, and line numbers if asked.
function present(block: LabBlock, page: PageState, inTabs: boolean): RootContent {
  const node: Code = structuredClone(block.node);
  // A checkpoint is titled in words by its box; its code block says what it runs.
  const title = block.options.has('title') && block.options.has('check') ? 'What is checked (read-only)' : titleOf(block, page, inTabs);
  const meta: string[] = [];
  if (title) meta.push(`title="${title.replaceAll('"', "'")}"`);
  if (block.options.has('showLineNumbers')) meta.push('showLineNumbers');
  node.meta = meta.length > 0 ? meta.join(' ') : null;
  if (block.options.has('expect')) return jsx('div', { className: EXPECTED_CLASS }, [node]);
  if (block.options.has('check')) return checkBox(block, page, node);
  // A repository file is reference, not an instruction: one line until the reader opens it, so that
  // the page's first step stays on its first screen.
  const target = block.options.get('file');
  if (typeof target === 'string') {
    return jsx('details', { className: FILE_CLASS }, [jsx('summary', {}, [{ type: 'text', value: 'The file ' } as RootContent, { type: 'inlineCode', value: target } as RootContent]), node]);
  }
  return node;
}

// A checkpoint as the attendee meets it: "Check your work", what holds now, the command that checks
// every checkpoint of the lab on their own environment, and the read-only command itself.
function checkBox(block: LabBlock, page: PageState, node: Code): RootContent {
  const title = block.options.get('title');
  const text = (value: string) => ({ type: 'text', value }) as RootContent;
  const command: Code = { type: 'code', lang: 'bash', meta: 'title="In a terminal, from the workshop\'s folder"', value: `npx workshop check ${page.lab}` };
  return jsx('div', { className: CHECK_CLASS }, [
    { type: 'paragraph', children: [{ type: 'strong', children: [text('Check your work')] }, text(typeof title === 'string' && title ? `: ${title}` : '')] } as RootContent,
    { type: 'paragraph', children: [text('Run the check: it reads your environment, changes nothing, and says where you stand and which step to look at if something is off.')] } as RootContent,
    command as RootContent,
    ...(page.coreAndDeepDives ? [{ type: 'paragraph', children: [text('On the 3-hour core path, with the deep dives skipped, add '), { type: 'inlineCode', value: '--core-path' }, text(': it leaves out their checkpoints.')] } as RootContent] : []),
    node,
  ]);
}

// Whether the lab's front matter names deep dives (`deep_dives: [slug, …]`) and it has more `##`
// sections than those: a page that is all deep dive (a lab beyond the core path) has no core checks.
function coreAndDeepDives(tree: Root, file: VFile): boolean {
  const front = (file.data as { frontMatter?: { deep_dives?: unknown } }).frontMatter;
  const deepDives = Array.isArray(front?.deep_dives) ? front.deep_dives.length : 0;
  const sections = tree.children.filter((node) => node.type === 'heading' && node.depth === 2).length;
  return deepDives > 0 && sections > deepDives;
}

// The lab's id from its file, as the harness names it: the module's folder, `-<name>` for lab-<name>.md.
function labIdOf(file: VFile): string {
  const full = file.path ?? '';
  const suffix = /^lab-([a-z0-9-]+)\.mdx?$/.exec(path.basename(full))?.[1];
  const module = path.basename(path.dirname(full));
  return suffix ? `${module}-${suffix}` : module;
}

function readBlock(node: RootContent, options: LabBlocksOptions, file: VFile): LabBlock | undefined {
  if (node.type !== 'code') return undefined;
  const parsed = parseInfoOptions(node.meta);
  // Meta that is not in the lab format (or malformed, which `workshop lint` reports) is left to Docusaurus.
  if (!parsed || ![...parsed.keys()].some((key) => ['step', 'check', 'expect', 'norun', 'file', 'pg', ...VERSIONED_TOOLS].includes(key))) return undefined;
  const target = parsed.get('file');
  if (target !== undefined) node.value = repositoryFile(typeof target === 'string' ? target : '', options, file, node);
  const step = parsed.get('step');
  const expect = parsed.get('expect');
  const check = parsed.get('check');
  const block: LabBlock = { node, options: parsed };
  if (typeof expect === 'string') block.variantKey = `expect:${expect}`;
  else if (typeof step === 'string') block.variantKey = `step:${step}`;
  else if (typeof check === 'string') block.variantKey = `check:${check}`;
  const pg = parsed.get('pg');
  if (typeof pg === 'string') {
    const majors = majorsInRange(pg, options.matrix.majors);
    if (!majors) throw new Error(`${where(file, node)}: invalid \`pg=${pg}\`: expected a PostgreSQL major or range such as \`17\`, \`>=17\` or \`15 || 18\``);
    block.pgMajors = majors;
  }
  // A variant of a tool's version (`patroni=">=4"`): the majors that ship it, and the page says which tool.
  const tool = VERSIONED_TOOLS.find((name) => parsed.has(name));
  const toolRange = tool ? parsed.get(tool) : undefined;
  if (tool && typeof toolRange === 'string') {
    const selected = majorsInToolRange(tool, toolRange, options.matrix.majors);
    if (!selected) throw new Error(`${where(file, node)}: invalid \`${tool}=${toolRange}\`: expected a version range such as \`>=4\``);
    block.pgMajors = selected.majors;
    block.tool = { name: tool, label: selected.label };
  }
  return block;
}

// One tab per major of the lab, each showing the variant that applies to it, so that the `pg` group
// switches every tab of the page (and of the site) together.
function versionTabs(variants: LabBlock[], labMajors: number[], matrix: Matrix, page: PageState): RootContent {
  const majors = labMajors.filter((major) => variants.some((variant) => variant.pgMajors!.includes(major)));
  const items = majors.map((major) => {
    const variant = variants.find((candidate) => candidate.pgMajors!.includes(major))!;
    // A variant chosen by a tool's version names that version beside the major it ships with.
    const version = variant.tool ? toolVersion(variant.tool.name, major) : undefined;
    const label = variant.tool && version ? `PostgreSQL ${major} · ${variant.tool.label.split(' ')[0]} ${version}` : `PostgreSQL ${major}`;
    return jsx('TabItem', { value: String(major), label }, [present(variant, page, true)]);
  });
  const defaultValue = majors.includes(matrix.defaultMajor) ? matrix.defaultMajor : majors.at(-1)!;
  // `queryString: 'pg'` makes the choice a link: `…/lab/?pg=15` opens every tab on PostgreSQL 15.
  return jsx('Tabs', { groupId: 'pg', queryString: 'pg', defaultValue: String(defaultValue), className: 'pg-tabs' }, items);
}

// The majors a lab runs on: every major of the table unless its front matter narrows it
// (`majors: { range, reason }`, as the harness reads it).
function labMajors(file: VFile, matrix: Matrix): number[] {
  const front = (file.data as { frontMatter?: { majors?: { range?: unknown } } }).frontMatter;
  const range = front?.majors?.range;
  return typeof range === 'string' ? (majorsInRange(range, matrix.majors) ?? matrix.majors) : matrix.majors;
}

export default function remarkLabBlocks(options: LabBlocksOptions) {
  return (tree: Root, file: VFile) => {
    const majors = labMajors(file, options.matrix);
    const terminals = new Set<string>();
    const page: PageState = { terminals, steps: new Map(), checks: new Set(), lab: labIdOf(file), coreAndDeepDives: coreAndDeepDives(tree, file), wildcardsExplained: false };
    visit(tree, 'code', (node: Code) => {
      const parsed = node.meta ? parseInfoOptions(node.meta) : undefined;
      const check = parsed?.get('check');
      if (typeof check === 'string') page.checks.add(check);
      if (parsed?.has('step')) {
        const terminal = parsed.get('terminal');
        terminals.add(typeof terminal === 'string' ? terminal : DEFAULT_TERMINAL);
        const step = parsed.get('step');
        if (typeof step === 'string' && !page.steps.has(step)) page.steps.set(step, page.steps.size + 1);
      }
    });

    const parents: Parent[] = [];
    visit(tree, (node) => {
      if ('children' in node && (node as Parent).children.some((child) => child.type === 'code')) parents.push(node);
    });
    for (const parent of parents) {
      const children: RootContent[] = [];
      const blocks = parent.children.map((child) => readBlock(child, options, file));
      for (let index = 0; index < parent.children.length; index += 1) {
        const block = blocks[index];
        if (!block) {
          children.push(parent.children[index] as RootContent);
          continue;
        }
        // Adjacent blocks of one step or expectation, each for some majors: the variants of a version tab.
        let end = index + 1;
        if (block.variantKey && block.pgMajors) {
          while (blocks[end]?.variantKey === block.variantKey && blocks[end]?.pgMajors) end += 1;
        }
        const group = blocks.slice(index, end) as LabBlock[];
        if (end - index > 1) {
          children.push(versionTabs(group, majors, options.matrix, page));
          index = end - 1;
        } else {
          children.push(present(block, page, false));
        }
        if (!page.wildcardsExplained && group.some((item) => item.options.has('expect') && hasWildcards(item.node.value))) {
          children.push(wildcardNote());
          page.wildcardsExplained = true;
        }
      }
      parent.children = children;
    }
  };
}
