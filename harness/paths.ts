// Where things live in the repository, resolved once from this file's location.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const curriculumDir = path.join(repoRoot, 'curriculum');
export const environmentsDir = path.join(repoRoot, 'environments');
export const labsDir = path.join(repoRoot, 'labs');

// Repository-relative path with forward slashes, as errors and reports show it.
export function relativeToRepo(file: string): string {
  return path.relative(repoRoot, path.resolve(file)).split(path.sep).join('/');
}
