// The code checks `workshop test` runs before the labs: the type checker, ESLint and shellcheck, so a
// type error, a promise nobody awaits or a shell mistake fails the suite like a failed lab does.
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { relativeToRepo, repoRoot } from '../paths.ts';

export interface CodeCheck {
  name: string;
  ok: boolean;
  // Why the check could not run, with how to fix it (a missing tool or install).
  error?: string;
}

const bin = (name: string, root = repoRoot) => path.join(root, 'node_modules', '.bin', name);
const siteDir = path.join(repoRoot, 'docs-site');

// `tsc --noEmit` over the harness, labs and tests, and (with the site) over docs-site with its own compiler.
export async function typecheck(withSite: boolean): Promise<CodeCheck[]> {
  const checks: CodeCheck[] = [];
  const root = await execa(bin('tsc'), ['--noEmit', '-p', repoRoot], { cwd: repoRoot, stdio: 'inherit', reject: false });
  checks.push({ name: 'tsc (harness, labs, test, bench)', ok: root.exitCode === 0 });
  if (withSite) {
    if (!existsSync(bin('tsc', siteDir))) {
      checks.push({ name: 'tsc (docs-site)', ok: false, error: 'docs-site/node_modules/.bin/tsc is missing: run `npm run site:install` (or pass --no-site)' });
    } else {
      const site = await execa(bin('tsc', siteDir), ['--noEmit', '-p', siteDir], { cwd: siteDir, stdio: 'inherit', reject: false });
      checks.push({ name: 'tsc (docs-site)', ok: site.exitCode === 0 });
    }
  }
  return checks;
}

// ESLint with typescript-eslint (eslint.config.js); docs-site's files need its packages for their types.
export async function eslint(withSite: boolean): Promise<CodeCheck> {
  const args = ['--max-warnings', '0', ...(withSite ? [] : ['--ignore-pattern', 'docs-site/**']), '.'];
  const result = await execa(bin('eslint'), args, { cwd: repoRoot, stdio: 'inherit', reject: false });
  return { name: `eslint${withSite ? '' : ' (without docs-site)'}`, ok: result.exitCode === 0 };
}

// shellcheck (Debian's package) over every shell script of the repository, the image's bin/ included.
export async function shellcheck(): Promise<CodeCheck> {
  const name = 'shellcheck';
  const which = await execa('shellcheck', ['--version'], { reject: false });
  if (which.failed || which.exitCode !== 0) {
    return { name, ok: false, error: 'shellcheck is not installed: `apt-get install shellcheck` (Debian\'s package), then run the tests again' };
  }
  const scripts = shellScripts().map(relativeToRepo);
  const result = await execa('shellcheck', ['--format=gcc', ...scripts], { cwd: repoRoot, stdio: 'inherit', reject: false });
  return { name: `shellcheck (${scripts.length} scripts)`, ok: result.exitCode === 0 };
}

const SKIPPED_DIRS = new Set(['node_modules', 'runs', 'reports', 'build', '.docusaurus', '.git', '.work']);

// Files that are shell scripts: `*.sh`, or a `#!` line naming sh or bash.
export function shellScripts(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : shellScripts(full);
    if (!entry.isFile()) return [];
    if (entry.name.endsWith('.sh')) return [full];
    const head = firstLine(full);
    return /^#!\s*\S*\/(?:env\s+)?(?:ba)?sh\b/.test(head) ? [full] : [];
  }).sort();
}

function firstLine(file: string): string {
  const buffer = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString('utf8').split('\n')[0] ?? '';
  } finally {
    closeSync(fd);
  }
}
