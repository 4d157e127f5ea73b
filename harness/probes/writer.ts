// The writer probe: sequential inserts through the client's own path, as an application would write.
// Its ledger measures a failover from the client's side: the largest gap between successive
// acknowledged writes (not the harness clock around `docker kill`), acknowledged writes that the new
// leader lacks (lost), and writes whose COMMIT outcome the client never learned (in doubt).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Series } from '../report/model.ts';
import { pollUntil, withTimeout } from '../spec/wait.ts';

export const WRITES_TABLE = 'workshop_writes';
// Pause before reconnecting after a failed attempt: short against a failover's seconds.
const RETRY_PAUSE_MS = 50;

export interface AcknowledgedWrite {
  id: number;
  // Unix ms when the acknowledgement reached the client.
  at: number;
  // The timeline the writing server was on (from its current WAL file name).
  timeline: number;
  // The server's address on the environment's network (the image's `writer` ledger does not record it).
  server?: string;
}

export interface WriterOptions {
  // Opens a connection to wherever writes should go (HAProxy's primary port, a multi-host list…).
  connect: () => Promise<pg.Client>;
  // Pause between writes; 0 writes as fast as acknowledgements come.
  intervalMs?: number;
  // Give up one attempt (connect or insert) after this long.
  attemptTimeoutMs?: number;
}

export interface WriterResult {
  acknowledged: AcknowledgedWrite[];
  inDoubt: number[];
  failedAttempts: number;
  // Largest interval between successive acknowledged writes, with where it was.
  maxGapSeconds: number;
  gap: { from: number; to: number } | undefined;
  timelines: number[];
  errors: { at: number; message: string }[];
}

export interface LedgerCheck {
  lost: number[];
  inDoubtCommitted: number[];
  inDoubtAbsent: number[];
}

// Creates the probe's table (idempotent) on a writable server.
export async function prepareWrites(client: pg.Client): Promise<void> {
  await client.query(`create table if not exists ${WRITES_TABLE} (id bigint primary key, client_at timestamptz not null, server text not null default host(inet_server_addr()))`);
}

export class Writer {
  private readonly options: Required<WriterOptions>;
  private running = false;
  private loop: Promise<void> | undefined;
  private client: pg.Client | undefined;
  private nextId = 1;
  private readonly result: WriterResult = { acknowledged: [], inDoubt: [], failedAttempts: 0, maxGapSeconds: 0, gap: undefined, timelines: [], errors: [] };

  constructor(options: WriterOptions) {
    this.options = { intervalMs: 20, attemptTimeoutMs: 3000, ...options };
  }

  start(): this {
    if (this.running) throw new Error('The writer probe is already running');
    this.running = true;
    this.loop = this.run();
    return this;
  }

  get acknowledgedCount(): number {
    return this.result.acknowledged.length;
  }

  // Unix ms of the latest acknowledged write, for waits such as "writes flow again".
  get lastAcknowledgedAt(): number | undefined {
    return this.result.acknowledged.at(-1)?.at;
  }

  async stop(): Promise<WriterResult> {
    this.running = false;
    await this.loop;
    await this.client?.end().catch(() => undefined);
    const acks = this.result.acknowledged;
    for (let i = 1; i < acks.length; i++) {
      const gap = (acks[i]!.at - acks[i - 1]!.at) / 1000;
      if (gap > this.result.maxGapSeconds) {
        this.result.maxGapSeconds = gap;
        this.result.gap = { from: acks[i - 1]!.at, to: acks[i]!.at };
      }
    }
    this.result.timelines = [...new Set(acks.map((a) => a.timeline))];
    return this.result;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (!this.client) {
        try {
          this.client = await withTimeout(this.options.connect(), this.options.attemptTimeoutMs, 'connect');
          this.client.on('error', () => undefined);
        } catch (error) {
          this.fail(error);
          await pause(RETRY_PAUSE_MS);
          continue;
        }
      }
      const id = this.nextId++;
      try {
        const result = await withTimeout(this.client.query(
          `insert into ${WRITES_TABLE} (id, client_at) values ($1, now()) returning ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as timeline, host(inet_server_addr()) as server`,
          [id],
        ), this.options.attemptTimeoutMs, 'insert');
        const row = result.rows[0] as { timeline: number; server: string };
        this.result.acknowledged.push({ id, at: Date.now(), timeline: row.timeline, server: row.server });
      } catch (error) {
        // The statement was sent. A plain SQL error means it did not commit (a replica refusing the
        // write, 25006); a lost connection, a timeout or a shutdown (57P*, 08*) leaves the commit unknown.
        if (commitUnknown(error)) this.result.inDoubt.push(id);
        this.fail(error);
        await this.client.end().catch(() => undefined);
        this.client = undefined;
        // Back off as an application would, and let timers run.
        await pause(RETRY_PAUSE_MS);
        continue;
      }
      await pause(this.options.intervalMs);
    }
  }

  private fail(error: unknown) {
    this.result.failedAttempts++;
    if (this.result.errors.length < 200) this.result.errors.push({ at: Date.now(), message: error instanceof Error ? error.message : String(error) });
  }
}

// Compares the ledger with what the (new) leader holds.
export async function checkLedger(client: pg.Client, result: WriterResult): Promise<LedgerCheck> {
  const rows = await client.query<{ id: string }>(`select id from ${WRITES_TABLE}`);
  const present = new Set(rows.rows.map((r) => Number(r.id)));
  return {
    lost: result.acknowledged.filter((a) => !present.has(a.id)).map((a) => a.id),
    inDoubtCommitted: result.inDoubt.filter((id) => present.has(id)),
    inDoubtAbsent: result.inDoubt.filter((id) => !present.has(id)),
  };
}

// Acknowledged writes per second, for a plot around a failover.
export function writesPerSecond(result: WriterResult, marks: Series['marks'] = []): Series {
  const counts = new Map<number, number>();
  for (const ack of result.acknowledged) {
    const second = Math.floor(ack.at / 1000) * 1000;
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  const seconds = [...counts.keys()].sort((a, b) => a - b);
  const points: [number, number][] = [];
  if (seconds.length > 0) {
    for (let t = seconds[0]!; t <= seconds.at(-1)!; t += 1000) points.push([t, counts.get(t) ?? 0]);
  }
  const gapMarks = result.gap ? [{ at: result.gap.from, label: 'last write before the gap' }, { at: result.gap.to, label: 'first write after the gap' }] : [];
  return { name: 'writer.acknowledged_per_second', unit: 'writes/s', points, marks: [...(marks ?? []), ...gapMarks] };
}

function commitUnknown(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || code.length !== 5) return true;
  return code.startsWith('57P') || code.startsWith('08');
}

function pause(ms: number) {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}

// Where writes go: something that opens a connection to the node that accepts writes (PrimaryConnector).
export interface WritableNode {
  connect(): Promise<pg.Client>;
}

// Runs `work` on a fresh connection to the node that accepts writes, waiting up to `timeoutMs` for one.
export async function onPrimary<T>(node: WritableNode, work: (client: pg.Client) => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const client = await pollUntil('a node that accepts writes', () => node.connect(), () => true, { timeoutMs });
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// Empties the ledger table (ids start at 1 again), starts a writer and waits for `baseline` acknowledged writes.
export async function startWriter(node: WritableNode, { baseline = 20, intervalMs = 20, timeoutMs = 30_000 } = {}): Promise<Writer> {
  await onPrimary(node, (client) => client.query(`truncate ${WRITES_TABLE}`), timeoutMs);
  const writer = new Writer({ connect: () => node.connect(), intervalMs }).start();
  await pollUntil('the writer probe to have acknowledged writes', () => writer.acknowledgedCount, (n) => n >= baseline, { timeoutMs });
  return writer;
}

// Stops the writer once it has acknowledged writes for `afterMs` past `since` (unix ms): writes flow again.
export async function stopWriterAfter(writer: Writer, since: number, { afterMs = 2000, timeoutMs = 60_000 } = {}): Promise<WriterResult> {
  await pollUntil('acknowledged writes after the new leader', () => writer.lastAcknowledgedAt ?? 0, (at) => at > since + afterMs, { timeoutMs, intervalMs: 200 });
  return writer.stop();
}

// Keeps the writer's own record of an event beside the lab's report (`writer-<name>.json` in `dir`): its
// gap, errors and timelines, the acknowledged writes around the gap, and the instants of `events`.
export function keepLedger(dir: string, name: string, result: WriterResult, events: Record<string, number> = {}): string {
  const { acknowledged, ...rest } = result;
  const around = result.gap ? acknowledged.filter((a) => a.at >= result.gap!.from - 1000 && a.at <= result.gap!.to + 1000) : [];
  const file = path.join(dir, `writer-${name}.json`);
  writeFileSync(file, `${JSON.stringify({ events, acknowledgedCount: acknowledged.length, ...rest, acknowledgedAroundGap: around }, null, 2)}\n`);
  return file;
}

// The largest interval between successive acknowledged writes that overlaps [from, to] (unix ms), in seconds.
export function gapAcross(result: WriterResult, from: number, to: number): number {
  const times = result.acknowledged.map((a) => a.at).sort((a, b) => a - b);
  let largest = 0;
  for (let i = 1; i < times.length; i++) {
    if (times[i]! >= from && times[i - 1]! <= to) largest = Math.max(largest, times[i]! - times[i - 1]!);
  }
  return largest / 1000;
}

// The ledger of the image's `writer` command (environments/image/bin/writer, `/tmp/writer/ledger` in
// the container that ran `writer start`), read as the probe's result: the spec measures what the
// attendee's own writer recorded. Records: `ack <id> <unix s> <timeline>`, `doubt <id> <unix s>`,
// `error <unix s> <message>`; a last line without its newline is a record being written, left out.
export function readWriterLedger(text: string, source = 'writer ledger'): WriterResult {
  const result: WriterResult = { acknowledged: [], inDoubt: [], failedAttempts: 0, maxGapSeconds: 0, gap: undefined, timelines: [], errors: [] };
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop();
  lines.forEach((line, index) => {
    if (line === '') return;
    const [kind, a, b, ...rest] = line.split(' ');
    const bad = () => new Error(`${source}:${index + 1}: expected \`ack <id> <unix s> <timeline>\`, \`doubt <id> <unix s>\` or \`error <unix s> <message>\`, found \`${line}\``);
    if (kind === 'ack') {
      const [id, at, timeline] = [Number(a), Number(b) * 1000, Number(rest[0])];
      if (!Number.isInteger(id) || !Number.isFinite(at) || !Number.isInteger(timeline) || rest.length !== 1) throw bad();
      result.acknowledged.push({ id, at, timeline });
      if (!result.timelines.includes(timeline)) result.timelines.push(timeline);
    } else if (kind === 'doubt') {
      if (!Number.isInteger(Number(a)) || !Number.isFinite(Number(b))) throw bad();
      result.inDoubt.push(Number(a));
    } else if (kind === 'error') {
      if (!Number.isFinite(Number(a))) throw bad();
      result.failedAttempts++;
      result.errors.push({ at: Number(a) * 1000, message: [b, ...rest].join(' ') });
    } else {
      throw bad();
    }
  });
  for (let i = 1; i < result.acknowledged.length; i++) {
    const gap = (result.acknowledged[i]!.at - result.acknowledged[i - 1]!.at) / 1000;
    if (gap > result.maxGapSeconds) {
      result.maxGapSeconds = gap;
      result.gap = { from: result.acknowledged[i - 1]!.at, to: result.acknowledged[i]!.at };
    }
  }
  return result;
}

// The ledger of the image's writer compared with the rows of its run that `client` (the primary now) holds.
export async function checkWriterLedger(client: pg.Client, run: string, result: WriterResult): Promise<LedgerCheck> {
  const rows = await client.query<{ id: string }>('select id from writer_ledger where run = $1', [run]);
  const present = new Set(rows.rows.map((r) => Number(r.id)));
  return {
    lost: result.acknowledged.filter((a) => !present.has(a.id)).map((a) => a.id),
    inDoubtCommitted: result.inDoubt.filter((id) => present.has(id)),
    inDoubtAbsent: result.inDoubt.filter((id) => !present.has(id)),
  };
}

// The lines `writer check` printed (`acknowledged: 812`, `lost: 0`, …), by name.
export function parseWriterVerdict(output: string): Map<string, string> {
  const lines = output.split('\n').map((line) => /^(acknowledged|lost|lost ids|in doubt|largest gap|timelines): (.*)$/.exec(line.trimEnd()));
  return new Map(lines.filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
}

// Asserts that a verdict `writer check` printed says what the ledger and the primary say; returns
// the first difference as a sentence, or undefined when they agree.
export function verdictDiffers(printed: Map<string, string>, result: WriterResult, check: LedgerCheck): string | undefined {
  const expected: [string, string][] = [
    ['acknowledged', String(result.acknowledged.length)],
    ['lost', String(check.lost.length)],
    ['in doubt', `${result.inDoubt.length} (committed: ${check.inDoubtCommitted.length}, not committed: ${check.inDoubtAbsent.length})`],
    ['timelines', result.timelines.join(' ') || 'none'],
  ];
  for (const [name, value] of expected) {
    if (printed.get(name) !== value) return `writer check printed \`${name}: ${printed.get(name) ?? '(no such line)'}\`; the ledger and the primary say \`${name}: ${value}\``;
  }
  return undefined;
}
