// pollQueryUntil and the LSN catch-up wait (waitForReplay) on a real primary and streaming replica:
// what they return, that they wait for the condition and not for a clock, and their timeout messages.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { pollQueryUntil, queryValue, waitForReplay, WaitTimeoutError } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';

let cluster: Cluster;
let pg1: Node;
let pg2: Node;
let primary: pg.Client;
let replica: pg.Client;

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  pg2 = await cluster.replica('pg2', pg1);
  primary = await pg1.connect();
  replica = await pg2.connect();
  await primary.query('create table waits (id int primary key, note text)');
});

afterAll(async () => {
  await primary?.end().catch(() => undefined);
  await replica?.end().catch(() => undefined);
  await cluster?.stop();
});

describe('pollQueryUntil', () => {
  test('returns once the query gives the expected text: a row the replica receives later', async () => {
    // The row is written after polling started: the poll sees null (no row) first, then the note.
    const polling = pollQueryUntil(replica, 'select note from waits where id = 1', 'written on pg1', { timeoutMs: 20_000, intervalMs: 50 });
    await primary.query(`insert into waits values (1, 'written on pg1')`);
    expect(await polling).toBe('written on pg1');
  });

  test('times out with the query, the expected value, the time waited and the last value seen', async () => {
    const started = Date.now();
    const error = await pollQueryUntil(replica, 'select count(*) from waits', '42', { timeoutMs: 1500, intervalMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(/^Timed out after 1\.\d s waiting for `select count\(\*\) from waits` to return "42"; last value seen: "1"$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });

  test('a query that fails reports its last error, not a value', async () => {
    const error = await pollQueryUntil(replica, 'select * from no_such_table', 'x', { timeoutMs: 500 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/waiting for `select \* from no_such_table` to return "x"; last error: relation "no_such_table" does not exist$/);
  });
});

describe('waitForReplay (the LSN catch-up wait)', () => {
  test('on a streaming replica it returns once replay_lsn reaches the primary\'s LSN', async () => {
    await primary.query(`insert into waits select g, 'bulk' from generate_series(100, 10099) g`);
    const target = await queryValue(primary, 'select pg_current_wal_lsn()');
    await waitForReplay(primary, 'pg2', 20_000);
    // Caught up means the replica has replayed at least that LSN, so it holds every row.
    expect(await queryValue(replica, 'select pg_last_wal_replay_lsn() >= $1::pg_lsn', [target])).toBe('true');
    expect(await queryValue(replica, `select count(*) from waits where note = 'bulk'`)).toBe('10000');
  });

  test('a paused replica: it times out naming the target and the replay_lsn it stands at; after resume it returns', async () => {
    await replica.query('select pg_wal_replay_pause()');
    await pollQueryUntil(replica, 'select pg_get_wal_replay_pause_state()', 'paused', { timeoutMs: 10_000 });
    const pausedAt = await queryValue(replica, 'select pg_last_wal_replay_lsn()');
    await primary.query(`insert into waits select g, 'while paused' from generate_series(20000, 20999) g`);
    const target = await queryValue(primary, 'select pg_current_wal_lsn()');

    const error = await waitForReplay(primary, 'pg2', 1500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    const message = (error as Error).message;
    expect(message).toContain(`waiting for pg2 to replay the primary's WAL up to ${target} (replay_lsn in pg_stat_replication)`);
    expect(message).toContain(`last value seen: {"replay_lsn":"${pausedAt}","caught_up":false}`);
    expect(await queryValue(replica, `select count(*) from waits where note = 'while paused'`)).toBe('0');

    // Resumed: the same wait returns, and the rows written while paused are there.
    const waiting = waitForReplay(primary, 'pg2', 30_000);
    await replica.query('select pg_wal_replay_resume()');
    await waiting;
    expect(await queryValue(replica, `select count(*) from waits where note = 'while paused'`)).toBe('1000');
  });

  test('a replica that is not connected: the last value is null', async () => {
    const error = await waitForReplay(primary, 'pg9', 500).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/waiting for pg9 to replay .*; last value seen: null$/);
  });
});
