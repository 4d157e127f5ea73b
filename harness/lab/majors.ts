// The PostgreSQL matrix (environments/majors.yaml) and the `pg=` version ranges of the lab format.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import YAML from 'yaml';
import { environmentsDir } from '../paths.ts';

export interface MajorInfo {
  major: number;
  suite: string;
  postgres: string;
  patroni: string;
  pgbouncer: string;
  haproxy: string;
  etcd: string;
}

export interface Matrix {
  defaultMajor: number;
  majors: Map<number, MajorInfo>;
}

let cached: Matrix | undefined;

// Reads environments/majors.yaml once; throws naming the file when it is malformed.
export function matrix(): Matrix {
  if (cached) return cached;
  const file = path.join(environmentsDir, 'majors.yaml');
  const doc = YAML.parse(readFileSync(file, 'utf8')) as { default?: unknown; majors?: Record<string, Omit<MajorInfo, 'major'>> };
  if (!doc?.majors || typeof doc.default !== 'number') {
    throw new Error(`${file}: expected a mapping with \`default: <major>\` and \`majors:\`, found ${JSON.stringify(doc)}`);
  }
  const majors = new Map<number, MajorInfo>();
  for (const [key, info] of Object.entries(doc.majors)) majors.set(Number(key), { major: Number(key), ...info });
  if (!majors.has(doc.default)) throw new Error(`${file}: default major ${doc.default} is not one of ${[...majors.keys()].join(', ')}`);
  cached = { defaultMajor: doc.default, majors };
  return cached;
}

export function knownMajors(): number[] {
  return [...matrix().majors.keys()].sort((a, b) => a - b);
}

export function majorInfo(major: number): MajorInfo {
  const info = matrix().majors.get(major);
  if (!info) throw new Error(`PostgreSQL ${major} is not in the matrix (environments/majors.yaml): expected one of ${knownMajors().join(', ')}`);
  return info;
}

// A `pg=` range: `15`, `>=17`, `<17`, `15 || 18`, `>=15 <18`. Majors compare as semver `<major>.0.0`.
export class MajorRange {
  readonly text: string;
  private readonly range: semver.Range;
  constructor(text: string) {
    this.text = text;
    // A bare major such as `15` must mean exactly 15, not `15.x.x` of semver's caret rules; both agree here.
    this.range = new semver.Range(text);
  }
  static parse(text: string): MajorRange | string {
    if (!/^[\d\s<>=|.]+$/.test(text) || semver.validRange(text) === null) {
      return `expected a PostgreSQL major or range such as \`17\`, \`>=17\`, \`<17\` or \`15 || 18\`, found \`${text}\``;
    }
    return new MajorRange(text);
  }
  includes(major: number): boolean {
    return semver.satisfies(`${major}.0.0`, this.range);
  }
  toString(): string {
    return this.text;
  }
}

// Parses `--pg 15,17,18` (or `all`); throws with the accepted values.
export function parseMajorList(text: string | undefined): number[] {
  if (!text) return [matrix().defaultMajor];
  if (text === 'all') return knownMajors();
  return text.split(',').map((part) => {
    const major = Number(part.trim());
    if (!matrix().majors.has(major)) {
      throw new UsageError(`--pg: expected a comma-separated list of ${knownMajors().join(', ')} (or \`all\`), found \`${part.trim()}\``);
    }
    return major;
  });
}

// Bad input from the user: the CLI exits 2.
export class UsageError extends Error {
  override name = 'UsageError';
}
