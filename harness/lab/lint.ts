// `workshop lint`: every lesson and lab under the given paths, each problem as `file:line:col message`.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseLabFile } from './parse.ts';
import { pageSections } from '../agenda/agenda.ts';
import { formatProblem, type Problem } from './model.ts';
import { curriculumDir, labsDir, relativeToRepo } from '../paths.ts';

export interface LintResult {
  files: string[];
  problems: Problem[];
}

export function lintPaths(paths: string[] = [curriculumDir]): LintResult {
  const files = paths.flatMap((p) => markdownFiles(path.resolve(p)));
  const problems: Problem[] = [];
  for (const file of files) {
    const doc = parseLabFile(file);
    problems.push(...doc.problems);
    // The agenda's marks: deep dives that name real sections, and a lab's core path that can be typed
    // alone (no background step, program or checkpoint shared across a deep dive's border).
    if (file.startsWith(curriculumDir + path.sep)) problems.push(...pageSections(readFileSync(file, 'utf8'), file).problems);
    // A lab page without its executable spec would put untested commands on the site.
    if (doc.frontMatter?.kind === 'lab' && file.startsWith(curriculumDir + path.sep)) {
      const spec = path.join(labsDir, `${doc.frontMatter.id}.spec.ts`);
      if (!existsSync(spec)) {
        problems.push({ position: { file: doc.file, line: 1, column: 1 }, message: `Lab \`${doc.frontMatter.id}\` has no spec: expected ${relativeToRepo(spec)}` });
      }
    }
  }
  problems.sort((a, b) => a.position.file.localeCompare(b.position.file) || a.position.line - b.position.line || a.position.column - b.position.column);
  return { files: files.map(relativeToRepo), problems };
}

export function formatLint(result: LintResult): string {
  return result.problems.map(formatProblem).join('\n');
}

function markdownFiles(target: string): string[] {
  if (!existsSync(target)) throw Object.assign(new Error(`lint: ${target} does not exist`), { name: 'UsageError' });
  if (statSync(target).isFile()) return [target];
  return readdirSync(target, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && entry.name !== 'node_modules')
    .flatMap((entry) => {
      const full = path.join(target, entry.name);
      if (entry.isDirectory()) return markdownFiles(full);
      return /\.mdx?$/.test(entry.name) ? [full] : [];
    })
    .sort();
}
