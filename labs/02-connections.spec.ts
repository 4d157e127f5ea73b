// Executable spec of curriculum/02-connections/lab.md: every step in order, plus checks and figures.
import { expect, test } from 'vitest';
import type pg from 'pg';
import { useLab, queryValue, printedFigure, sampleWhile } from '../harness/index.ts';

const lab = useLab('02-connections');

// One line of curriculum/02-connections/backend-memory.sh: pid (or `total`), rss, shmem, private in kB.
interface Memory {
  pid: string;
  rssKb: number;
  shmemKb: number;
  privateKb: number;
}

function memoryLines(output: string): Memory[] {
  return [...output.matchAll(/^\s*(\d+|total)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/gm)].map((m) => ({
    pid: m[1]!, rssKb: Number(m[2]), shmemKb: Number(m[3]), privateKb: Number(m[4]),
  }));
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`Expected one ${what}, found ${items.length}`);
  return items[0]!;
}

// The numbers of the one data row psql printed in aligned format (`  97 |  1544 |  512`).
function psqlRow(output: string): number[] {
  const row = only(output.split('\n').filter((line) => /^\s*\d+(\s+\|\s+\d+)*\s*$/.test(line)), 'psql data row');
  return row.split('|').map((cell) => Number(cell.trim()));
}

// Samples pg_stat_activity every 100 ms while `running` lasts: how many pgbench backends were active,
// how many of those waited on a heavyweight lock (a row or transaction lock), and how many waited
// on nothing (no wait_event: running on a core or ready to run).
async function sampleLockWaits(client: pg.Client, running: Promise<unknown>) {
  const reads = await sampleWhile(running, async () => (await client.query<{ active: number; lock: number; none: number }>(
    "select count(*)::int as active, (count(*) filter (where wait_event_type = 'Lock'))::int as lock, (count(*) filter (where wait_event is null))::int as none from pg_stat_activity where application_name = 'pgbench' and state = 'active'")).rows[0]!, 100);
  const busy = reads.filter((read) => read.active > 0);
  const active = busy.reduce((sum, read) => sum + read.active, 0);
  const waitingOnLock = busy.reduce((sum, read) => sum + read.lock, 0);
  const waitingOnNothing = busy.reduce((sum, read) => sum + read.none, 0);
  return { samples: busy.length, lockFraction: active > 0 ? waitingOnLock / active : 0, noWaitFraction: active > 0 ? waitingOnNothing / active : 0 };
}

test('the server starts, with pgbench tables at scale 1', async () => {
  await lab.run('up');
  await lab.run('pgbench-init');
});

test("a backend's own memory is small; what it reads is in shared memory, not its own", async () => {
  await lab.run('psql-b');
  {
    await using pg1 = await lab.connect('pg1');
    // The step ended when psql had answered: its session is connected and named.
    expect(await queryValue(pg1, "select count(*) from pg_stat_activity where application_name = 'lab'")).toBe('1');
  }
  await lab.run('lab-pid');
  const idle = only(memoryLines((await lab.run('memory-idle')).output), 'memory line');
  const [, contextsIdleKb, catalogIdleKb] = psqlRow((await lab.run('contexts-idle')).output);
  await lab.run('work');
  const after = only(memoryLines((await lab.run('memory-after-work')).output), 'memory line');
  const [contextsAfterKb, catalogAfterKb] = psqlRow((await lab.run('contexts-after-work')).output);
  await lab.run('psql-b-quit');

  await using pg1 = await lab.connect('pg1');
  const tableKb = Number(await queryValue(pg1, "select pg_relation_size('pgbench_accounts') / 1024"));
  lab.measure('backend.idle.private_kB', idle.privateKb, 'kB', 'private memory of a fresh idle backend (smaps, outside shared memory)');
  lab.measure('backend.idle.rss_kB', idle.rssKb, 'kB', 'its resident set size, shared memory included');
  lab.measure('backend.idle.contexts_kB', contextsIdleKb!, 'kB', 'its memory contexts (pg_backend_memory_contexts)');
  lab.measure('backend.after_work.private_kB', after.privateKb, 'kB', 'private memory after a full table read and a catalog query');
  lab.measure('backend.after_work.rss_kB', after.rssKb, 'kB', 'RSS after the same work');
  lab.measure('backend.after_work.shmem_growth_kB', after.shmemKb - idle.shmemKb, 'kB', `shared memory pages it touched meanwhile (the table is ${tableKb} kB)`);
  lab.measure('backend.after_work.contexts_kB', contextsAfterKb!, 'kB', 'its memory contexts after the work');
  lab.measure('backend.catalog_cache_growth_kB', catalogAfterKb! - catalogIdleKb!, 'kB', 'CacheMemoryContext growth from the catalog query');

  // An idle backend's own memory is a few MB at most, while its RSS counts shared memory as well.
  expect(idle.privateKb).toBeLessThan(8 * 1024);
  // Reading the table touched at least half of it in shared memory...
  expect(after.shmemKb - idle.shmemKb).toBeGreaterThan(tableKb / 2);
  // ...and the backend's private memory grew by less than that.
  expect(after.privateKb - idle.privateKb).toBeLessThan(after.shmemKb - idle.shmemKb);
  // The catalog cache keeps what the backend looked up.
  expect(catalogAfterKb!).toBeGreaterThan(catalogIdleKb!);
});

test('a connection per transaction divides throughput many times over', async () => {
  const kept = (await lab.run('tps-kept-connections')).output;
  const perTransaction = (await lab.run('tps-connect-per-transaction')).output;
  const tpsKept = printedFigure(kept, 'tps =');
  const tpsConnect = printedFigure(perTransaction, 'tps =');
  const connectionMs = printedFigure(perTransaction, 'average connection time =');
  lab.measure('connect.tps_kept_connections', tpsKept, 'tps', 'pgbench -S, 4 clients, kept connections');
  lab.measure('connect.tps_connection_per_transaction', tpsConnect, 'tps', 'the same with -C (a new connection per transaction)');
  lab.measure('connect.tps_ratio', tpsKept / tpsConnect, 'x', 'kept connections over a connection per transaction');
  lab.measure('connect.average_connection_ms', connectionMs, 'ms', 'pgbench: average time to set up a connection (TCP, fork, SCRAM)');
  expect(tpsKept).toBeGreaterThan(3 * tpsConnect);
});

test('idle connections hold memory; idle-in-transaction ones enlarge snapshots and hold back VACUUM', async () => {
  // The page waits for the 50 sessions (wait-for) before counting them.
  await lab.run('open-idle');
  await lab.run('count-idle');
  const total = only(memoryLines((await lab.run('memory-idle-50')).output).filter((m) => m.pid === 'total'), 'total line');
  lab.measure('idle50.private_kB', total.privateKb, 'kB', 'private memory of 50 idle backends together');
  lab.measure('idle50.rss_kB', total.rssKb, 'kB', 'their RSS added up (counts shared memory 50 times)');
  lab.measure('idle.private_kB_per_connection', total.privateKb / 50, 'kB');
  expect(total.rssKb).toBeGreaterThan(total.privateKb);
  await lab.run('end-idle');

  await lab.run('open-idle-in-transaction');
  await lab.run('count-idle-in-transaction');
  await lab.run('snapshot-xids');
  await using pg1 = await lab.connect('pg1');
  const xids = Number(await queryValue(pg1, 'select count(*) from pg_snapshot_xip(pg_current_snapshot())'));
  lab.measure('snapshot.xids_with_20_open_transactions', xids, 'xids', 'transaction IDs listed in every snapshot while 20 sessions sit idle in transaction');
  await lab.run('vacuum-held-back');
  await lab.run('end-idle-in-transaction');
});

test('32 busy connections on 2 cores queue for a core: no more throughput, longer latency; writes to one row queue on its lock', async () => {
  await using pg1 = await lab.connect('pg1');
  const twoOut = (await lab.run('busy-2')).output;
  const many = lab.run('busy-32');
  const manyWaits = await sampleLockWaits(pg1, many);
  const manyOut = (await many).output;
  const latency2 = printedFigure(twoOut, 'latency average =');
  const latency32 = printedFigure(manyOut, 'latency average =');
  lab.measure('busy.tps_2_clients', printedFigure(twoOut, 'tps ='), 'tps', 'pgbench select-only, scale 1, 2 clients');
  lab.measure('busy.tps_32_clients', printedFigure(manyOut, 'tps ='), 'tps', 'the same with 32 clients');
  lab.measure('busy.latency_ms_2_clients', latency2, 'ms');
  lab.measure('busy.latency_ms_32_clients', latency32, 'ms');
  lab.measure('busy.no_wait_fraction_32_clients', manyWaits.noWaitFraction, 'ratio', `active backends seen with no wait_event (${manyWaits.samples} samples)`);
  lab.measure('busy.lock_wait_fraction_32_clients', manyWaits.lockFraction, 'ratio', `active backends seen waiting on a lock (${manyWaits.samples} samples)`);
  // 16 times the clients cannot bring 4 times the throughput on 2 cores: latency grows at least 4 times.
  expect(latency32).toBeGreaterThan(4 * latency2);
  // The mechanism: read-only backends queue for a core, not for each other.
  expect(manyWaits.samples).toBeGreaterThan(5);
  expect(manyWaits.lockFraction).toBeLessThan(0.05);

  // Writes to the one branch row: most of the 32 backends wait for its lock.
  const writes = lab.run('busy-32-writes');
  const writesWaits = await sampleLockWaits(pg1, writes);
  const writesOut = (await writes).output;
  lab.measure('busy.tps_32_writes', printedFigure(writesOut, 'tps ='), 'tps', 'pgbench tpcb-like (one pgbench_branches row), 32 clients');
  lab.measure('busy.latency_ms_32_writes', printedFigure(writesOut, 'latency average ='), 'ms');
  lab.measure('busy.lock_wait_fraction_32_writes', writesWaits.lockFraction, 'ratio', `active backends seen waiting on a lock (${writesWaits.samples} samples)`);
  expect(writesWaits.samples).toBeGreaterThan(5);
  expect(writesWaits.lockFraction).toBeGreaterThan(0.5);
});

test('past max_connections an ordinary role is refused first, then everyone: sorry, too many clients already', async () => {
  await lab.run('limits');
  await lab.run('lower-max-connections');
  // No connection of the spec stays open from here to the end of the limit: it would take one of the 20 slots.
  // The page waits for the 17 sessions of app (wait-for) before counting them.
  await lab.run('fill-app-slots');
  await lab.run('count-app-slots');
  await lab.run('app-refused');
  // The page waits until a new connection is refused; a superuser over TCP is refused as well.
  await lab.run('fill-superuser-slots');
  let refusal = 'connected';
  try {
    await using _connection = await lab.connect('pg1');
  } catch (error) {
    refusal = (error as Error).message;
  }
  expect(refusal).toContain('sorry, too many clients already');
  await lab.run('too-many-clients');
  await lab.run('free-slots');
  // The page waits until the idle sessions' backends have exited.
  await lab.run('slots-free');
  {
    await using pg1 = await lab.connect('pg1');
    expect(await queryValue(pg1, "select count(*) from pg_stat_activity where application_name = 'idle'")).toBe('0');
  }
});

test('the environment is removed', async () => {
  await lab.run('down');
});
