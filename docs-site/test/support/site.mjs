// What the site's browser tests share: the build with the fixture reports (made once per test run, at `/`
// and under a project site's baseUrl), a static server for it as GitHub Pages serves it, Debian's
// Chromium, headless and offline, pages opened in it with what went wrong on them, and what the
// curriculum and the fixture reports hold.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import YAML from 'yaml';
import { buildAgenda } from '../../../harness/agenda/agenda.ts';
import { matrix } from '../../../harness/lab/majors.ts';

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
// browser.test.mjs, which runs first), the build is reused rather than made a second time. The labs'
// labels files and the harness's report, lab and agenda modules are read by the build too.
const BUILD_INPUTS = ['curriculum', 'environments', 'README.md', 'labs', 'harness/report', 'harness/lab', 'harness/agenda', 'harness/paths.ts',
  'docs-site/src', 'docs-site/static', 'docs-site/test/fixtures/reports', 'docs-site/docusaurus.config.ts', 'docs-site/sidebars.ts', 'docs-site/package-lock.json'];
// A GitHub project site: https://<owner>.github.io/<repository>/.
export const PROJECT_BASE_URL = '/postgres-platform-workshop/';
export const projectBuildDir = path.join(siteDir, 'test/.work/build-project');

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

// Builds the site with the fixture reports into `outDir`, served under `baseUrl`. With `fresh` it is built
// every time, else an up-to-date build is reused; with SITE_TEST_NO_BUILD=1 any build there is reused.
export async function ensureBuild({ outDir = buildDir, baseUrl = '/', fresh = false } = {}) {
  const index = path.join(outDir, 'index.html');
  if (existsSync(index)) {
    if (process.env.SITE_TEST_NO_BUILD === '1') return `under ${baseUrl} reused (SITE_TEST_NO_BUILD=1)`;
    const built = statSync(index).mtimeMs;
    const changed = Math.max(...BUILD_INPUTS.map((input) => newestChange(path.join(repoRoot, input))));
    if (!fresh && changed < built) return `under ${baseUrl} reused: no input changed since it was built`;
  }
  const started = Date.now();
  await run(process.execPath, [path.join(siteDir, 'node_modules/@docusaurus/core/bin/docusaurus.mjs'), 'build', '--out-dir', outDir], {
    cwd: siteDir, env: { ...process.env, WORKSHOP_REPORTS_DIR: fixtureReports, SITE_BASE_URL: baseUrl },
  });
  return `built under ${baseUrl} with the fixture reports in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}

// A static server for the build, as GitHub Pages serves it under `base`: `/x/` is x/index.html (or x.html),
// and nothing outside `base` exists (a link or asset that forgets the baseUrl gets a 404).
export function serve(root, base = '/') {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
    '.json': 'application/json', '.xml': 'application/xml', '.png': 'image/png', '.woff2': 'font/woff2', '.txt': 'text/plain' };
  const server = createServer((request, response) => {
    const pathname = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const inside = pathname.startsWith(base) ? path.join(root, path.normalize(pathname.slice(base.length - 1))) : undefined;
    const file = inside && [inside, path.join(inside, 'index.html'), `${inside}.html`]
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

// The routes of the built sitemap, relative to the baseUrl `base` (`/01-architecture/lab/`); one outside it fails.
export function sitemapRoutes(sitemapXml, base = '/') {
  return [...sitemapXml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((match) => {
    const pathname = new URL(match[1]).pathname;
    assert.ok(pathname.startsWith(base), `sitemap.xml: ${pathname} is outside the baseUrl ${base}`);
    return `/${pathname.slice(base.length)}`;
  });
}

// Opens `url` in a new page of `context` (at `viewport`, in `colorScheme` when given) once React has
// hydrated it, collecting its console errors, uncaught errors, failed requests and HTTP errors in `problems`.
export async function openPage(context, url, { viewport, colorScheme } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`); });
  if (viewport) await page.setViewportSize(viewport);
  if (colorScheme) await page.emulateMedia({ colorScheme });
  await page.goto(url, { waitUntil: 'networkidle', timeout: PAGE_TIMEOUT_MS });
  // Clicks and typing before React has hydrated the page would be lost, and React replaces the
  // server-rendered code blocks when it hydrates; Docusaurus marks <html> once it has.
  await page.locator('html[data-has-hydrated="true"]').waitFor({ state: 'attached', timeout: PAGE_TIMEOUT_MS });
  return { page, problems };
}

// Reads `read()` every 100 ms until `done(value)`; past the deadline, fails with the last value seen.
export async function pollUntil(what, read, done, timeoutMs = PAGE_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s; last seen ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The curriculum's modules as the sidebar should show them: `NN · <lesson title>`.
export function curriculumModules() {
  const dir = path.join(repoRoot, 'curriculum');
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d+-/.test(entry.name) && existsSync(path.join(dir, entry.name, 'index.md')))
    .map((entry) => {
      const text = readFileSync(path.join(dir, entry.name, 'index.md'), 'utf8');
      const front = YAML.parse(/^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '') ?? {};
      return { folder: entry.name, label: `${entry.name.split('-')[0]} · ${front.title}`, hasLab: existsSync(path.join(dir, entry.name, 'lab.md')) };
    });
}

// Every lab page of the curriculum: curriculum/<module>/lab.md and lab-<name>.md, as routes.
export function labRoutes() {
  const dir = path.join(repoRoot, 'curriculum');
  return readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && /^\d+-/.test(entry.name))
    .flatMap((entry) => readdirSync(path.join(dir, entry.name)).filter((name) => /^lab(-[\w-]+)?\.md$/.test(name))
      .map((name) => `/${entry.name}/${name.replace(/\.md$/, '')}/`));
}

// The fixture run reports the site is built with, by major.
export function fixtureRunReports() {
  return readdirSync(fixtureReports).filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(fixtureReports, name), 'utf8')))
    .sort((a, b) => a.major - b.major);
}

// The agenda the site is built with: the harness's computation on the default major over the fixture
// reports, as `workshop agenda --json` prints it (JSON, so the comparison is with what the CLI prints).
export function fixtureAgenda() {
  return JSON.parse(JSON.stringify(buildAgenda(matrix().defaultMajor, { reportsDir: fixtureReports })));
}

// The route of a curriculum page (`curriculum/01-architecture/lab.md` is `/01-architecture/lab/`).
export function routeOf(file) {
  const [module, name] = file.split('/').slice(-2);
  return `/${module}/${name === 'index.md' ? '' : `${name.replace(/\.md$/, '')}/`}`;
}
