// The version table (environments/majors.yaml, default major in environments/.env), read, validated
// and typed once; and the `pg=` version ranges of the lab format.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import YAML from 'yaml';
import * as z from 'zod';
import { environmentsDir } from '../paths.ts';

const version = z.string().regex(/^\d+(\.\d+)*$/, 'expected a version such as "4.0"');

// One row of environments/majors.yaml, as written there.
const MajorRow = z.strictObject({
  suite: z.string().regex(/^[a-z]+$/, 'expected a Debian suite such as "forky"'),
  postgres: version,
  patroni: version,
  pgbouncer: version,
  haproxy: version,
  etcd: version,
  etcd_packages: z.array(z.string()).min(1),
  patroni_leader_role: z.enum(['master', 'primary']),
  patroni_replica_state: z.enum(['running', 'streaming']),
  patroni_ttl_floor: z.number().int().min(0),
  patroni_switchover_flags: z.array(z.string().startsWith('--')).min(1),
  patroni_metrics_member_label: z.boolean(),
  pg_walinspect: z.boolean(),
  checkpoint_counters: z.enum(['pg_stat_bgwriter', 'pg_stat_checkpointer']),
  pgbouncer_prepared_statements: z.boolean(),
  // Scripts of environments/image/patches/ the image build applies to the packaged Patroni.
  patroni_patches: z.array(z.string().regex(/^[a-z0-9-]+$/, 'expected the name of a script in environments/image/patches/ without `.sh`')),
});
const Table = z.strictObject({ majors: z.record(z.string().regex(/^\d+$/, 'expected a PostgreSQL major such as 18'), MajorRow) });

export type MajorInfo = z.infer<typeof MajorRow> & { major: number };

// What a spec asks about the versions it runs on, instead of comparing major numbers.
export interface VersionFacts {
  major: number;
  suite: string;
  // The packaged versions (major.minor) of each piece.
  postgres: string;
  pgbouncer: { version: string; preparedStatements: boolean };
  haproxy: string;
  etcd: string;
  patroni: {
    version: string;
    // GET /patroni `role` of the leader: `master` on Patroni 3, `primary` on 4.
    leaderRole: 'master' | 'primary';
    // A streaming replica's `state` in GET /cluster.
    replicaState: 'running' | 'streaming';
    // The least `ttl` Patroni accepts (0: any); Patroni 4 raises a smaller one to 20 s.
    ttlFloorSeconds: number;
    switchoverFlags: string[];
    // Whether /metrics labels the series with the member's name.
    metricsMemberLabel: boolean;
  };
  // Where the checkpoint counters live: pg_stat_bgwriter up to 16, pg_stat_checkpointer from 17.
  checkpointCounters: 'pg_stat_bgwriter' | 'pg_stat_checkpointer';
  pgWalinspect: boolean;
}

export interface Matrix {
  defaultMajor: number;
  majors: Map<number, MajorInfo>;
}

let cached: Matrix | undefined;

export const versionTableFile = path.join(environmentsDir, 'majors.yaml');
export const defaultMajorFile = path.join(environmentsDir, '.env');

// Reads and validates the version table once; throws naming the file, the entry and what was found.
export function matrix(): Matrix {
  if (cached) return cached;
  cached = readMatrix(versionTableFile, defaultMajorFile);
  return cached;
}

// The version table of `file` with the default major of `envFile` (tests read fixtures).
export function readMatrix(file: string, envFile: string): Matrix {
  const parsed = Table.safeParse(YAML.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new Error(`${file}: not a valid version table:\n${problems.join('\n')}\nexpected \`majors:\` with one entry per major, each with the fields of harness/lab/majors.ts (MajorRow)`);
  }
  const majors = new Map<number, MajorInfo>();
  for (const [key, row] of Object.entries(parsed.data.majors)) majors.set(Number(key), { major: Number(key), ...row });
  const env = readFileSync(envFile, 'utf8');
  const line = /^PG_MAJOR=(\d+)\s*$/m.exec(env);
  if (!line) throw new Error(`${envFile}: expected a line \`PG_MAJOR=<major>\` (the default PostgreSQL major), found none`);
  const defaultMajor = Number(line[1]);
  if (!majors.has(defaultMajor)) throw new Error(`${envFile}: default major ${defaultMajor} is not in ${file} (${[...majors.keys()].join(', ')})`);
  return { defaultMajor, majors };
}

export function knownMajors(): number[] {
  return [...matrix().majors.keys()].sort((a, b) => a - b);
}

export function majorInfo(major: number): MajorInfo {
  const info = matrix().majors.get(major);
  if (!info) throw new Error(`PostgreSQL ${major} is not in the version table (environments/majors.yaml): expected one of ${knownMajors().join(', ')}`);
  return info;
}

// The typed facts of one major.
export function versionFacts(major: number): VersionFacts {
  const row = majorInfo(major);
  return {
    major,
    suite: row.suite,
    postgres: row.postgres,
    pgbouncer: { version: row.pgbouncer, preparedStatements: row.pgbouncer_prepared_statements },
    haproxy: row.haproxy,
    etcd: row.etcd,
    patroni: {
      version: row.patroni,
      leaderRole: row.patroni_leader_role,
      replicaState: row.patroni_replica_state,
      ttlFloorSeconds: row.patroni_ttl_floor,
      switchoverFlags: row.patroni_switchover_flags,
      metricsMemberLabel: row.patroni_metrics_member_label,
    },
    checkpointCounters: row.checkpoint_counters,
    pgWalinspect: row.pg_walinspect,
  };
}

// The image build's arguments for a major: the Dockerfile gets its facts from the table, not from its own tests.
export function imageBuildArgs(major: number): Record<string, string> {
  const row = majorInfo(major);
  return {
    DEBIAN_SUITE: row.suite,
    PG_MAJOR: String(major),
    PG_WALINSPECT: row.pg_walinspect ? 'yes' : 'no',
    CHECKPOINT_COUNTERS: row.checkpoint_counters,
    PATRONI_PATCHES: row.patroni_patches.length > 0 ? row.patroni_patches.join(' ') : 'none',
  };
}

// A `pg=` range: `15`, `>=17`, `<17`, `15 || 18`, `>=15 <18`. Majors compare as semver `<major>.0.0`.
// Or, where a variant depends on a tool's version rather than PostgreSQL's, a range of that tool's
// versions (`patroni=">=4"`), which selects the majors whose row of the version table ships such a version.
export class MajorRange {
  readonly text: string;
  // The tool whose versions the range is about; PostgreSQL's majors when undefined.
  readonly tool: Tool | undefined;
  private readonly range: semver.Range;
  constructor(text: string, tool?: Tool) {
    this.text = text;
    this.tool = tool;
    // A bare major such as `15` must mean exactly 15, not `15.x.x` of semver's caret rules; both agree here.
    this.range = new semver.Range(text);
  }
  static parse(text: string): MajorRange | string {
    if (!/^[\d\s<>=|.]+$/.test(text) || semver.validRange(text) === null) {
      return `expected a PostgreSQL major or range such as \`17\`, \`>=17\`, \`<17\` or \`15 || 18\`, found \`${text}\``;
    }
    return new MajorRange(text);
  }
  // A range of a tool's versions (`>=4`, `<4`, `4.0`), read against the version table's rows.
  static forTool(tool: Tool, text: string): MajorRange | string {
    if (!/^[\d\s<>=|.]+$/.test(text) || semver.validRange(text) === null) {
      return `expected a ${TOOL_NAMES[tool]} version or range such as \`>=4\` or \`<4\`, found \`${text}\``;
    }
    return new MajorRange(text, tool);
  }
  includes(major: number): boolean {
    if (!this.tool) return semver.satisfies(`${major}.0.0`, this.range);
    const row = matrix().majors.get(major);
    return row !== undefined && semver.satisfies(semver.coerce(row[this.tool])!, this.range);
  }
  toString(): string {
    return this.tool ? `${this.tool}="${this.text}"` : this.text;
  }
  // How a page names it: `Patroni >=4`, or `PostgreSQL >=17`.
  describe(): string {
    return `${this.tool ? TOOL_NAMES[this.tool] : 'PostgreSQL'} ${this.text}`;
  }
}

// Tools whose version a block may depend on (`<tool>="<range>"`), as the version table names them.
export const TOOLS = ['patroni'] as const;
export type Tool = (typeof TOOLS)[number];
const TOOL_NAMES: Record<Tool, string> = { patroni: 'Patroni' };

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
