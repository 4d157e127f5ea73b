// Writes the agenda's marks into lesson and lab pages: under each `##` heading that the front matter's
// `deep_dives` names a <DeepDiveMark slug="…" /> ("Go further (deep dive)"). (The page's own time is shown
// beside its breadcrumbs: src/theme/DocBreadcrumbs.) Which section is a deep dive
// is the harness's reading of the page (pageSections, as `workshop agenda` and `workshop lint` read it),
// so the marks on the site and the agenda's cannot disagree.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Heading, Root, RootContent } from 'mdast';
import type { VFile } from 'vfile';
import { toString } from 'mdast-util-to-string';
import { pageSections } from '../../../harness/agenda/agenda.ts';
import { LAB_FILE } from '../../../harness/lab/parse.ts';

export const DEEP_DIVE_MARK = 'DeepDiveMark';

function jsx(name: string, attributes: Record<string, string> = {}): RootContent {
  return {
    type: 'mdxJsxFlowElement', name, children: [],
    attributes: Object.entries(attributes).map(([key, value]) => ({ type: 'mdxJsxAttribute', name: key, value })),
  } as unknown as RootContent;
}

// A lesson (`<NN-topic>/index.md`) or a lab (`<NN-topic>/lab.md`, `lab-<name>.md`) of the curriculum.
function isModulePage(file: string): boolean {
  const name = path.basename(file);
  return /^\d+-/.test(path.basename(path.dirname(file))) && (name === 'index.md' || LAB_FILE.test(name));
}

// The remark plugin; it reads the page's Markdown from disk (front matter included), as the harness does.
export default function remarkAgendaMarks() {
  return (tree: Root, file: VFile) => {
    if (!file.path || !isModulePage(file.path)) return;
    const { sections } = pageSections(readFileSync(file.path, 'utf8'), file.path);
    const where = (node: RootContent) => `${path.relative(process.cwd(), file.path)}:${node.position?.start.line ?? '?'}`;
    const headings = tree.children.filter((node): node is Heading => node.type === 'heading' && node.depth === 2);
    const h2Sections = sections.filter((section) => section.slug !== '');
    if (headings.length !== h2Sections.length) {
      throw new Error(`${file.path}: the site reads ${headings.length} \`##\` headings and the agenda ${h2Sections.length}: the agenda's times would not match the page's sections`);
    }
    headings.forEach((heading, index) => {
      const section = h2Sections[index]!;
      // Docusaurus has given the heading its anchor (data.id) before this plugin runs: it must be the agenda's.
      const id = (heading.data as { id?: string; hProperties?: { id?: string } } | undefined)?.id
        ?? (heading.data as { hProperties?: { id?: string } } | undefined)?.hProperties?.id;
      if (toString(heading) !== section.title || (id !== undefined && id !== section.slug)) {
        throw new Error(`${where(heading)}: the heading "${toString(heading)}" (anchor ${id ?? 'unknown'}) is the agenda's "${section.title}" (anchor ${section.slug}): an explicit heading id or a heading the agenda does not read differs; remove the explicit id`);
      }
      if (section.mark !== 'deep-dive') return;
      tree.children.splice(tree.children.indexOf(heading) + 1, 0, jsx(DEEP_DIVE_MARK, { slug: section.slug }));
    });
  };
}
