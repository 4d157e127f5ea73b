// Page-only verification on fixture labs: the steps typed straight through with a pause between
// them and no spec code; background steps end where the page says.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { verifyPageOnly } from '../../harness/spec/page-only.ts';
import type { LabReport } from '../../harness/report/model.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'labs');

beforeAll(() => {
  process.env.WORKSHOP_RUN_DIR = mkdtempSync(path.join(tmpdir(), 'workshop-run-'));
});

describe('page-only verification', () => {
  test('a lab whose waits are on the page passes, a human pause between its commands', async () => {
    const report = await verifyPageOnly('02-page-only', { root, major: 18, pauseSeconds: 0.5 });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    // Background steps are recorded where the page ends them.
    expect(report.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['setup', 'passed'], ['wait', 'passed'], ['read', 'passed'], ['load', 'passed'], ['after-load', 'passed'],
      ['server', 'passed'], ['stopped', 'passed'],
    ]);
    expect(report.steps.find((s) => s.id === 'wait')!.output).toMatch(/^waiting up to 20 s for the server to be ready\nok after \d+\.\d s: the server to be ready\n?$/);
    expect(report.steps.find((s) => s.id === 'server')!.output).toBe('server up\n');
    // Each foreground step starts at least a pause after the previous one ended.
    const foreground = report.steps.filter((s) => !s.background);
    for (let i = 1; i < foreground.length; i++) {
      const previousEnd = Date.parse(foreground[i - 1]!.startedAt) + foreground[i - 1]!.durationMs;
      expect(Date.parse(foreground[i]!.startedAt) - previousEnd).toBeGreaterThanOrEqual(490);
    }
  });

  test('a lab whose expected output needs a wait that is not on the page fails at that step, with the diff', async () => {
    const report = await verifyPageOnly('03-hidden-wait', { root, major: 18, pauseSeconds: 0.2 });
    expect(report.status).toBe('failed');
    const read = report.steps.find((s) => s.id === 'read')!;
    expect(read.outcome).toBe('failed');
    expect(read.output).toBe('starting\n');
    expect(read.expectation).toMatchObject({ ok: false, source: 'test/fixtures/labs/03-hidden-wait/lab.md:31' });
    expect(report.errors[0]).toContain('Step `read` (test/fixtures/labs/03-hidden-wait/lab.md:26): output does not match the expectation at test/fixtures/labs/03-hidden-wait/lab.md:31');
    expect(report.errors[0]).toContain('- ready\n    + starting');
    expect(report.stepsNotRun).toEqual(['stopped (test/fixtures/labs/03-hidden-wait/lab.md:34)']);
    const written = JSON.parse(readFileSync(path.join(process.env.WORKSHOP_RUN_DIR!, 'pg18', '03-hidden-wait', 'lab-report.json'), 'utf8')) as LabReport;
    expect(written.status).toBe('failed');
  });

  test('a background step the page never ends fails the lab and says how a page ends one', async () => {
    const report = await verifyPageOnly('04-never-ended', { root, major: 18, pauseSeconds: 0 });
    expect(report.status).toBe('failed');
    // The load is stopped at teardown and recorded as failed: its output was never checked.
    expect(report.steps.map((s) => [s.id, s.outcome])).toEqual([['meanwhile', 'passed'], ['load', 'failed']]);
    expect(report.errors.join('\n')).toContain('The page never ends background step(s) `load` (test/fixtures/labs/04-never-ended/lab.md:6)');
  });
});
