// `workshop verify` refuses a run that would verify nothing, before it builds or starts anything.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, test, vi } from 'vitest';
import { verify } from '../../harness/cli/verify.ts';
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
