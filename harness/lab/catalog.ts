// The labs of the curriculum: found by id (`01-architecture`) or by its number prefix (`01`).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseLabFile } from './parse.ts';
import type { LabDocument } from './model.ts';
import { UsageError } from './majors.ts';
import { curriculumDir } from '../paths.ts';

export interface LabEntry {
  id: string;
  file: string;
  document: LabDocument;
}

export function allLabs(root = curriculumDir): LabEntry[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, entry.name, 'lab.md')))
    .map((entry) => {
      const file = path.join(root, entry.name, 'lab.md');
      const document = parseLabFile(file);
      return { id: document.frontMatter?.id ?? entry.name, file, document };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function findLab(name: string, root = curriculumDir): LabEntry {
  const labs = allLabs(root);
  const found = labs.filter((lab) => lab.id === name || lab.id.startsWith(`${name}-`));
  if (found.length !== 1) {
    throw new UsageError(`Lab \`${name}\`: ${found.length === 0 ? 'no such lab' : 'ambiguous'}; expected one of ${labs.map((l) => l.id).join(', ') || '(none under curriculum/)'}`);
  }
  return found[0]!;
}
