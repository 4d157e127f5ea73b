// A failover whose outcome the test can compute from what each server holds: a primary and a
// streaming replica, replication cut so the writes after it exist on the primary only, the primary
// killed with `docker kill` while writes arrive, the replica promoted with `pg-ctl promote`, then the
// old primary started again so its rows can be read. Shared by the writer probe's test and, when it
// exists, the attendee's ledger command (same scenario, its output compared with the same truth).
import type pg from 'pg';
import { pollQueryUntil, pollUntil, WRITES_TABLE } from '../../../harness/index.ts';
import type { Node } from './cluster.ts';

// Stops the replica's WAL receiver (primary_conninfo emptied and reloaded, PostgreSQL 13+) and waits
// until the primary no longer lists it: every write from now on exists on the primary only.
export async function cutReplication(primary: pg.Client, replica: Node): Promise<void> {
  await using client = await replica.connect();
  await client.query(`alter system set primary_conninfo = ''`);
  await client.query('select pg_reload_conf()');
  await pollQueryUntil(primary, `select count(*) from pg_stat_replication where application_name = '${replica.name}'`, '0', { timeoutMs: 15_000 });
}

export interface Failover {
  // Unix ms when `docker kill` was started and when it returned (pg1 may acknowledge writes in
  // between), and when `pg-ctl promote` returned.
  killStartedAt: number;
  killedAt: number;
  promotedAt: number;
}

// Kills `primary` and promotes `candidate` (pg_ctl promote waits until it accepts writes).
export async function killAndPromote(primary: Node, candidate: Node): Promise<Failover> {
  const killStartedAt = Date.now();
  await primary.kill();
  const killedAt = Date.now();
  await candidate.exec(['pg-ctl', 'promote']);
  return { killStartedAt, killedAt, promotedAt: Date.now() };
}

// The ids of the writes table a node holds (started again first when it was killed).
export async function heldWrites(node: Node): Promise<Set<number>> {
  const client = await pollUntil(`${node.name} to accept connections`, () => node.connect(), () => true, { timeoutMs: 60_000, intervalMs: 250 });
  try {
    const rows = await client.query<{ id: string }>(`select id from ${WRITES_TABLE} order by id`);
    return new Set(rows.rows.map((r) => Number(r.id)));
  } finally {
    await client.end().catch(() => undefined);
  }
}
