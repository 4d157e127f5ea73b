// Executable spec of curriculum/08-routing/lab.md: the steps in order, and what the page claims about
// routing, checked through HAProxy's published ports and statistics, and measured with the writer probe.
import { expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import {
  checkWriterLedger, connect, keepLedger, parseWriterVerdict, useLab, verdictDiffers, writesPerSecond,
} from '../harness/index.ts';

const lab = useLab('08-routing');
const cluster = lab.patroni();

// The check timing of the two primary listeners (environments/config/haproxy.cfg).
const FAST = { listener: 'primary', port: 5000, interS: 1, fall: 2, rise: 1 };
const SLOW = { listener: 'primary_slow', port: 5003, interS: 3, fall: 3, rise: 2 };
// The page's two writers: through 5000 with the default ledger, through 5003 with WRITER_DIR.
const LEDGERS = { [FAST.listener]: '/tmp/writer', [SLOW.listener]: '/tmp/writer-slow' };

let password = '';
// inet_server_addr() of each node, from `getent hosts` in the roles step.
const addressOf = new Map<string, string>();
let leader = '';
let replicas: string[] = [];

// One row of HAProxy's statistics CSV, keyed by its header's column names.
type StatsRow = Record<string, string>;

// HAProxy's statistics as CSV, through the published port 7000 (what `curl haproxy:7000/;csv` shows).
async function haproxyStats(): Promise<StatsRow[]> {
  const { host, port } = await statsAddress;
  const response = await fetch(`http://${host}:${port}/;csv`, { signal: AbortSignal.timeout(2000) });
  if (!response.ok) throw new Error(`GET http://${host}:${port}/;csv: HTTP ${response.status}`);
  const [header, ...lines] = (await response.text()).trim().split('\n');
  const names = header!.replace(/^# /, '').split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [names[i]!, value])));
}
let statsAddress: Promise<{ host: string; port: number }>;

function server(rows: StatsRow[], listener: string, node: string): StatsRow {
  const row = rows.find((r) => r.pxname === listener && r.svname === node);
  if (!row) throw new Error(`HAProxy statistics have no server ${listener}/${node}: ${rows.map((r) => `${r.pxname}/${r.svname}`).join(', ')}`);
  return row;
}
// HAProxy says `UP`, `UP 1/2` (failing, not yet down), `DOWN`, `DOWN 1/2` (passing, not yet up).
const isUp = (row: StatsRow) => row.status!.startsWith('UP');
const upIn = (rows: StatsRow[], listener: string) => rows.filter((r) => r.pxname === listener && /^pg\d$/.test(r.svname!) && isUp(r)).map((r) => r.svname!);

// The rows of the lab's `stats` function (pxname,svname,scur,status,check_status,check_code).
function statsLines(output: string): string[][] {
  return output.split('\n').filter((line) => /^[a-z_]+,pg\d,/.test(line)).map((line) => line.split(','));
}

// A connection through one of HAProxy's published listener ports, with the run's password.
async function throughHaproxy(port: number): Promise<pg.Client & AsyncDisposable> {
  return connect(await lab.address('haproxy', port), { password });
}

async function serverOf(client: pg.Client): Promise<{ address: string; inRecovery: boolean }> {
  const { rows } = await client.query<{ a: string; r: boolean }>('select host(inet_server_addr()) as a, pg_is_in_recovery() as r');
  return { address: rows[0]!.a, inRecovery: rows[0]!.r };
}

// The output a background step has written so far (its log in the run's folder).
function backgroundOutput(terminal: string, id: string): string {
  const job = lab.terminal(terminal).backgroundJobs().find((j) => j.id === id);
  if (!job) throw new Error(`Background step \`${id}\` is not running in terminal \`${terminal}\``);
  try {
    return readFileSync(job.logFile, 'utf8');
  } catch {
    return '';
  }
}


test('each listener routes by the Patroni REST check it asks', async () => {
  await lab.run('up');
  statsAddress = lab.address('haproxy', 7000);
  password = lab.credentials.password;
  const state = await cluster.waitForLeader({ replicas: 2, timeoutMs: 60_000 });

  const { output: roles } = await lab.run('roles');
  for (const [, address, node] of roles.matchAll(/^(\d+\.\d+\.\d+\.\d+)\s+(pg\d)$/gm)) addressOf.set(node!, address!);
  expect([...addressOf.keys()].sort()).toEqual(['pg1', 'pg2', 'pg3']);
  leader = /^leader: (pg\d), replicas: (pg\d) (pg\d)$/m.exec(roles)![1]!;
  replicas = state.members.filter((m) => m.role !== 'leader').map((m) => m.name).sort();
  expect(leader).toBe(state.members.find((m) => m.role === 'leader')!.name);

  // The REST answers: 200 on /primary from the leader alone, on /replica from the replicas alone.
  const { output: checks } = await lab.run('rest-checks');
  const codes = new Map([...checks.matchAll(/^http:\/\/(pg\d):8008(\/\S+) (\d{3})$/gm)].map((m) => [`${m[1]}${m[2]}`, m[3]]));
  for (const node of ['pg1', 'pg2', 'pg3']) {
    const isLeader = node === leader;
    expect(codes.get(`${node}/primary`), `${node} GET /primary`).toBe(isLeader ? '200' : '503');
    expect(codes.get(`${node}/replica`), `${node} GET /replica`).toBe(isLeader ? '503' : '200');
    expect(codes.get(`${node}/replica?lag=1MB`), `${node} GET /replica?lag=1MB`).toBe(isLeader ? '503' : '200');
  }

  // Each listener's server, by address: the leader behind 5000 and 5003, replicas behind 5001 and 5002.
  const { output: endpoints } = await lab.run('endpoints');
  const landed = [...endpoints.matchAll(/^(\d{4})\|([\d.]+)\|([tf])$/gm)].map((m) => ({ port: Number(m[1]), address: m[2]!, inRecovery: m[3] === 't' }));
  expect(landed.map((l) => l.port)).toEqual([5000, 5001, 5001, 5002, 5003]);
  for (const { port, address, inRecovery } of landed) {
    const expected = port === 5000 || port === 5003 ? [leader] : replicas;
    expect(expected.map((n) => addressOf.get(n)), `port ${port} landed on ${address}`).toContain(address);
    expect(inRecovery, `port ${port}: pg_is_in_recovery()`).toBe(port === 5001 || port === 5002);
  }

  const { output: before } = await lab.run('stats-before');
  for (const [listener, node, , status, checkStatus] of statsLines(before)) {
    const shouldBeUp = listener!.startsWith('primary') ? node === leader : node !== leader;
    // check_status carries a `* ` prefix while a check is in progress.
    expect(`${listener}/${node} ${status} ${checkStatus!.replace(/^\* /, '')}`).toBe(`${listener}/${node} ${shouldBeUp ? 'UP L7OK' : 'DOWN L7STS'}`);
  }
  await lab.run('orders');
});

test('a replica whose replay lags more than 1 MB leaves the replicas_lag listener and comes back', async () => {
  const [replica, other] = replicas as [string, string];
  await lab.run('pause-patroni');
  const started = Date.now();
  const { output } = await lab.run('lag');
  lab.measure('lag.marked_down_s', (Date.now() - started) / 1000, 's', 'replay paused and 3 MB written until HAProxy marked the replica DOWN behind replicas_lag (GET /replica?lag=1MB)');
  const rows = await haproxyStats();
  expect(server(rows, 'replicas_lag', replica).status).toBe('DOWN');
  expect(server(rows, 'replicas', replica).status).toBe('UP');
  expect(server(rows, 'replicas_lag', other).status).toBe('UP');
  // The bytes it had not replayed, from pg_stat_replication on the leader: past the 1 MB limit.
  const behind = new Map([...output.matchAll(/^(pg\d)\|(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  expect(behind.get(replica)).toBeGreaterThan(1024 * 1024);
  lab.measure('lag.replay_behind_bytes', behind.get(replica)!, 'bytes', 'WAL the paused replica had not replayed when it left replicas_lag');

  // Read your writes: both replicas paused, the committed row is missing behind 5001, present on 5000.
  await lab.run('read-your-writes');
  const waitStarted = Date.now();
  await lab.run('wait-for-lsn');
  lab.measure('read_your_writes.wait_for_lsn_s', (Date.now() - waitStarted) / 1000, 's', 'replay resumed on both replicas until a session on 5001 saw pg_last_wal_replay_lsn() pass the commit (step duration)');
  const backStarted = Date.now();
  await lab.run('resume-patroni');
  lab.measure('lag.back_up_s', (Date.now() - backStarted) / 1000, 's', 'until HAProxy marked the caught-up replica UP in replicas_lag again, plus patronictl resume --wait');
  expect(server(await haproxyStats(), 'replicas_lag', replica).status).toBe('UP');
  expect((await cluster.cluster()).pause ?? false).toBe(false);
});

test('libpq multi-host strings pick the server by target_session_attrs', async () => {
  const { output } = await lab.run('libpq');
  const readWrite = /^read-write\|([\d.]+)\|f$/m.exec(output)?.[1];
  const preferStandby = /^prefer-standby\|([\d.]+)\|t$/m.exec(output)?.[1];
  expect(readWrite).toBe(addressOf.get(leader));
  expect(replicas.map((n) => addressOf.get(n))).toContain(preferStandby);
  await lab.run('load-balance');
});

test('on a frozen leader, fast checks with shutdown-sessions close held sessions and route writes sooner than slow checks', async () => {
  const old = leader;
  const oldAddress = addressOf.get(old)!;
  await lab.run('held');
  await lab.run('held-slow');
  await lab.run('reconnect');
  // The page: "Wait until each of the three terminals shows a first line."
  await lab.poll('the held, held-slow and reconnect steps to print their first line',
    () => [backgroundOutput('held', 'held'), backgroundOutput('held-slow', 'held-slow'), backgroundOutput('reconnect', 'reconnect')],
    (outputs) => outputs.every((o) => o.includes('\n')), { timeoutMs: 30_000 });

  await lab.run('writers-start');

  // Sessions held by the spec through each listener, on the old leader.
  const heldFast = await throughHaproxy(FAST.port);
  const heldSlow = await throughHaproxy(SLOW.port);
  expect((await serverOf(heldFast)).address).toBe(oldAddress);
  expect((await serverOf(heldSlow)).address).toBe(oldAddress);

  // A query in flight on each held session when the leader dies.
  const heldFastEnded = heldFast.query('select pg_sleep(600)').then(() => ({ at: Date.now(), error: 'answered' }), (error: Error) => ({ at: Date.now(), error: error.message }));
  let heldSlowEnded: { at: number; error: string } | undefined;
  void heldSlow.query('select pg_sleep(600)').then(() => (heldSlowEnded = { at: Date.now(), error: 'answered' }), (error: Error) => (heldSlowEnded = { at: Date.now(), error: error.message }));
  // The freeze takes effect when the step ends (it retries while the kernel's freezer fails).
  const frozenAt = Date.parse((await lab.run('freeze-leader')).endedAt);

  // Watch HAProxy's statistics: when each listener marks the old leader down and a new one up.
  const marks: Record<string, number> = {};
  // Asked of the other nodes only: the frozen one would hold every poll for its request timeout.
  const others = lab.patroni(['pg1', 'pg2', 'pg3'].filter((n) => n !== old));
  const newLeaderAt = others.waitForLeader({ not: old, timeoutMs: 90_000 }).then(() => Date.now());
  const watched = lab.poll('both primary listeners to route to a new leader', async () => {
    const rows = await haproxyStats();
    for (const { listener } of [FAST, SLOW]) {
      if (!marks[`${listener}.down`] && !isUp(server(rows, listener, old))) marks[`${listener}.down`] = Date.now();
      if (!marks[`${listener}.up`] && upIn(rows, listener).some((n) => n !== old)) marks[`${listener}.up`] = Date.now();
    }
    return marks;
  }, (m) => Object.keys(m).length === 4, { timeoutMs: 120_000, intervalMs: 100 });

  const { output: routed } = await lab.run('routed-again');
  await watched;
  const promotedAt = await newLeaderAt;
  leader = /^new leader: (pg\d)$/m.exec(routed)![1]!;
  expect(leader).not.toBe(old);
  expect((await others.leader())?.name).toBe(leader);

  const { output: log } = await lab.run('haproxy-log');
  expect(log).toContain(`Server primary/${old} is DOWN`);
  expect(log).toContain(`Server primary_slow/${old} is DOWN`);
  expect(log).toContain(`Server primary_slow/${leader} is UP`);
  expect(log).toContain(`Server primary/${leader} is UP`);

  // The page's writers: stopped once each wrote on the new leader, their verdicts printed; the spec
  // reads the same two ledgers and checks each verdict against them and the new primary.
  await lab.run('writers-stop');
  const [fastPrinted, slowPrinted] = (await lab.run('writers-verdict')).output.split('through 5003:').map(parseWriterVerdict) as [Map<string, string>, Map<string, string>];
  const ledgers = await Promise.all([FAST, SLOW].map(async ({ listener }, i) => {
    const { run, result } = await lab.writerLedger('client', LEDGERS[listener]!);
    await using client = await throughHaproxy(FAST.port);
    const check = await checkWriterLedger(client, run, result);
    expect(verdictDiffers(i === 0 ? fastPrinted : slowPrinted, result, check), `the verdict through ${listener}`).toBeUndefined();
    return { result, check };
  }));
  const [fast, slow] = [ledgers[0]!.result, ledgers[1]!.result];
  const lost = ledgers.flatMap((l) => l.check.lost);
  keepLedger(lab.workDir, 'fast', fast, { frozenAt, promotedAt, ...marks });
  keepLedger(lab.workDir, 'slow', slow, { frozenAt, promotedAt, ...marks });

  const since = (at: number) => (at - frozenAt) / 1000;
  for (const { listener } of [FAST, SLOW]) {
    lab.measure(`${listener}.old_leader_down_s`, since(marks[`${listener}.down`]!), 's', `freeze of the leader until HAProxy marked it DOWN behind ${listener} (statistics polled every 100 ms)`);
    lab.measure(`${listener}.new_leader_up_s`, since(marks[`${listener}.up`]!), 's', `freeze of the leader until HAProxy marked the new leader UP behind ${listener}`);
    lab.measure(`${listener}.up_after_leader_s`, (marks[`${listener}.up`]! - promotedAt) / 1000, 's', `new leader in Patroni's GET /cluster until HAProxy marked it UP behind ${listener}`);
  }
  lab.measure('failover.time_to_new_leader_s', since(promotedAt), 's', 'freeze of the leader (docker compose pause) until a new leader in GET /cluster (polled every 200 ms)');
  lab.measure('primary.write_gap_s', fast.maxGapSeconds, 's', 'the page\'s writer through 5000 (inter 1s fall 2 rise 1, shutdown-sessions): largest interval between acknowledged writes');
  lab.measure('primary_slow.write_gap_s', slow.maxGapSeconds, 's', 'the page\'s writer through 5003 (inter 3s fall 3 rise 2, no shutdown-sessions): largest interval between acknowledged writes');
  lab.measure('failover.lost_writes', lost.length, 'writes', 'acknowledged through either listener, absent on the new leader');
  lab.measure('failover.in_doubt_writes', fast.inDoubt.length + slow.inDoubt.length, 'writes', 'connection lost during an insert, through either listener');
  lab.series({ ...writesPerSecond(fast, [{ at: frozenAt, label: `leader ${old} frozen` }, { at: promotedAt, label: `new leader ${leader}` }]), name: 'primary.writer.acknowledged_per_second' });
  lab.series({ ...writesPerSecond(slow, [{ at: frozenAt, label: `leader ${old} frozen` }, { at: promotedAt, label: `new leader ${leader}` }]), name: 'primary_slow.writer.acknowledged_per_second' });

  // Marking down takes `fall` failed checks: at least (fall - 1) intervals after the first one.
  // 2 every second beat 3 every 3 s.
  expect(since(marks[`${SLOW.listener}.down`]!)).toBeGreaterThan((SLOW.fall - 1) * SLOW.interS);
  expect(marks[`${FAST.listener}.down`]!).toBeLessThan(marks[`${SLOW.listener}.down`]!);
  // Marking up takes rise checks: rise 2 every 3 s is at least one interval after the first 200,
  // rise 1 every second is the next check. The 0.5 s is the slack of polling both sides.
  expect((marks[`${SLOW.listener}.up`]! - marks[`${FAST.listener}.up`]!) / 1000).toBeGreaterThan((SLOW.rise - 1) * SLOW.interS - FAST.interS - 0.5);
  // Writes through each listener resume when it routes to the new leader: the slow one later.
  expect(slow.maxGapSeconds).toBeGreaterThan(fast.maxGapSeconds + 1);
  expect(fast.timelines.length).toBe(2);
  expect(slow.timelines.length).toBe(2);

  // shutdown-sessions: the session held through 5000 was closed when its server was marked down;
  // the one through 5003 still waits for the dead node.
  const fastEnd = await heldFastEnded;
  expect(fastEnd.error).toMatch(/terminated|closed|ECONNRESET/i);
  // Closed when HAProxy marked the server down, not before (the frozen node closes nothing).
  expect(fastEnd.at).toBeGreaterThan(marks[`${FAST.listener}.down`]! - 1000);
  expect(fastEnd.at).toBeLessThan(marks[`${FAST.listener}.down`]! + 2000);
  lab.measure('primary.held_session_closed_s', since(fastEnd.at), 's', 'freeze of the leader until a session held through 5000 failed (HAProxy closed it: shutdown-sessions)');
  expect(heldSlowEnded, 'the session held through 5003 (no shutdown-sessions) must still be waiting').toBeUndefined();
  lab.measure('primary_slow.held_session_waiting_s', (Date.now() - frozenAt) / 1000, 's', 'a query sent through 5003 to the frozen leader, still unanswered when the spec gave up on it');
  heldSlow.end().catch(() => undefined);
  (heldSlow as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  await heldFast.end().catch(() => undefined);

  // What the page shows after the failover: the old leader DOWN in both listeners, still holding
  // sessions behind primary_slow (the held-slow step's and the spec's own at least).
  const after = statsLines(routed);
  const row = (listener: string, node: string) => after.find((r) => r[0] === listener && r[1] === node);
  expect(row('primary', old)?.[3]).toBe('DOWN');
  expect(row('primary_slow', old)?.[3]).toBe('DOWN');
  expect(Number(row('primary_slow', old)?.[2])).toBeGreaterThanOrEqual(2);
  expect(row('primary', leader)?.[3]).toBe('UP');

  // The client that kept one connection stopped with the lost connection; every answer it got was
  // the old leader's.
  const held = (await lab.wait('held')).output;
  const heldAnswers = [...held.matchAll(/^[\d:]+\|([\d.]+)\|([tf])$/gm)];
  expect(heldAnswers.length).toBeGreaterThan(0);
  expect(new Set(heldAnswers.map((m) => m[1]))).toEqual(new Set([oldAddress]));
  // The client that reconnects ended on the new leader.
  const reconnect = (await lab.wait('reconnect')).output;
  expect(/^\d\d:\d\d:\d\d ([\d.]+)\s*$/m.exec(reconnect.trim().split('\n').at(-1)!)?.[1]).toBe(addressOf.get(leader));
  expect(reconnect.split('\n').find((l) => /^\d\d:\d\d:\d\d [\d.]+$/.test(l))).toContain(oldAddress);
  // The session through 5003 never got an answer from anywhere else.
  const heldSlowOutput = (await lab.stop('held-slow')).output;
  expect(new Set([...heldSlowOutput.matchAll(/^[\d:]+\|([\d.]+)\|([tf])$/gm)].map((m) => m[1]))).toEqual(new Set([oldAddress]));

  const { output: libpq } = await lab.run('libpq-after');
  expect(libpq.trim()).toBe(`${addressOf.get(leader)}|f`);

  // The old leader wakes up with its lease expired. The page waits until its Patroni answers 503 on
  // /primary and both listeners have it DOWN; whether the primary listener (rise 1) marked it UP in
  // between, on a 200 answered before Patroni's next loop, is measured (seen on 17: 4.0).
  const markedUp = (log: string) => log.split('\n').filter((l) => l.includes(`Server primary/${old} is UP`) && !l.includes('WARNING')).length;
  const upBefore = markedUp(await lab.serverLog('haproxy'));
  await lab.run('unfreeze');
  expect(isUp(server(await haproxyStats(), FAST.listener, old))).toBe(false);
  lab.measure('unfreeze.old_leader_marked_up', markedUp(await lab.serverLog('haproxy')) - upBefore, 'times', 'the woken old leader marked UP again behind port 5000 before Patroni demoted it');
});

test('the environment is removed', async () => {
  await lab.run('down');
});
