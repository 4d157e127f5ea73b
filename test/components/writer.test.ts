// The writer probe across a real failover: its ledger (acknowledged, lost and in-doubt writes, the
// largest gap, the timelines) is checked against what the old and the new primary hold.
// The attendee's ledger command (a later issue) gets its own `describe` here on the same scenario
// (support/failover.ts), its output compared with the same truth.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkLedger, connect, pollUntil, PrimaryConnector, prepareWrites, startWriter, stopWriterAfter, waitForReplay, type WriterResult } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';
import { cutReplication, heldWrites, killAndPromote, type Failover } from './support/failover.ts';

let cluster: Cluster;
let pg1: Node;
let pg2: Node;

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  pg2 = await cluster.replica('pg2', pg1);
});

afterAll(async () => {
  await cluster?.stop();
});

const ids = (set: Iterable<number>) => [...set].sort((a, b) => a - b);

describe('the writer probe through a primary killed mid-write and a promoted replica', () => {
  let result: WriterResult;
  let failover: Failover;
  let cutAt: number;
  let onOld: Set<number>;
  let onNew: Set<number>;
  let ledger: Awaited<ReturnType<typeof checkLedger>>;
  let addresses: { pg1: string; pg2: string };

  beforeAll(async () => {
    addresses = { pg1: await pg1.networkAddress(), pg2: await pg2.networkAddress() };
    const connector = new PrimaryConnector({ nodes: ['pg1', 'pg2'], resolve: (name) => (name === 'pg1' ? pg1 : pg2).address(), open: (address) => connect(address, { password: pg1.password }) });
    try {
      {
        await using primary = await pg1.connect();
        await prepareWrites(primary);
        await waitForReplay(primary, 'pg2');
      }
      const writer = await startWriter(connector, { baseline: 30, intervalMs: 10 });
      // Writes from here on are acknowledged by pg1 alone and never reach pg2: lost in the failover.
      {
        await using primary = await pg1.connect();
        await cutReplication(primary, pg2);
      }
      cutAt = Date.now();
      const before = writer.acknowledgedCount;
      await waitForCount(() => writer.acknowledgedCount, before + 20);
      failover = await killAndPromote(pg1, pg2);
      result = await stopWriterAfter(writer, failover.promotedAt, { afterMs: 1500, timeoutMs: 60_000 });
    } finally {
      await connector.close();
    }
    await using newPrimary = await pg2.connect();
    ledger = await checkLedger(newPrimary, result);
    onNew = await heldWrites(pg2);
    // pg1 comes back as it was (a primary on timeline 1, crash recovery done): what it committed.
    await pg1.start();
    onOld = await heldWrites(pg1);
    // The figures of this failover, for whoever reads the run.
    console.info(`writer probe: ${result.acknowledged.length} acknowledged, ${ledger.lost.length} lost, ${result.inDoubt.length} in doubt (${ledger.inDoubtCommitted.length} committed on the new primary), largest gap ${result.maxGapSeconds.toFixed(3)} s, kill to promotion ${((failover.promotedAt - failover.killStartedAt) / 1000).toFixed(3)} s, timelines ${result.timelines.join(',')}, ${result.failedAttempts} failed attempts`);
  });

  test('every acknowledged write was committed, and every row was a write the probe attempted', () => {
    const acknowledged = new Set(result.acknowledged.map((a) => a.id));
    const attempted = new Set([...acknowledged, ...result.inDoubt]);
    expect(result.acknowledged.length).toBeGreaterThan(50);
    expect(ids(acknowledged).filter((id) => !onOld.has(id) && !onNew.has(id)), 'acknowledged but on neither server').toEqual([]);
    expect(ids(new Set([...onOld, ...onNew])).filter((id) => !attempted.has(id)), 'on a server but neither acknowledged nor in doubt').toEqual([]);
    // Before the kill every write went to pg1.
    expect(result.acknowledged.filter((a) => a.at < failover.killStartedAt && !onOld.has(a.id)).map((a) => a.id)).toEqual([]);
  });

  test('lost: exactly the acknowledged writes that pg1 holds and the promoted pg2 does not', () => {
    const acknowledged = new Set(result.acknowledged.map((a) => a.id));
    const expected = ids(onOld).filter((id) => acknowledged.has(id) && !onNew.has(id));
    expect(ledger.lost).toEqual(expected);
    // Replication was cut before at least 20 acknowledged writes: they cannot be on pg2.
    expect(expected.length).toBeGreaterThanOrEqual(20);
    // None of them was acknowledged before the cut, or after the promotion.
    const at = new Map(result.acknowledged.map((a) => [a.id, a.at]));
    expect(expected.filter((id) => at.get(id)! < cutAt - 1000 || at.get(id)! > failover.killedAt)).toEqual([]);
  });

  test('in doubt: the writes whose outcome the probe never learned, split by what pg2 holds', () => {
    expect(ledger.inDoubtCommitted).toEqual(result.inDoubt.filter((id) => onNew.has(id)));
    expect(ledger.inDoubtAbsent).toEqual(result.inDoubt.filter((id) => !onNew.has(id)));
    // The writes in doubt were sent to pg1 as it was killed: after its last acknowledged write and
    // before pg2's first; pg2, cut off from pg1, can hold none of them.
    const lastOnOld = Math.max(...result.acknowledged.filter((a) => a.timeline === 1).map((a) => a.id));
    const firstOnNew = Math.min(...result.acknowledged.filter((a) => a.timeline !== 1).map((a) => a.id));
    for (const id of result.inDoubt) expect(id > lastOnOld && id < firstOnNew, `in-doubt write ${id} between ${lastOnOld} and ${firstOnNew}`).toBe(true);
    expect(ledger.inDoubtCommitted).toEqual([]);
  });

  test('the largest gap is the failover: from the last write before the kill to the first after the promotion', () => {
    const acks = result.acknowledged;
    let largest = 0;
    for (let i = 1; i < acks.length; i++) largest = Math.max(largest, acks[i]!.at - acks[i - 1]!.at);
    expect(result.maxGapSeconds).toBe(largest / 1000);
    expect(result.gap!.from).toBeLessThanOrEqual(failover.killedAt);
    expect(result.gap!.to).toBeGreaterThanOrEqual(failover.promotedAt - 1000);
    expect(result.maxGapSeconds * 1000).toBeGreaterThanOrEqual(failover.promotedAt - failover.killedAt - 1000);
  });

  test('timelines: 1 on pg1 before the kill, the promoted pg2\'s own afterwards', async () => {
    await using client = await pg2.connect();
    await client.query('checkpoint');
    const newTimeline = Number((await client.query<{ t: number }>('select timeline_id as t from pg_control_checkpoint()')).rows[0]!.t);
    expect(newTimeline).toBe(2);
    expect(result.timelines).toEqual([1, newTimeline]);
    // Each write on the timeline of the server that acknowledged it: pg1 until the kill, pg2 after the promotion.
    for (const ack of result.acknowledged) {
      const server = ack.timeline === 1 ? 'pg1' : 'pg2';
      expect({ id: ack.id, server: ack.server, on: server }).toEqual({ id: ack.id, server: addresses[server], on: server });
      if (ack.at < failover.killStartedAt) expect({ id: ack.id, timeline: ack.timeline }).toEqual({ id: ack.id, timeline: 1 });
      if (ack.at > failover.promotedAt) expect({ id: ack.id, timeline: ack.timeline }).toEqual({ id: ack.id, timeline: newTimeline });
    }
  });
});

async function waitForCount(count: () => number, target: number): Promise<void> {
  await pollUntil(`the writer probe to acknowledge ${target} writes`, count, (n) => n >= target, { timeoutMs: 30_000, intervalMs: 50 });
}
