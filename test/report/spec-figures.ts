// The names a lab spec measures, read from its source with the TypeScript parser: the first argument of
// every `lab.measure(…)`, and the `name` of every `lab.series(…)` where the source states it. A name built
// with `${…}` comes back as a pattern its reported names match.
import { readFileSync } from 'node:fs';
import ts from 'typescript';

export interface SpecFigure {
  kind: 'measurement' | 'series';
  // The name, or for a template a RegExp source where each `${…}` is `[^.]+`.
  name: string;
  pattern?: RegExp;
  line: number;
}

export interface SpecFigures {
  labId?: string;
  figures: SpecFigure[];
  // Series built by the spec's own helpers (`{ name, unit, points }` literals anywhere in the file).
  builtSeries: SpecFigure[];
  // Calls whose name cannot be read from the source: said, not skipped.
  unreadable: { kind: SpecFigure['kind']; line: number; text: string }[];
}

// The series names of the probes' helpers when called without one (harness/probes/pgbench.ts, writer.ts).
const HELPER_DEFAULTS: Record<string, string> = { tpsSeries: 'pgbench.tps', writesPerSecond: 'writer.acknowledged_per_second' };
const HELPER_NAME_ARGUMENT: Record<string, number> = { tpsSeries: 1 };

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function nameOf(node: ts.Expression): Pick<SpecFigure, 'name' | 'pattern'> | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return { name: node.text };
  if (ts.isTemplateExpression(node)) {
    const parts = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)];
    return { name: parts.join('${…}'), pattern: new RegExp(`^${parts.map(escape).join('[^.]+')}$`) };
  }
  return undefined;
}

function seriesName(argument: ts.Expression): Pick<SpecFigure, 'name' | 'pattern'> | undefined {
  if (ts.isObjectLiteralExpression(argument)) {
    const named = argument.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === 'name');
    if (named) return nameOf(named.initializer);
    const spread = argument.properties.find((p): p is ts.SpreadAssignment => ts.isSpreadAssignment(p));
    return spread ? seriesName(spread.expression) : undefined;
  }
  if (ts.isCallExpression(argument)) {
    const helper = argument.expression.getText();
    const at = HELPER_NAME_ARGUMENT[helper];
    const given = at === undefined ? undefined : argument.arguments[at];
    if (given) return nameOf(given);
    if (HELPER_DEFAULTS[helper]) return { name: HELPER_DEFAULTS[helper] };
  }
  return undefined;
}

// Every measurement and series `file` reports, with its line.
export function specFigures(file: string): SpecFigures {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const result: SpecFigures = { figures: [], builtSeries: [], unreadable: [] };
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const first = node.arguments[0];
      if (ts.isIdentifier(node.expression.expression) && node.expression.expression.text === 'lab' && first) {
        if (method === 'measure' || method === 'series') {
          const kind = method === 'measure' ? 'measurement' : 'series';
          const name = method === 'measure' ? nameOf(first) : seriesName(first);
          if (name) result.figures.push({ kind, ...name, line: lineOf(node) });
          else result.unreadable.push({ kind, line: lineOf(node), text: node.getText().slice(0, 120) });
        }
      }
    }
    if (ts.isObjectLiteralExpression(node)) {
      const property = (key: string) => node.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === key);
      const name = property('name');
      const named = name && property('points') && nameOf(name.initializer);
      if (named) result.builtSeries.push({ kind: 'series', ...named, line: lineOf(node) });
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'useLab') {
      const id = node.arguments[0];
      if (id && (ts.isStringLiteral(id) || ts.isNoSubstitutionTemplateLiteral(id))) result.labId = id.text;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return result;
}
