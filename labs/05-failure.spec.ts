// Executable spec of curriculum/05-failure/lab.md: every step in order, plus figures from the ledger
// of the page's own `writer` (the application's writes across a manual, asynchronous failover), the
// split brain and pg_rewind.
import { expect, test } from 'vitest';
import type pg from 'pg';
import { useLab, queryValue, checkWriterLedger, parseWriterVerdict, verdictDiffers, writesPerSecond, parsePgbenchLoad, tpsSeries } from '../harness/index.ts';
import type { Series } from '../harness/index.ts';

const lab = useLab('05-failure');

const marks: NonNullable<Series['marks']> = [];
// Writes the writer had acknowledged before order 2 was written are on pg2 (order 2 reached it).
let beforeOrder2 = 0;
// The page waited until pg2's receiver had stopped: writes acknowledged after this exist on pg1 alone.
let pg2CutAt = 0;
// When `docker compose kill pg1` had returned: pg1 acknowledges nothing after it.
let killEnded = 0;

async function lsn(client: pg.Client, sql: string): Promise<string> {
  return (await queryValue(client, sql))!;
}


test('a primary and two streaming replicas, an application writing, under load', async () => {
  await lab.run('up');
  await lab.run('replicas');
  await lab.run('streaming');
  await lab.run('orders');
  await lab.run('writer-start');
  marks.push({ at: Date.now(), label: 'writer started' });
  await lab.run('load');
  marks.push({ at: Date.now(), label: 'pgbench load started' });
});

test('the replicas fall behind, pg3 further than pg2', async () => {
  await lab.run('cut-pg3');
  marks.push({ at: Date.now(), label: 'pg3 cut off' });
  beforeOrder2 = Date.now();
  await lab.run('order-2');
  const cut = await lab.run('cut-pg2');
  pg2CutAt = Date.parse(cut.endedAt);
  marks.push({ at: pg2CutAt, label: 'pg2 cut off' });
  await lab.run('order-3');
  await lab.run('slots-behind');
});

test('the killed primary takes writes down with it; the replicas serve reads and nothing promotes', async () => {
  let lastLsnOnPg1: string;
  {
    await using pg1 = await lab.connect('pg1');
    lastLsnOnPg1 = await lsn(pg1, 'select pg_current_wal_lsn()');
  }
  const killedAt = Date.now();
  killEnded = Date.parse((await lab.run('kill-pg1')).endedAt);
  marks.push({ at: killedAt, label: 'pg1 killed' });
  await lab.run('writes-fail');
  await lab.run('replicas-serve-reads');
  await lab.run('writer-fails');
  await using pg2 = await lab.connect('pg2');
  await using pg3 = await lab.connect('pg3');
  expect(await queryValue(pg2, 'select pg_is_in_recovery()')).toBe('true');
  expect(await queryValue(pg3, 'select pg_is_in_recovery()')).toBe('true');
  const pg2Lsn = await lsn(pg2, 'select pg_last_wal_replay_lsn()');
  const behind = Number(await queryValue(pg2, `select pg_wal_lsn_diff('${lastLsnOnPg1}', '${pg2Lsn}')`));
  lab.measure('failover.pg2_bytes_behind_at_kill', behind, 'bytes', "WAL pg1 had written (read just before the kill) that pg2 never received: at least this much");
  expect(behind).toBeGreaterThan(0);
});

test('the replica with the most WAL is promoted onto a new timeline; the writer\'s ledger names the lost writes', async () => {
  await lab.run('compare-replicas');
  const promoteStarted = Date.now();
  const promoted = Date.parse((await lab.run('promote')).endedAt);
  marks.push({ at: promoted, label: 'pg2 promoted' });
  lab.measure('failover.promote_s', (Date.now() - promoteStarted) / 1000, 's', 'select pg_promote() on pg2, through docker compose exec');
  await lab.run('timeline');
  // The load still points at pg1; the page ends it before the writer's verdict, so that the core
  // path (which stops after this section) leaves nothing running, and only the page's own write lands on pg1 later.
  await lab.run('load-stop');
  const load = await lab.wait('load', 30_000);
  const pgbench = parsePgbenchLoad(load.output);
  lab.series(tpsSeries(pgbench, 'pgbench.tps', marks));
  lab.measure('failover.pgbench_restarts', pgbench.restarts.length, 'restarts', 'pgbench runs started again after their connections failed (the load kept pointing at pg1)');
  expect(pgbench.restarts.length).toBeGreaterThan(0);
  const printed = parseWriterVerdict((await lab.run('writer-verdict')).output);

  // The same ledger, read by the spec and compared with what pg2 holds.
  const { run, result } = await lab.writerLedger('client');
  await using pg2 = await lab.connect('pg2');
  const check = await checkWriterLedger(pg2, run, result);
  const lost = result.acknowledged.filter((a) => check.lost.includes(a.id));
  const inDoubtCommitted = check.inDoubtCommitted;
  lab.measure('failover.acknowledged_writes', result.acknowledged.length, 'writes', 'acknowledged to the page\'s writer over the whole failover');
  lab.measure('failover.lost_writes', lost.length, 'writes', 'acknowledged by pg1, absent on the promoted pg2');
  lab.measure('failover.in_doubt_writes', result.inDoubt.length, 'writes', 'connection lost during the insert: outcome unknown to the client');
  lab.measure('failover.in_doubt_committed', inDoubtCommitted.length, 'writes', 'of those, present on pg2');
  lab.measure('failover.write_gap_s', result.maxGapSeconds, 's', 'largest interval between acknowledged writes: the manual failover as the application saw it');
  lab.series(writesPerSecond(result, marks));

  // What the page printed is what the ledger and pg2 say.
  expect(verdictDiffers(printed, result, check)).toBeUndefined();
  // Asynchronous replication: what pg1 acknowledged after pg2 was cut off is gone, and nothing before order 2.
  expect(result.timelines).toEqual([1, 2]);
  const lostIds = new Set(lost.map((a) => a.id));
  for (const ack of result.acknowledged.filter((a) => a.timeline === 1)) {
    if (ack.at < beforeOrder2) expect(lostIds.has(ack.id), `write ${ack.id}, acknowledged before order 2, which pg2 received`).toBe(false);
    if (ack.at > pg2CutAt) expect(lostIds.has(ack.id), `write ${ack.id}, acknowledged after pg2's receiver had stopped`).toBe(true);
  }
  expect(lost.length).toBeGreaterThan(0);
  // No write was acknowledged between the kill and the promotion: the largest gap spans both (less
  // the moment docker compose exec takes to return once pg_promote() is done).
  expect(result.maxGapSeconds * 1000).toBeGreaterThanOrEqual(promoted - killEnded - 1000);

  await lab.run('write-to-pg2');
  await lab.run('pg2-as-primary');
  await lab.run('repoint-pg3');
  await lab.run('pg3-follows-pg2');
});

test('the old primary returns as a second primary, and pg_rewind makes it a replica of the new one', async () => {
  await lab.run('start-pg1');
  await lab.run('two-primaries');
  await lab.run('split-brain-writes');

  await lab.run('stop-pg1');
  await lab.run('checkpoint-pg2');
  await lab.run('rewind');
  await lab.run('start-rewound');
  await lab.run('rejoined-streams');
  await lab.run('rejoined');
});

test('the environment is removed', async () => {
  await lab.run('down');
});
