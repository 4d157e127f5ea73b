import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildAgenda, CORE_BUDGET_MINUTES, formatAgenda } from '../../harness/agenda/agenda.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'agenda');
const agenda = buildAgenda(18, { root: path.join(fixtures, 'curriculum'), reportsDir: path.join(fixtures, 'reports') });
const section = (file: string, title: string) => agenda.sections.find((s) => s.file.endsWith(file) && s.title === title)!;

describe('workshop agenda: attendee time per section', () => {
  test('a section takes its prose at 200 words a minute, 20 s per command typed, and its steps’ measured time', () => {
    // "Look": heading (1 word) + "a comment…" is code; two commands (the comment is not typed); 6 s measured.
    const look = section('01-first/lab.md', 'Look');
    expect(look).toMatchObject({ words: 1, commands: 2, steps: ['look'], mark: 'core' });
    expect(look.runMinutes).toBe(0.1);
    expect(look.minutes).toBeCloseTo(1 / 200 + (2 * 20) / 60 + 0.1, 1);
    // `docker compose up … \` continued on the next line is one command, `cd` another.
    expect(section('01-first/lab.md', 'Start')).toMatchObject({ commands: 2, runMinutes: 0.5 });
    expect(section('01-first/index.md', 'Core idea')).toMatchObject({ words: 24, commands: 0, minutes: 0.1 }); // the heading's 2 words and 22 of prose
  });

  test('front matter deep_dives marks sections; the rest is core; background steps do not count as waiting', () => {
    expect(section('01-first/lab.md', 'A deep dive').mark).toBe('deep-dive');
    expect(section('01-first/lab.md', 'A deep dive').runMinutes).toBe(1);
    const first = agenda.modules.find((m) => m.module === '01-first')!;
    const coreOfFirst = agenda.sections.filter((s) => s.module === '01-first' && s.mark === 'core').reduce((sum, s) => sum + s.minutes, 0);
    expect(first.coreMinutes).toBeCloseTo(coreOfFirst, 1);
    expect(first.deepDiveMinutes).toBeGreaterThan(1);
  });

  test('a lab without a report is timed without run time and says it was not measured', () => {
    expect(section('02-second/lab.md', 'Core after').runMinutes).toBeUndefined();
    expect(formatAgenda(agenda, { all: true })).toContain('02-second › Core after  (2 words, 1 commands, not measured)');
  });

  test('marks are checked: an unknown anchor, a topic with no core section; a core section may follow a deep dive', () => {
    const messages = agenda.problems.map((p) => `${p.position.file.replace(/^.*fixtures\/agenda\//, '')}:${p.position.line} ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^curriculum\/02-second\/index\.md:3 `deep_dives` names `no-such-heading`, but no `##` heading .* expected one of `only-section`$/),
      expect.stringMatching(/^curriculum\/02-second\/index\.md:1 Module 02-second has no core section in its lesson/),
    ]);
    // 02's `Core after` follows its deep dive: its core path is typed alone to prove it (core-path.test.ts).
    expect(section('02-second/lab.md', 'Deep first').mark).toBe('deep-dive');
    expect(section('02-second/lab.md', 'Core after').mark).toBe('core');
  });

  test('the core path is compared with the 150-minute budget', () => {
    expect(agenda.coreMinutes).toBeLessThan(CORE_BUDGET_MINUTES);
    expect(formatAgenda(agenda)).toMatch(/core path: [\d.]+ min ≤ 150 min: fits the 180 min slot$/);
    expect(formatAgenda({ ...agenda, coreMinutes: 151.2 })).toMatch(/core path: 151\.2 min > 150 min: 1\.2 min over budget/);
  });
});
