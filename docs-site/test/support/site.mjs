// What the site's browser tests share: the build with the fixture reports (made once per test run),
// a static server for it as GitHub Pages serves it, and Debian's Chromium, headless and offline.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const siteDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repoRoot = path.resolve(siteDir, '..');
export const buildDir = path.join(siteDir, 'test/.work/build');
export const fixtureReports = path.join(siteDir, 'test/fixtures/reports');
export const screenshots = path.join(siteDir, 'test/screenshots');
export const BUILD_TIMEOUT_MS = 15 * 60_000;
export const PAGE_TIMEOUT_MS = 60_000;
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// The flags that run Debian's Chromium headless as root on a CI machine without network.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// What the build is made of: when none of it changed since test/.work/build was written (by this run's
// browser.test.mjs, which runs first), the build is reused rather than made a second time.
const BUILD_INPUTS = ['curriculum', 'environments', 'README.md', 'docs-site/src', 'docs-site/static', 'docs-site/test/fixtures/reports',
  'docs-site/docusaurus.config.ts', 'docs-site/sidebars.ts', 'docs-site/package-lock.json'];

function newestChange(target) {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(target).filter((name) => name !== 'node_modules').map((name) => newestChange(path.join(target, name))));
}

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`Command failed with ${signal ?? `exit code ${code}`}: ${command} ${args.join(' ')}\n${output}`));
    });
  });
}

// Builds the site with the fixture reports unless an up-to-date build is there (or SITE_TEST_NO_BUILD=1).
export async function ensureBuild() {
  const index = path.join(buildDir, 'index.html');
  if (existsSync(index)) {
    if (process.env.SITE_TEST_NO_BUILD === '1') return 'reused (SITE_TEST_NO_BUILD=1)';
    const built = statSync(index).mtimeMs;
    const changed = Math.max(...BUILD_INPUTS.map((input) => newestChange(path.join(repoRoot, input))));
    if (changed < built) return 'reused: no input changed since it was built';
  }
  const started = Date.now();
  await run(process.execPath, [path.join(siteDir, 'node_modules/@docusaurus/core/bin/docusaurus.mjs'), 'build', '--out-dir', buildDir], {
    cwd: siteDir, env: { ...process.env, WORKSHOP_REPORTS_DIR: fixtureReports },
  });
  return `built with the fixture reports in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}

// A static server for the build, as GitHub Pages serves it: `/x` is x.html or x/index.html.
export function serve(root) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
    '.json': 'application/json', '.xml': 'application/xml', '.png': 'image/png', '.woff2': 'font/woff2', '.txt': 'text/plain' };
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const base = path.join(root, path.normalize(pathname));
    const file = [base, path.join(base, 'index.html'), `${base}.html`]
      .find((candidate) => candidate.startsWith(root) && existsSync(candidate) && statSync(candidate).isFile());
    if (!file) {
      response.writeHead(404, { 'content-type': types['.html'] });
      createReadStream(path.join(root, '404.html')).pipe(response);
      return;
    }
    response.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Chromium with its own profile, every request leaving the machine blocked; close() removes the profile.
export async function launchBrowser(origin) {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'site-test-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1280, height: 900 },
  });
  await context.route((url) => url.origin !== origin, (route) => route.abort('blockedbyclient'));
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// The routes of the built sitemap (pathnames).
export function sitemapRoutes(sitemapXml) {
  return [...sitemapXml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((match) => new URL(match[1]).pathname);
}
