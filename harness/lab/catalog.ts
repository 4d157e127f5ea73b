// The labs of the curriculum: found by id (`01-architecture`) or by its module's number (`01`).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { LAB_FILE, parseLabFile } from './parse.ts';
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
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => readdirSync(path.join(root, entry.name))
      .filter((name) => LAB_FILE.test(name))
      .map((name) => {
        const file = path.join(root, entry.name, name);
        const document = parseLabFile(file);
        return { id: document.frontMatter?.id ?? entry.name, file, document };
      }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

// The labs `name` selects: the lab with that id, else every lab of the module it starts (`06` → 06-patroni, 06-patroni-guardrails).
export function findLabs(name: string, root = curriculumDir): LabEntry[] {
  const labs = allLabs(root);
  const exact = labs.filter((lab) => lab.id === name);
  const found = exact.length > 0 ? exact : labs.filter((lab) => lab.id.startsWith(`${name}-`));
  if (found.length === 0) {
    throw new UsageError(`Lab \`${name}\`: no such lab; expected one of ${labs.map((l) => l.id).join(', ') || '(none under curriculum/)'}`);
  }
  return found;
}

// The one lab `name` names: its id, or a prefix only one lab has.
export function findLab(name: string, root = curriculumDir): LabEntry {
  const found = findLabs(name, root);
  if (found.length !== 1) {
    throw new UsageError(`Lab \`${name}\`: ambiguous, it names ${found.map((l) => l.id).join(', ')}; give the full id`);
  }
  return found[0]!;
}
