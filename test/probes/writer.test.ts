import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { checkLedger, gapAcross, keepLedger, parseWriterVerdict, readWriterLedger, verdictDiffers, Writer, writesPerSecond, type WriterResult } from '../../harness/probes/writer.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// A stand-in server: it commits ids into `table`, and can fail in the ways a failover makes it fail.
function fakeServer() {
  const table = new Set<number>();
  let mode: 'ok' | 'down' | 'lose-answer' | 'read-only' = 'ok';
  let timeline = 1;
  const connect = async () => {
    if (mode === 'down') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return {
      on: () => undefined,
      end: async () => undefined,
      query: async (_sql: string, params: number[]) => {
        const id = params[0]!;
        if (mode === 'down') throw new Error('Connection terminated unexpectedly');
        if (mode === 'read-only') throw Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' });
        table.add(id);
        if (mode === 'lose-answer') throw new Error('Connection terminated unexpectedly');
        return { rows: [{ timeline, server: '172.18.0.3' }] };
      },
    } as unknown as pg.Client;
  };
  return { table, connect, set: (m: typeof mode) => { mode = m; }, promote: () => { timeline++; } };
}

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('the writer probe', () => {
  test('measures the largest gap between acknowledged writes, and the timelines it wrote on', async () => {
    const server = fakeServer();
    const writer = new Writer({ connect: server.connect, intervalMs: 2 }).start();
    await until(() => writer.acknowledgedCount >= 5);
    server.set('down');
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    server.promote();
    server.set('ok');
    const count = writer.acknowledgedCount;
    await until(() => writer.acknowledgedCount >= count + 5);
    const result = await writer.stop();
    expect(result.maxGapSeconds).toBeGreaterThanOrEqual(0.29);
    expect(result.gap!.from).toBeLessThanOrEqual(downAt);
    expect(result.timelines).toEqual([1, 2]);
    expect(result.failedAttempts).toBeGreaterThan(0);
  });

  test('a write whose answer was lost is in doubt; a write the server refused is not', async () => {
    const server = fakeServer();
    const writer = new Writer({ connect: server.connect, intervalMs: 2 }).start();
    await until(() => writer.acknowledgedCount >= 3);
    server.set('lose-answer');
    await until(() => (writer as unknown as { result: { inDoubt: number[] } }).result.inDoubt.length >= 1);
    server.set('read-only');
    await new Promise((r) => setTimeout(r, 30));
    server.set('ok');
    const count = writer.acknowledgedCount;
    await until(() => writer.acknowledgedCount >= count + 3);
    const result = await writer.stop();
    expect(result.inDoubt.length).toBeGreaterThanOrEqual(1);
    // The fake commits before losing the answer: every in-doubt write is in the table.
    const client = { query: async () => ({ rows: [...server.table].map((id) => ({ id: String(id) })) }) } as unknown as pg.Client;
    const check = await checkLedger(client, result);
    expect(check.lost).toEqual([]);
    expect(check.inDoubtCommitted).toEqual(result.inDoubt);
  });

  test('an acknowledged write missing on the new leader counts as lost', async () => {
    const server = fakeServer();
    const writer = new Writer({ connect: server.connect, intervalMs: 1 }).start();
    await until(() => writer.acknowledgedCount >= 10);
    const result = await writer.stop();
    const newLeader = [...server.table].filter((id) => id <= 7);
    const client = { query: async () => ({ rows: newLeader.map((id) => ({ id: String(id) })) }) } as unknown as pg.Client;
    const check = await checkLedger(client, result);
    expect(check.lost).toEqual(result.acknowledged.map((a) => a.id).filter((id) => id > 7));
    const series = writesPerSecond(result);
    expect(series.points.reduce((sum, [, n]) => sum + n, 0)).toBe(result.acknowledged.length);
  });
});

describe('the writer\'s ledger kept beside the report', () => {
  const acknowledged = [1000, 1100, 1200, 4200, 4300, 9300].map((at, i) => ({ id: i + 1, at, timeline: at < 4000 ? 1 : 2 }));
  const result = { acknowledged, inDoubt: [], errors: [], timelines: [1, 2], maxGapSeconds: 5, gap: { from: 4300, to: 9300 } } as unknown as WriterResult;

  test('the gap across an event is the largest interval between acknowledged writes that overlaps it', () => {
    expect(gapAcross(result, 1500, 2000)).toBe(3);
    expect(gapAcross(result, 5000, 6000)).toBe(5);
    expect(gapAcross(result, 9400, 9500)).toBe(0);
  });

  test('keepLedger writes the events, the count and the writes around the gap', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
    const file = keepLedger(dir, 'failover', result, { killedAt: 4250 });
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { events: Record<string, number>; acknowledgedCount: number; acknowledgedAroundGap: { id: number }[] };
    expect(path.basename(file)).toBe('writer-failover.json');
    expect(kept.events).toEqual({ killedAt: 4250 });
    expect(kept.acknowledgedCount).toBe(6);
    expect(kept.acknowledgedAroundGap.map((a) => a.id)).toEqual([4, 5, 6]);
  });
});

describe('the ledger of the image\'s writer command, read by a spec', () => {
  const ledger = [
    'ack 1 1700000000.000 1',
    'ack 2 1700000000.020 1',
    'doubt 3 1700000000.040',
    'error 1700000003.041 insert 3: server closed the connection unexpectedly',
    'error 1700000003.300 connect: connection to server at "pg2" (172.18.0.3), port 5432 failed: session is read-only',
    'ack 4 1700000009.540 2',
    'ack 5 1700000009.560 2',
    'ack 6 17000',
  ].join('\n');

  test('acknowledged writes with their time and timeline, in-doubt ids, errors, and the largest gap', () => {
    const result = readWriterLedger(ledger);
    expect(result.acknowledged).toEqual([
      { id: 1, at: 1700000000000, timeline: 1 }, { id: 2, at: 1700000000020, timeline: 1 },
      { id: 4, at: 1700000009540, timeline: 2 }, { id: 5, at: 1700000009560, timeline: 2 },
    ]);
    expect(result.inDoubt).toEqual([3]);
    expect(result.timelines).toEqual([1, 2]);
    expect(result.failedAttempts).toBe(2);
    expect(result.errors[0]).toEqual({ at: 1700000003041, message: 'insert 3: server closed the connection unexpectedly' });
    expect(result.maxGapSeconds).toBeCloseTo(9.52, 5);
    expect(result.gap).toEqual({ from: 1700000000020, to: 1700000009540 });
  });

  test('a record that is not one of the three names its line and what was expected', () => {
    expect(() => readWriterLedger('ack 1 1700000000.000 1\nack x 1 1\n', 'pg1:/tmp/writer/ledger')).toThrow(
      'pg1:/tmp/writer/ledger:2: expected `ack <id> <unix s> <timeline>`, `doubt <id> <unix s>` or `error <unix s> <message>`, found `ack x 1 1`');
  });
});

describe('the verdict `writer check` prints, against the ledger and the primary', () => {
  const result = readWriterLedger('ack 1 1700000000.000 1\nack 2 1700000000.020 1\ndoubt 3 1700000000.040\nack 4 1700000009.540 2\n');
  const printed = parseWriterVerdict('writer stopped: 3 acknowledged\r\nacknowledged: 3\nlost: 1\nlost ids: 2\nin doubt: 1 (committed: 0, not committed: 1)\nlargest gap: 9.5 s (after id 2)\ntimelines: 1 2\n');

  test('agrees when the counts are the same', () => {
    expect(printed.get('lost ids')).toBe('2');
    expect(verdictDiffers(printed, result, { lost: [2], inDoubtCommitted: [], inDoubtAbsent: [3] })).toBeUndefined();
  });

  test('names the first line that differs, with both values', () => {
    expect(verdictDiffers(printed, result, { lost: [], inDoubtCommitted: [], inDoubtAbsent: [3] }))
      .toBe('writer check printed `lost: 1`; the ledger and the primary say `lost: 0`');
    expect(verdictDiffers(parseWriterVerdict('acknowledged: 3\n'), result, { lost: [], inDoubtCommitted: [], inDoubtAbsent: [3] }))
      .toBe('writer check printed `lost: (no such line)`; the ledger and the primary say `lost: 0`');
  });
});
