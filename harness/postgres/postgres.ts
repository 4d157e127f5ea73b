// SQL from the spec side: connections to an environment's nodes through their published ports.
import pg from 'pg';
import { compose, type ComposeProject } from '../environment/compose.ts';
import { pollUntil, type PollOptions } from '../spec/wait.ts';
import type { VersionFacts } from '../lab/majors.ts';

export interface NodeAddress {
  host: string;
  port: number;
}

// The 127.0.0.1 address a service's container port is published on (compose picks a free port).
export async function publishedAddress(project: ComposeProject, service: string, port: number): Promise<NodeAddress> {
  const result = await compose(project, ['port', service, String(port)], { reject: false, timeoutMs: 30_000 });
  const match = /^(127\.0\.0\.1|0\.0\.0\.0|\[::1?\]):(\d+)$/m.exec(result.stdout.trim());
  if (result.exitCode !== 0 || !match) {
    throw new Error(`docker compose port ${service} ${port} (project ${project.name}) gave exit ${result.exitCode}: ${result.stdout}${result.stderr}; expected 127.0.0.1:<port> (publish it as "127.0.0.1::${port}")`);
  }
  return { host: '127.0.0.1', port: Number(match[2]) };
}

export interface Connect {
  user?: string;
  password: string;
  database?: string;
}

// A connected client; the caller ends it (`await using` ends it at scope exit).
export async function connect(address: NodeAddress, options: Connect): Promise<pg.Client & AsyncDisposable> {
  const client = new pg.Client({
    host: address.host, port: address.port, user: options.user ?? 'postgres', password: options.password,
    database: options.database ?? 'postgres', connectionTimeoutMillis: 5000, application_name: 'workshop-harness',
  });
  // A server that goes away (a failover) must not crash the test run.
  client.on('error', () => {});
  await client.connect();
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.end().catch(() => {}) });
}

// One value of a one-row query, as text (as psql -At shows it).
export async function queryValue(client: pg.Client, sql: string, params: unknown[] = []): Promise<string | null> {
  const result = await client.query({ text: sql, values: params, rowMode: 'array' });
  const value = result.rows[0]?.[0];
  return value === undefined || value === null ? null : String(value);
}

// Polls a query until it returns `expected` (as text); reports the last value on timeout.
export async function pollQueryUntil(client: pg.Client, sql: string, expected: string, options?: PollOptions): Promise<string | null> {
  return pollUntil(`\`${sql}\` to return ${JSON.stringify(expected)}`, () => queryValue(client, sql), (v) => v === expected, options);
}

// Waits until `replica` (its application_name in the primary's pg_stat_replication) has replayed
// everything the primary had written when called, by LSN; returns how long that took (ms). On
// timeout the error shows the replica's last replay_lsn (null: it was not connected).
export async function waitForReplay(primary: pg.Client, replica: string, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  const target = await queryValue(primary, 'select pg_current_wal_lsn()');
  await pollUntil(
    `${replica} to replay the primary's WAL up to ${target} (replay_lsn in pg_stat_replication)`,
    async () => (await primary.query<{ replay_lsn: string | null; caught_up: boolean | null }>(
      'select replay_lsn::text, replay_lsn >= $1::pg_lsn as caught_up from pg_stat_replication where application_name = $2', [target, replica])).rows[0] ?? null,
    (row) => row?.caught_up === true,
    { timeoutMs },
  );
  return Date.now() - started;
}

export interface CheckpointCounters {
  timed: number;
  requested: number;
}

// The server's checkpoint counters, from where the version table says this major keeps them.
export async function checkpointCounters(client: pg.Client, versions: Pick<VersionFacts, 'checkpointCounters'>): Promise<CheckpointCounters> {
  const sql = versions.checkpointCounters === 'pg_stat_checkpointer'
    ? 'select num_timed as timed, num_requested as requested from pg_stat_checkpointer'
    : 'select checkpoints_timed as timed, checkpoints_req as requested from pg_stat_bgwriter';
  const row = (await client.query<{ timed: string; requested: string }>(sql)).rows[0]!;
  return { timed: Number(row.timed), requested: Number(row.requested) };
}
