// Where the site finds the repository it publishes: the curriculum, the environments and the reports.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const siteDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repoRoot = path.resolve(siteDir, '..');
export const curriculumDir = path.join(repoRoot, 'curriculum');
export const environmentsDir = path.join(repoRoot, 'environments');

// The run reports the site renders: `WORKSHOP_REPORTS_DIR` (relative to docs-site/), else the repository's reports/.
export function reportsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(siteDir, env.WORKSHOP_REPORTS_DIR || '../reports');
}
