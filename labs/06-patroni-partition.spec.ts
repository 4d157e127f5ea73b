// Executable spec of curriculum/06-patroni/lab-partition.md: the leader is cut off from etcd and its
// peers (docker network disconnect) while the client still reaches it. Patroni's safety property with
// failsafe_mode off: the old leader stops acknowledging writes before its key can expire, the majority
// elects a new leader, and the old one rejoins as a replica after the heal. Measured from the page's
// own writer ledger (the acknowledged writes and their timelines), from GET /cluster on the majority
// side, and from the times the page printed.
import { expect, test } from 'vitest';
import {
  keepLedger, leaderOf, type PrimaryConnector, onPrimary as onPrimaryNode,
  patroniDialect, printedFigure, useLab, writesPerSecond,
} from '../harness/index.ts';
import type pg from 'pg';

const lab = useLab('06-patroni-partition');
const dialect = patroniDialect(lab.major);
// The environment's timings (environments/config/patroni.yml); Patroni 4 raises ttl to 20.
const TIMING = { ttl: Math.max(10, dialect.ttlFloorSeconds ?? 0), loopWait: 2, retryTimeout: 4 };
// Writes still in flight to the replicas at the cut (the writer acknowledges ~40 a second; replication
// here lags by milliseconds): a write acknowledged this long before the cut must have reached them.
const IN_FLIGHT_MS = 1000;

let connector: PrimaryConnector;
let old: string;
let majority: string[];
let cutAt: number;
let newLeader: string;
let newLeaderAt: number;

// Runs queries on the current primary, found as the page's writer finds it (the three nodes, read-write).
const onPrimary = <T>(work: (client: pg.Client) => Promise<T>) => onPrimaryNode(connector, work, 60_000);

test('the cluster starts with one leader on timeline 1 and every node on the cluster network', async () => {
  await lab.run('up');
  const { output } = await lab.run('leader');
  const state = await lab.patroni().cluster();
  old = leaderOf(state)!;
  expect(old, `a leader in GET /cluster: ${JSON.stringify(state.members)}`).toBeDefined();
  expect(output).toContain(`leader: ${old}`);
  majority = ['pg1', 'pg2', 'pg3'].filter((n) => n !== old);
  connector = lab.patroni().primaryConnector(lab.credentials);
});

test('a leader cut off from etcd and its peers refuses writes before its key expires, and the majority elects a new leader', async () => {
  await lab.run('writer-start');
  // The majority side's own view, asked beside the page's wait, which it does not hold up.
  const onMajority = lab.patroni(majority);
  cutAt = Date.now();
  const elected = onMajority.waitForLeader({ not: old, timeoutMs: 120_000 }).then((state) => ({ state, at: Date.now() }));
  const cut = await lab.run('cut');
  const refusedAfter = printedFigure(cut.output, `${old} refuses writes`);
  const printedNewLeader = await lab.run('new-leader');
  const { state, at } = await elected;
  newLeader = leaderOf(state)!;
  newLeaderAt = at;
  expect(majority).toContain(newLeader);
  expect(printedNewLeader.output).toContain(`new leader ${newLeader}`);
  const newLeaderAfter = printedFigure(printedNewLeader.output, `new leader ${newLeader}`);
  const readOnly = await lab.run('old-read-only');
  const readOnlyAfter = printedFigure(readOnly.output, `${old} is read-only`);
  await lab.run('old-refuses');
  await lab.run('writer-new-leader');

  lab.measure('partition.cut_to_refusal_s', refusedAfter, 's', `what the page printed: from docker network disconnect until the old leader refused a read-write session (ttl ${TIMING.ttl} s, loop_wait ${TIMING.loopWait} s, retry_timeout ${TIMING.retryTimeout} s)`);
  lab.measure('partition.cut_to_new_leader_s', newLeaderAfter, 's', 'what the page printed: from the cut until etcd held another node as leader');
  lab.measure('partition.cut_to_new_leader_rest_s', (newLeaderAt - cutAt) / 1000, 's', 'from the start of the cut step until GET /cluster on the majority side showed a running new leader');
  lab.measure('partition.cut_to_read_only_s', readOnlyAfter, 's', 'what the page printed: from the cut until the old leader answered as a read-only replica (its shutdown waits for wal_sender_timeout)');
  // Patroni's promise: the old leader stops being a primary before its key can expire...
  expect(refusedAfter).toBeLessThan(TIMING.ttl);
  // ...and nobody else takes the key before it has.
  expect(newLeaderAfter).toBeGreaterThan(refusedAfter);
  expect((newLeaderAt - cutAt) / 1000).toBeGreaterThan(TIMING.ttl - TIMING.loopWait - 1);
});

test('after the heal the old leader rejoins on timeline 2, and the writes it acknowledged alone are lost', async () => {
  const healAt = Date.now();
  const heal = await lab.run('heal');
  const rejoinedAfter = printedFigure(heal.output, 'rejoined');
  // The page waited until one leader and two streaming replicas: the old leader is one of them.
  const state = await lab.patroni(majority).cluster();
  expect(leaderOf(state)).toBe(newLeader);
  const rejoined = state.members.find((m) => m.name === old);
  expect(rejoined, `${old} in GET /cluster: ${JSON.stringify(state.members)}`).toMatchObject({ role: 'replica', timeline: 2 });
  expect(dialect.streamingStates).toContain(rejoined!.state);

  const { result, ledger } = await lab.writerVerdict('verdict', onPrimary);
  keepLedger(lab.workDir, 'partition', result, { cutAt, newLeaderAt, healAt });
  const sides = await lab.run('sides');
  const oldSide = Number(/(\d+) acknowledged by the old leader/.exec(sides.output)?.[1]);
  const newSide = Number(/(\d+) by the new leader/.exec(sides.output)?.[1]);

  const onOld = result.acknowledged.filter((a) => a.timeline === 1);
  const onNew = result.acknowledged.filter((a) => a.timeline === 2);
  const lastOnOld = onOld.at(-1)!;
  const firstOnNew = onNew[0]!;
  const acknowledgedAt = new Map(result.acknowledged.map((a) => [a.id, a]));
  const lostWrites = ledger.lost.map((id) => acknowledgedAt.get(id)!);

  lab.measure('partition.last_old_leader_write_s', (lastOnOld.at - cutAt) / 1000, 's', "from the start of the cut step to the old leader's last acknowledged write (writer ledger)");
  lab.measure('partition.write_gap_s', result.maxGapSeconds, 's', "largest interval between acknowledged writes: the old leader's demotion until the new leader's first write");
  lab.measure('partition.lost_writes', ledger.lost.length, 'writes', 'acknowledged by the old leader and absent from the new leader after the heal');
  lab.measure('partition.old_leader_writes_after_cut', oldSide, 'writes', 'what the page counted: acknowledged on timeline 1 after the cut');
  lab.measure('partition.in_doubt_writes', result.inDoubt.length, 'writes');
  lab.measure('partition.heal_to_rejoin_s', rejoinedAfter, 's', 'what the page printed: from docker network connect until one leader and two streaming replicas');
  lab.series({
    ...writesPerSecond(result, [{ at: cutAt, label: `${old} cut off` }, { at: newLeaderAt, label: `new leader ${newLeader}` }, { at: healAt, label: 'partition healed' }]),
    name: 'partition.writer.acknowledged_per_second',
  });

  // No split brain: every write the old leader acknowledged came before the new leader's first one,
  // and before the old leader's key could expire.
  expect(result.timelines).toEqual([1, 2]);
  expect(lastOnOld.at).toBeLessThan(firstOnNew.at);
  expect(lastOnOld.at - cutAt).toBeLessThan(TIMING.ttl * 1000);
  // The gap the application saw is that interval: from the demotion to the new leader.
  expect(result.gap).toEqual({ from: lastOnOld.at, to: firstOnNew.at });
  // Asynchronous replication: what the old leader acknowledged after the cut reached no replica and
  // was rewound away; nothing acknowledged well before the cut was lost.
  expect(oldSide).toBeGreaterThan(0);
  expect(newSide).toBe(onNew.length);
  expect(ledger.lost.length).toBeGreaterThanOrEqual(oldSide);
  expect(lostWrites.every((a) => a.timeline === 1 && a.at >= cutAt - IN_FLIGHT_MS)).toBe(true);
});

test('the environment is removed', async () => {
  await connector?.close();
  await lab.run('down');
});
