// The README's sections that the landing page shows (prerequisites, how to start the labs), as mdast,
// so the page says what the README says and never drifts from it.
import { readFileSync } from 'node:fs';
import type { RootContent } from 'mdast';
import { toString } from 'mdast-util-to-string';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import { visit } from 'unist-util-visit';

// The landing page's names for the README's headings.
export const README_SECTIONS = {
  intro: null,
  commands: 'The two commands',
  prerequisites: 'Prerequisites',
  start: 'Doing the workshop yourself',
} as const;

export type ReadmeSections = Record<keyof typeof README_SECTIONS, RootContent[]>;

// The nodes under a level-2 heading up to the next heading of level 1 or 2; the intro is what precedes
// the first level-2 heading. Throws naming the heading when the README no longer has it.
export function readmeSections(file: string): ReadmeSections {
  const tree = unified().use(remarkParse).parse(readFileSync(file, 'utf8'));
  visit(tree, (node) => {
    delete (node as { position?: unknown }).position;
  });
  const sections = {} as ReadmeSections;
  for (const [key, heading] of Object.entries(README_SECTIONS) as [keyof ReadmeSections, string | null][]) {
    const isSectionEnd = (node: RootContent) => node.type === 'heading' && node.depth <= 2;
    let start: number;
    if (heading === null) {
      start = tree.children.findIndex((node) => node.type === 'heading' && node.depth === 1) + 1;
    } else {
      start = tree.children.findIndex((node) => node.type === 'heading' && node.depth === 2 && toString(node) === heading) + 1;
      if (start === 0) throw new Error(`${file}: no \`## ${heading}\` section, which the site's landing page shows (docs-site/src/plugins/reports/readme.ts)`);
    }
    const end = tree.children.findIndex((node, index) => index >= start && isSectionEnd(node));
    sections[key] = tree.children.slice(start, end === -1 ? undefined : end);
  }
  return sections;
}
