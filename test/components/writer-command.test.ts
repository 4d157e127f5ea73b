// The attendee's `writer` (environments/image/bin/writer, in the image) against real PostgreSQL,
// run in a client container as a lab page runs it (`docker compose exec client writer …`): its
// messages and exit codes, its in-doubt and lost writes on one server, and its verdict through a real
// failover (support/failover.ts), compared with the truth: what the promoted primary holds and what
// the ledger says was acknowledged.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pollQueryUntil, pollUntil, waitForReplay } from '../../harness/index.ts';
import { environmentsDir } from '../../harness/paths.ts';
import { Cluster, componentsMajor, type Node } from './support/cluster.ts';
import { cutReplication, killAndPromote, type Failover } from './support/failover.ts';

const LEDGER_DIR = '/tmp/writer';
// What lab pages pass: both servers, libpq picking the one that accepts writes.
const BOTH = 'host=pg1,pg2 target_session_attrs=read-write';

interface Result {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// `writer …` in the client container, whatever its exit code (one trailing newline dropped).
async function writer(client: Node, ...args: string[]): Promise<Result> {
  const result = await client.container.exec(['writer', ...args]);
  const trim = (text: string) => text.replace(/\n$/, '');
  return { exitCode: result.exitCode, stdout: trim(result.stdout), stderr: trim(result.stderr) };
}

// `writer …` that must succeed; the failure shows command, exit code, stdout and stderr.
async function writerOk(client: Node, ...args: string[]): Promise<string> {
  const result = await writer(client, ...args);
  if (result.exitCode !== 0) throw new Error(`writer ${args.join(' ')} exited ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result.stdout;
}

// The count `writer status` reports.
async function acknowledged(client: Node): Promise<number> {
  const status = await writerOk(client, 'status');
  const match = /^acknowledged: (\d+)$/m.exec(status);
  if (!match) throw new Error(`writer status: no line "acknowledged: <n>" in:\n${status}`);
  return Number(match[1]);
}

// A client container whose image carries this worktree's writer: the image is built from
// environments/image, and a stale one would test an older tool.
async function clientWithCurrentWriter(cluster: Cluster, host: string): Promise<Node> {
  const client = await cluster.client('client', host);
  const file = path.join(environmentsDir, 'image', 'bin', 'writer');
  if ((await client.exec(['cat', '/usr/local/bin/writer'])) !== readFileSync(file, 'utf8')) {
    throw new Error(`${cluster.image}: /usr/local/bin/writer differs from ${file}; rebuild the image: flock /tmp/workshop-docker.lock npx workshop images --pg ${componentsMajor()}`);
  }
  return client;
}

interface Ledger {
  run: string;
  acks: { id: number; at: number; timeline: number }[];
  doubts: number[];
  errors: { at: number; text: string }[];
}

// The ledger the writer kept (records "ack <id> <unix s> <timeline>", "doubt <id> <unix s>",
// "error <unix s> <text>"), read as the truth of what the application was told.
async function readLedger(client: Node): Promise<Ledger> {
  const file = `${LEDGER_DIR}/ledger`;
  const { run } = JSON.parse(await client.exec(['cat', `${LEDGER_DIR}/run.json`])) as { run: string };
  const acks: Ledger['acks'] = [];
  const doubts: number[] = [];
  const errors: Ledger['errors'] = [];
  (await client.exec(['cat', file])).split('\n').forEach((line, index) => {
    const ack = /^ack (\d+) (\d+\.\d+) (\d+)$/.exec(line);
    const doubt = /^doubt (\d+) \d+\.\d+$/.exec(line);
    const error = /^error (\d+\.\d+) (.+)$/.exec(line);
    if (ack) acks.push({ id: Number(ack[1]), at: Number(ack[2]), timeline: Number(ack[3]) });
    else if (doubt) doubts.push(Number(doubt[1]));
    else if (error) errors.push({ at: Number(error[1]), text: error[2]! });
    else if (line !== '') throw new Error(`${file}:${index + 1}: expected an ack, doubt or error record, found ${JSON.stringify(line)}`);
  });
  return { run, acks, doubts, errors };
}

// The ids of run `run` that `node` holds.
async function heldIds(node: Node, run: string): Promise<Set<number>> {
  await using client = await pollUntil(`${node.name} to accept connections`, () => node.connect(), () => true, { timeoutMs: 60_000, intervalMs: 250 });
  const rows = await client.query<{ id: string }>('select id from writer_ledger where run = $1', [run]);
  return new Set(rows.rows.map((row) => Number(row.id)));
}

// "3-5 9" -> [3, 4, 5, 9]
function expandIds(text: string): number[] {
  return text.split(' ').flatMap((part) => {
    const [from, to] = part.split('-').map(Number) as [number, number?];
    return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
  });
}

interface Truth {
  lost: number[];
  inDoubtCommitted: number;
  gap: { seconds: number; afterId: number };
  timelines: number[];
}

// The verdict computed from the ledger and the ids the current primary holds.
function truth(ledger: Ledger, held: Set<number>): Truth {
  let gap = { seconds: 0, afterId: 0 };
  ledger.acks.slice(1).forEach((ack, i) => {
    const before = ledger.acks[i]!;
    if (ack.at - before.at > gap.seconds) gap = { seconds: ack.at - before.at, afterId: before.id };
  });
  return {
    lost: ledger.acks.map((a) => a.id).filter((id) => !held.has(id)),
    inDoubtCommitted: ledger.doubts.filter((id) => held.has(id)).length,
    gap,
    timelines: [...new Set(ledger.acks.map((a) => a.timeline))],
  };
}

const GAP = 'largest gap: <seconds> s (after id <id>)';
const IDS = 'lost ids: <ids>';

// `writer check`'s lines, each compared with the truth (the gap to the printed 0.1 s).
function expectVerdict(output: string, ledger: Ledger, expected: Truth, server: string) {
  const expectedLines = [
    `acknowledged: ${ledger.acks.length}`,
    `lost: ${expected.lost.length}`,
    ...(expected.lost.length > 0 ? [IDS] : []),
    `in doubt: ${ledger.doubts.length} (committed: ${expected.inDoubtCommitted}, not committed: ${ledger.doubts.length - expected.inDoubtCommitted})`,
    GAP,
    `timelines: ${expected.timelines.join(' ')}`,
    `checked against: ${server}`,
  ];
  // The two lines with values of their own become placeholders when their form is right.
  const forms = new Map([[GAP, /^largest gap: (\d+\.\d) s \(after id (\d+)\)$/], [IDS, /^lost ids: ([\d -]+)$/]]);
  const values = new Map<string, RegExpExecArray>();
  const lines = output.split('\n').map((line, i) => {
    const match = forms.get(expectedLines[i] ?? '')?.exec(line);
    if (!match) return line;
    values.set(expectedLines[i]!, match);
    return expectedLines[i]!;
  });
  expect(lines, output).toEqual(expectedLines);
  if (expected.lost.length > 0) expect(expandIds(values.get(IDS)![1]!), 'lost ids').toEqual(expected.lost);
  const [, seconds, afterId] = values.get(GAP)!;
  expect(Math.abs(Number(seconds) - expected.gap.seconds), `largest gap ${seconds} s, from the ledger ${expected.gap.seconds} s`).toBeLessThanOrEqual(0.05 + 1e-6);
  expect(Number(afterId), 'the id before the largest gap').toBe(expected.gap.afterId);
}

describe('writer on one server', () => {
  let cluster: Cluster;
  let pg1: Node;
  let client: Node;

  beforeAll(async () => {
    cluster = await Cluster.create();
    pg1 = await cluster.primary('pg1');
    client = await clientWithCurrentWriter(cluster, 'pg1');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('without a ledger, status, stop and check say how to start one', async () => {
    for (const command of ['status', 'stop', 'check']) {
      expect(await writer(client, command)).toEqual({ exitCode: 2, stdout: '', stderr: `writer: no ledger in ${LEDGER_DIR}: start one with \`writer start\`` });
    }
  });

  test('a writer that cannot reach a server fails to start and says why', async () => {
    const result = await writer(client, 'start', 'host=127.0.0.1 port=1', '--connect-timeout', '1');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^writer: cannot create table writer_ledger through "host=127.0.0.1 port=1": .*refused/);
    expect((await writer(client, 'status')).exitCode, 'no ledger was begun').toBe(2);
  });

  test('counts acknowledged writes, settles the in-doubt ones and names the lost ones', async () => {
    // No conninfo: the client's PG* variables (PGHOST=pg1), as on a lab page.
    expect(await writerOk(client, 'start')).toMatch(/^writer started: run \S+, pid \d+, ledger \/tmp\/writer\/ledger$/);
    expect(await writer(client, 'start')).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^writer: already running \(pid \d+\): `writer stop` first$/) });

    // Connections ended under the writer: the INSERT it sends next has an unknown outcome.
    {
      await using primary = await pg1.connect();
      for (let i = 0; i < 2; i++) {
        const before = await acknowledged(client);
        await pollQueryUntil(primary, `select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'writer') ended`, '1', { timeoutMs: 10_000 });
        await pollUntil('the writer to write again after its connection ended', () => acknowledged(client), (n) => n > before + 5, { timeoutMs: 20_000, intervalMs: 200 });
      }
    }
    const status = await writerOk(client, 'status');
    expect(status).toMatch(/^running: yes\nrun: \S+\nacknowledged: \d+\nlast acknowledged: \d+\.\d s ago\ntimelines: 1\nin doubt: 2\nerrors: 2\nlast error: insert \d+: .+$/);

    // Acknowledged writes that the server no longer holds are what a failover without them loses.
    const { run } = await readLedger(client);
    {
      await using primary = await pg1.connect();
      const deleted = await primary.query(`delete from writer_ledger where run = $1 and id in (3, 4, 5, 9)`, [run]);
      expect(deleted.rowCount).toBe(4);
    }

    const stopped = await writerOk(client, 'stop');
    expect(await writerOk(client, 'status')).toMatch(/^running: no\n/);
    const ledger = await readLedger(client);
    expect(stopped).toBe(`writer stopped: ${ledger.acks.length} acknowledged`);
    const held = await heldIds(pg1, run);
    const expected = truth(ledger, held);
    expect(expected.lost).toEqual([3, 4, 5, 9]);
    // Both in-doubt INSERTs met a closed connection before reaching the server: not committed.
    expect(expected.inDoubtCommitted).toBe(0);
    expect(expected.timelines).toEqual([1]);
    expectVerdict(await writerOk(client, 'check'), ledger, expected, 'pg1:5432 (timeline 1)');
    expect(await writer(client, 'stop')).toEqual({ exitCode: 0, stdout: 'writer: not running', stderr: '' });
  });

  test('a new start begins a new ledger: nothing of the earlier run counts', async () => {
    const earlier = await readLedger(client);
    await writerOk(client, 'start', 'host=pg1');
    await pollUntil('ten writes of the new run', () => acknowledged(client), (n) => n >= 10, { timeoutMs: 20_000, intervalMs: 200 });
    await writerOk(client, 'stop');
    const ledger = await readLedger(client);
    expect(ledger.run).not.toBe(earlier.run);
    expect(ledger.acks[0]!.id).toBe(1);
    const expected = truth(ledger, await heldIds(pg1, ledger.run));
    expect(expected.lost).toEqual([]);
    expectVerdict(await writerOk(client, 'check'), ledger, expected, 'pg1:5432 (timeline 1)');
  });
});

// The writer on "host=pg1,pg2 target_session_attrs=read-write" through pg1's `docker kill` and pg2's
// promotion; returns the failover's times once the writer has written `after` times on pg2.
async function failOver(client: Node, pg1: Node, pg2: Node, after: number): Promise<Failover> {
  const failover = await killAndPromote(pg1, pg2);
  await pollUntil(`${after} writes acknowledged on pg2's timeline`, async () => (await readLedger(client)).acks.filter((a) => a.timeline !== 1).length, (n) => n >= after, { timeoutMs: 60_000, intervalMs: 250 });
  return failover;
}

// What the writer recorded from the kill to its first write on the new timeline (times from the
// kill), for whoever reads the run: where the largest gap went.
function outage(ledger: Ledger, failover: Failover): string {
  const end = ledger.acks.find((a) => a.timeline !== 1)?.at ?? Infinity;
  const kill = failover.killStartedAt / 1000;
  const seen = [...ledger.errors.filter((e) => e.at >= kill - 1 && e.at <= end), ...ledger.acks.filter((a) => a.at >= kill - 1 && a.at <= end).slice(-1).map((a) => ({ at: a.at, text: `first write on timeline ${a.timeline}: id ${a.id}` }))];
  const lines = seen.map((e) => `${(e.at - kill).toFixed(2)} s ${e.text}`);
  return lines.length > 8 ? [...lines.slice(0, 6), `... ${lines.length - 7} more`, lines.at(-1)!].join('\n') : lines.join('\n');
}

// The promoted server's timeline, from its control file after a checkpoint.
async function timelineOf(node: Node): Promise<number> {
  await using client = await node.connect();
  await client.query('checkpoint');
  return Number((await client.query<{ t: number }>('select timeline_id as t from pg_control_checkpoint()')).rows[0]!.t);
}

describe('writer through a failover that loses writes: replication to pg2 cut, pg1 killed, pg2 promoted', () => {
  let cluster: Cluster;
  let pg1: Node;
  let pg2: Node;
  let client: Node;
  let ledger: Ledger;
  let failover: Failover;
  let onlyOnPg1: number[];

  beforeAll(async () => {
    cluster = await Cluster.create();
    pg1 = await cluster.primary('pg1');
    pg2 = await cluster.replica('pg2', pg1);
    client = await clientWithCurrentWriter(cluster, 'pg1');
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('check: the writes acknowledged by pg1 alone are lost, the gap is the outage, two timelines', async () => {
    await writerOk(client, 'start', BOTH);
    {
      await using primary = await pg1.connect();
      // The ledger's table (made by `writer start`) is on pg2 before the cut.
      await waitForReplay(primary, 'pg2');
      await cutReplication(primary, pg2);
    }
    // From here on every acknowledged write exists on pg1 alone.
    const cut = await acknowledged(client);
    await pollUntil('20 writes acknowledged by pg1 alone', () => acknowledged(client), (n) => n >= cut + 20, { timeoutMs: 30_000, intervalMs: 200 });
    failover = await failOver(client, pg1, pg2, 20);
    expect(await writerOk(client, 'stop')).toMatch(/^writer stopped: \d+ acknowledged$/);

    const check = await writerOk(client, 'check');
    ledger = await readLedger(client);
    const held = await heldIds(pg2, ledger.run);
    const expected = truth(ledger, held);
    console.info(`writer check after a failover with replication cut (PostgreSQL ${componentsMajor()}):\n${check}\nkill to promotion ${((failover.promotedAt - failover.killedAt) / 1000).toFixed(1)} s\n${outage(ledger, failover)}`);
    expect(await timelineOf(pg2)).toBe(2);
    expectVerdict(check, ledger, expected, 'pg2:5432 (timeline 2)');

    // Every write pg2 holds is one the writer sent: acknowledged, or in doubt.
    const sent = new Set([...ledger.acks.map((a) => a.id), ...ledger.doubts]);
    expect([...held].filter((id) => !sent.has(id)), 'on pg2 but never sent').toEqual([]);
    // Lost: every write of timeline 1 acknowledged after the cut (and perhaps a few just before
    // it, still on their way to pg2), none of pg2's own.
    const afterCut = ledger.acks.slice(cut).filter((a) => a.timeline === 1).map((a) => a.id);
    expect(afterCut.length).toBeGreaterThanOrEqual(20);
    expect(afterCut.filter((id) => !expected.lost.includes(id)), 'acknowledged after the cut, yet on pg2').toEqual([]);
    expect(ledger.acks.filter((a) => a.timeline !== 1 && expected.lost.includes(a.id)).map((a) => a.id), 'written on pg2, yet lost').toEqual([]);
    // In doubt: sent to pg1 as it died; pg2, cut off, cannot hold them.
    expect(expected.inDoubtCommitted).toBe(0);
    // Timelines in order: pg1's until the kill, the promoted pg2's after.
    expect(expected.timelines).toEqual([1, 2]);
    expect(ledger.acks.filter((a) => a.at * 1000 < failover.killStartedAt && a.timeline !== 1).map((a) => a.id), 'on timeline 2 before the kill').toEqual([]);
    expect(ledger.acks.filter((a) => a.at * 1000 > failover.killedAt + 1000 && a.timeline === 1).map((a) => a.id), 'on timeline 1 after the kill').toEqual([]);
    // The largest gap is the failover: from pg1's last write to pg2's first, at least the time from
    // the kill to the promotion (less pg_ctl's polling and docker exec's return, within a second).
    const lastOnPg1 = ledger.acks.filter((a) => a.timeline === 1).at(-1)!;
    expect(expected.gap.afterId).toBe(lastOnPg1.id);
    expect(expected.gap.seconds * 1000).toBeGreaterThanOrEqual(failover.promotedAt - failover.killedAt - 1000);
    onlyOnPg1 = expected.lost;
  });

  test('pg1 started again is a primary too: check names the server it compared with, and another can be named', async () => {
    expect(onlyOnPg1, 'the failover test ran first').toBeDefined();
    // pg1 comes back as it was (a primary on timeline 1, crash recovery done) and is the first host
    // of the writer's conninfo that accepts writes.
    await pg1.start();
    const held = await heldIds(pg1, ledger.run);
    // What the failover lost is there: acknowledged means committed on pg1.
    expect(onlyOnPg1.filter((id) => !held.has(id)), 'lost on pg2 and not on pg1 either').toEqual([]);
    const againstPg1 = truth(ledger, held);
    // Against pg1, pg2's writes are the lost ones.
    expect(againstPg1.lost).toEqual(ledger.acks.filter((a) => a.timeline === 2).map((a) => a.id));
    expectVerdict(await writerOk(client, 'check'), ledger, againstPg1, 'pg1:5432 (timeline 1)');
    expectVerdict(await writerOk(client, 'check', 'host=pg2'), ledger, truth(ledger, await heldIds(pg2, ledger.run)), 'pg2:5432 (timeline 2)');
  });
});

describe('writer through a failover that loses nothing: pg2 a synchronous standby, pg1 killed, pg2 promoted', () => {
  let cluster: Cluster;
  let pg1: Node;
  let pg2: Node;
  let client: Node;

  beforeAll(async () => {
    cluster = await Cluster.create();
    pg1 = await cluster.primary('pg1');
    pg2 = await cluster.replica('pg2', pg1);
    client = await clientWithCurrentWriter(cluster, 'pg1');
    // Every commit on pg1 waits until pg2 has flushed it (synchronous_commit = on, the default).
    await using primary = await pg1.connect();
    await primary.query(`alter system set synchronous_standby_names = 'pg2'`);
    await primary.query('select pg_reload_conf()');
    await pollQueryUntil(primary, `select sync_state from pg_stat_replication where application_name = 'pg2'`, 'sync', { timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('check: lost 0, exactly; every acknowledged write is on the promoted pg2', async () => {
    await writerOk(client, 'start', BOTH);
    await pollUntil('50 writes acknowledged by pg1 and flushed on pg2', () => acknowledged(client), (n) => n >= 50, { timeoutMs: 30_000, intervalMs: 200 });
    const failover = await failOver(client, pg1, pg2, 20);
    await writerOk(client, 'stop');

    const check = await writerOk(client, 'check');
    const ledger = await readLedger(client);
    const held = await heldIds(pg2, ledger.run);
    const expected = truth(ledger, held);
    console.info(`writer check after a failover to a synchronous standby (PostgreSQL ${componentsMajor()}):\n${check}\nkill to promotion ${((failover.promotedAt - failover.killedAt) / 1000).toFixed(1)} s\n${outage(ledger, failover)}`);
    expect(expected.lost, 'acknowledged writes missing on pg2').toEqual([]);
    expect(check.split('\n')[1]).toBe('lost: 0');
    expect(expected.timelines).toEqual([1, 2]);
    expect(ledger.acks.filter((a) => a.timeline === 1).length).toBeGreaterThanOrEqual(50);
    expectVerdict(check, ledger, expected, 'pg2:5432 (timeline 2)');
    const sent = new Set([...ledger.acks.map((a) => a.id), ...ledger.doubts]);
    expect([...held].filter((id) => !sent.has(id)), 'on pg2 but never sent').toEqual([]);
    // The largest gap is the failover, as when writes were lost.
    expect(expected.gap.afterId).toBe(ledger.acks.filter((a) => a.timeline === 1).at(-1)!.id);
    expect(expected.gap.seconds * 1000).toBeGreaterThanOrEqual(failover.promotedAt - failover.killedAt - 1000);
  });
});
