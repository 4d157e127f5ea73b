// Executable spec of curriculum/01-architecture/lab.md: every step in order, plus checks and figures.
import { expect, test } from 'vitest';
import type pg from 'pg';
import { useLab, queryValue, pollQueryUntil } from '../harness/index.ts';
import type { VersionFacts } from '../harness/index.ts';

const lab = useLab('01-architecture');

// The ring of buffers a bulk write (COPY, CREATE TABLE AS) goes round: 16 MB of 8 kB pages, capped at
// an eighth of shared_buffers (128 MB here). The page asserts the same figure.
const BULKWRITE_RING_PAGES = 2048;

// Relation pages written since the counters were reset, by the backends and by the checkpointer. Up to
// PostgreSQL 16 pg_stat_bgwriter holds both (buffers_backend: every backend write, extends included);
// from 17, where the checkpointer's counters moved to pg_stat_checkpointer, pg_stat_io is the only
// source, and it tells the bulk-write ring's writes apart.
async function relationWrites(client: pg.Client, versions: Pick<VersionFacts, 'checkpointCounters'>) {
  const sql = versions.checkpointCounters === 'pg_stat_bgwriter'
    ? 'select buffers_backend as backend, buffers_checkpoint as checkpointer from pg_stat_bgwriter'
    : `select coalesce(sum(writes) filter (where backend_type = 'client backend' and context = 'bulkwrite'), 0) as backend,
              coalesce(sum(writes) filter (where backend_type = 'checkpointer'), 0) as checkpointer
         from pg_stat_io where object = 'relation'`;
  const row = (await client.query<{ backend: string; checkpointer: string }>(sql)).rows[0]!;
  return { backend: Number(row.backend), checkpointer: Number(row.checkpointer) };
}

test('the server starts and is the major under test', async () => {
  await lab.run('up');
  await lab.run('version');
});

test('the postmaster has one child per background process and one backend per connection', async () => {
  await lab.run('postmaster-children');
  await lab.run('backend-types');
  await lab.run('backend-per-connection');
});

test('shared buffers hold the table that was read; work_mem decides whether a sort spills', async () => {
  await lab.run('shared-buffers');
  await lab.run('accounts');
  await using pg1 = await lab.connect('pg1');
  const pages = Number(await queryValue(pg1, "select pg_relation_size('accounts') / current_setting('block_size')::int"));
  const cached = Number(await queryValue(pg1, "select count(*) from pg_buffercache where relfilenode = pg_relation_filenode('accounts')"));
  lab.measure('accounts.pages', pages, 'pages', 'size of the 100,000-row table');
  lab.measure('accounts.pages_in_shared_buffers', cached, 'pages', 'its pages found in shared_buffers after one read');
  expect(cached).toBeGreaterThan(0);

  await lab.run('work-mem');
  // The figure behind the lesson: how much the 64 kB sort wrote to disk.
  await pg1.query("set work_mem = '64kB'");
  const plan = (await pg1.query('explain (analyze, format json) select * from accounts order by note')).rows[0]['QUERY PLAN'][0].Plan;
  expect(plan['Sort Space Type']).toBe('Disk');
  lab.measure('sort.spill_kb_at_64kB_work_mem', plan['Sort Space Used'], 'kB', 'disk used by the sort of 100,000 rows');
});

test('a commit advances the WAL, its records decode, and a checkpoint moves the redo point past it', async () => {
  await lab.run('wal-advances');
  await lab.run('wal-records');
  await lab.run('checkpoint');
  await lab.run('checkpoint-counters');
  // WAL written by one single-row insert and its commit, measured apart from the page's commands.
  await using pg1 = await lab.connect('pg1');
  await pg1.query('create table wal_probe (id int, note text)');
  const before = await queryValue(pg1, 'select pg_current_wal_insert_lsn()');
  await pg1.query("insert into wal_probe values (1, 'one row')");
  const bytes = Number(await queryValue(pg1, 'select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)', [before]));
  expect(bytes).toBeGreaterThan(0);
  lab.measure('wal.bytes_per_single_row_insert', bytes, 'bytes', 'WAL of one autocommit insert (heap record and commit record)');
  await pg1.query('drop table wal_probe');
});

test('a bulk load writes its own pages through a 16 MB ring, and the checkpointer writes what it left dirty', async () => {
  await lab.run('io-reset');
  await lab.run('io-bulk-load');
  await using pg1 = await lab.connect('pg1');
  const pages = Number(await queryValue(pg1, "select pg_relation_size('events') / current_setting('block_size')::int"));
  const inSharedBuffers = Number(await queryValue(pg1, "select count(*) from pg_buffercache where relfilenode = pg_relation_filenode('events')"));
  expect(inSharedBuffers).toBe(BULKWRITE_RING_PAGES);
  await lab.run('io-writers');
  const writes = await relationWrites(pg1, lab.versions);
  lab.measure('io.events_pages', pages, 'pages', 'size of the 300,000-row table loaded with CREATE TABLE AS');
  lab.measure('io.backend_writes', writes.backend, 'pages', 'written by client backends since the reset: in their bulk-write ring (pg_stat_io), on 15 all of them, extends included');
  lab.measure('io.checkpointer_writes', writes.checkpointer, 'pages', 'written by the checkpoint after the load');
  // The checkpoint wrote at least what the ring still held dirty.
  expect(writes.checkpointer).toBeGreaterThan(0);
  if (lab.versions.checkpointCounters === 'pg_stat_bgwriter') {
    // buffers_backend counts every page the load added to the file, and the ones it wrote again.
    expect(writes.backend).toBeGreaterThan(pages);
  } else {
    // pg_stat_io counts writes apart from extends: the pages pushed out of the ring, not the table.
    expect(writes.backend).toBeGreaterThan(0);
    expect(writes.backend).toBeLessThanOrEqual(pages - BULKWRITE_RING_PAGES);
  }
});

test('an update writes a new tuple version, HOT when no indexed column changes', async () => {
  await lab.run('xmin');
  await lab.run('update-new-version');
  await lab.run('pageinspect');
  await using pg1 = await lab.connect('pg1');
  // Statistics reach the shared counters when the updating backend ends; wait for them, do not assume.
  await pollQueryUntil(pg1, "select n_tup_hot_upd from pg_stat_user_tables where relname = 'items'", '1', { timeoutMs: 10_000 });
});

test('a repeatable-read snapshot keeps seeing the version it saw until it ends', async () => {
  await lab.run('psql-b');
  await lab.run('snapshot-begin');
  await lab.run('update-committed');
  await lab.run('snapshot-still');
  await lab.run('psql-b-quit');
});

test('dead tuples stay until VACUUM removes them', async () => {
  await lab.run('dead-tuples');
  await using pg1 = await lab.connect('pg1');
  const sizeBefore = Number(await queryValue(pg1, "select pg_relation_size('accounts')"));
  await lab.run('vacuum');
  const sizeAfter = Number(await queryValue(pg1, "select pg_relation_size('accounts')"));
  // VACUUM frees space for reuse inside the table; it does not give it back to the OS here.
  expect(sizeAfter).toBe(sizeBefore);
  lab.measure('accounts.bytes_after_vacuum', sizeAfter, 'bytes');
});

test('VACUUM FREEZE freezes the row in place and moves relfrozenxid past it', async () => {
  await lab.run('xid-age');
  await using pg1 = await lab.connect('pg1');
  const liveVersion = "select t_xmin::text as xmin, 'HEAP_XMIN_FROZEN' = any(combined_flags) as frozen from heap_page_items(get_raw_page('items', 0)), heap_tuple_infomask_flags(t_infomask, t_infomask2) where t_xmax = 0";
  const tableAge = "select age(relfrozenxid) from pg_class where relname = 'items'";
  const databaseAge = Number(await queryValue(pg1, 'select age(datfrozenxid) from pg_database where datname = current_database()'));
  lab.measure('xid.datfrozenxid_age', databaseAge, 'transactions', 'age(datfrozenxid) of the database at the end of the lab');
  await lab.run('freeze-before');
  const before = (await pg1.query<{ xmin: string; frozen: boolean }>(liveVersion)).rows[0]!;
  const ageBefore = Number(await queryValue(pg1, tableAge));
  // Before: the table's horizon is older than its live row, which is why VACUUM must still visit it.
  expect(ageBefore).toBeGreaterThan(Number(await queryValue(pg1, `select age('${before.xmin}'::xid)`)));
  await lab.run('vacuum-freeze');
  const after = (await pg1.query<{ xmin: string; frozen: boolean }>(liveVersion)).rows[0]!;
  expect(after).toEqual({ xmin: before.xmin, frozen: true });
  const ageAfter = Number(await queryValue(pg1, tableAge));
  expect(ageAfter).toBeLessThan(Number(await queryValue(pg1, `select age('${before.xmin}'::xid)`)));
  lab.measure('freeze.relfrozenxid_age_before', ageBefore, 'transactions', 'age(relfrozenxid) of items before VACUUM FREEZE');
  lab.measure('freeze.relfrozenxid_age_after', ageAfter, 'transactions', 'age(relfrozenxid) of items after VACUUM FREEZE');
});

test('the environment is removed', async () => {
  await lab.run('down');
});
