// Where an attendee stands, from checkpoint results on the fixture lab: the furthest point whose
// expected checkpoints hold (a checkpoint replaced by `until=` no longer counts), the sections done,
// and the step that makes the first failing checkpoint true. Then `workshop check` on that lab.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { beforeEach, describe, expect, test } from 'vitest';
import { findLab } from '../../harness/lab/catalog.ts';
import { expectedAt, labSections, pagePath, standing } from '../../harness/checkpoint/standing.ts';
import type { CheckpointResult } from '../../harness/checkpoint/run.ts';
import { check, chooseEnvironment, type RunningEnvironment } from '../../harness/cli/check.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'labs');
const document = findLab('06-checkpoints', root).document;
const sections = labSections(document);

// Results as the checkpoints would give them, `true` for those that hold.
function results(...ok: boolean[]): CheckpointResult[] {
  return document.checkpoints.map((checkpoint, index) => ({
    checkpoint, expectation: undefined, startedAt: '', durationMs: 1, exitCode: 0, timedOut: false, output: ok[index] ? 'as expected' : 'something else', ok: ok[index]!,
  }));
}

describe('where you stand', () => {
  test('the page sections and their anchors as the site makes them', () => {
    expect(sections.map((s) => [s.title, s.slug])).toEqual([['Create the table', 'create-the-table'], ['Fill it', 'fill-it'], ['Empty it', 'empty-it']]);
    expect(pagePath('curriculum/04-replication/lab.md')).toBe('/04-replication/lab/');
    expect(pagePath('curriculum/06-patroni/lab-guardrails.md')).toBe('/06-patroni/lab-guardrails/');
  });

  test('a checkpoint replaced by a later one (until=) is no longer expected once that one is reached', () => {
    const checkpoints = document.checkpoints;
    expect(expectedAt(checkpoints, 2)).toEqual([0, 1]);
    expect(expectedAt(checkpoints, 3)).toEqual([0, 2]);
    expect(expectedAt(checkpoints, 4)).toEqual([0, 2, 3]);
  });

  test('nothing done: no section, and the first step of the page', () => {
    const where = standing(document, 18, results(false, false, false, false), sections);
    expect(where.reached).toBe(0);
    expect(where.sectionsDone).toEqual([]);
    expect(where.next).toMatchObject({ firstStep: { id: 'create' }, step: { id: 'create' }, stepNumber: 1, section: { title: 'Create the table' }, link: '/06-checkpoints/lab/#create-the-table' });
    expect(where.next!.result.checkpoint.id).toBe('table');
  });

  test('halfway: the last section done, and the step whose result the next checkpoint checks', () => {
    const where = standing(document, 18, results(true, false, false, true), sections);
    expect(where.reached).toBe(1);
    expect(where.sectionsDone.map((s) => s.title)).toEqual(['Create the table']);
    expect(where.next).toMatchObject({ firstStep: { id: 'fill' }, firstStepNumber: 2, step: { id: 'count' }, stepNumber: 3, section: { title: 'Fill it' }, link: '/06-checkpoints/lab/#fill-it' });
    expect(where.next!.result.checkpoint.id).toBe('filled');
  });

  test('done: the replaced checkpoint may fail, every section is done and nothing is next', () => {
    const where = standing(document, 18, results(true, false, true, true), sections);
    expect(where.reached).toBe(4);
    expect(where.sectionsDone.map((s) => s.title)).toEqual(['Create the table', 'Fill it', 'Empty it']);
    expect(where.next).toBeUndefined();
  });

  test('a step skipped early is named even when later checkpoints hold', () => {
    const where = standing(document, 18, results(false, true, true, true), sections);
    expect(where.reached).toBe(0);
    expect(where.next!.step.id).toBe('create');
  });
});

describe('workshop check on a lab without an environment', () => {
  let state: string;
  const lines: string[] = [];
  beforeEach(() => {
    state = mkdtempSync(path.join(tmpdir(), 'check-state-'));
    process.env.CHECK_STATE = state;
    lines.length = 0;
  });
  // Colours off, so the printed lines can be read.
  const plain = (line: string) => lines.push(stripVTControlCharacters(line));

  test('halfway through: exit 1, ✓ and ✗ with what each saw, the last section and the next step', async () => {
    writeFileSync(path.join(state, 'table'), 'accounts\n');
    const code = await check({ lab: '06-checkpoints', root, major: 18, print: plain });
    expect(code).toBe(1);
    expect(lines).toContain('✓ The accounts table exists  test/fixtures/labs/06-checkpoints/lab.md:16');
    expect(lines).toContain('✗ accounts holds 3 rows  test/fixtures/labs/06-checkpoints/lab.md:38');
    expect(lines.find((l) => l.includes('saw:') && l.includes('No such file'))).toBeDefined();
    expect(lines).toContain('  last section completed: Create the table');
    expect(lines).toContain('  the page makes it true in Steps 2 to 3, from “Fill it” (test/fixtures/labs/06-checkpoints/lab.md:26)');
    expect(lines).toContain('    on the site: /06-checkpoints/lab/#fill-it');
    expect(lines).toContain('    expected: 3');
  });

  test('at the end: exit 0, the replaced checkpoint shown as changed by a later step', async () => {
    writeFileSync(path.join(state, 'table'), 'accounts\n');
    writeFileSync(path.join(state, 'rows'), '');
    const code = await check({ lab: '06-checkpoints', root, major: 18, print: plain });
    expect(code).toBe(0);
    expect(lines.find((l) => l.startsWith('· accounts holds 3 rows'))).toBeDefined();
    expect(lines).toContain('  last section completed: Empty it');
  });
});

test('a lab without checkpoints has nothing to check: bad input', async () => {
  await expect(check({ lab: '00-shell', root, major: 18, print: () => undefined })).rejects.toThrow('check: lab 00-shell declares no checkpoints yet (`check=<id>` blocks in test/fixtures/labs/00-shell/lab.md)');
});

describe('finding the attendee\'s environment', () => {
  const env = (project: string, major: number, environment = 'single'): RunningEnvironment => ({ project, environment, major, running: 2, containers: 2 });

  test('none running: says how to start it', () => {
    expect(chooseEnvironment([env('replication', 18, 'replication')], 'single', {})).toBe(
      'no `single` environment is running; start it: cd environments/single && docker compose up --detach --wait --wait-timeout 240 (or: npx workshop up single)');
  });

  test('one running, another major asked: names what runs', () => {
    expect(chooseEnvironment([env('single', 18)], 'single', { major: 17 })).toContain('no `single` environment is running on PostgreSQL 17 (running on PostgreSQL 18: project single');
  });

  test('several: --pg, then the default project name, then --project decide', () => {
    const running = [env('single', 18), env('ws-20261207-072014-01-pg18', 18), env('mine', 17)];
    expect(chooseEnvironment(running, 'single', { major: 17 })).toMatchObject({ project: 'mine' });
    // A verify run's project is left alone unless named.
    expect(chooseEnvironment([env('ws-20261207-072014-01-pg18', 18)], 'single', {})).toContain('no `single` environment is running');
    expect(chooseEnvironment(running, 'single', {})).toMatchObject({ project: 'single' });
    expect(chooseEnvironment(running, 'single', { project: 'ws-20261207-072014-01-pg18' })).toMatchObject({ project: 'ws-20261207-072014-01-pg18' });
    expect(chooseEnvironment([env('a', 18), env('b', 18)], 'single', {})).toContain('name yours with --project <name>');
  });
});

describe('workshop check --core-path on a lab with a deep dive between two core sections', () => {
  let state: string;
  const lines: string[] = [];
  beforeEach(() => {
    state = mkdtempSync(path.join(tmpdir(), 'check-core-path-'));
    process.env.CHECK_STATE = state;
    lines.length = 0;
  });
  const plain = (line: string) => lines.push(stripVTControlCharacters(line));

  test('the core path done, the deep dive skipped: done on the core path, not on the whole page', async () => {
    writeFileSync(path.join(state, 'first'), 'one\n');
    writeFileSync(path.join(state, 'second'), 'two\n');
    expect(await check({ lab: '07-core-path', root, major: 18, print: plain, corePath: true })).toBe(0);
    expect(lines[0]).toContain('· core path (1 deep dive skipped) · 2 checkpoints, read-only');
    expect(lines.find((l) => l.includes('deep dive\'s file'))).toBeUndefined();
    expect(lines).toContain('  last section completed: Write the second file');
    lines.length = 0;
    // The whole page owes the deep dive's checkpoint.
    expect(await check({ lab: '07-core-path', root, major: 18, print: plain })).toBe(1);
    expect(lines).toContain('✗ The deep dive\'s file holds deep  test/fixtures/labs/07-core-path/lab.md:52');
    expect(lines).toContain('  first checkpoint that does not hold: The deep dive\'s file holds deep (test/fixtures/labs/07-core-path/lab.md:52)');
  });

  test('halfway along the core path: the next step named is a core one', async () => {
    writeFileSync(path.join(state, 'first'), 'one\n');
    expect(await check({ lab: '07-core-path', root, major: 18, print: plain, corePath: true })).toBe(1);
    expect(lines).toContain('  last section completed: Write the first file');
    expect(lines).toContain('  first checkpoint that does not hold: The second file holds two (test/fixtures/labs/07-core-path/lab.md:77)');
    expect(lines).toContain('  the page makes it true in Steps 2 to 6, from “Write the first file” (test/fixtures/labs/07-core-path/lab.md:28)');
  });
});
