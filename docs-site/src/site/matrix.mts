// The version table as the site needs it: the harness's own reading of environments/majors.yaml and
// its `pg=` ranges (harness/lab/majors.ts), so the site and the runner can never disagree on a tab.
import { knownMajors, MajorRange, matrix, TOOLS, type Tool } from '../../../harness/lab/majors.ts';

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

// The tools a block may name instead of `pg=` (`patroni=">=4"`).
export const VERSIONED_TOOLS: readonly string[] = TOOLS;

// The majors whose row of the version table ships a version of `tool` in `range`, and how the page names it.
export function majorsInToolRange(tool: string, range: string, majors: number[]): { majors: number[]; label: string } | undefined {
  if (!(TOOLS as readonly string[]).includes(tool)) return undefined;
  const parsed = MajorRange.forTool(tool as Tool, range);
  if (typeof parsed === 'string') return undefined;
  return { majors: majors.filter((major) => parsed.includes(major)), label: parsed.describe() };
}

// A tool's packaged version on a major (`4.0` for Patroni on 17), for tab labels.
export function toolVersion(tool: string, major: number): string | undefined {
  const row = matrix().majors.get(major) as Record<string, unknown> | undefined;
  const version = row?.[tool];
  return typeof version === 'string' ? version : undefined;
}
