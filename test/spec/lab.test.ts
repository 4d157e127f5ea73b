import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { openLab, StepFailedError } from '../../harness/spec/lab.ts';
import type { LabReport } from '../../harness/report/model.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'labs');
const labFile = 'test/fixtures/labs/00-shell/lab.md';

beforeAll(() => {
  process.env.WORKSHOP_RUN_DIR = mkdtempSync(path.join(tmpdir(), 'workshop-run-'));
});

describe('a lab run through the spec API', () => {
  test('runs the fixture lab end to end: exports, background, terminals, exit codes, timeouts, expectations', async () => {
    const lab = openLab('00-shell', { root, major: 18 });
    await lab.run('export');
    expect((await lab.run('use')).output).toBe('hello from /tmp\n');
    await lab.run('load');
    await lab.run('other');
    await lab.wait('load');
    expect((await lab.run('refused')).exitCode).toBe(1);
    const slow = await lab.run('slow');
    expect(slow.timedOut).toBe(true);
    expect(slow.durationMs).toBeLessThan(10_000);
    expect((await lab.run('variant')).output).toBe('new\n');

    const wrong = await lab.run('wrong').catch((error: Error) => error);
    expect(wrong).toBeInstanceOf(StepFailedError);
    expect((wrong as Error).message).toContain(`Step \`wrong\` (${labFile}:77): output does not match the expectation at ${labFile}:82`);
    expect((wrong as Error).message).toContain('- pg2|streaming\n    + pg2|catchup');
    await expect(lab.run('after')).rejects.toThrow(`Step \`after\` (${labFile}:88) not run: step \`wrong\` (${labFile}:77) failed earlier`);

    const report = await lab.close();
    expect(report.status).toBe('failed');
    expect(report.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['export', 'passed'], ['use', 'passed'], ['other', 'passed'], ['load', 'passed'], ['refused', 'passed'],
      ['slow', 'passed'], ['variant', 'passed'], ['wrong', 'failed'],
    ]);
    expect(report.stepsNotRun).toEqual([`after (${labFile}:88)`]);
    const written = JSON.parse(readFileSync(path.join(lab.workDir, 'lab-report.json'), 'utf8')) as LabReport;
    expect(written.steps).toHaveLength(8);
  });

  test('picks the variant of a step for the major', async () => {
    const lab = openLab('00-shell', { root, major: 15 });
    await lab.runThrough('variant');
    expect(lab.steps.filter((s) => s.id === 'variant')).toHaveLength(1);
    await lab.close().catch(() => undefined);
    const report = JSON.parse(readFileSync(path.join(lab.workDir, 'lab-report.json'), 'utf8')) as LabReport;
    expect(report.steps.find((s) => s.id === 'variant')!.output).toBe('old\n');
  });

  test('a step that runs past its timeout fails and says so, and later steps are not run', async () => {
    const lab = openLab('01-timeout', { root, major: 18 });
    const error = await lab.run('slow').catch((e: Error) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain('Step `slow` (test/fixtures/labs/01-timeout/lab.md:6) timed out after 1 s');
    expect((error as Error).message).toContain('exit code: 124');
    expect((error as Error).message).toContain('started');
    await expect(lab.run('after')).rejects.toThrow('not run: step `slow`');
    expect((await lab.close()).status).toBe('failed');
  });

  test('refuses a step run before an earlier one, and fails teardown when a step never ran', async () => {
    const lab = openLab('00-shell', { root, major: 18 });
    await lab.run('export');
    await expect(lab.run('load')).rejects.toThrow(`Step \`load\` (${labFile}:27) runs before \`use\` (${labFile}:17): run the lab's steps in document order`);
    await lab.runThrough('use');
    await lab.run('load');
    await lab.wait('load');
    await expect(lab.close()).rejects.toThrow(/step\(s\) that apply to PostgreSQL 18 never ran: other \(.*:39\), refused/);
  });

  test('refuses a step that does not exist', async () => {
    const lab = openLab('00-shell', { root, major: 18 });
    expect(() => lab.step('nope')).toThrow('No step `nope` in test/fixtures/labs/00-shell/lab.md');
    await lab.close().catch(() => undefined);
  });
});

describe('a lab cannot pass without its checks', () => {
  test('a background step never waited for nor stopped fails the lab, naming the step', async () => {
    const lab = openLab('02-background', { root, major: 18 });
    await lab.run('load');
    await lab.run('after');
    await expect(lab.close()).rejects.toThrow(/Background step `load` \(test\/fixtures\/labs\/02-background\/lab.md:6\) was still running at teardown: the spec never waited for it/);
    const report = JSON.parse(readFileSync(path.join(lab.workDir, 'lab-report.json'), 'utf8')) as LabReport;
    expect(report.status).toBe('failed');
    expect(report.steps.find((s) => s.id === 'load')?.outcome).toBe('failed');
  });

  test('a step with expectations for other majors but none for this one is refused', () => {
    expect(() => openLab('03-other-majors', { root, major: 18 })).toThrow(/Step `version` has an expectation \(line 10, 14\) but none for PostgreSQL 18/);
  });

  test('an interactive step whose program ends before answering fails with its exit code', async () => {
    const lab = openLab('04-interactive', { root, major: 18 });
    const error = await lab.run('open').catch((e: Error) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain('exited with 2, expected 0');
    expect((error as Error).message).toContain('psql: error: connection to server');
    const report = await lab.close();
    expect(report.steps.map((s) => [s.id, s.outcome])).toEqual([['open', 'failed']]);
  });
});

describe('deadlines mean what they say', () => {
  test('a step\'s timeout= and a background step\'s wait are scaled by WORKSHOP_TIME_FACTOR', async () => {
    const saved = process.env.WORKSHOP_TIME_FACTOR;
    process.env.WORKSHOP_TIME_FACTOR = '2.5';
    try {
      const lab = openLab('05-time-factor', { root, major: 18 });
      const slow = await lab.run('slow');
      expect(slow.timedOut).toBe(false);
      expect(slow.output).toBe('done\n');
      await lab.run('load');
      expect((await lab.wait('load')).output).toBe('loaded\n');
      expect((await lab.close()).status).toBe('passed');
    } finally {
      if (saved === undefined) delete process.env.WORKSHOP_TIME_FACTOR;
      else process.env.WORKSHOP_TIME_FACTOR = saved;
    }
  });

  test('a timed-out step says the limit it was given, with the factor', async () => {
    const saved = process.env.WORKSHOP_TIME_FACTOR;
    process.env.WORKSHOP_TIME_FACTOR = '1.2';
    try {
      const lab = openLab('05-time-factor', { root, major: 18 });
      await expect(lab.run('slow')).rejects.toThrow('Step `slow` (test/fixtures/labs/05-time-factor/lab.md:6) timed out after 1.2 s (timeout=1 × WORKSHOP_TIME_FACTOR 1.2)');
      await lab.close();
    } finally {
      if (saved === undefined) delete process.env.WORKSHOP_TIME_FACTOR;
      else process.env.WORKSHOP_TIME_FACTOR = saved;
    }
  });
});
