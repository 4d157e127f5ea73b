// Executable spec of curriculum/06-patroni/lab-guardrails.md: nofailover tags, failsafe_mode,
// maximum_lag_on_failover and the timing triangle at Patroni's defaults, each held against what
// GET /cluster shows and what the page's writer acknowledged (its ledger, checked on the primary).
import { expect, test } from 'vitest';
import {
  keepLedger, leaderOf, type PrimaryConnector,
  onPrimary as onPrimaryNode, patroniDialect, useLab, writesPerSecond,
} from '../harness/index.ts';
import type pg from 'pg';

const lab = useLab('06-patroni-guardrails');
const cluster = lab.patroni();
const dialect = patroniDialect(lab.major);
// The environment's tuned timings (environments/config/patroni.yml); Patroni 4 raises ttl to 20.
const TUNED = { ttl: Math.max(10, dialect.ttlFloorSeconds ?? 0), loopWait: 2, retryTimeout: 4 };
// Patroni's defaults, set by the page with edit-config.
const DEFAULTS = { ttl: 30, loopWait: 10, retryTimeout: 10 };

let connector: PrimaryConnector;
let first: { leader: string; candidate: string; tagged: string };


// Runs queries on the current primary, found as the page's writer finds it (the three nodes, read-write).
const onPrimary = <T>(work: (client: pg.Client) => Promise<T>) => onPrimaryNode(connector, work, 60_000);

test('the cluster starts with one leader and two untagged replicas', async () => {
  const { output } = await lab.run('up');
  // `up --wait` returned once the client's readiness gate passed: one leader, two replicas streaming.
  const state = await cluster.cluster();
  const leader = leaderOf(state)!;
  expect(leader, `a leader in GET /cluster: ${JSON.stringify(state.members)}`).toBeDefined();
  const [candidate, tagged] = state.members.map((m) => m.name).filter((n) => n !== leader).sort();
  first = { leader, candidate: candidate!, tagged: tagged! };
  expect(output.trim()).toBe(`leader: ${leader}, replicas: ${candidate} ${tagged}`);
  await lab.run('helpers');
  connector = cluster.primaryConnector(lab.credentials);
});

test('with nofailover on both replicas a killed leader is not replaced until a tag is removed', async () => {
  await lab.run('tag-replicas');
  await lab.run('tagged');
  const tags = await cluster.get(first.leader, '/cluster');
  const tagged = (tags.body as { members: { name: string; tags?: { nofailover?: boolean } }[] }).members
    .filter((m) => m.tags?.nofailover).map((m) => m.name).sort();
  expect(tagged).toEqual([first.candidate, first.tagged]);

  const killedAt = Date.now();
  await lab.run('kill-leader');
  // Both replicas have decided, in their own logs, not to promote: the cluster has no leader.
  const state = await cluster.cluster();
  expect(leaderOf(state)).toBeUndefined();
  const { body } = await cluster.get(first.candidate, '/patroni');
  expect((body as { cluster_unlocked?: boolean }).cluster_unlocked).toBe(true);
  lab.measure('nofailover.kill_to_refusal_s', (Date.now() - killedAt) / 1000, 's',
    `docker compose kill of the leader until both tagged replicas logged "not allowed to promote" (ttl ${TUNED.ttl} s)`);

  const untaggedAt = Date.now();
  await lab.run('untag');
  // The step waited until the cluster was ready with two members (patroni-cluster-ready 2).
  expect(leaderOf(await cluster.cluster())).toBe(first.candidate);
  lab.measure('nofailover.untag_to_leader_s', (Date.now() - untaggedAt) / 1000, 's', 'tag removed and patronictl reload until the node leads with a replica streaming');
  await lab.run('rejoin');
});

test('with failsafe_mode the leader stays primary while etcd is gone', async () => {
  // The page's rejoin step waited until the cluster was ready with three members.
  const before = await cluster.cluster();
  expect(leaderOf(before)).toBe(first.candidate);
  await lab.run('writer-failsafe');
  const stoppedAt = Date.now();
  await lab.run('failsafe');
  const { body } = await cluster.get(leaderOf(before)!, '/patroni');
  expect((body as { failsafe_mode_is_active?: boolean }).failsafe_mode_is_active).toBe(true);
  lab.measure('failsafe.active_after_s', (Date.now() - stoppedAt) / 1000, 's', 'edit-config and docker compose stop of all etcd members until the leader reports failsafe_mode_is_active');
  await lab.run('etcd-back');
  const { result, ledger } = await lab.writerVerdict('writer-failsafe-verdict', onPrimary);
  keepLedger(lab.workDir, 'failsafe', result);
  lab.measure('failsafe.write_gap_s', result.maxGapSeconds, 's', 'largest interval between acknowledged writes while etcd was stopped and started again');
  lab.measure('failsafe.lost_writes', ledger.lost.length, 'writes');
  // The leader never demoted: one timeline, no gap anywhere near a demotion and a new election.
  expect(result.timelines.length).toBe(1);
  expect(result.maxGapSeconds).toBeLessThan(TUNED.retryTimeout);
  expect(ledger.lost).toEqual([]);
  // etcd-back waited until the cluster was ready again (patroni-cluster-ready 3).
  expect(leaderOf(await cluster.cluster())).toBe(leaderOf(before));
});

test('a replica beyond maximum_lag_on_failover does not lead; raising the limit promotes it and loses acknowledged writes', async () => {
  await lab.run('lag-limit');
  await lab.run('make-lag');
  const killedAt = Date.now();
  await lab.run('kill-with-lag');
  // The lagging node refused: still no leader after its refusal.
  expect(leaderOf(await cluster.cluster())).toBeUndefined();
  const refusedAt = Date.now();
  const raised = await lab.run('raise-lag-limit');
  // The step waited until the cluster was ready with two members, and named the new leader.
  const newLeaderAt = Date.parse(raised.endedAt);
  expect(leaderOf(await cluster.cluster())).toBe(first.leader);
  const { result, ledger } = await lab.writerVerdict('writer-max-lag-verdict', onPrimary);
  keepLedger(lab.workDir, 'max-lag', result, { killedAt, newLeaderAt });
  lab.measure('max_lag.kill_to_refusal_s', (refusedAt - killedAt) / 1000, 's', 'kill of the leader until the lagging replica logged "exceeds maximum replication lag"');
  lab.measure('max_lag.write_gap_s', result.maxGapSeconds, 's', 'largest interval between acknowledged writes: includes the decision to raise the limit');
  lab.measure('max_lag.lost_writes', ledger.lost.length, 'writes', 'acknowledged by the old leader, absent after the lagging replica was promoted');
  lab.measure('max_lag.in_doubt_writes', result.inDoubt.length, 'writes');
  lab.series({ ...writesPerSecond(result, [{ at: killedAt, label: 'leader killed' }, { at: newLeaderAt, label: `lagging ${first.leader} promoted` }]), name: 'max_lag.writer.acknowledged_per_second' });
  // Every write acknowledged while the new leader's WAL receiver was stopped is gone: raising the limit traded them.
  expect(ledger.lost.length).toBeGreaterThan(0);
  // The tagged replica had them, and was rewound to follow the new leader's timeline.
  expect(result.timelines.length).toBe(2);
});

test("with Patroni's defaults (ttl 30, loop_wait 10) a killed leader holds the cluster for 20 to 30 s and more", async () => {
  await lab.run('timing-tuned');
  await lab.run('patroni-defaults');
  // The leader was restarted by the page (rejoin): its REST port is looked up again after a refused request.
  const { body } = await lab.poll('GET /config on the leader', () => cluster.get(first.leader, '/config'), (r) => r.status === 200, { timeoutMs: 15_000 });
  expect(body).toMatchObject({ ttl: DEFAULTS.ttl, loop_wait: DEFAULTS.loopWait, retry_timeout: DEFAULTS.retryTimeout });
  const killedAt = Date.now();
  // Measured beside the page's own wait for a new leader key, which it does not hold up.
  const newLeader = cluster.waitForLeader({ not: first.leader, timeoutMs: 120_000 }).then((state) => ({ state, at: Date.now() }));
  const { output } = await lab.run('kill-defaults');
  const { state, at: newLeaderAt } = await newLeader;
  expect(leaderOf(state)).toBe(first.tagged);
  const { result, ledger } = await lab.writerVerdict('writer-defaults-verdict', onPrimary);
  keepLedger(lab.workDir, 'defaults', result, { killedAt, newLeaderAt });
  lab.measure('defaults.time_to_new_leader_s', (newLeaderAt - killedAt) / 1000, 's', `kill of the leader to a new leader in GET /cluster with ttl ${DEFAULTS.ttl}, loop_wait ${DEFAULTS.loopWait}, retry_timeout ${DEFAULTS.retryTimeout}`);
  lab.measure('defaults.write_gap_s', result.maxGapSeconds, 's', "largest interval between acknowledged writes across the hard kill at Patroni's defaults");
  lab.measure('defaults.lost_writes', ledger.lost.length, 'writes');
  lab.measure('defaults.in_doubt_writes', result.inDoubt.length, 'writes');
  lab.measure('defaults.page_seconds', Number(/after (\d+) s/.exec(output)?.[1]), 's', 'what the page printed: seconds from the kill to a new leader key');
  lab.series({ ...writesPerSecond(result, [{ at: killedAt, label: 'leader killed' }, { at: newLeaderAt, label: `new leader ${leaderOf(state)}` }]), name: 'defaults.writer.acknowledged_per_second' });
  // The lease had at least ttl - loop_wait left (the leader renews it every loop), less a loop's own time.
  expect(result.maxGapSeconds).toBeGreaterThan(DEFAULTS.ttl - DEFAULTS.loopWait - 2);
  // ...and at most ttl, plus a loop of the replica and the retries of its checks of the dead node.
  expect(result.maxGapSeconds).toBeLessThan(DEFAULTS.ttl + DEFAULTS.loopWait + DEFAULTS.retryTimeout);
});

test('the environment is removed', async () => {
  await connector?.close();
  await lab.run('down');
});
