import { describe, expect, test } from 'vitest';
import { lineMatches, matchOutput, normaliseOutput } from '../../harness/expect/match.ts';

describe('the expectation matcher', () => {
  test('matches literal lines after trimming trailing spaces and final blank lines', () => {
    expect(matchOutput(['pg2|streaming', 'pg3|streaming  '], 'pg2|streaming   \npg3|streaming\n\n').ok).toBe(true);
  });

  test('a literal mismatch fails and the diff shows both lines', () => {
    const result = matchOutput(['pg2|streaming', 'pg3|streaming'], 'pg2|streaming\npg3|catchup\n');
    expect(result.ok).toBe(false);
    expect(result.diff).toEqual(['  pg2|streaming', '- pg3|streaming', '+ pg3|catchup']);
  });

  test('`...` inside a line matches any text there', () => {
    expect(lineMatches('lsn ... advanced', 'lsn 0/1A2B3C advanced')).toBe(true);
    expect(lineMatches('lsn ... advanced', 'lsn 0/1A2B3C stalled')).toBe(false);
    expect(lineMatches('a.b', 'axb')).toBe(false);
  });

  test('a `...` line matches any number of lines, including none', () => {
    expect(matchOutput(['first', '...', 'last'], 'first\nlast').ok).toBe(true);
    expect(matchOutput(['first', '...', 'last'], 'first\na\nb\nc\nlast').ok).toBe(true);
    expect(matchOutput(['...'], '').ok).toBe(true);
    expect(matchOutput(['first', '...'], 'second\nthird').ok).toBe(false);
  });

  test('a line ending in (re) is a regular expression for the whole line', () => {
    expect(matchOutput(['\\d+ tps (re)'], '1234 tps').ok).toBe(true);
    expect(matchOutput(['\\d+ tps (re)'], 'x1234 tps').ok).toBe(false);
  });

  test('missing and extra lines are each shown', () => {
    expect(matchOutput(['a', 'b'], 'a').diff).toEqual(['  a', '- b']);
    expect(matchOutput(['a'], 'a\nextra').diff).toEqual(['  a', '+ extra']);
  });

  test('normalises carriage returns as a terminal shows them', () => {
    expect(normaliseOutput('x\r\ny \r\n')).toEqual(['x', 'y']);
  });
});
