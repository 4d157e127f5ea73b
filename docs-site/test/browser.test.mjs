// The built site in Debian's Chromium: every page loads without errors and without leaving the machine,
// the sidebar lists every module, version tabs switch together and can be chosen by a link (`?pg=15`),
// the offline search finds pages, and a lab's verification panel and plot show the fixture reports.
// Built twice: at `/`, and under a non-root baseUrl as GitHub Pages serves a project site
// (`/<repository>/`). Builds into test/.work/ first (SITE_TEST_NO_BUILD=1 reuses earlier builds).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BUILD_TIMEOUT_MS, PAGE_TIMEOUT_MS, PROJECT_BASE_URL, buildDir, curriculumModules, ensureBuild, fixtureAgenda, fixtureRunReports, launchBrowser,
  openPage, pollUntil, projectBuildDir, routeOf, screenshots, serve, sitemapRoutes as routesOf,
} from './support/site.mjs';
import { BREAK_MINUTES, breakBoundaries } from '../src/plugins/agenda/plan.mts';

const fixtures = fixtureRunReports();
const agenda = fixtureAgenda();
// Minutes to a tenth, as the agenda adds them.
const tenth = (minutes) => Math.round(minutes * 10) / 10;
// An attribute's value in the built (minified) HTML, quoted or not.
const VALUE = '(?:"([^"]*)"|([^\\s>"]+))';
// The ids of a built page.
const pageIds = new Map();
const idsOf = (route) => pageIds.get(route) ?? pageIds.set(route, new Set([...readFileSync(path.join(buildDir, route, 'index.html'), 'utf8').matchAll(new RegExp(`\\sid=${VALUE}`, 'g'))].map((m) => m[1] ?? m[2]))).get(route);
const coreOf = (file) => tenth(agenda.sections.filter((s) => s.file === file && s.mark === 'core').reduce((sum, s) => sum + s.minutes, 0));
const deepOf = (file) => tenth(agenda.sections.filter((s) => s.file === file && s.mark === 'deep-dive').reduce((sum, s) => sum + s.minutes, 0));

// One Chromium and one server per build, built afresh for this run (unless SITE_TEST_NO_BUILD=1);
// `open` collects what went wrong on a page.
function siteInChromium(dir, base) {
  const site = { origin: undefined, base };
  let server;
  let browser;

  before(async () => {
    console.log(`# site ${await ensureBuild({ outDir: dir, baseUrl: base, fresh: true })}`);
    server = await serve(dir, base);
    site.origin = `http://127.0.0.1:${server.address().port}`;
    // Nothing may leave the machine: the site must work offline.
    browser = await launchBrowser(site.origin);
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  // Opens a route (relative to the baseUrl) and collects console errors, uncaught errors, failed requests.
  site.open = (route) => openPage(browser.context, `${site.origin}${base}${route.replace(/^\//, '')}`);
  return site;
}

// Loads a page and waits for its Mermaid diagrams, so their errors are counted too; returns its problems.
async function loadCompletely(site, route) {
  const { page, problems } = await site.open(route);
  if (await page.locator('.docusaurus-mermaid-container').count()) {
    await page.locator('.docusaurus-mermaid-container svg').first().waitFor({ timeout: PAGE_TIMEOUT_MS });
  }
  await page.close();
  return problems;
}

// The routes of sitemap.xml, relative to the baseUrl.
function sitemapRoutes(dir, base) {
  return routesOf(readFileSync(path.join(dir, 'sitemap.xml'), 'utf8'), base);
}

// Types `pg_rewind` into the navbar's search and opens the first result that is module 05's.
async function searchOpensModule05(site) {
  const { page, problems } = await site.open('/');
  const input = page.getByRole('searchbox', { name: 'Search' }).or(page.locator('input.navbar__search-input')).first();
  await input.click();
  await input.pressSequentially('pg_rewind');
  const results = page.getByRole('option');
  await results.first().waitFor({ timeout: PAGE_TIMEOUT_MS });
  const texts = await results.allInnerTexts();
  const index = texts.findIndex((text) => text.includes('05 · Designing for failure'));
  assert.ok(index >= 0, `no result in module 05 for pg_rewind; results: ${texts.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
  await results.nth(index).click();
  await page.waitForURL((url) => url.pathname.startsWith(`${site.base}05-failure/`), { timeout: PAGE_TIMEOUT_MS });
  assert.match(await page.locator('article').innerText(), /pg_rewind/);
  assert.deepEqual(problems, []);
  await page.close();
}

describe('the built site in Chromium', { timeout: BUILD_TIMEOUT_MS + 10 * 60_000 }, () => {
  const site = siteInChromium(buildDir, '/');
  const open = (route) => site.open(route);

  test('every page of the sitemap loads without console errors or outside requests', async () => {
    const routes = sitemapRoutes(buildDir, '/');
    assert.ok(routes.length >= 3, `expected the landing page and the modules' pages in sitemap.xml, found ${routes.join(', ')}`);
    const failures = [];
    for (const route of routes) {
      const problems = await loadCompletely(site, route);
      if (problems.length) failures.push(`${route}:\n  ${problems.join('\n  ')}`);
    }
    assert.deepEqual(failures, [], failures.join('\n'));
  });

  test('the sidebar lists every module of the curriculum with its lesson and lab', async () => {
    const modules = curriculumModules();
    assert.ok(modules.length > 0, 'no module folder under curriculum/');
    const { page } = await open(`/${modules[0].folder}/`);
    const sidebar = page.locator('nav.menu');
    for (const module of modules) {
      const category = sidebar.locator('.menu__list-item', { has: page.locator(`.menu__link--sublist`, { hasText: module.label }) });
      await category.first().waitFor({ timeout: PAGE_TIMEOUT_MS });
      assert.equal(await category.first().locator(`a.menu__link:not(.menu__link--sublist)[href$="/${module.folder}/"]`).count(), 1, `${module.label}: no link to its lesson`);
      if (module.hasLab) assert.equal(await category.first().locator(`a.menu__link:not(.menu__link--sublist)[href$="/${module.folder}/lab/"]`).count(), 1, `${module.label}: no link to its lab`);
    }
    await page.close();
  });

  test('choosing PostgreSQL 15 on a version tab switches every version tab of the page', async () => {
    const { page } = await open('/01-architecture/lab/');
    const groups = page.locator('.tabs-container:has(.pg-tabs)');
    assert.ok(await groups.count() >= 2, 'expected several version tab groups on the 01 lab');
    const first = groups.first();
    const visibleCode = () => first.locator('[role="tabpanel"]:not([hidden]) code').innerText();
    const before18 = await visibleCode();
    await groups.first().getByRole('tab', { name: 'PostgreSQL 15' }).click();
    // The first group is the `version` step's expected output: each major's variant prints that major.
    assert.equal((await visibleCode()).trim(), '15', `the 15 variant should show, saw ${JSON.stringify(await visibleCode())} (was ${JSON.stringify(before18)})`);
    const selected = await groups.locator('[role="tab"][aria-selected="true"]').allInnerTexts();
    assert.deepEqual([...new Set(selected)], ['PostgreSQL 15'], `every group follows the choice; selected: ${selected.join(', ')}`);
    // Versions before 18 have no io workers: the postmaster-children variant for 15 must not list them.
    const panels = await page.locator('.tabs-container [role="tabpanel"]:not([hidden])').allInnerTexts();
    assert.ok(panels.some((text) => text.includes('walwriter')) && !panels.some((text) => text.includes('io worker')), 'the 15 variants show no io workers');
    await page.close();
  });

  test('a link with ?pg=15 opens every version tab of the page on PostgreSQL 15, over a choice made before, and a choice updates the link', async () => {
    const selectedTabs = (page) => page.locator('.tabs-container:has(.pg-tabs) [role="tab"][aria-selected="true"]').allInnerTexts();
    const allOn = (label) => (selected) => selected.length >= 2 && selected.every((text) => text === label);
    // A reader chose 17 earlier (Docusaurus remembers the `pg` group in localStorage) ...
    const { page, problems } = await open('/01-architecture/lab/');
    await page.locator('.tabs-container:has(.pg-tabs)').first().getByRole('tab', { name: 'PostgreSQL 17' }).click();
    await pollUntil('every version tab group of the 01 lab on PostgreSQL 17 after choosing it', () => selectedTabs(page), allOn('PostgreSQL 17'));
    await page.waitForURL((url) => url.searchParams.get('pg') === '17', { timeout: PAGE_TIMEOUT_MS });
    // ... then follows a link to PostgreSQL 15: the link wins. It is applied once the page has hydrated.
    await page.goto(`${site.origin}/01-architecture/lab/?pg=15`, { waitUntil: 'networkidle', timeout: PAGE_TIMEOUT_MS });
    await pollUntil('every version tab group of the 01 lab on PostgreSQL 15 from the link', () => selectedTabs(page), allOn('PostgreSQL 15'));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('searching pg_rewind offline finds module 05', async () => {
    await searchOpensModule05(site);
  });

  test('a lab page shows its verification panel and a plot from the fixture reports', async () => {
    const { page, problems } = await open('/01-architecture/lab/');
    // The page opens with one line of proof (test/reader.test.mjs); the runs and plots are at its end.
    const panel = page.locator('#verification-details');
    const versions = fixtures.map((report) => report.versions.postgres);
    const headline = `Verified on PostgreSQL ${versions.slice(0, -1).join(', ')} and ${versions.at(-1)}`;
    assert.match(await panel.locator('p').first().innerText(), new RegExp(`^.?\\s*${headline.replaceAll('.', '\\.')} on \\d+ \\w+ \\d{4}`));
    const lab = (report, file) => report.labs.find((entry) => entry.file === file);
    const durations = await panel.locator('td[data-duration-ms]').evaluateAll((cells) => cells.map((cell) => Number(cell.dataset.durationMs)));
    assert.deepEqual(durations, fixtures.map((report) => lab(report, 'curriculum/01-architecture/lab.md').durationMs));
    // A measurement's row: its label in words (labs/01-architecture.labels.yaml), the value and unit per version.
    const walRow = panel.locator('tr[data-measurement="wal.bytes_per_single_row_insert"]');
    assert.equal((await walRow.locator('th').innerText()).trim(), 'WAL written by one single-row insert and its commit');
    const bytes = (report) => lab(report, 'curriculum/01-architecture/lab.md').measurements.find((m) => m.name === 'wal.bytes_per_single_row_insert').value;
    assert.deepEqual(await walRow.locator('td').allInnerTexts(), fixtures.map((report) => `${new Intl.NumberFormat('en-US').format(bytes(report))} bytes`));
    assert.deepEqual(problems, []);
    mkdirSync(screenshots, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 1500 });
    await page.screenshot({ path: path.join(screenshots, 'lab-01-architecture.png') });
    await page.close();

    // The failure lab's details: the write gap per version, and its throughput plot (no figure block places it).
    const failure = await open('/05-failure/lab/');
    const details = failure.page.locator('#verification-details');
    const gapRow = details.locator('tr[data-measurement="failover.write_gap_s"]');
    assert.equal((await gapRow.locator('th').innerText()).trim(), 'longest pause between acknowledged writes');
    assert.deepEqual(await gapRow.locator('td').allInnerTexts(),
      fixtures.map((report) => `${lab(report, 'curriculum/05-failure/lab.md').measurements.find((m) => m.name === 'failover.write_gap_s').value} s`));
    const chart = details.locator('[data-series="pgbench.tps"]');
    // SVG paths of straight lines have no area, which Playwright calls hidden: wait for them to exist.
    await chart.locator('svg path').first().waitFor({ state: 'attached', timeout: PAGE_TIMEOUT_MS });
    assert.ok(await chart.locator('svg path').count() >= fixtures.length, 'one line per major');
    assert.equal((await details.locator('figure:has([data-series="pgbench.tps"]) > figcaption').innerText()).trim(),
      'pgbench transactions per second (transactions/s), per PostgreSQL version');
    const labels = await chart.locator('svg text').allTextContents();
    for (const report of fixtures) assert.ok(labels.some((text) => text.startsWith(`PostgreSQL ${report.versions.postgres}`)), `no panel for ${report.versions.postgres} in ${labels.join(' | ')}`);
    assert.ok(labels.some((text) => text.startsWith('leader killed')), `the kill is marked: ${labels.join(' | ')}`);
    assert.deepEqual(failure.problems, []);
    await failure.page.close();
  });

  test('a lab that no report covers says plainly that it is not verified', async () => {
    const covered = new Set(fixtures.flatMap((report) => report.labs.map((entry) => entry.file)));
    const uncovered = curriculumModules().filter((module) => module.hasLab && !covered.has(`curriculum/${module.folder}/lab.md`));
    if (uncovered.length === 0) return;
    const { page } = await open(`/${uncovered[0].folder}/lab/`);
    assert.match(await page.locator('section[aria-label="Verification"]').innerText(), /^.?\s*Not verified/);
    await page.close();
  });

  test('the agenda lists the core path with the harness\'s times, every link reaching an anchor of its page', async () => {
    const { page, problems } = await open('/agenda/');
    const main = page.locator('main');
    // The totals are `workshop agenda --json`'s, and the page says plainly whether they fit the budget.
    const totals = main.locator('[data-fits]');
    assert.equal(Number(await totals.getAttribute('data-core-minutes')), agenda.coreMinutes);
    const core = Math.round(agenda.coreMinutes);
    assert.match(await totals.innerText(), agenda.coreMinutes <= 150
      ? new RegExp(`^Core path: ${core} min, within its 150 min budget`)
      : new RegExp(`^Core path: ${core} min, over its 150 min budget by ${core - 150} min`));
    const modules = await main.locator('li[data-module]').evaluateAll((items) => items.map((item) => [item.dataset.module, Number(item.dataset.coreMinutes)]));
    assert.deepEqual(modules, agenda.modules.map((m) => [m.module, m.coreMinutes]), 'every module in order, with its core minutes');
    // Every core section in order, each with its minutes and a link to its anchor; no deep dive among them.
    const sections = await main.locator('section[aria-labelledby="core-path"] li[data-minutes] a').evaluateAll((links) => links.map((link) => [link.getAttribute('href'), Number(link.parentElement.dataset.minutes)]));
    const expected = agenda.sections.filter((s) => s.mark === 'core').map((s) => [`${routeOf(s.file)}${s.slug ? `#${s.slug}` : ''}`, s.minutes]);
    assert.deepEqual(sections, expected);
    // Breaks sit between modules, where the module minutes put them (breakBoundaries, unit-tested in agenda.test.mts).
    const items = await main.locator('section[aria-labelledby="core-path"] > ol > li').evaluateAll((lis) => lis.map((li) => li.dataset.module ?? `break ${li.dataset.breakMinutes} min`));
    const after = breakBoundaries(agenda.modules.map((m) => m.coreMinutes));
    assert.deepEqual(items, agenda.modules.flatMap((m, index) => (after.includes(index) ? [m.module, `break ${BREAK_MINUTES} min`] : [m.module])));
    // The deep dives after the agenda: exactly the sections the pages mark.
    const deepDives = await main.locator('li[data-deep-dive] a').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    assert.deepEqual(deepDives, agenda.sections.filter((s) => s.mark === 'deep-dive').map((s) => `${routeOf(s.file)}#${s.slug}`));
    if (deepDives.length === 0) assert.match(await main.locator('section[aria-labelledby="go-further"]').innerText(), /No section is marked as a deep dive yet/);
    assert.deepEqual(problems, []);
    await page.close();
    // Every link's page has the anchor the link names (its server-rendered HTML: the ids are there before React runs).
    const missing = [...expected.map(([href]) => href), ...deepDives].filter((href) => href.includes('#'))
      .filter((href) => !idsOf(href.split('#')[0]).has(href.split('#')[1]));
    assert.deepEqual(missing, [], 'links to anchors that their page does not have');
  });

  test('a lab page says beside its breadcrumbs, above its title, how long it takes on the core path, as the agenda computes it', async () => {
    const file = 'curriculum/01-architecture/lab.md';
    const { page, problems } = await open(routeOf(file));
    const time = page.locator('article [data-page-time]');
    assert.equal(Number(await time.getAttribute('data-core-minutes')), coreOf(file));
    // The page marks deep dives: their time follows the core path's.
    assert.ok(deepOf(file) > 0, `${file} marks deep dives`);
    assert.match(await time.innerText(), new RegExp(`^About ${Math.round(coreOf(file))} min \\+ ${Math.max(1, Math.round(deepOf(file)))} min deep dives$`));
    assert.equal(await time.locator('a').getAttribute('href'), '/agenda/#how-times-are-computed');
    // On the breadcrumbs' row, above the title: no line of its own pushes the first step down.
    const [crumbs, below, title] = await Promise.all(['article nav.theme-doc-breadcrumbs', 'article [data-page-time]', 'article h1'].map((selector) => page.locator(selector).first().boundingBox()));
    assert.ok(below.y < crumbs.y + crumbs.height && below.y + below.height > crumbs.y && below.y < title.y, `the time shares the breadcrumbs' row, above the title: ${JSON.stringify({ crumbs, below, title })}`);
    assert.deepEqual(problems, []);
    await page.close();
    // A lab the fixture reports do not cover says (in its link's title) that its commands' run time is not counted.
    const unmeasured = agenda.sections.find((s) => s.kind === 'lab' && s.commands > 0 && s.runMinutes === undefined);
    if (unmeasured) {
      const other = await open(routeOf(unmeasured.file));
      assert.match(await other.page.locator('article [data-page-time] a').getAttribute('title'), /run time is not measured yet/);
      await other.page.close();
    }
  });

  test('every deep dive a page marks, and no other section, carries the "Go further" marker under its heading', () => {
    // The server-rendered pages: the marker is the next element after its section's heading.
    const pages = [...new Set(agenda.sections.map((s) => s.file))];
    const wrong = [];
    for (const file of pages) {
      const html = readFileSync(path.join(buildDir, routeOf(file), 'index.html'), 'utf8');
      // Minified HTML: attribute values may be unquoted.
      const marked = [...html.matchAll(new RegExp(`<h2[^>]*\\sid=${VALUE}[^>]*>(?:(?!</h2>)[\\s\\S])*</h2>\\s*<p[^>]*\\sdata-deep-dive-mark=${VALUE}`, 'g'))]
        .map((m) => [m[1] ?? m[2], m[3] ?? m[4]]).map(([id, mark]) => (id === mark ? id : `${id}≠${mark}`));
      const markers = [...html.matchAll(new RegExp(`\\sdata-deep-dive-mark=${VALUE}`, 'g'))];
      const expected = agenda.sections.filter((s) => s.file === file && s.mark === 'deep-dive').map((s) => s.slug);
      if (JSON.stringify(marked) !== JSON.stringify(expected) || markers.length !== expected.length) wrong.push(`${file}: markers under ${JSON.stringify(marked)} (${markers.length} in all), marked ${JSON.stringify(expected)}`);
      if (!/data-page-time/.test(html)) wrong.push(`${file}: no time beside its breadcrumbs`);
    }
    assert.ok(pages.length >= 18 && existsSync(path.join(buildDir, 'agenda/index.html')), `every lesson and lab: ${pages.length}`);
    assert.deepEqual(wrong, []);
  });

  test('the landing page lists the modules, the prerequisites and how to start', async () => {
    const { page } = await open('/');
    for (const module of curriculumModules()) {
      assert.equal(await page.locator(`main a[href$="/${module.folder}/"]`).count() >= 1, true, `no link to module ${module.folder}`);
    }
    assert.ok(await page.locator('main a[href="/agenda/"]').count() >= 1, 'the landing page links to the agenda');
    assert.equal(await page.locator('nav.navbar a[href="/agenda/"]').count(), 1, 'the navbar links to the agenda');
    const text = await page.locator('main').innerText();
    assert.match(text, /Prerequisites[\s\S]*Docker/);
    assert.match(text, /npx workshop images/);
    await page.close();
  });
});

describe('the site under a non-root baseUrl, as GitHub Pages serves a project site', { timeout: BUILD_TIMEOUT_MS + 10 * 60_000 }, () => {
  const site = siteInChromium(projectBuildDir, PROJECT_BASE_URL);

  test('the landing page, a lesson and a lab load with every asset and link under the baseUrl', async () => {
    const routes = sitemapRoutes(projectBuildDir, PROJECT_BASE_URL);
    // Every page shares the same asset paths: these cover the landing page, lessons (Mermaid) and labs (panels, plots).
    const sample = ['/', '/01-architecture/', '/01-architecture/lab/', '/05-failure/lab/', '/agenda/'];
    for (const route of sample) assert.ok(routes.includes(route), `${route} is not in sitemap.xml: ${routes.join(', ')}`);
    const failures = [];
    for (const route of sample) {
      const problems = await loadCompletely(site, route);
      if (problems.length) failures.push(`${route}:\n  ${problems.join('\n  ')}`);
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    const { page } = await site.open('/');
    const hrefs = await page.locator('a[href^="/"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    assert.deepEqual(hrefs.filter((href) => !href.startsWith(PROJECT_BASE_URL)), [], 'links that leave the baseUrl');
    await page.close();
    // The agenda's links to sections and the pages' links to the agenda stay under the baseUrl too.
    for (const route of ['/agenda/', '/01-architecture/lab/']) {
      const { page: other } = await site.open(route);
      const links = await other.locator('main a[href^="/"], article a[href^="/"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
      assert.ok(links.some((href) => href.includes('agenda/') || href.includes('#')), `${route} has its agenda links: ${links.join(', ')}`);
      assert.deepEqual(links.filter((href) => !href.startsWith(PROJECT_BASE_URL)), [], `${route}: links that leave the baseUrl`);
      await other.close();
    }
  });

  test('searching pg_rewind offline finds module 05', async () => {
    await searchOpensModule05(site);
  });
});
