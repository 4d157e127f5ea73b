// The core path typed alone (`verify --page-only --core-path`) on fixture labs whose state is a folder
// of files: the deep dives' steps and checkpoints are neither run nor owed, and a core section that
// needs what a deep dive made fails there, while the whole page still passes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { verifyPageOnly } from '../../harness/spec/page-only.ts';
import { openLab } from '../../harness/spec/lab.ts';
import { checkCorePath } from '../../harness/cli/verify.ts';
import { findLabs } from '../../harness/lab/catalog.ts';
import type { LabReport } from '../../harness/report/model.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'labs');
const independent = 'test/fixtures/labs/07-core-path/lab.md';
const dependent = 'test/fixtures/labs/08-core-path-needs-deep-dive/lab.md';

beforeAll(() => {
  process.env.WORKSHOP_RUN_DIR = mkdtempSync(path.join(tmpdir(), 'workshop-run-'));
});

// The terminals and the checkpoints of 07 both read CHECK_STATE.
beforeEach(() => {
  process.env.CHECK_STATE = mkdtempSync(path.join(tmpdir(), 'core-path-state-'));
});

describe('the core path typed alone', () => {
  test('a deep dive in the middle that no later core section needs: passes, its steps and checkpoints neither run nor owed', async () => {
    const report = await verifyPageOnly('07-core-path', { root, major: 18, pauseSeconds: 0, corePath: true });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.corePath).toBe(true);
    expect(report.deepDivesSkipped).toEqual([`A deep dive (${independent}:36)`]);
    // `second` waits for the deep dive's load, never started here, and `clean` for the core load: both as an attendee reads them.
    // A background step is reported when it ends: sort.
    expect(report.steps.map((s) => [s.id, s.outcome]).sort()).toEqual([['clean', 'passed'], ['core-load', 'passed'], ['first', 'passed'], ['second', 'passed']]);
    expect(report.stepsNotRun).toEqual([]);
    // `deep-written` would fail at `second`'s place (the deep dive's file is not there): the standing
    // checks there are the core checkpoints only.
    expect(report.checkpoints!.map((c) => [c.id, c.after, c.outcome])).toEqual([['first-written', 'first', 'passed'], ['second-written', 'second', 'passed']]);
    expect(report.checkpointsNotRun).toEqual([]);
  });

  test('the whole page of the same lab still types the deep dive and checks its checkpoint', async () => {
    const report = await verifyPageOnly('07-core-path', { root, major: 18, pauseSeconds: 0 });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.corePath).toBeUndefined();
    // `second` and `clean` wait for loads that have already ended: for nothing.
    expect(report.steps.map((s) => s.id).sort()).toEqual(['clean', 'core-load', 'deep-after', 'deep-load', 'deep-write', 'first', 'second']);
    expect(report.checkpoints!.map((c) => c.id)).toEqual(['first-written', 'deep-written', 'second-written']);
  });

  test('a core section that needs what a deep dive made fails at its step, naming it; later core steps are listed as not run, the deep dives’ are not', async () => {
    const report = await verifyPageOnly('08-core-path-needs-deep-dive', { root, major: 18, pauseSeconds: 0, corePath: true });
    expect(report.status).toBe('failed');
    expect(report.steps.map((s) => [s.id, s.outcome])).toEqual([['setup', 'passed'], ['read-notes', 'failed']]);
    expect(report.errors[0]).toContain(`Step \`read-notes\` (${dependent}:21) exited with 1, expected 0`);
    expect(report.errors[0]).toContain('No such file or directory');
    expect(report.stepsNotRun).toEqual([`count-notes (${dependent}:31)`]);
    expect(report.deepDivesSkipped).toEqual([`Make the notes (${dependent}:13)`, `Go further (${dependent}:39)`]);
  });

  test('the whole page of that lab passes: a core section may follow a deep dive it needs, on the page', async () => {
    const report = await verifyPageOnly('08-core-path-needs-deep-dive', { root, major: 18, pauseSeconds: 0 });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.steps.map((s) => s.id)).toEqual(['setup', 'make-notes', 'read-notes', 'count-notes', 'more-notes']);
  });

  test('a lab whose core path cannot be typed alone is refused before any run, with the lint problem', () => {
    const crossing = path.join(import.meta.dirname, '..', 'fixtures', 'core-path');
    expect(() => checkCorePath(findLabs('crossing', crossing))).toThrow(/^verify --core-path: 6 problem\(s\) keep a lab's core path from being typed alone:\ntest\/fixtures\/core-path\/crossing\/lab\.md:31:1 Core checkpoint `after-deep`/);
    expect(() => openLab('crossing', { root: crossing, major: 18, corePath: true })).toThrow('test/fixtures/core-path/crossing/lab.md: its core path cannot be typed alone:\ntest/fixtures/core-path/crossing/lab.md:31:1 Core checkpoint');
    expect(() => checkCorePath(findLabs('07-core-path', root))).not.toThrow();
  });

  test('a spec that runs a deep dive’s step on the core path is told the core path skips it', async () => {
    const lab = openLab('07-core-path', { root, major: 18, corePath: true });
    expect(() => lab.step('deep-write')).toThrow(`Step \`deep-write\` (${independent}:48) is in the deep dive \`A deep dive\` (${independent}:36), which the core path skips`);
    await lab.close().catch(() => undefined);
  });

  test('a step that ends a background step this run never started fails at once, naming both, instead of waiting', async () => {
    // `load` runs on 15 only; on 18 nothing is running when `after` says to wait for it.
    const report = await verifyPageOnly('09-ends-what-never-started', { root, major: 18, pauseSeconds: 0 });
    const file = 'test/fixtures/labs/09-ends-what-never-started/lab.md';
    expect(report.status).toBe('failed');
    expect(report.errors).toEqual([`Step \`after\` (${file}:12) waits for background step \`load\`, which this run never started (on this major, no step that starts it applies): start it on the same majors as the step that waits for it`]);
    const written = JSON.parse(readFileSync(path.join(process.env.WORKSHOP_RUN_DIR!, 'pg18', '09-ends-what-never-started', 'lab-report.json'), 'utf8')) as LabReport;
    expect(written.status).toBe('failed');
    expect(written.stepsNotRun).toEqual([`after (${file}:12)`]);
  });
});
