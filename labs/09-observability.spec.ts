// Executable spec of curriculum/09-observability/lab.md: the quick test of each signal, then
// platform-health on a healthy platform, with a frozen replica, with a forgotten transaction, and
// around a switchover; detection times (problem injected to the script reporting it) go to the report.
import { expect, test } from 'vitest';
import { leaderOf, parsePgbenchLoad, queryValue, useLab } from '../harness/index.ts';

const lab = useLab('09-observability');
const cluster = lab.patroni();

// The thresholds the page gives platform-health (its defaults: 1 MiB and 60 s).
const LAB_LAG_BYTES_WARN = 262_144;
const LAB_XACT_SECONDS_WARN = 10;

type Verdict = 'OK' | 'WARN' | 'CRIT';
interface Health {
  signals: Map<string, { verdict: Verdict; text: string }>;
  overall: Verdict;
}

// The lines of one platform-health run: `<verdict> <signal> <text>`, then `platform-health: <overall> (…)`.
function parseHealth(output: string): Health {
  const signals = new Map<string, { verdict: Verdict; text: string }>();
  let overall: Verdict | undefined;
  for (const line of output.split('\n')) {
    const signal = /^(OK|WARN|CRIT) +(\S+) +(.*)$/.exec(line);
    if (signal) signals.set(signal[2]!, { verdict: signal[1] as Verdict, text: signal[3]! });
    const summary = /^platform-health: (OK|WARN|CRIT) \(/.exec(line);
    if (summary) overall = summary[1] as Verdict;
  }
  if (!overall) throw new Error(`platform-health printed no summary line (\`platform-health: <verdict> (…)\`); output:\n${output}`);
  return { signals, overall };
}

function signal(health: Health, name: string) {
  const found = health.signals.get(name);
  if (!found) throw new Error(`platform-health printed no \`${name}\` line; it printed: ${[...health.signals.keys()].join(', ')}`);
  return found;
}

// Per replica, from the replication line: `pg2 5.9 MB 0.0 s (streaming)`.
function replicaLag(text: string): Map<string, { bytes: number; state: string }> {
  const units: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
  const lags = new Map<string, { bytes: number; state: string }>();
  for (const m of text.matchAll(/(pg\d) ([0-9.]+) (B|kB|MB|GB|TB) [0-9.]+ s \(([^)]*)\)/g)) {
    lags.set(m[1]!, { bytes: Number(m[2]) * units[m[3]!]!, state: m[4]! });
  }
  return lags;
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

test('on a fresh platform every signal reads OK but pg_stat_statements, which says why it cannot be read', async () => {
  // `up --wait` returns once the client's readiness gate passed (a leader, two replicas streaming):
  // health-fresh's own patroni and replication lines say so.
  await lab.run('up');
  const health = parseHealth((await lab.run('health-fresh')).output);
  const statements = signal(health, 'statements');
  expect(statements.verdict).toBe('WARN');
  expect(statements.text).toContain('create extension pg_stat_statements');
  const notOk = [...health.signals].filter(([, s]) => s.verdict !== 'OK').map(([name]) => name);
  expect(notOk).toEqual(['statements']);
  expect(health.signals.size).toBe(11);
});

test('each signal has a quick test that agrees with Patroni, HAProxy and PgBouncer', async () => {
  await lab.run('prepare');
  const burst = (await lab.run('burst')).output;
  const processed = Number(/^number of transactions actually processed: (\d+)/m.exec(burst)![1]);
  await lab.run('connections');
  await lab.run('horizon');
  await lab.run('lag');
  await lab.run('checkpoints');
  await lab.run('autovacuum');
  await lab.run('statements');
  // Nothing moved the leader since `up`: Patroni's view now, read once.
  const state = await cluster.cluster();
  const leader = leaderOf(state)!;
  expect(leader, `a leader in GET /cluster: ${JSON.stringify(state.members)}`).toBeDefined();

  // /metrics of the leader says it is the primary, and names it.
  // (Patroni 3.0 labels metrics with the scope only, Patroni 4 adds the member's name: the version table says which.)
  const metrics = (await lab.run('patroni-metrics')).output;
  expect(metrics).toContain(lab.versions.patroni.metricsMemberLabel ? `patroni_primary{scope="workshop",name="${leader}"} 1` : 'patroni_primary{scope="workshop"} 1');

  // The burst went through PgBouncer: it counted at least every transaction pgbench made.
  const stats = (await lab.run('pgbouncer-stats')).output;
  const postgresXacts = /^database +\| postgres\ntotal_xact_count +\| (\d+)$/m.exec(stats);
  expect(postgresXacts, `SHOW STATS has a record for database postgres:\n${stats}`).not.toBeNull();
  expect(processed).toBeGreaterThan(0);
  expect(Number(postgresXacts![1])).toBeGreaterThanOrEqual(processed);

  // HAProxy: the leader alone behind `primary`, the two others behind `replicas`.
  const csv = (await lab.run('haproxy-stats')).output;
  const up = (listener: string) => [...csv.matchAll(new RegExp(`^${listener},(pg\\d),UP$`, 'gm'))].map((m) => m[1]).sort();
  expect(up('primary')).toEqual([leader]);
  expect(up('replicas')).toEqual(state.members.map((m) => m.name).filter((n) => n !== leader).sort());
});

test('on a healthy platform every verdict is OK and the exit status is 0', async () => {
  const health = parseHealth((await lab.run('health-ok')).output);
  expect(health.overall).toBe('OK');
  expect([...health.signals.values()].every((s) => s.verdict === 'OK')).toBe(true);
  expect(health.signals.size).toBe(11);
});

test('a frozen replica is reported as lagging; the checks pass again once it replays', async () => {
  await lab.run('load-terminal');
  await lab.run('load');
  const frozen = await lab.run('freeze-replica');
  const replica = /^frozen: (pg\d)$/m.exec(frozen.output)![1]!;
  const detected = await lab.run('detect-lag');
  const line = signal(parseHealth(detected.output), 'replication');
  const lags = replicaLag(line.text);
  // The verdict comes from the frozen replica, past the WARN threshold; the other keeps up.
  expect(lags.get(replica)?.bytes).toBeGreaterThanOrEqual(LAB_LAG_BYTES_WARN);
  for (const [name, lag] of lags) if (name !== replica) expect(lag.bytes, `${name} (not frozen)`).toBeLessThan(LAB_LAG_BYTES_WARN);
  lab.measure('detection.frozen_replica_s', seconds(frozen.endedAt, detected.endedAt), 's',
    `docker compose pause of a replica under pgbench load until platform-health --only replication --lag-bytes-warn ${LAB_LAG_BYTES_WARN} reports WARN/CRIT (polled every second, run time included)`);
  lab.measure('detection.frozen_replica_lag_bytes', lags.get(replica)!.bytes, 'bytes', 'replay lag of the frozen replica in the run that reported it');

  const whole = parseHealth((await lab.run('health-lag')).output);
  lab.measure('detection.frozen_replica_signals_not_ok', [...whole.signals.values()].filter((s) => s.verdict !== 'OK').length, 'signals',
    'signals not OK in the full run after the detection (replication, and depending on timing haproxy, patroni, xmin-horizon)');

  const thaw = await lab.run('thaw-replica');
  lab.measure('recovery.frozen_replica_s', thaw.durationMs / 1000, 's', 'docker compose unpause until patroni, haproxy and replication are OK again');
  const after = replicaLag(signal(parseHealth(thaw.output), 'replication').text);
  expect([...after.keys()].sort()).toHaveLength(2);
});

test('a forgotten idle-in-transaction session is named as the oldest transaction and the holder of the xmin horizon', async () => {
  await lab.run('app-psql');
  const forgotten = await lab.run('forget');
  const detected = await lab.run('detect-forgotten');
  const health = parseHealth(detected.output);
  // Independently of the script: the pid of the session named `forgotten`, on the leader.
  const leader = (await cluster.leader())!.name;
  let pid: string | null;
  {
    await using primary = await lab.connect(leader);
    pid = await queryValue(primary, "select pid from pg_stat_activity where application_name = 'forgotten'");
  }
  expect(pid).not.toBeNull();
  const long = signal(health, 'long-transactions');
  expect(long.verdict).toBe('WARN');
  expect(long.text).toContain(`pid ${pid} (idle in transaction, application forgotten)`);
  const openFor = Number(/oldest open for (\d+) s/.exec(long.text)![1]);
  expect(openFor).toBeGreaterThanOrEqual(LAB_XACT_SECONDS_WARN);
  expect(signal(health, 'xmin-horizon').text).toContain(`held by backend pid ${pid} `);
  lab.measure('detection.forgotten_transaction_s', seconds(forgotten.endedAt, detected.endedAt), 's',
    `an idle-in-transaction session (repeatable read, after a select) until platform-health reports long-transactions WARN at ${LAB_XACT_SECONDS_WARN} s (polled every second, run time included)`);
  lab.measure('detection.forgotten_transaction_xmin_age', Number(/oldest xmin (\d+) transactions old/.exec(signal(health, 'xmin-horizon').text)![1]), 'transactions',
    'age of the xmin held by the forgotten session when it was reported (grows with the write load)');
  await lab.run('rollback');
  await lab.run('horizon-free');
});

test('around a switchover the checks show a new leader on the next timeline, and pass again', async () => {
  const before = parseHealth((await lab.run('before-switchover')).output);
  // The page ends the write load before the switchover (and waits for it: waits=load), so its
  // clients are not cut off; it ran since Problem 1 without a failed transaction.
  expect((await lab.run('load-stop-switchover')).output).toMatch(/pgbench-load: (stopped 1 load|no load was running)/);
  const load = parsePgbenchLoad((await lab.wait('load', 30_000)).output);
  expect(load.summary).toMatchObject({ restarts: 0, failed: 0, last_exit: 0 });
  const from = /leader (pg\d) \(running\), timeline (\d+)/.exec(signal(before, 'patroni').text)!;
  const switched = await lab.run('switchover');
  const after = parseHealth(switched.output);
  expect(after.overall).toBe('OK');
  const to = /leader (pg\d) \(running\), timeline (\d+)/.exec(signal(after, 'patroni').text)!;
  expect(to[1]).not.toBe(from[1]);
  expect(Number(to[2])).toBe(Number(from[2]) + 1);
  // HAProxy's primary listener and the primary endpoint both reach the new leader.
  expect(signal(after, 'primary').text).toContain(`reaches ${to[1]},`);
  expect(signal(after, 'haproxy').text).toContain(`primary: 1 up (${to[1]})`);
  expect(leaderOf(await cluster.cluster())).toBe(to[1]);
  lab.measure('switchover.until_checks_pass_s', switched.durationMs / 1000, 's',
    'patronictl switchover until primary, patroni, haproxy and replication are all OK (polled every second)');
});

test('the environment is removed', async () => {
  // The load ended before the switchover: nothing is left to stop.
  expect((await lab.run('load-stop')).output).toContain('pgbench-load: no load was running');
  await lab.run('down');
});
