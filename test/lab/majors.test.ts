import { describe, expect, test } from 'vitest';
import { MajorRange, knownMajors, matrix, parseMajorList } from '../../harness/lab/majors.ts';

describe('the PostgreSQL matrix', () => {
  test('is read from environments/majors.yaml with its default', () => {
    expect(knownMajors()).toEqual([15, 17, 18]);
    expect(matrix().defaultMajor).toBe(18);
    expect(matrix().majors.get(15)).toMatchObject({ suite: 'bookworm', patroni: '3.0' });
  });

  test('`pg=` ranges select majors', () => {
    const pick = (text: string) => knownMajors().filter((m) => (MajorRange.parse(text) as MajorRange).includes(m));
    expect(pick('15')).toEqual([15]);
    expect(pick('>=17')).toEqual([17, 18]);
    expect(pick('<18')).toEqual([15, 17]);
    expect(pick('15 || 18')).toEqual([15, 18]);
    expect(MajorRange.parse('newest')).toMatch(/expected a PostgreSQL major or range/);
  });

  test('--pg lists are checked against the matrix', () => {
    expect(parseMajorList('15,18')).toEqual([15, 18]);
    expect(parseMajorList('all')).toEqual([15, 17, 18]);
    expect(parseMajorList(undefined)).toEqual([18]);
    expect(() => parseMajorList('16')).toThrow('found `16`');
  });
});
