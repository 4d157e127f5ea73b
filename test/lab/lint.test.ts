// Lint fixtures: one folder per error kind, `input.md` and the report it must produce in `expected.txt`.
// UPDATE_FIXTURES=1 rewrites the expected reports for review.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatLint, lintPaths } from '../../harness/lab/lint.ts';
import { curriculumDir } from '../../harness/paths.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'lint');

describe('workshop lint', () => {
  for (const name of readdirSync(fixtures).sort()) {
    test(`reports ${name.replace(/-/g, ' ')}`, () => {
      const dir = path.join(fixtures, name);
      const input = existsSync(path.join(dir, 'lab.md')) ? path.join(dir, 'lab.md') : path.join(dir, 'index.md');
      const report = formatLint(lintPaths([input]));
      const expectedFile = path.join(dir, 'expected.txt');
      if (process.env.UPDATE_FIXTURES === '1') writeFileSync(expectedFile, `${report}\n`);
      const expected = readFileSync(expectedFile, 'utf8').trimEnd();
      expect(report).toBe(expected);
      if (name !== 'clean') expect(report).not.toBe('');
    });
  }

  test('passes on the curriculum', () => {
    const result = lintPaths([curriculumDir]);
    expect(result.files).toContain('curriculum/01-architecture/lab.md');
    expect(formatLint(result)).toBe('');
  });
});
