// Places a lab's measured figures where the page talks about them. A fenced block in the language
// `figure` (YAML) names measurements and series of the lab's run reports, with a caption and, for each
// measurement, the sentence a reader sees per PostgreSQL version. What each figure is called in words, and
// its unit, come from the lab's labels file (labs/<lab>.labels.yaml, harness/report/labels.ts), the one
// place a measurement gets its label: a figure block naming a measurement that file does not word fails
// the build. A lab page ends with its verification details (appended here), which show every measurement.
import path from 'node:path';
import type { Code, Root, RootContent } from 'mdast';
import type { VFile } from 'vfile';
import { visit } from 'unist-util-visit';
import YAML from 'yaml';
import { labIdOf } from '../../../harness/lab/parse.ts';
import { labelsFile, labelsReader, type LabLabels } from '../../../harness/report/labels.ts';
import { relativeToRepo } from '../../../harness/paths.ts';

export const FIGURE_LANGUAGE = 'figure';

// A measurement as the page words it. `says` is the sentence per version, `{value}` standing for the value
// (by default "<label>: {value} <unit>"); `zero` and `one` replace it for those values ("no acknowledged
// write lost"). `label` and `unit` are the labels file's, filled in by this plugin.
export interface FigureMeasurement {
  name: string;
  label: string;
  unit: string;
  says: string;
  zero?: string;
  one?: string;
}

export interface FigurePlot {
  series: string;
  label: string;
  unit: string;
}

export interface FigureSpec {
  caption: string;
  measurements: FigureMeasurement[];
  plots: FigurePlot[];
}

// What the verification details need from the page's figures: the series already shown beside the text.
export interface PageFigures {
  placed: string[];
}

export interface LabFiguresOptions {
  // The labels of a lab by its id; labs/<id>.labels.yaml of the repository by default.
  labelsOf?: (labId: string) => LabLabels;
}

const LAB_FILE = /^lab(-[\w-]+)?\.md$/;
const FIGURE_KEYS = ['caption', 'measurements', 'plots'];
// `label` and `unit` in a figure block are read from pages written before labels files and not used: the
// labels file words every figure (a page keeps them only until it is next edited).
const MEASUREMENT_KEYS = ['name', 'says', 'zero', 'one', 'label', 'unit'];
const PLOT_KEYS = ['series', 'label', 'unit'];
const EXAMPLE = 'expected:\n  caption: <what the figure shows>\n  measurements:\n    - { name: failover.write_gap_s, says: "writes stopped for {value} s" }\n  plots:\n    - { series: failover.pgbench_tps }';

function jsx(name: string, attributes: Record<string, string>): RootContent {
  return {
    type: 'mdxJsxFlowElement', name, children: [],
    attributes: Object.entries(attributes).map(([key, value]) => ({ type: 'mdxJsxAttribute', name: key, value })),
  } as unknown as RootContent;
}

function strings(entry: Record<string, unknown>, keys: string[], required: string[], fail: (message: string) => never): Record<string, string> {
  for (const key of Object.keys(entry)) if (!keys.includes(key)) fail(`unexpected key \`${key}\`, expected one of ${keys.join(', ')}`);
  for (const key of required) if (typeof entry[key] !== 'string' || !(entry[key] as string).trim()) fail(`missing \`${key}\` (a non-empty string) in ${JSON.stringify(entry)}`);
  for (const key of keys) if (entry[key] !== undefined && typeof entry[key] !== 'string') fail(`\`${key}\` must be a string, found ${JSON.stringify(entry[key])}`);
  return entry as Record<string, string>;
}

// Reads one `figure` block, worded by `labels`; a malformed one, or one naming a figure `labels` does not
// word, fails the build with its position and what was expected.
export function readFigure(node: Code, where: string, labels: LabLabels, labelsPath: string): FigureSpec {
  const fail = (message: string): never => {
    throw new Error(`${where}: figure block: ${message}\n${EXAMPLE}`);
  };
  let data: unknown;
  try {
    data = YAML.parse(node.value);
  } catch (error) {
    fail(`not YAML: ${(error as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return fail(`expected a mapping, found ${JSON.stringify(data)}`);
  const figure = data as Record<string, unknown>;
  for (const key of Object.keys(figure)) if (!FIGURE_KEYS.includes(key)) fail(`unexpected key \`${key}\`, expected one of ${FIGURE_KEYS.join(', ')}`);
  if (typeof figure.caption !== 'string' || !figure.caption.trim()) fail('missing `caption`: a sentence saying what the figure shows');
  const list = (key: string): Record<string, unknown>[] => {
    const value = figure[key] ?? [];
    if (!Array.isArray(value) || value.some((entry) => !entry || typeof entry !== 'object')) return fail(`\`${key}\` must be a list of mappings`);
    return value as Record<string, unknown>[];
  };
  const unlabelled = (kind: string, name: string): never => fail(`${kind} ${name} has no label in ${labelsPath}: word it there (label and unit), or check the name against the lab's reports`);
  const measurements = list('measurements').map((entry): FigureMeasurement => {
    const given = strings(entry, MEASUREMENT_KEYS, ['name'], fail);
    const words = labels.measurements[given.name!] ?? unlabelled('measurement', given.name!);
    const unit = words.unit ?? '';
    const says = given.says ?? `${words.label}: {value}${unit ? ` ${unit}` : ''}`;
    if (!says.includes('{value}')) fail(`\`says\` of ${given.name} has no \`{value}\`: "${says}"`);
    return { name: given.name!, label: words.label, unit, says, ...(given.zero && { zero: given.zero }), ...(given.one && { one: given.one }) };
  });
  const plots = list('plots').map((entry): FigurePlot => {
    const given = strings(entry, PLOT_KEYS, ['series'], fail);
    const words = labels.series[given.series!] ?? unlabelled('series', given.series!);
    return { series: given.series!, label: words.label, unit: words.unit ?? '' };
  });
  if (measurements.length === 0 && plots.length === 0) fail('names no measurement and no plot');
  return { caption: figure.caption as string, measurements, plots };
}

// The remark plugin: `figure` blocks become <LabFigure>; a lab page ends with <VerificationDetails>.
export default function remarkLabFigures(options: LabFiguresOptions = {}) {
  const labelsOf = options.labelsOf ?? labelsReader();
  return (tree: Root, file: VFile) => {
    const page: PageFigures = { placed: [] };
    const shown = new Set<string>();
    const relative = file.path ? path.relative(process.cwd(), file.path) : '(markdown)';
    const labId = file.path ? labIdOf(file.path) : '(markdown)';
    visit(tree, 'code', (node: Code, index, parent) => {
      if (node.lang !== FIGURE_LANGUAGE || !parent || index === undefined) return;
      const where = `${relative}:${node.position?.start.line ?? 0}:${node.position?.start.column ?? 0}`;
      const spec = readFigure(node, where, labelsOf(labId), relativeToRepo(labelsFile(labId)));
      for (const measurement of spec.measurements) {
        if (shown.has(measurement.name)) throw new Error(`${where}: figure block: ${measurement.name} is already shown by an earlier figure of this page: show it once`);
        shown.add(measurement.name);
      }
      page.placed.push(...spec.plots.map((plot) => plot.series));
      parent.children[index] = jsx('LabFigure', { spec: JSON.stringify(spec) }) as typeof parent.children[number];
    });
    if (file.path && LAB_FILE.test(path.basename(file.path))) tree.children.push(jsx('VerificationDetails', { figures: JSON.stringify(page) }));
  };
}
