// The built site as an attendee reads it, in Chromium: a lab page's first screen shows its first
// instruction, no code block runs off its edge at 1280 px, axe-core finds no serious or critical
// accessibility violation, a phone renders the sidebar and the steps, dark mode keeps plots and expected
// output legible, and the Patroni lab shows its failover figures beside its failover section, in words,
// per version. Saves screenshots of the Patroni lab in light and dark mode to test/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BUILD_TIMEOUT_MS, PAGE_TIMEOUT_MS, buildDir, ensureBuild, fixtureRunReports, labRoutes, launchBrowser, openPage, screenshots, serve, sitemapRoutes,
} from './support/site.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const FIRST_SCREEN = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const PATRONI_LAB = '/06-patroni/lab/';

const fixtures = fixtureRunReports();

// WCAG contrast of two CSS colours (rgb()/rgba()/#rrggbb), run in the page where computed styles are known.
function contrastInPage(pairs) {
  const parse = (colour) => {
    const hex = /^#([0-9a-f]{6})$/i.exec(colour);
    if (hex) return [0, 2, 4].map((at) => parseInt(hex[1].slice(at, at + 2), 16));
    return colour.match(/[\d.]+/g).slice(0, 3).map(Number);
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((channel) => {
      const c = channel / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  // The colour behind an element: the first ancestor with an opaque background.
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = getComputedStyle(node).backgroundColor;
      if (colour && !/rgba\(.*,\s*0\)$/.test(colour) && colour !== 'transparent') return colour;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  return pairs.map(({ selector, fill }) => {
    const element = document.querySelector(selector);
    if (!element) return { selector, missing: true };
    const text = fill ? element.getAttribute('fill') || getComputedStyle(element).fill : getComputedStyle(element).color;
    const behind = background(fill ? element.closest('figure') : element);
    const [l1, l2] = [luminance(parse(text)), luminance(parse(behind))].sort((a, b) => b - a);
    return { selector, text, behind, ratio: Math.round(((l1 + 0.05) / (l2 + 0.05)) * 100) / 100 };
  });
}

describe('the site as a reader uses it', { timeout: BUILD_TIMEOUT_MS + 10 * 60_000 }, () => {
  let server;
  let origin;
  let browser;

  before(async () => {
    console.log(`# site ${await ensureBuild()}`);
    server = await serve(buildDir);
    origin = `http://127.0.0.1:${server.address().port}`;
    browser = await launchBrowser(origin);
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  });

  async function open(route, { viewport = FIRST_SCREEN, colorScheme = 'light' } = {}) {
    return (await openPage(browser.context, `${origin}${route}`, { viewport, colorScheme })).page;
  }

  // The code block of a lab's first step: its title reads "Step 1".
  const firstStep = (page) => page.locator('.theme-code-block', { has: page.locator('[class*="codeBlockTitle"]', { hasText: /^Step 1\b/ }) }).first();

  // One pass over every page of the sitemap at 1280×900: what each test below asserts about it.
  let survey;
  async function surveyPages() {
    if (survey) return survey;
    const routes = sitemapRoutes(readFileSync(path.join(buildDir, 'sitemap.xml'), 'utf8'));
    assert.ok(routes.length >= 10, `expected the site's pages in sitemap.xml, found ${routes.join(', ')}`);
    const labs = new Set(labRoutes());
    survey = { routes, firstSteps: new Map(), overflowing: [], violations: [], unworded: [], worded: 0 };
    // One page at a time: with three at once, first steps of some pages were intermittently reported not visible.
    for (const route of routes) await surveyPage(route, labs);
    return survey;
  }

  // One page of the survey: where its first step is (lab pages), its code blocks wider than their box, axe-core's findings.
  async function surveyPage(route, labs) {
    const page = await open(route);
    if (labs.has(route)) {
      const step = firstStep(page);
      const visible = await step.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
      survey.firstSteps.set(route, visible ? await step.boundingBox() : undefined);
      // Each measurement's row header and each plot's caption: words, never the report's name.
      const figures = await page.evaluate(() => [
        ...[...document.querySelectorAll('tr[data-measurement]')].map((row) => ({ name: row.dataset.measurement, words: row.querySelector('th')?.innerText.trim() ?? '' })),
        ...[...document.querySelectorAll('[data-series]')].map((chart) => ({ name: chart.dataset.series, words: chart.closest('figure')?.querySelector('figcaption')?.innerText.trim() ?? '' })),
      ]);
      survey.worded += figures.length;
      survey.unworded.push(...figures.filter(({ name, words }) => !words || words.includes(name)).map(({ name, words }) => `${route}: ${name} reads "${words}"`));
    }
    const wide = await page.locator('pre').evaluateAll((blocks) => blocks
      .filter((block) => block.scrollWidth > block.clientWidth + 1)
      .map((block) => `${block.scrollWidth}px in ${block.clientWidth}px: ${block.innerText.split('\n').find((line) => line.length > 60)?.slice(0, 80) ?? ''}`));
    survey.overflowing.push(...wide.map((text) => `${route}: ${text}`));
    survey.violations.push(...(await axeViolations(page)).map((text) => `${route}: ${text}`));
    await page.close();
  }

  test('on every lab page the first instruction is on the first screen at 1280×900', async () => {
    const { firstSteps } = await surveyPages();
    const labs = labRoutes();
    assert.ok(labs.length >= 9, `expected the curriculum's labs, found ${labs.join(', ')}`);
    const late = labs.flatMap((route) => {
      if (!firstSteps.has(route)) return [`${route}: not in the sitemap`];
      const box = firstSteps.get(route);
      if (!box) return [`${route}: no visible code block titled "Step 1"`];
      // Its title and the first line of its command: about 4 rem below the block's top.
      return box.y + 64 > FIRST_SCREEN.height ? [`${route}: the first step's block starts at y=${box.y.toFixed(0)}`] : [];
    });
    assert.deepEqual(late, [], late.join('\n'));
  });

  test('every measurement and plot on the lab pages reads as words, not as the report\'s name', async () => {
    const { unworded, worded } = await surveyPages();
    const reported = fixtures.flatMap((report) => report.labs.flatMap((lab) => [...lab.measurements, ...lab.series])).length;
    assert.ok(worded > 0 && reported > 0, `expected the fixture reports' measurements on the lab pages, found ${worded} on the pages of ${reported} reported`);
    assert.deepEqual(unworded, [], unworded.join('\n'));
  });

  test('no code block overflows horizontally at 1280 px on any page', async () => {
    const { overflowing } = await surveyPages();
    assert.deepEqual(overflowing, [], `code blocks wider than their box:\n${overflowing.join('\n')}`);
  });

  test('axe-core finds no serious or critical violation on any page', async () => {
    const { violations } = await surveyPages();
    assert.deepEqual(violations, [], `axe-core:\n${violations.join('\n')}`);
  });

  // axe-core's serious and critical violations on the page, one line per rule with its first nodes.
  async function axeViolations(page) {
    await page.addScriptTag({ content: axeSource });
    const found = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
        .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join('; ')})`);
    });
    return found;
  }

  test('the Patroni lab shows its failover figures beside its failover section, in words, per version', async () => {
    const page = await open(PATRONI_LAB);
    const figure = page.locator('figure[data-figure~="failover.write_gap_s"]');
    assert.equal(await figure.count(), 1, 'one figure names the failover write gap');
    const placement = await figure.evaluate((element) => {
      const headings = [...document.querySelectorAll('article h2')];
      const before = headings.filter((h) => h.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING).at(-1);
      return before?.textContent;
    });
    assert.match(placement ?? '', /^Failover/, `the figure sits in the failover section, found it under "${placement}"`);
    const lab = (report) => report.labs.find((entry) => entry.file === 'curriculum/06-patroni/lab.md');
    for (const report of fixtures) {
      const gap = lab(report).measurements.find((m) => m.name === 'failover.write_gap_s').value;
      const row = figure.locator(`[data-major="${report.major}"]`);
      const text = await row.innerText();
      assert.match(text, new RegExp(`PostgreSQL ${report.versions.postgres.replace('.', '\\.')}`));
      assert.ok(text.includes(`writes stopped for ${gap} s`), `PostgreSQL ${report.major}: "${text}"`);
      assert.ok(text.includes('no acknowledged write lost'), `PostgreSQL ${report.major}: "${text}"`);
      assert.ok(!/failover\.\w+/.test(text), `no machine name in the words: "${text}"`);
    }
    const chart = figure.locator('[data-series="failover.pgbench_tps"]');
    await chart.locator('svg path').first().waitFor({ state: 'attached', timeout: PAGE_TIMEOUT_MS });
    const labels = await chart.locator('svg text').allTextContents();
    assert.ok(labels.some((text) => text.startsWith('leader pg1 killed')), `the kill is marked on the plot: ${labels.join(' | ')}`);
    // The fixture of 15 lacks the rejoin time and no fixture has the synchronous-mode series: said, not blank.
    assert.match(await page.locator('figure [data-major="15"] [data-missing="failover.old_leader_rejoin_s"]').innerText(), /Not in the report of this run: time for the killed node to stream again/);
    assert.equal(await page.locator('figure [data-major="17"] [data-missing="failover.old_leader_rejoin_s"]').count(), 0);
    assert.match(await page.locator('[data-missing="sync_failover.pgbench_tps"]').innerText(), /^No plot of pgbench transactions per second across both kills/);
    await page.close();
  });

  test('a lab page opens with one line of proof; the details at its end label every measurement in words', async () => {
    const page = await open(PATRONI_LAB);
    const panel = page.locator('section[aria-label="Verification"]');
    const dates = [...new Set(fixtures.map((report) => new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(report.endedAt))))];
    const line = `Verified on PostgreSQL ${fixtures.map((report) => report.versions.postgres).join(' · ')} — ${dates.join(' – ')}`;
    assert.equal((await panel.innerText()).replace(/\s+/g, ' ').trim(), `✓ ${line} details`);
    const panelBox = await panel.boundingBox();
    assert.ok(panelBox.height < 48, `the panel is one line high at 1280 px, found ${panelBox.height}px`);
    const details = page.locator('#verification-details');
    const lastStep = page.locator('.theme-code-block').last();
    assert.ok(await lastStep.evaluate((block, target) => Boolean(block.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING), await details.elementHandle()),
      'the details follow the last step');
    assert.equal(await page.locator('a[href="#verification-details"]').count(), 1);
    assert.equal((await details.locator('tr[data-measurement="failover.write_gap_s"] th').innerText()).trim(), 'longest pause between acknowledged writes');
    const unlabelled = await details.locator('tr[data-measurement] th code').allInnerTexts();
    assert.deepEqual(unlabelled, [], 'every measurement of the Patroni lab has a label on the page');
    await page.close();
  });

  test('a lab that failed on a version says so in its one line, as plainly as a verified one', async () => {
    const page = await open('/06-patroni/lab-guardrails/');
    const panel = page.locator('section[aria-label="Verification"]');
    const version = (major) => fixtures.find((report) => report.major === major).versions.postgres.replace('.', '\\.');
    assert.equal(await panel.getAttribute('data-state'), 'partly');
    assert.match((await panel.innerText()).replace(/\s+/g, ' ').trim(),
      new RegExp(`^✗ Failed on PostgreSQL ${version(18)} — \\d+ \\w+ \\d{4}; verified on PostgreSQL ${version(17)} — \\d+ \\w+ \\d{4} details$`));
    await page.close();
  });

  test('a phone renders the sidebar and the steps', async () => {
    const page = await open(PATRONI_LAB, { viewport: PHONE });
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(pageWidth <= PHONE.width, `the page is ${pageWidth}px wide on a ${PHONE.width}px phone`);
    const step = firstStep(page);
    await step.waitFor({ state: 'visible', timeout: PAGE_TIMEOUT_MS });
    const box = await step.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `the first step fits the phone's width: ${JSON.stringify(box)}`);
    await page.getByRole('button', { name: /toggle navigation bar/i }).click();
    const sidebar = page.locator('.navbar-sidebar');
    await sidebar.locator('.menu__link', { hasText: /Patroni/ }).first().waitFor({ state: 'visible', timeout: PAGE_TIMEOUT_MS });
    assert.ok(await sidebar.locator('.menu__link').count() >= 9, 'the phone sidebar lists the modules');
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, 'lab-06-patroni-phone-sidebar.png') });
    await page.close();
  });

  test('dark mode renders plots and expected output legibly (and the Patroni lab is screenshotted in both modes)', async () => {
    mkdirSync(screenshots, { recursive: true });
    for (const colorScheme of ['light', 'dark']) {
      const page = await open(PATRONI_LAB, { colorScheme });
      assert.equal(await page.locator('html').getAttribute('data-theme'), colorScheme);
      await page.locator('[data-series="failover.pgbench_tps"] svg text').first().waitFor({ state: 'attached', timeout: PAGE_TIMEOUT_MS });
      const contrasts = await page.evaluate(contrastInPage, [
        { selector: '.lab-expected code' },
        { selector: '.lab-expected [class*="codeBlockTitle"]' },
        { selector: '[data-series="failover.pgbench_tps"] svg text', fill: true },
      ]);
      for (const contrast of contrasts) {
        assert.ok(!contrast.missing && contrast.ratio >= 4.5, `${colorScheme}: ${contrast.selector} has contrast ${contrast.ratio} (${contrast.text} on ${contrast.behind}), expected at least 4.5`);
      }
      if (colorScheme === 'dark') {
        const violations = await axeViolations(page);
        assert.deepEqual(violations, [], `axe-core in dark mode:\n${violations.join('\n')}`);
      }
      await page.screenshot({ path: path.join(screenshots, `lab-06-patroni-${colorScheme}.png`) });
      // The figure's caption and words at the top of the screen, under the navbar, its first plot below them.
      await page.locator('figure[data-figure~="failover.write_gap_s"]').evaluate((figure) => {
        figure.scrollIntoView({ block: 'start' });
        window.scrollBy(0, -80);
      });
      await page.screenshot({ path: path.join(screenshots, `lab-06-patroni-failover-figure-${colorScheme}.png`) });
      await page.close();
    }
  });
});
