// `workshop verify` refuses a run that would verify nothing, before it builds or starts anything.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, test, vi } from 'vitest';
import { labRuns, verify } from '../../harness/cli/verify.ts';
import type { LabEntry } from '../../harness/lab/catalog.ts';
import { parseRunReport } from '../../harness/report/model.ts';

const root = path.join(import.meta.dirname, '..', 'fixtures', 'verify');

describe('workshop verify', () => {
  test('a major to which no lab applies fails with a message instead of passing empty', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
    const run = verify({ labs: [], majors: [15], keep: false, build: false, runsDir: dir, reportsDir: dir, root });
    await expect(run).rejects.toThrow('verify: no lab applies to PostgreSQL 15, so nothing would be verified: 05-narrowed (18: the feature it shows is new in 18)');
    await expect(run).rejects.toHaveProperty('name', 'UsageError');
  });

  test('--page-only --core-path says, as each lab starts, in the summary and in the report, that only the core path was typed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
    process.env.CHECK_STATE = mkdtempSync(path.join(tmpdir(), 'core-path-state-'));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(stripVTControlCharacters(args.join(' '))); });
    try {
      // `keep`: the lab has no environment, and the run then leaves Docker alone (no sweep for leftovers).
      const code = await verify({ labs: ['07-core-path'], majors: [18], keep: true, build: false, runsDir: dir, reportsDir: dir, root: path.join(import.meta.dirname, '..', 'fixtures', 'labs'), pageOnly: { pauseSeconds: 0, corePath: true } });
      expect(code, lines.join('\n')).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(lines).toContainEqual(expect.stringMatching(/pg18 07-core-path page only, core path only \(deep dives skipped\), 0 s between commands$/));
    expect(lines).toContainEqual(expect.stringMatching(/pg18 07-core-path core path only: skipping the deep dive\(s\) `A deep dive` \(test\/fixtures\/labs\/07-core-path\/lab\.md:36: deep-load, deep-write, deep-after, check deep-written\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^pg18 +07-core-path \(core path\) +passed +4\/4 /));
    const [runId] = readdirSync(dir).filter((name) => name !== 'pg18.json');
    const file = path.join(dir, runId!, 'report-pg18.json');
    expect(parseRunReport(readFileSync(file, 'utf8'), file).labs.map((lab) => [lab.id, lab.corePath, lab.status])).toEqual([['07-core-path', true, 'passed']]);
    expect(lines).toContainEqual(expect.stringMatching(/^\s*labs: 1 passed, 0 failed; all typed on their core path only, deep dives skipped \(not a whole-page run\)$/));
  }, 60_000);
});

describe('workshop verify --jobs', () => {
  const sideBySide = path.join(import.meta.dirname, '..', 'fixtures', 'side-by-side');
  const entry = (id: string, runsAlone?: string) => ({ id, document: { frontMatter: { ...(runsAlone && { runsAlone }) } } }) as unknown as LabEntry;

  test('labs that may share the machine run first, the longest of the latest report first; each runs_alone lab after them, by itself', () => {
    const labs = [entry('01'), entry('02', 'compares throughput'), entry('06'), entry('07'), entry('04', 'compares latency')];
    const runs = labRuns(labs, 3, new Map([['01', 30_000], ['06', 196_000], ['07', 167_000]]));
    expect(runs.map((run) => [run.labs.map((lab) => lab.id), run.jobs])).toEqual([[['06', '07', '01'], 3], [['02', '04'], 1]]);
    expect(labRuns(labs.slice(0, 1), 3).map((run) => run.jobs)).toEqual([1]);
    expect(labRuns(labs, 1).map((run) => [run.labs.map((lab) => lab.id), run.jobs])).toEqual([[['01', '02', '06', '07', '04'], 1]]);
  });

  // Two labs that each wait for the other to run, and one that must find both ended and nothing running.
  async function typeSideBySide(jobs: number) {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
    process.env.CHECK_STATE = mkdtempSync(path.join(tmpdir(), 'side-by-side-state-'));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(stripVTControlCharacters(args.join(' '))); });
    try {
      const code = await verify({ labs: [], majors: [18], keep: true, build: false, runsDir: dir, reportsDir: dir, root: sideBySide, jobs, pageOnly: { pauseSeconds: 0 } });
      return { code, lines };
    } finally {
      log.mockRestore();
    }
  }

  test('with --jobs 2 the two labs meet, and the runs_alone lab runs once both have ended', async () => {
    const { code, lines } = await typeSideBySide(2);
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toContainEqual(expect.stringMatching(/pg18 2 labs at a time: 01-meets, 02-meets$/));
    expect(lines).toContainEqual(expect.stringMatching(/pg18 alone \(front matter runs_alone\): 03-alone$/));
  }, 60_000);

  test('one lab at a time, they never meet: the first fails saying the other has not started', async () => {
    const { code, lines } = await typeSideBySide(1);
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('lab 02 has not started');
  }, 60_000);
});
