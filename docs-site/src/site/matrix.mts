// The version table as the site needs it: the harness's own reading of environments/majors.yaml and
// its `pg=` ranges (harness/lab/majors.ts), so the site and the runner can never disagree on a tab.
import { knownMajors, MajorRange, matrix } from '../../../harness/lab/majors.ts';

export interface Matrix {
  defaultMajor: number;
  majors: number[];
}

// The majors of the version table and its default major.
export function readMatrix(): Matrix {
  return { defaultMajor: matrix().defaultMajor, majors: knownMajors() };
}

// The majors of `majors` that a `pg=` range (`15`, `>=17`, `<18`, `15 || 18`) selects, as the harness reads it.
export function majorsInRange(range: string, majors: number[]): number[] | undefined {
  const parsed = MajorRange.parse(range);
  if (typeof parsed === 'string') return undefined;
  return majors.filter((major) => parsed.includes(major));
}
