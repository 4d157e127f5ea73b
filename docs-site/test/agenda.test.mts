// The agenda on the site: the plan of /agenda/ made from the harness's agenda (buildAgenda, what `workshop
// agenda --json` prints) of a fixture curriculum with deep dives and a report, the breaks placed at module
// boundaries, and the agenda-marks remark plugin writing the "Go further" marker under each deep dive's heading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkFrontmatter from 'remark-frontmatter';
import { VFile } from 'vfile';
import type { Heading, Root } from 'mdast';
import { buildAgenda, pageSections } from '../../harness/agenda/agenda.ts';
import { relativeToRepo } from '../../harness/paths.ts';
import { agendaPlan, breakBoundaries, pageTimes, type PageInfo, type PlanModule } from '../src/plugins/agenda/plan.mts';
import remarkAgendaMarks, { DEEP_DIVE_MARK } from '../src/remark/agenda-marks.mts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures/agenda');
const curriculum = path.join(fixtures, 'curriculum');
const agenda = buildAgenda(18, { root: curriculum, reportsDir: path.join(fixtures, 'reports') });
const CONSTANTS = { budgetMinutes: 150, slotMinutes: 180, wordsPerMinute: 200, secondsPerCommand: 20 };

// The doc pages as Docusaurus would give them: permalink, title and front matter of each fixture page.
function fixturePages(): Map<string, PageInfo> {
  const pages = new Map<string, PageInfo>();
  for (const file of new Set(agenda.sections.map((s) => s.file))) {
    const front = readFileSync(path.resolve(here, '../..', file), 'utf8');
    const value = (key: string) => new RegExp(`^${key}: "?(.*?)"?$`, 'm').exec(front)?.[1];
    const [module, name] = file.split('/').slice(-2) as [string, string];
    pages.set(file, {
      permalink: `/${module}/${name === 'index.md' ? '' : `${name.replace(/\.md$/, '')}/`}`,
      title: value('title')!,
      ...(value('description') && { description: value('description') }),
      ...(value('outcome') && { outcome: value('outcome') }),
    });
  }
  return pages;
}

test('the plan lists the core path module by module, each core section linked to its anchor with the harness’s minutes', () => {
  assert.deepEqual(agenda.problems, [], 'the fixture curriculum is marked correctly');
  const plan = agendaPlan(agenda, fixturePages(), CONSTANTS);
  const modules = plan.items.flatMap((item) => (item.type === 'module' ? [item.module] : []));
  assert.deepEqual(modules.map((m) => m.module), ['01-first', '02-second']);
  const first = modules[0]!;
  assert.deepEqual(first.pages.map((p) => [p.kind, p.title, p.permalink]), [['lesson', 'First topic', '/01-first/'], ['lab', 'Lab: first', '/01-first/lab/']]);
  // Core sections only, in page order; the text before the first `##` is the introduction, linked to the page.
  assert.deepEqual(first.pages[0]!.sections.map((s) => [s.title, s.href]), [['Introduction', '/01-first/'], ['Core idea', '/01-first/#core-idea']]);
  assert.deepEqual(first.pages[1]!.sections.map((s) => s.href), ['/01-first/lab/', '/01-first/lab/#start', '/01-first/lab/#look', '/01-first/lab/#clean-up']);
  const look = agenda.sections.find((s) => s.file.endsWith('01-first/lab.md') && s.slug === 'look')!;
  assert.equal(first.pages[1]!.sections.find((s) => s.slug === 'look')!.minutes, look.minutes);
  // Totals are the harness's, not re-added from rounded figures.
  assert.equal(plan.coreMinutes, agenda.coreMinutes);
  assert.equal(plan.deepDiveMinutes, agenda.deepDiveMinutes);
  assert.deepEqual(modules.map((m) => m.coreMinutes), agenda.modules.map((m) => m.coreMinutes));
  // The lab with a report is measured; the one without is said to be reading and typing only.
  assert.deepEqual(modules.flatMap((m) => m.pages.filter((p) => p.kind === 'lab').map((p) => p.measured)), [true, false]);
});

test('what a module leaves the attendee able to do is its lesson’s `outcome`, else what its description says it covers', () => {
  const plan = agendaPlan(agenda, fixturePages(), CONSTANTS);
  const summaries = plan.items.flatMap((item) => (item.type === 'module' ? [item.module.summary] : []));
  assert.deepEqual(summaries, [{ kind: 'outcome', text: 'read a server\'s processes and memory.' }, { kind: 'covers', text: 'What the second topic covers.' }]);
});

test('the deep dives follow the agenda with their minutes and links, and each page knows its own', () => {
  const plan = agendaPlan(agenda, fixturePages(), CONSTANTS);
  assert.deepEqual(plan.deepDives.map((d) => [d.module, d.pageTitle, d.title, d.href]), [
    ['01-first', 'First topic', 'Going further', '/01-first/#going-further'],
    ['01-first', 'Lab: first', 'A deep dive', '/01-first/lab/#a-deep-dive'],
  ]);
  const deep = agenda.sections.find((s) => s.slug === 'a-deep-dive')!;
  // 2 min measured, 20 s typed, three words read (the heading's): 2 + 0.33 + 0.015, 2.3 to a tenth.
  assert.equal(deep.minutes, 2.3);
  const times = pageTimes(agenda)[relativeToRepo(path.join(curriculum, '01-first/lab.md'))]!;
  assert.deepEqual(times.deepDives, { 'a-deep-dive': deep.minutes });
  assert.equal(times.deepDiveMinutes, deep.minutes);
  assert.equal(times.coreMinutes, Math.round(agenda.sections.filter((s) => s.file.endsWith('01-first/lab.md') && s.mark === 'core').reduce((t, s) => t + s.minutes, 0) * 10) / 10);
  assert.throws(() => agendaPlan(agenda, new Map(), CONSTANTS), /The agenda names docs-site\/test\/fixtures\/agenda\/curriculum\/01-first\/index\.md, which is not a page of the site/);
});

test('a break comes at the module boundary where 75-90 min of core content have passed, not at a fixed module', () => {
  // 150 min in nine modules: 20+25+30 = 75 reaches the window after the third.
  assert.deepEqual(breakBoundaries([20, 25, 30, 15, 10, 15, 15, 10, 10]), [2]);
  // Moving ten minutes from module 1 to module 4 moves the break: 10+25+30 = 65, and +25 = 90 is inside the window.
  assert.deepEqual(breakBoundaries([10, 25, 30, 25, 10, 15, 15, 10, 10]), [3]);
  // A long module: stopping at 60 falls 15 short of the window, going on to 130 overshoots it by 40: break at 60.
  assert.deepEqual(breakBoundaries([30, 30, 70, 20]), [1]);
  // The 362-minute path of today: a break every 75-90 min.
  assert.deepEqual(breakBoundaries([22.6, 29.5, 37.6, 40.8, 33.8, 71.2, 50, 45.5, 31.2]), [2, 4, 5, 7]);
  // Nothing to break when the rest is short, or when it all fits in one stretch.
  assert.deepEqual(breakBoundaries([80, 10]), []);
  assert.deepEqual(breakBoundaries([30, 30]), []);
});

test('the plan places its breaks into the schedule with their start times', () => {
  const long = { ...agenda, modules: agenda.modules.map((m) => ({ ...m, coreMinutes: 80 })) };
  const plan = agendaPlan(long, fixturePages(), CONSTANTS);
  assert.deepEqual(plan.items.map((item) => item.type), ['module', 'break', 'module']);
  const [first, pause, second] = plan.items as unknown as [{ module: PlanModule }, { break: { startsAt: number; minutes: number; afterCoreMinutes: number } }, { module: PlanModule }];
  assert.deepEqual([first.module.startsAt, pause.break.startsAt, pause.break.afterCoreMinutes, second.module.startsAt], [0, 80, 80, 95]);
  assert.equal(plan.breakMinutes, 15);
});

interface Jsx { type: 'mdxJsxFlowElement'; name: string; attributes: { name: string; value: string }[] }

// The page as the docs plugin hands it to the remark plugins: front matter apart, the `#` title wrapped in a <header>.
function marked(file: string, prepare: (tree: Root) => void = () => {}): Root {
  const markdown = readFileSync(file, 'utf8');
  const tree = unified().use(remarkParse).use(remarkFrontmatter, ['yaml']).parse(markdown) as Root;
  prepare(tree);
  unified().use(remarkAgendaMarks).runSync(tree, new VFile({ path: file, value: markdown }));
  return tree;
}
const names = (tree: Root) => tree.children.map((node) => (node.type === 'mdxJsxFlowElement' as string
  ? `<${(node as unknown as Jsx).name}${(node as unknown as Jsx).attributes.map((a) => ` ${a.name}="${a.value}"`).join('')}>`
  : node.type === 'heading' ? `h${node.depth} ${(node.children[0] as { value: string }).value}` : node.type));

test('the remark plugin puts the deep-dive marker under each heading the front matter names', () => {
  const file = path.join(curriculum, '01-first/lab.md');
  assert.deepEqual(names(marked(file)), [
    'yaml', 'h1 Lab: first', 'h2 Start', 'code', 'h2 Look', 'code',
    'h2 A deep dive', `<${DEEP_DIVE_MARK} slug="a-deep-dive">`, 'code', 'h2 Clean up', 'code',
  ]);
  // The marks are the harness's reading of the page.
  const deep = pageSections(readFileSync(file, 'utf8'), file).sections.filter((s) => s.mark === 'deep-dive').map((s) => s.slug);
  assert.deepEqual(deep, ['a-deep-dive']);
  // A lesson's H3 does not shift the anchors: only `going-further` is marked.
  const lesson = names(marked(path.join(curriculum, '01-first/index.md')));
  assert.deepEqual(lesson.filter((name) => name.startsWith('<')), [`<${DEEP_DIVE_MARK} slug="going-further">`]);
  assert.equal(lesson[lesson.indexOf('h2 Going further') + 1], `<${DEEP_DIVE_MARK} slug="going-further">`);
  // A page without deep dives is left as it is.
  assert.deepEqual(names(marked(path.join(curriculum, '02-second/lab.md'))).filter((name) => name.startsWith('<')), []);
});

test('under Docusaurus headings carry their anchors, which must be the agenda’s', () => {
  const file = path.join(curriculum, '01-first/lab.md');
  const renamed = (tree: Root) => {
    const heading = tree.children.find((node): node is Heading => node.type === 'heading' && node.depth === 2)!;
    heading.data = { id: 'custom-anchor' } as Heading['data'];
  };
  assert.throws(() => marked(file, renamed), /lab\.md:9: the heading "Start" \(anchor custom-anchor\) is the agenda's "Start" \(anchor start\)/);
  const same = (tree: Root) => {
    const heading = tree.children.find((node): node is Heading => node.type === 'heading' && node.depth === 2)!;
    heading.data = { id: 'start' } as Heading['data'];
  };
  assert.equal(names(marked(file, same)).filter((name) => name.startsWith('<')).length, 1);
});

test('pages outside a module folder are left alone', () => {
  const tree = unified().use(remarkParse).parse('# Title\n\n## Section\n') as Root;
  unified().use(remarkAgendaMarks).runSync(tree, new VFile({ path: path.join(fixtures, 'README.md'), value: '' }));
  assert.deepEqual(tree.children.map((node) => node.type), ['heading', 'heading']);
});
