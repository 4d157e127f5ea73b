// The PostgreSQL matrix as the harness knows it (environments/majors.yaml), and `pg=` ranges over it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import YAML from 'yaml';
import { environmentsDir } from './paths.mts';

export interface Matrix {
  defaultMajor: number;
  majors: number[];
}

// Reads environments/majors.yaml; throws naming the file when it is not the expected mapping.
export function readMatrix(file = path.join(environmentsDir, 'majors.yaml')): Matrix {
  const doc = YAML.parse(readFileSync(file, 'utf8')) as { default?: unknown; majors?: Record<string, unknown> } | null;
  if (!doc?.majors || typeof doc.default !== 'number') {
    throw new Error(`${file}: expected a mapping with \`default: <major>\` and \`majors:\``);
  }
  const majors = Object.keys(doc.majors).map(Number).sort((a, b) => a - b);
  return { defaultMajor: doc.default, majors };
}

// The majors of `majors` that a `pg=` range (`15`, `>=17`, `<18`, `15 || 18`) selects, as the harness reads it.
export function majorsInRange(range: string, majors: number[]): number[] | undefined {
  if (!/^[\d\s<>=|.]+$/.test(range) || semver.validRange(range) === null) return undefined;
  return majors.filter((major) => semver.satisfies(`${major}.0.0`, range));
}
