// The expectation matcher: literal lines, `...` inside a line, a `...` line for any lines, `(re)` lines.

export interface MatchResult {
  ok: boolean;
  // Unified-style lines: ' ' matched, '-' expected but not seen, '+' seen but not expected.
  diff: string[];
}

const ANY_LINES = '...';

// Normalises output as the reader sees it: trailing spaces trimmed, CRs dropped, trailing blank lines gone.
export function normaliseOutput(text: string): string[] {
  const lines = text.replace(/\r/g, '').split('\n').map((line) => line.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function lineMatches(pattern: string, actual: string): boolean {
  const expected = pattern.replace(/\s+$/, '');
  if (expected.endsWith(' (re)')) {
    return new RegExp(`^(?:${expected.slice(0, -' (re)'.length)})$`).test(actual);
  }
  if (!expected.includes(ANY_LINES)) return expected === actual;
  const parts = expected.split(ANY_LINES).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(actual);
}

// Matches all of `actual` against `expected` lines; on mismatch, a minimal diff for the reader.
export function matchOutput(expected: string[], actualText: string): MatchResult {
  const patterns = expected.map((line) => line.replace(/\s+$/, ''));
  const actual = normaliseOutput(actualText);
  const n = patterns.length;
  const m = actual.length;
  // cost[i][j]: fewest edits to match patterns[i..] against actual[j..]; `...` absorbs any lines at no cost.
  const cost: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let j = m - 1; j >= 0; j--) cost[n]![j] = cost[n]![j + 1]! + 1;
  for (let i = n - 1; i >= 0; i--) {
    const wildcard = patterns[i] === ANY_LINES;
    cost[i]![m] = cost[i + 1]![m]! + (wildcard ? 0 : 1);
    for (let j = m - 1; j >= 0; j--) {
      if (wildcard) {
        cost[i]![j] = Math.min(cost[i + 1]![j]!, cost[i]![j + 1]!);
        continue;
      }
      const match = lineMatches(patterns[i]!, actual[j]!) ? cost[i + 1]![j + 1]! : Infinity;
      cost[i]![j] = Math.min(match, cost[i + 1]![j]! + 1, cost[i]![j + 1]! + 1);
    }
  }
  const ok = cost[0]![0] === 0;
  const diff: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const wildcard = i < n && patterns[i] === ANY_LINES;
    if (wildcard) {
      if (j < m && cost[i]![j] === cost[i]![j + 1]) {
        diff.push(`  ${actual[j]}`);
        j++;
      } else {
        i++;
      }
      continue;
    }
    if (i < n && j < m && lineMatches(patterns[i]!, actual[j]!) && cost[i]![j] === cost[i + 1]![j + 1]) {
      diff.push(`  ${actual[j]}`);
      i++;
      j++;
    } else if (i < n && (j >= m || cost[i]![j] === cost[i + 1]![j]! + 1)) {
      diff.push(`- ${patterns[i]}`);
      i++;
    } else {
      diff.push(`+ ${actual[j]}`);
      j++;
    }
  }
  return { ok, diff };
}
