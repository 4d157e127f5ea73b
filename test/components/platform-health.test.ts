// platform-health (environments/image/bin) reading a real primary and streaming replica: every
// PostgreSQL signal healthy, then with injected problems (an idle-in-transaction session holding
// the xmin horizon, a replica whose replay is paused, no primary, a replica behind the primary
// endpoint, pg_stat_statements missing), each line compared with what the server itself says.
// PgBouncer's signal is read from a real PgBouncer in front of the primary. The HTTP signals
// (Patroni, HAProxy) are read from canned answers in test/image/platform-health.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { connect, pollQueryUntil, pollUntil, queryValue, waitForReplay } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';

const SQL_SIGNALS = ['primary', 'connections', 'long-transactions', 'xmin-horizon', 'replication', 'checkpoints', 'autovacuum', 'statements'];

let cluster: Cluster;
let pg1: Node;
let pg2: Node;
let client: Node;
let pgbouncer: Node;
let primary: pg.Client;
let addresses: { pg1: string; pg2: string };

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  pg2 = await cluster.replica('pg2', pg1);
  client = await cluster.client('client', 'pg1');
  pgbouncer = await cluster.pgbouncer('pgbouncer', 'pg1', 1);
  primary = await pg1.connect();
  addresses = { pg1: await pg1.networkAddress(), pg2: await pg2.networkAddress() };
});

afterAll(async () => {
  await primary?.end().catch(() => undefined);
  await cluster?.stop();
});

interface Health {
  status: number;
  stdout: string;
  stderr: string;
  lines: Map<string, string>;
}

// Runs platform-health in the client container (PGHOST=pg1 unless `env` says otherwise).
async function health(args: string[] = [], env: Record<string, string> = {}, signals = SQL_SIGNALS): Promise<Health> {
  const result = await client.container.exec(['platform-health', '--only', signals.join(','), '--replicas', '1', ...args], { env });
  const lines = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^(OK|WARN|CRIT) +(\S+) +(.*)$/.exec(line);
    if (m) lines.set(m[2]!, `${m[1]} ${m[3]}`);
  }
  return { status: result.exitCode, stdout: result.stdout, stderr: result.stderr, lines };
}

const show = (h: Health) => `exit ${h.status}\n${h.stdout}\n${h.stderr}`;

describe('a healthy primary and replica', () => {
  test('every signal OK, exit 0, and each line says what the server says', async () => {
    const h = await health();
    expect([...h.lines.keys()], show(h)).toEqual(SQL_SIGNALS);
    expect([...h.lines.values()].filter((l) => !l.startsWith('OK')), show(h)).toEqual([]);
    expect(h.stdout).toMatch(/^platform-health: OK \(8 OK, 0 WARN, 0 CRIT\)$/m);
    expect(h.status).toBe(0);

    const version = await queryValue(primary, "select split_part(current_setting('server_version'), ' ', 1)");
    expect(h.lines.get('primary')).toBe(`OK pg1:5432 reaches ${addresses.pg1}, writable, PostgreSQL ${version}`);
    const maxConnections = await queryValue(primary, "select current_setting('max_connections')");
    expect(h.lines.get('connections')).toMatch(new RegExp(`^OK \\d+ of max_connections ${maxConnections} \\(\\d+%\\): \\d+ active, \\d+ idle, 0 idle in transaction$`));
    expect(h.lines.get('long-transactions')).toBe('OK no transaction open');
    expect(h.lines.get('replication')).toMatch(/^OK 1 of 1 replicas, replay lag: pg2 \d+(\.\d)? (B|kB) \d+\.\d s \(streaming\)$/);
    const workers = await queryValue(primary, "select current_setting('autovacuum_max_workers')");
    expect(h.lines.get('autovacuum')).toMatch(new RegExp(`^OK \\d+ of ${workers} workers busy.*; oldest datfrozenxid \\d+ transactions old$`));
    const counters = (await queryValue(primary, "select current_setting('server_version_num')::int >= 170000")) === 'true'
      ? await queryValue(primary, "select num_timed || ' timed, ' || num_requested || ' requested' from pg_stat_checkpointer")
      : await queryValue(primary, "select checkpoints_timed || ' timed, ' || checkpoints_req || ' requested' from pg_stat_bgwriter");
    expect(h.lines.get('checkpoints')).toMatch(new RegExp(`^OK ${counters}, last \\d+ s ago; WAL since then .+/s\\)$`));
    expect(h.lines.get('statements')).toMatch(/^OK top by total time \(\d+%\): \d+ calls, mean \d+(\.\d+)? ms: .+$/);
  });
});

describe('injected problems', () => {
  test('an idle-in-transaction session: long-transactions and xmin-horizon name its pid and application', async () => {
    const idle = await pg1.connect('forgotten');
    try {
      await idle.query('begin');
      const pid = await queryValue(idle, 'select pg_backend_pid()');
      const xid = Number(await queryValue(idle, 'select txid_current()'));
      // Later transactions make its xid old: three of them (each takes an xid).
      for (let i = 0; i < 3; i++) await primary.query('select txid_current()');
      // Open for at least a second (the threshold below), by the server's own clock.
      await pollQueryUntil(primary, `select now() - xact_start >= interval '1 second' from pg_stat_activity where pid = ${pid}`, 'true', { timeoutMs: 10_000 });
      const h = await health(['--xact-seconds-warn', '1', '--xmin-age-warn', '3']);
      expect(h.lines.get('long-transactions'), show(h)).toMatch(new RegExp(`^WARN oldest open for \\d+ s: pid ${pid} \\(idle in transaction, application forgotten\\); 1 idle in transaction$`));
      // Who holds the oldest xmin, by the server's own views: the session's xid, or pg2's feedback
      // and its slot (hot_standby_feedback reports the standby's xmin, which may be older still).
      const ages = (await primary.query<{ kind: string; who: string; age: number }>(`
        select 'backend' as kind, 'pid ${pid} (idle in transaction, application forgotten)' as who, age('${xid}'::xid) as age, 1 as prio
        union all select 'replica feedback', application_name, age(backend_xmin), 2 from pg_stat_replication where backend_xmin is not null
        union all select 'replication slot', slot_name, age(xmin), 3 from pg_replication_slots where xmin is not null
        order by age desc, prio`)).rows;
      const holder = ages[0]!;
      const line = h.lines.get('xmin-horizon')!;
      const held = /^WARN oldest xmin (\d+) transactions old, held by (.+)$/.exec(line);
      expect(held, line).not.toBeNull();
      expect(held![2]).toBe(`${holder.kind} ${holder.who}`);
      // The same age, give or take a transaction taken between the two readings.
      expect(Math.abs(Number(held![1]) - Number(holder.age))).toBeLessThanOrEqual(2);
      expect(Number(held![1])).toBeGreaterThanOrEqual(4);
      expect(h.lines.get('connections')).toMatch(/, 1 idle in transaction$/);
      expect(h.status).toBe(1);
      // The same session under the default thresholds (60 s, a million transactions) is fine.
      expect((await health()).lines.get('long-transactions')).toMatch(/^OK oldest open for \d+ s: pid /);
    } finally {
      await idle.end();
    }
    await pollQueryUntil(primary, "select count(*) from pg_stat_activity where application_name = 'forgotten'", '0', { timeoutMs: 10_000 });
    expect((await health()).lines.get('long-transactions')).toBe('OK no transaction open');
  });

  test('a replica with replay paused falls behind by the WAL written since: WARN, then CRIT past the crit threshold', async () => {
    await using replica = await pg2.connect();
    await replica.query('select pg_wal_replay_pause()');
    try {
      await pollQueryUntil(replica, 'select pg_get_wal_replay_pause_state()', 'paused', { timeoutMs: 10_000 });
      await primary.query('create table if not exists filler (id int, pad text)');
      await primary.query("insert into filler select g, repeat('x', 500) from generate_series(1, 8000) g");
      // The lag the primary sees once the replica has received (not replayed) all of it.
      const lag = await pollUntil('pg2 to receive the WAL written while paused', () => queryValue(primary, "select (case when flush_lsn = pg_current_wal_lsn() then pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) end)::bigint from pg_stat_replication where application_name = 'pg2'"), (v) => v !== null, { timeoutMs: 15_000 });
      expect(Number(lag)).toBeGreaterThan(2 * 1024 ** 2);
      const warn = await health(['--lag-bytes-warn', '1048576', '--lag-bytes-crit', String(1024 ** 3)]);
      const line = warn.lines.get('replication')!;
      const m = /^WARN 1 of 1 replicas, replay lag: pg2 (\d+\.\d) MB \d+\.\d s \(streaming\)$/.exec(line);
      expect(m, show(warn)).not.toBeNull();
      // platform-health's figure is the primary's pg_stat_replication, read a moment later.
      expect(Math.abs(Number(m![1]) - Number(lag) / 1024 ** 2)).toBeLessThanOrEqual(0.2);
      expect(warn.status).toBe(1);
      const crit = await health(['--lag-bytes-crit', '1048576']);
      expect(crit.lines.get('replication'), show(crit)).toMatch(/^CRIT 1 of 1 replicas, replay lag: pg2 \d+\.\d MB/);
      expect(crit.status).toBe(2);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await waitForReplay(primary, 'pg2');
    // Caught up in bytes (replay_lag, in seconds, is cleared only after some quiet: not checked here).
    expect((await health()).lines.get('replication')).toMatch(/^(OK|WARN) 1 of 1 replicas, replay lag: pg2 \d+(\.\d)? (B|kB) /);
  });

  test('no server at PGHOST:PGPORT: primary CRIT with the connection error, the other signals cannot be read, exit 2', async () => {
    const h = await health([], { PGPORT: '5499' });
    expect(h.lines.get('primary'), show(h)).toBe(`CRIT no connection to pg1:5499: connection to server at "pg1" (${addresses.pg1}), port 5499 failed: Connection refused`);
    for (const signal of SQL_SIGNALS.slice(1)) expect(h.lines.get(signal)).toBe('WARN cannot read (no writable primary at pg1:5499: see the primary line)');
    expect(h.status).toBe(2);
    expect((await health(['--unreadable', 'CRIT'], { PGPORT: '5499' })).lines.get('connections')).toMatch(/^CRIT cannot read/);
  });

  test('the primary endpoint reaching a replica is CRIT', async () => {
    const h = await health([], { PGHOST: 'pg2' });
    expect(h.lines.get('primary'), show(h)).toBe(`CRIT pg2:5432 reaches ${addresses.pg2}, a replica (read-only): writes fail`);
    expect(h.status).toBe(2);
  });

  test('more connections than the threshold: WARN with the share of max_connections', async () => {
    const h = await health(['--connections-warn', '1', '--connections-crit', '100']);
    expect(h.lines.get('connections'), show(h)).toMatch(/^WARN \d+ of max_connections \d+ \([1-9]\d*%\)/);
  });

  test('pg_stat_statements missing: statements cannot be read, and says how to fix it', async () => {
    await primary.query('drop extension pg_stat_statements');
    try {
      const h = await health();
      expect(h.lines.get('statements'), show(h)).toBe('WARN cannot read pg_stat_statements: the extension is not created in database postgres (create extension pg_stat_statements)');
      expect(h.status).toBe(1);
    } finally {
      await primary.query('create extension pg_stat_statements');
    }
  });

  test('a frequent slow statement: statements WARN names it with its mean', async () => {
    for (let i = 0; i < 3; i++) await primary.query('select pg_sleep(0.3)');
    const h = await health(['--statement-min-calls', '3', '--statement-mean-warn', '250']);
    const m = /^WARN top by total time .*; slow: mean (\d+(?:\.\d+)?) ms over (\d+) calls: select pg_sleep\(\$1\)$/.exec(h.lines.get('statements') ?? '');
    expect(m, show(h)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(300);
    // pg_stat_statements keeps one entry per query id (pg_sleep(4) and pg_sleep(0.3) differ by the constant's type).
    expect(m![2]).toBe(await queryValue(primary, "select max(calls) from pg_stat_statements where query = 'select pg_sleep($1)' and mean_exec_time >= 250"));
  });

  test('checkpoints mostly requested (CHECKPOINT by hand): WARN once enough are counted', async () => {
    for (let i = 0; i < 4; i++) await primary.query('checkpoint');
    const h = await health(['--checkpoints-min', '4']);
    expect(h.lines.get('checkpoints'), show(h)).toMatch(/^WARN \d+ timed, \d+ requested, last \d+ s ago; .*; most checkpoints are requested: max_wal_size is small for the write rate$/);
    const [timed, requested] = /^WARN (\d+) timed, (\d+) requested/.exec(h.lines.get('checkpoints')!)!.slice(1).map(Number);
    expect(requested!).toBeGreaterThan(timed!);
    expect(requested!).toBeGreaterThanOrEqual(4);
  });

  test('autovacuum turned off: WARN says so', async () => {
    await primary.query('alter system set autovacuum = off');
    await primary.query('select pg_reload_conf()');
    try {
      await pollQueryUntil(primary, "select current_setting('autovacuum')", 'off', { timeoutMs: 10_000 });
      const h = await health();
      expect(h.lines.get('autovacuum'), show(h)).toMatch(/^WARN \d+ of \d+ workers busy.*; oldest datfrozenxid \d+ transactions old; autovacuum is off$/);
    } finally {
      await primary.query('alter system reset autovacuum');
      await primary.query('select pg_reload_conf()');
    }
  });

  test('PgBouncer: a client waiting for the pool\'s only server connection is WARN with how long it waited', async () => {
    const env = { PLATFORM_HEALTH_PGBOUNCER: 'pgbouncer:6432' };
    const address = await pgbouncer.address(6432);
    await using holder = await connect(address, { password: pg1.password });
    await using waiter = await connect(address, { password: pg1.password });
    // Transaction pooling, one server connection: an open transaction keeps it, the next client queues.
    await holder.query('begin');
    await holder.query('select 1');
    const waiting = waiter.query('select 1');
    try {
      const h = await pollUntil('platform-health to see a client waiting a second', () => health([], env, ['pgbouncer']), (r) => r.lines.get('pgbouncer')?.startsWith('WARN') ?? false, { timeoutMs: 20_000, intervalMs: 200 });
      expect(h.lines.get('pgbouncer'), show(h)).toMatch(/^WARN 1 pools: \d+ clients active, 1 waiting \(longest [1-4]\.\d s\); servers 1 active, 0 idle$/);
      expect(h.status).toBe(1);
    } finally {
      await holder.query('commit');
      await waiting;
    }
    const after = await health([], env, ['pgbouncer']);
    expect(after.lines.get('pgbouncer'), show(after)).toMatch(/^OK 1 pools: \d+ clients active, 0 waiting \(longest 0\.0 s\); servers 0 active, 1 idle$/);
  });
});
