// Places a lab's measured figures where the page talks about them. A fenced block in the language
// `figure` (YAML) names measurements and series of the lab's run reports and says, in words, what each
// one is: its label, its unit and the sentence a reader sees per PostgreSQL version. These blocks are the
// one place where a measurement gets its human label; the verification details at the end of a lab page
// (appended here) show every measurement under that label.
import path from 'node:path';
import type { Code, Root, RootContent } from 'mdast';
import type { VFile } from 'vfile';
import { visit } from 'unist-util-visit';
import YAML from 'yaml';

export const FIGURE_LANGUAGE = 'figure';

// A measurement as the page words it. `says` is the sentence per version, `{value}` standing for the value;
// `zero` and `one` replace it for those values ("no acknowledged write lost").
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

// What the verification details need from the page's figures: every label, and the series already shown.
export interface PageFigures {
  measurements: Record<string, Pick<FigureMeasurement, 'label' | 'unit'>>;
  plots: Record<string, Pick<FigurePlot, 'label' | 'unit'>>;
  placed: string[];
}

const LAB_FILE = /^lab(-[\w-]+)?\.md$/;
const FIGURE_KEYS = ['caption', 'measurements', 'plots'];
const MEASUREMENT_KEYS = ['name', 'label', 'unit', 'says', 'zero', 'one'];
const PLOT_KEYS = ['series', 'label', 'unit'];
const EXAMPLE = 'expected:\n  caption: <what the figure shows>\n  measurements:\n    - { name: failover.write_gap_s, label: longest pause in writes, unit: s, says: "writes stopped for {value} s" }\n  plots:\n    - { series: failover.pgbench_tps, label: pgbench transactions per second, unit: tps }';

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

// Reads one `figure` block; a malformed one fails the build with its position and what was expected.
export function readFigure(node: Code, where: string): FigureSpec {
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
  const measurements = list('measurements').map((entry) => {
    const given = strings(entry, MEASUREMENT_KEYS, ['name', 'label', 'unit', 'says'], fail);
    if (!given.says!.includes('{value}')) fail(`\`says\` of ${given.name} has no \`{value}\`: "${given.says}"`);
    return given as unknown as FigureMeasurement;
  });
  const plots = list('plots').map((entry) => strings(entry, PLOT_KEYS, ['series', 'label', 'unit'], fail) as unknown as FigurePlot);
  if (measurements.length === 0 && plots.length === 0) fail('names no measurement and no plot');
  return { caption: figure.caption as string, measurements, plots };
}

// The remark plugin: `figure` blocks become <LabFigure>; a lab page ends with <VerificationDetails>.
export default function remarkLabFigures() {
  return (tree: Root, file: VFile) => {
    const page: PageFigures = { measurements: {}, plots: {}, placed: [] };
    const relative = file.path ? path.relative(process.cwd(), file.path) : '(markdown)';
    visit(tree, 'code', (node: Code, index, parent) => {
      if (node.lang !== FIGURE_LANGUAGE || !parent || index === undefined) return;
      const where = `${relative}:${node.position?.start.line ?? 0}:${node.position?.start.column ?? 0}`;
      const spec = readFigure(node, where);
      for (const measurement of spec.measurements) {
        if (page.measurements[measurement.name]) throw new Error(`${where}: figure block: ${measurement.name} is already labelled by an earlier figure of this page: label it once`);
        page.measurements[measurement.name] = { label: measurement.label, unit: measurement.unit };
      }
      for (const plot of spec.plots) {
        page.plots[plot.series] = { label: plot.label, unit: plot.unit };
        page.placed.push(plot.series);
      }
      parent.children[index] = jsx('LabFigure', { spec: JSON.stringify(spec) }) as typeof parent.children[number];
    });
    if (file.path && LAB_FILE.test(path.basename(file.path))) tree.children.push(jsx('VerificationDetails', { figures: JSON.stringify(page) }));
  };
}
