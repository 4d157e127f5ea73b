// Executable spec of curriculum/01-architecture/lab.md: every step in order, plus checks and figures.
import { expect, test } from 'vitest';
import { useLab, queryValue, pollQueryUntil } from '../harness/index.ts';

const lab = useLab('01-architecture');

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

test('the environment is removed', async () => {
  await lab.run('down');
});
