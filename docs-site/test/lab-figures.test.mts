// The lab-figures remark plugin: `figure` blocks become <LabFigure> with their words, a malformed one
// fails the build naming its position, and a lab page ends with its verification details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import { VFile } from 'vfile';
import type { Root } from 'mdast';
import remarkLabFigures, { type FigureSpec, type PageFigures } from '../src/remark/lab-figures.mts';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Jsx { type: 'mdxJsxFlowElement'; name: string; attributes: { name: string; value: string }[] }

async function render(markdown: string, file = path.join(here, 'fixtures/lab-blocks/lab.md')): Promise<Jsx[]> {
  const tree = unified().use(remarkParse).parse(markdown) as Root;
  const result = await unified().use(remarkLabFigures).run(tree, new VFile({ path: file, value: markdown })) as Root;
  return result.children.filter((node) => node.type === 'mdxJsxFlowElement') as unknown as Jsx[];
}

const attribute = (node: Jsx, name: string) => node.attributes.find((a) => a.name === name)?.value;
const GAP = '```figure\ncaption: The failover\nmeasurements:\n  - name: failover.write_gap_s\n    label: longest pause in writes\n    unit: s\n    says: "writes stopped for {value} s"\n'
  + '  - name: failover.lost_writes\n    label: acknowledged writes lost\n    unit: writes\n    says: "{value} acknowledged writes lost"\n    zero: no acknowledged write lost\n'
  + 'plots:\n  - series: failover.pgbench_tps\n    label: pgbench transactions per second\n    unit: tps\n```\n';

test('a figure block becomes a LabFigure carrying its caption, measurements and plots', async () => {
  const [figure] = await render(`Some prose.\n\n${GAP}`);
  assert.equal(figure!.name, 'LabFigure');
  const spec = JSON.parse(attribute(figure!, 'spec')!) as FigureSpec;
  assert.equal(spec.caption, 'The failover');
  assert.deepEqual(spec.measurements.map((m) => m.name), ['failover.write_gap_s', 'failover.lost_writes']);
  assert.deepEqual(spec.plots, [{ series: 'failover.pgbench_tps', label: 'pgbench transactions per second', unit: 'tps' }]);
});

test('a lab page ends with its verification details, which know every label the page gives', async () => {
  const nodes = await render(GAP);
  const details = nodes.at(-1)!;
  assert.equal(details.name, 'VerificationDetails');
  const figures = JSON.parse(attribute(details, 'figures')!) as PageFigures;
  assert.deepEqual(figures.measurements['failover.write_gap_s'], { label: 'longest pause in writes', unit: 's' });
  assert.deepEqual(figures.placed, ['failover.pgbench_tps']);
  assert.equal((await render(GAP, path.join(here, 'fixtures/lab-blocks/index.md'))).some((node) => node.name === 'VerificationDetails'), false, 'a lesson has none');
});

test('a malformed figure block fails the build with its position and what was expected', async () => {
  await assert.rejects(render('text\n\n```figure\ncaption: x\nmeasurements:\n  - name: a.b\n    label: a\n    unit: s\n```\n'), /lab\.md:3:1: figure block: missing `says`/);
  await assert.rejects(render('```figure\ncaption: x\nmeasurements:\n  - { name: a, label: a, unit: s, says: "no value" }\n```\n'), /`says` of a has no `\{value\}`/);
  await assert.rejects(render('```figure\ncaption: x\ncolour: red\n```\n'), /unexpected key `colour`, expected one of caption, measurements, plots/);
  await assert.rejects(render('```figure\n- a\n```\n'), /expected a mapping/);
});

test('a measurement is labelled once per page', async () => {
  await assert.rejects(render(`${GAP}\n${GAP}`), /failover\.write_gap_s is already labelled by an earlier figure of this page/);
});
