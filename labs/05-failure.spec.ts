// Executable spec of curriculum/05-failure/lab.md: every step in order, plus the writer probe's ledger
// across a manual, asynchronous failover, the split brain and pg_rewind.
import { expect, test } from 'vitest';
import type pg from 'pg';
import {
  useLab, queryValue, pollQueryUntil, connect, Writer, prepareWrites, checkLedger, writesPerSecond,
  parsePgbenchLoad, tpsSeries,
} from '../harness/index.ts';
import type { Series, WriterResult } from '../harness/index.ts';

const lab = useLab('05-failure');

const NODES = ['pg1', 'pg2', 'pg3'];
// An application backs off between failed attempts to find a writable node.
const RECONNECT_BACKOFF_MS = 300;
// Acknowledged writes the probe must see in a phase before the lab goes on: enough to count.
const WRITES_PER_PHASE = 25;

interface NodeAddress {
  host: string;
  port: number;
  password: string;
}

// Published addresses of the nodes, read once while all run (a killed container loses its port, and
// looking it up again on every reconnect would spawn docker for each attempt).
const addresses = new Map<string, NodeAddress>();

async function learnAddresses(): Promise<void> {
  for (const node of NODES) {
    await using client = await lab.connect(node);
    addresses.set(node, { host: client.host, port: client.port, password: lab.credentials.password });
  }
}

// Connects to the first node that accepts writes, as a client with a host list and
// target_session_attrs=read-write would.
let lastFailure = 0;
async function writableNode(): Promise<pg.Client> {
  const wait = lastFailure + RECONNECT_BACKOFF_MS - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  for (const node of NODES) {
    const address = addresses.get(node)!;
    let client: pg.Client | undefined;
    try {
      client = await connect(address, { password: address.password });
      if (await queryValue(client, 'select pg_is_in_recovery()') === 'false') return client;
    } catch {
      // Down, or not reachable: try the next node.
    }
    await client?.end().catch(() => undefined);
  }
  lastFailure = Date.now();
  throw new Error(`no node of ${NODES.join(', ')} accepts writes`);
}

let writer: Writer | undefined;
let result: WriterResult | undefined;
const marks: NonNullable<Series['marks']> = [];
// Writes acknowledged before this instant are on pg2 (it replayed past the LSN read then).
let onPg2Before = 0;
let cutPg2ObservedAt = 0;

// Waits until the probe has acknowledged `count` more writes than it had when called.
async function moreWrites(count: number, what: string): Promise<void> {
  const from = writer!.acknowledgedCount;
  await lab.poll(`${count} more acknowledged writes ${what}`, () => writer!.acknowledgedCount, (n) => n >= from + count, { timeoutMs: 30_000 });
}

async function lsn(client: pg.Client, sql: string): Promise<string> {
  return (await queryValue(client, sql))!;
}

test('a primary and two streaming replicas, under load', async () => {
  await lab.run('up');
  await lab.run('replicas');
  await using pg1 = await lab.connect('pg1');
  await pollQueryUntil(pg1, "select string_agg(application_name || ':' || state, ',' order by application_name) from pg_stat_replication", 'pg2:streaming,pg3:streaming', { timeoutMs: 30_000 });
  await lab.run('streaming');
  await lab.run('orders');

  await prepareWrites(pg1);
  await learnAddresses();
  writer = new Writer({ connect: writableNode, intervalMs: 20, attemptTimeoutMs: 5000 }).start();
  await moreWrites(WRITES_PER_PHASE, 'on pg1');
  await lab.run('load');
  marks.push({ at: Date.now(), label: 'pgbench load started' });
});

test('the replicas fall behind, pg3 further than pg2', async () => {
  await using pg1 = await lab.connect('pg1');
  await using pg2 = await lab.connect('pg2');
  await using pg3 = await lab.connect('pg3');
  await lab.run('cut-pg3');
  await pollQueryUntil(pg3, 'select count(*) from pg_stat_wal_receiver', '0', { timeoutMs: 15_000 });
  marks.push({ at: Date.now(), label: 'pg3 cut off' });
  await lab.run('order-2');
  await moreWrites(WRITES_PER_PHASE, 'that pg2 receives and pg3 does not');
  // pg2 has replayed everything written so far: order 2 and those writes.
  onPg2Before = Date.now();
  const target = await lsn(pg1, 'select pg_current_wal_lsn()');
  await pollQueryUntil(pg2, `select pg_last_wal_replay_lsn() >= '${target}'`, 'true', { timeoutMs: 30_000 });

  await lab.run('cut-pg2');
  await pollQueryUntil(pg2, 'select count(*) from pg_stat_wal_receiver', '0', { timeoutMs: 15_000 });
  cutPg2ObservedAt = Date.now();
  marks.push({ at: cutPg2ObservedAt, label: 'pg2 cut off' });
  await lab.run('order-3');
  await moreWrites(WRITES_PER_PHASE, 'that no replica receives');
  await lab.run('slots-behind');
});

test('the killed primary takes writes down with it; the replicas serve reads and nothing promotes', async () => {
  let lastLsnOnPg1: string;
  {
    await using pg1 = await lab.connect('pg1');
    lastLsnOnPg1 = await lsn(pg1, 'select pg_current_wal_lsn()');
  }
  const killedAt = Date.now();
  await lab.run('kill-pg1');
  marks.push({ at: killedAt, label: 'pg1 killed' });
  await lab.poll('the writer probe to stop getting acknowledgements', () => writer!.lastAcknowledgedAt ?? 0, (at) => Date.now() - at > 1000, { timeoutMs: 15_000 });
  await lab.run('writes-fail');
  await lab.run('replicas-serve-reads');
  await using pg2 = await lab.connect('pg2');
  await using pg3 = await lab.connect('pg3');
  expect(await queryValue(pg2, 'select pg_is_in_recovery()')).toBe('true');
  expect(await queryValue(pg3, 'select pg_is_in_recovery()')).toBe('true');
  const pg2Lsn = await lsn(pg2, 'select pg_last_wal_replay_lsn()');
  const behind = Number(await queryValue(pg2, `select pg_wal_lsn_diff('${lastLsnOnPg1}', '${pg2Lsn}')`));
  lab.measure('failover.pg2_bytes_behind_at_kill', behind, 'bytes', "WAL pg1 had written (read just before the kill) that pg2 never received: at least this much");
  expect(behind).toBeGreaterThan(0);
});

test('the replica with the most WAL is promoted onto a new timeline; the other follows it', async () => {
  await lab.run('compare-replicas');
  const promoteStarted = Date.now();
  await lab.run('promote');
  marks.push({ at: Date.now(), label: 'pg2 promoted' });
  lab.measure('failover.promote_s', (Date.now() - promoteStarted) / 1000, 's', 'select pg_promote() on pg2, through docker compose exec');
  await lab.run('timeline');

  // The probe finds pg2 writable on its own; stop it once it has written there.
  await lab.poll('acknowledged writes on timeline 2', () => writer!.lastAcknowledgedAt ?? 0, (at) => at > promoteStarted, { timeoutMs: 30_000 });
  await moreWrites(10, 'on pg2');
  result = await writer!.stop();
  await using pg2 = await lab.connect('pg2');
  const ledger = await checkLedger(pg2, result);
  const acknowledgedOnTl1 = result.acknowledged.filter((a) => a.timeline === 1);
  lab.measure('failover.acknowledged_writes', result.acknowledged.length, 'writes', 'acknowledged by the writer probe over the whole failover');
  lab.measure('failover.lost_writes', ledger.lost.length, 'writes', 'acknowledged by pg1, absent on the promoted pg2');
  lab.measure('failover.in_doubt_writes', result.inDoubt.length, 'writes', 'connection lost during the insert: outcome unknown to the client');
  lab.measure('failover.in_doubt_committed', ledger.inDoubtCommitted.length, 'writes', 'of those, present on pg2');
  lab.measure('failover.write_gap_s', result.maxGapSeconds, 's', 'largest interval between acknowledged writes: the manual failover as the application saw it');
  lab.series(writesPerSecond(result, marks));
  // Asynchronous replication: what pg1 acknowledged after pg2 was cut off is gone, and nothing before.
  expect(result.timelines).toEqual([1, 2]);
  expect(ledger.lost.length).toBeGreaterThan(0);
  const lostIds = new Set(ledger.lost);
  for (const ack of acknowledgedOnTl1) {
    if (ack.at < onPg2Before) expect(lostIds.has(ack.id), `write ${ack.id}, acknowledged before pg2 had replayed past it`).toBe(false);
    // A second's margin: a commit just before the receiver stopped may be acknowledged just after it was seen stopped.
    if (ack.at > cutPg2ObservedAt + 1000) expect(lostIds.has(ack.id), `write ${ack.id}, acknowledged after pg2 was cut off`).toBe(true);
  }
  expect(ledger.lost.length).toBeGreaterThanOrEqual(WRITES_PER_PHASE);

  await lab.run('write-to-pg2');
  await lab.run('pg2-as-primary');
  await lab.run('repoint-pg3');
  await using pg3 = await lab.connect('pg3');
  await pollQueryUntil(pg3, "select status || ':' || received_tli from pg_stat_wal_receiver", 'streaming:2', { timeoutMs: 30_000 });
  const target = await lsn(pg2, 'select pg_current_wal_lsn()');
  await pollQueryUntil(pg3, `select pg_last_wal_replay_lsn() >= '${target}'`, 'true', { timeoutMs: 30_000 });
  await lab.run('pg3-follows-pg2');
});

test('the old primary returns as a second primary, and pg_rewind makes it a replica of the new one', async () => {
  // The load still points at pg1: let it end before pg1 is back, so that only the page's own write lands there.
  const load = await lab.wait('load', 90_000);
  const pgbench = parsePgbenchLoad(load.output);
  lab.series(tpsSeries(pgbench, 'pgbench.tps', marks));
  lab.measure('failover.pgbench_restarts', pgbench.restarts.length, 'restarts', 'pgbench runs started again after their connections failed (the load kept pointing at pg1)');
  expect(pgbench.restarts.length).toBeGreaterThan(0);

  await lab.run('start-pg1');
  await lab.poll('pg1 to accept connections again', async () => {
    await using pg1 = await lab.connect('pg1');
    return await queryValue(pg1, 'select pg_is_in_recovery()');
  }, (v) => v === 'false', { timeoutMs: 60_000, intervalMs: 500 });
  await lab.run('two-primaries');
  await lab.run('split-brain-writes');

  await lab.run('stop-pg1');
  await lab.run('checkpoint-pg2');
  await lab.run('rewind');
  await lab.run('start-rewound');
  await using pg2 = await lab.connect('pg2');
  await pollQueryUntil(pg2, "select state || ':' || (select active from pg_replication_slots where slot_name = 'pg1') from pg_stat_replication where application_name = 'pg1'", 'streaming:true', { timeoutMs: 60_000 });
  const target = await lsn(pg2, 'select pg_current_wal_lsn()');
  await pollQueryUntil(pg2, `select replay_lsn >= '${target}' from pg_stat_replication where application_name = 'pg1'`, 'true', { timeoutMs: 30_000 });
  await lab.run('rejoined');
});

test('the environment is removed', async () => {
  await lab.run('down');
});
