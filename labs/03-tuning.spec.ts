// Executable spec of curriculum/03-tuning/lab.md: every step in order, plus checks and figures.
import { expect, test } from 'vitest';
import { useLab, queryValue, pollQueryUntil, checkpointCounters, printedFigure } from '../harness/index.ts';

const lab = useLab('03-tuning');

// The hit percentage printed by select-only-* (`hit_percent|…` as the last line).
function hitPercent(output: string): number {
  const last = output.trim().split('\n').pop()!;
  return Number(last.split('|')[0]);
}

async function serverLog(): Promise<string> {
  const stdout = await lab.serverLog('pg1');
  return stdout;
}

let timedAtStart = 0;

test('the server starts, with pgbench tables at scale 5', async () => {
  await lab.run('up');
  await lab.run('pgbench-init');
  await using pg1 = await lab.connect('pg1');
  timedAtStart = (await checkpointCounters(pg1, lab.versions)).timed;
});

test('each setting says when a change takes effect', async () => {
  await lab.run('contexts');
});

test('with shared_buffers smaller than the data the hit ratio falls; shared_buffers needs a restart', async () => {
  await lab.run('prewarm-128mb');
  const at128 = (await lab.run('select-only-128mb')).output;
  await lab.run('alter-system');
  // The reload is asynchronous: the page waits (wait-for) until new sessions see pending_restart.
  await lab.run('pending-restart');
  await lab.run('restart');
  await lab.run('prewarm-16mb');
  const at16 = (await lab.run('select-only-16mb')).output;

  await using pg1 = await lab.connect('pg1');
  // Read time per page read, from pg_stat_statements (blk_read_time up to 16, shared_blk_read_time from 17).
  const readUs = Number(await queryValue(pg1, `select 1000 * coalesce((to_jsonb(s) ->> 'shared_blk_read_time')::float, (to_jsonb(s) ->> 'blk_read_time')::float) / nullif(shared_blks_read, 0)
    from pg_stat_statements s where query like 'SELECT abalance FROM pgbench_accounts%'`));
  const hit128 = hitPercent(at128);
  const hit16 = hitPercent(at16);
  lab.measure('shared_buffers.hit_percent_128MB', hit128, '%', 'pgbench -S, pg_stat_statements: pages found in shared_buffers, 128 MB');
  lab.measure('shared_buffers.hit_percent_16MB', hit16, '%', 'the same with 16 MB of shared_buffers');
  lab.measure('shared_buffers.tps_128MB', printedFigure(at128, /tps =/), 'tps');
  lab.measure('shared_buffers.tps_16MB', printedFigure(at16, /tps =/), 'tps');
  if (Number.isFinite(readUs)) lab.measure('shared_buffers.read_us_per_page_16MB', readUs, 'µs', 'time per page read at 16 MB (mostly the OS page cache)');
  expect(hit128).toBeGreaterThanOrEqual(99);
  expect(hit16).toBeLessThan(hit128 - 10);
});

test('work_mem decides whether a sort spills to temporary files', async () => {
  const spilled = (await lab.run('sort-4mb')).output;
  const inMemory = (await lab.run('sort-64mb')).output;
  // The step outputs are the sort node's own lines (checked by the expectations): read the figures there.
  lab.measure('work_mem.sort_disk_kB_at_4MB', printedFigure(spilled, /Sort Method: external merge +Disk:/), 'kB', 'external merge of 500,000 rows');
  lab.measure('work_mem.temp_blocks_written_at_4MB', printedFigure(spilled, /Buffers: .*temp read=[0-9]+ written=/), 'blocks');
  lab.measure('work_mem.sort_memory_kB_at_64MB', printedFigure(inMemory, /Sort Method: quicksort +Memory:/), 'kB', 'quicksort of the same rows');
  expect(inMemory).not.toContain('temp');
});

test('synchronous_commit = off stops flushing the WAL at every commit, and commits more', async () => {
  await lab.run('wal-flush-counter');
  const on = (await lab.run('commit-on')).output;
  const off = (await lab.run('commit-off')).output;
  const txOn = printedFigure(on, /number of transactions actually processed:/);
  const txOff = printedFigure(off, /number of transactions actually processed:/);
  const flushesOn = printedFigure(on, /WAL flushes:/);
  const flushesOff = printedFigure(off, /WAL flushes:/);
  const tpsOn = printedFigure(on, /tps =/);
  const tpsOff = printedFigure(off, /tps =/);
  lab.measure('synchronous_commit.tps_on', tpsOn, 'tps', 'pgbench tpcb-like, 1 client, 4 s');
  lab.measure('synchronous_commit.tps_off', tpsOff, 'tps', 'the same with synchronous_commit = off');
  lab.measure('synchronous_commit.tps_ratio', tpsOff / tpsOn, 'x', 'off over on');
  lab.measure('synchronous_commit.wal_flushes_per_commit_on', flushesOn / txOn, 'flushes');
  lab.measure('synchronous_commit.wal_flushes_per_commit_off', flushesOff / txOff, 'flushes');
  // The mechanism, not the clock: with `on` about one flush per commit, with `off` a few per second.
  expect(flushesOn / txOn).toBeGreaterThan(0.5);
  expect(flushesOff / txOff).toBeLessThan((flushesOn / txOn) / 5);
  // The direction of throughput, which flushing less must give even on a noisy machine.
  expect(tpsOff).toBeGreaterThan(tpsOn);
});

test('a small max_wal_size requests checkpoints; checkpoint_timeout times them', async () => {
  // The page waits for a timed checkpoint in the server log and in the counters.
  await lab.run('checkpoint-counters');
  await using pg1 = await lab.connect('pg1');
  expect((await checkpointCounters(pg1, lab.versions)).timed).toBeGreaterThan(timedAtStart);
  const walBytesSince = async (lsn: string | null) => Number(await queryValue(pg1, 'select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)', [lsn]));

  // WAL from just before each step (its CHECKPOINT record included); requested checkpoints as the
  // step counted them, from after its own CHECKPOINT.
  let lsn = await queryValue(pg1, 'select pg_current_wal_lsn()');
  const requested1gb = printedFigure((await lab.run('wal-1gb')).output, /requested checkpoints:/);
  const wal1gb = await walBytesSince(lsn);

  // The page waits (wait-for) until new sessions, such as pgbench's, see 32MB.
  await lab.run('max-wal-size-32mb');
  lsn = await queryValue(pg1, 'select pg_current_wal_lsn()');
  const requested32mb = printedFigure((await lab.run('wal-32mb')).output, /requested checkpoints:/);
  const wal32mb = await walBytesSince(lsn);

  lab.measure('checkpoints.wal_MB_3200_transactions_1GB', wal1gb / 2 ** 20, 'MB', 'WAL of 3,200 tpcb-like transactions, max_wal_size = 1GB');
  lab.measure('checkpoints.requested_at_1GB', requested1gb, 'checkpoints');
  lab.measure('checkpoints.wal_MB_3200_transactions_32MB', wal32mb / 2 ** 20, 'MB', 'the same transactions with max_wal_size = 32MB');
  lab.measure('checkpoints.requested_at_32MB', requested32mb, 'checkpoints');
  expect(requested1gb).toBe(0);
  expect(requested32mb).toBeGreaterThanOrEqual(1);

  // Both lines are in the log by now: checkpoint-counters waited for a timed one, and wal-32mb counted
  // at least one requested (a checkpoint is logged as it starts, before its count can be read).
  await lab.run('checkpoint-log');
  const log = await serverLog();
  const writes = [...log.matchAll(/checkpoint complete: .*write=([0-9.]+) s/g)].map((m) => Number(m[1]));
  lab.measure('checkpoints.longest_write_phase_s', Math.max(...writes), 's', 'longest write phase of a checkpoint in the server log (spread by checkpoint_completion_target)');
});

test('autovacuum waits for its threshold; a per-table scale factor brings it sooner', async () => {
  // Each step that needs a state waits for it on the page (wait-for): the naptime read, the inserts of
  // `events` counted before its VACUUM, autovacuum's visit to `visitor` and then to `events`.
  await lab.run('naptime');
  await using pg1 = await lab.connect('pg1');
  await lab.run('events');
  await lab.run('events-vacuum');
  await lab.run('events-update');
  await lab.run('visitor');
  await lab.run('below-threshold');
  await lab.run('per-table-scale-factor');
  // Measured beside the page's own wait (autovacuumed), which it does not hold up.
  const started = Date.now();
  const vacuumed = pollQueryUntil(pg1, "select autovacuum_count from pg_stat_user_tables where relname = 'events'", '1', { timeoutMs: 30_000 })
    .then(() => Date.now());
  // A failed step is the error to report; the poll's own failure, if any, is reported where it is awaited.
  vacuumed.catch(() => undefined);
  await lab.run('autovacuumed');
  lab.measure('autovacuum.seconds_until_vacuum_after_scale_factor', (await vacuumed - started) / 1000, 's', 'with autovacuum_naptime = 1s');
});

test('statistics and random_page_cost change the plan', async () => {
  await lab.run('orders');
  await using pg1 = await lab.connect('pg1');
  const estimate = async () => Number((await pg1.query("explain (format json) select * from orders where status = 'done'")).rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  const before = await estimate();
  await lab.run('plan-without-statistics');
  await lab.run('analyze');
  const after = await estimate();
  lab.measure('planner.estimated_rows_without_statistics', before, 'rows', "status = 'done', 99,000 rows in fact");
  lab.measure('planner.estimated_rows_after_analyze', after, 'rows');
  expect(before).toBeLessThan(10_000);
  expect(after).toBeGreaterThan(90_000);
  await lab.run('random-page-cost');
  // What each plan did, read as JSON: the page accesses and the time, with the default and with 1.1.
  const analyzed = async (randomPageCost: string) => {
    await pg1.query(`set random_page_cost = ${randomPageCost}`);
    const plan = (await pg1.query("explain (analyze, buffers, timing off, format json) select * from orders where customer < 47000")).rows[0]['QUERY PLAN'][0];
    await pg1.query('reset random_page_cost');
    return { node: plan.Plan['Node Type'] as string, buffers: Number(plan.Plan['Shared Hit Blocks']) + Number(plan.Plan['Shared Read Blocks']), ms: Number(plan['Execution Time']) };
  };
  const seq = await analyzed('4');
  const index = await analyzed('1.1');
  lab.measure('planner.seq_scan_buffers', seq.buffers, 'pages', 'customer < 47000 (47 % of the rows), random_page_cost 4');
  lab.measure('planner.index_scan_buffers', index.buffers, 'pages', 'the same query with random_page_cost 1.1');
  lab.measure('planner.seq_scan_ms', seq.ms, 'ms');
  lab.measure('planner.index_scan_ms', index.ms, 'ms');
  expect(seq.node).toBe('Seq Scan');
  expect(index.node).toBe('Index Scan');
  // The index fetches a table page per row: tens of times the pages of the whole table.
  expect(index.buffers).toBeGreaterThan(20 * seq.buffers);
});

test('the environment is removed', async () => {
  await lab.run('down');
});
