// The lab-figures remark plugin: `figure` blocks become <LabFigure> with their words (the lab's labels
// file and the block's sentences), a malformed one or one naming a figure without a label fails the
// build naming its position, and a lab page ends with its verification details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import { VFile } from 'vfile';
import type { Root } from 'mdast';
import remarkLabFigures, { type FigureSpec, type PageFigures } from '../src/remark/lab-figures.mts';
import type { LabLabels } from '../../harness/report/labels.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Jsx { type: 'mdxJsxFlowElement'; name: string; attributes: { name: string; value: string }[] }

// The labels file of the fixture lab (`lab-blocks`, from its folder).
const LABELS: LabLabels = {
  measurements: {
    'failover.write_gap_s': { label: 'longest pause between acknowledged writes', unit: 's' },
    'failover.lost_writes': { label: 'acknowledged writes lost', unit: 'writes' },
    'failover.promote_s': { label: 'time to promote', unit: 's' },
  },
  series: { 'failover.pgbench_tps': { label: 'pgbench transactions per second', unit: 'tps' } },
};
const asked: string[] = [];
const labelsOf = (labId: string) => {
  asked.push(labId);
  return LABELS;
};

async function render(markdown: string, file = path.join(here, 'fixtures/lab-blocks/lab.md')): Promise<Jsx[]> {
  const tree = unified().use(remarkParse).parse(markdown) as Root;
  const result = await unified().use(remarkLabFigures, { labelsOf }).run(tree, new VFile({ path: file, value: markdown })) as Root;
  return result.children.filter((node) => node.type === 'mdxJsxFlowElement') as unknown as Jsx[];
}

const attribute = (node: Jsx, name: string) => node.attributes.find((a) => a.name === name)?.value;
const GAP = '```figure\ncaption: The failover\nmeasurements:\n  - name: failover.write_gap_s\n    says: "writes stopped for {value} s"\n'
  + '  - name: failover.lost_writes\n    says: "{value} acknowledged writes lost"\n    zero: no acknowledged write lost\n'
  + '  - name: failover.promote_s\n'
  + 'plots:\n  - series: failover.pgbench_tps\n```\n';

test('a figure block becomes a LabFigure carrying its caption, its sentences and the labels file\'s words', async () => {
  asked.length = 0;
  const [figure] = await render(`Some prose.\n\n${GAP}`);
  assert.equal(figure!.name, 'LabFigure');
  const spec = JSON.parse(attribute(figure!, 'spec')!) as FigureSpec;
  assert.equal(spec.caption, 'The failover');
  assert.deepEqual(spec.measurements, [
    { name: 'failover.write_gap_s', label: 'longest pause between acknowledged writes', unit: 's', says: 'writes stopped for {value} s' },
    { name: 'failover.lost_writes', label: 'acknowledged writes lost', unit: 'writes', says: '{value} acknowledged writes lost', zero: 'no acknowledged write lost' },
    // Without a sentence of its own, a measurement reads as its label, value and unit.
    { name: 'failover.promote_s', label: 'time to promote', unit: 's', says: 'time to promote: {value} s' },
  ]);
  assert.deepEqual(spec.plots, [{ series: 'failover.pgbench_tps', label: 'pgbench transactions per second', unit: 'tps' }]);
  assert.deepEqual([...new Set(asked)], ['lab-blocks'], 'the labels of the lab the page is (its folder)');
});

test('a figure block naming a measurement or series without a label fails the build, naming the labels file', async () => {
  await assert.rejects(render('```figure\ncaption: x\nmeasurements:\n  - { name: failover.write_gap, says: "{value} s" }\n```\n'),
    /lab\.md:1:1: figure block: measurement failover\.write_gap has no label in labs\/lab-blocks\.labels\.yaml: word it there/);
  await assert.rejects(render('```figure\ncaption: x\nplots:\n  - { series: failover.tps }\n```\n'), /series failover\.tps has no label in labs\/lab-blocks\.labels\.yaml/);
});

test('a label and unit written in a figure block (pages from before labels files) give way to the labels file\'s', async () => {
  const [figure] = await render('```figure\ncaption: x\nmeasurements:\n  - { name: failover.write_gap_s, label: pause, unit: seconds, says: "{value} s" }\n```\n');
  const spec = JSON.parse(attribute(figure!, 'spec')!) as FigureSpec;
  assert.deepEqual([spec.measurements[0]!.label, spec.measurements[0]!.unit], ['longest pause between acknowledged writes', 's']);
});

test('a lab page ends with its verification details, which know the series the page already shows', async () => {
  const nodes = await render(GAP);
  const details = nodes.at(-1)!;
  assert.equal(details.name, 'VerificationDetails');
  const figures = JSON.parse(attribute(details, 'figures')!) as PageFigures;
  assert.deepEqual(figures.placed, ['failover.pgbench_tps']);
  assert.equal((await render(GAP, path.join(here, 'fixtures/lab-blocks/index.md'))).some((node) => node.name === 'VerificationDetails'), false, 'a lesson has none');
});

test('a malformed figure block fails the build with its position and what was expected', async () => {
  await assert.rejects(render('text\n\n```figure\ncaption: x\nmeasurements:\n  - says: "{value} s"\n```\n'), /lab\.md:3:1: figure block: missing `name`/);
  await assert.rejects(render('```figure\ncaption: x\nmeasurements:\n  - { name: failover.write_gap_s, says: "no value" }\n```\n'), /`says` of failover\.write_gap_s has no `\{value\}`/);
  await assert.rejects(render('```figure\ncaption: x\ncolour: red\n```\n'), /unexpected key `colour`, expected one of caption, measurements, plots/);
  await assert.rejects(render('```figure\n- a\n```\n'), /expected a mapping/);
});

test('a measurement is shown once per page', async () => {
  await assert.rejects(render(`${GAP}\n${GAP}`), /failover\.write_gap_s is already shown by an earlier figure of this page/);
});
