// pgbench-load (environments/image/bin) on a real server, read with the harness's parser: its
// progress lines carry wall-clock timestamps, and it starts pgbench again when its server is killed
// (`docker kill`) and comes back (`docker start`), for the whole duration asked.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { execa } from 'execa';
import { parsePgbenchLoad, pollUntil } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';

let cluster: Cluster;
let pg1: Node;
let client: Node;

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  client = await cluster.client('client', 'pg1');
  await client.exec(['pgbench', '-i', '-s', '1', '-q']);
});

afterAll(async () => {
  await cluster?.stop();
});

// Every line of stdout is one of the wrapper's records.
function records(stdout: string) {
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines.filter((l) => !/^(progress|restart|summary) /.test(l)), 'stdout lines that are not records').toEqual([]);
  return lines;
}

test('a run without failures: one progress line per second with wall-clock timestamps, then the summary', async () => {
  const started = Date.now();
  const result = await client.container.exec(['pgbench-load', '-T', '5', '-c', '2', '-n']);
  const ended = Date.now();
  expect(result.exitCode, result.stderr).toBe(0);
  const lines = records(result.stdout);
  const load = parsePgbenchLoad(result.stdout);
  expect(lines.length).toBe(load.samples.length + 1);
  expect(load.restarts).toEqual([]);
  expect(load.samples.length).toBeGreaterThanOrEqual(4);
  for (const sample of load.samples) {
    // The container's clock is the host's: each sample ends within the run.
    expect(sample.at).toBeGreaterThanOrEqual(started);
    expect(sample.at).toBeLessThanOrEqual(ended);
    expect(sample.tps).toBeGreaterThan(0);
    expect(sample.latencyMs).toBeGreaterThan(0);
    expect(sample.failed).toBe(0);
  }
  const gaps = load.samples.slice(1).map((s, i) => s.at - load.samples[i]!.at);
  // In order, about a second apart (a late sample on a busy machine covers a longer interval).
  expect(Math.min(...gaps)).toBeGreaterThan(0);
  expect(Math.max(...gaps)).toBeLessThan(5000);
  expect(load.summary).toMatchObject({ duration_s: 5, runs: 1, restarts: 0, samples: load.samples.length, failed: 0, last_exit: 0 });
  expect(load.summary!.transactions).toBeGreaterThan(0);
  expect(load.summary!.elapsed_s).toBeGreaterThanOrEqual(5);
});

test('its server killed and started again: restart records, then progress again until the duration is over', async () => {
  let stdout = '';
  const run = execa('docker', ['exec', client.id, 'pgbench-load', '-T', '25', '-c', '2', '-n'], { reject: false });
  run.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  await pollUntil('two progress lines before the kill', () => parsePgbenchLoad(stdout).samples.length, (n) => n >= 2, { timeoutMs: 20_000 });
  const killedAt = Date.now();
  await pg1.kill();
  await pollUntil('a restart record after the kill', () => parsePgbenchLoad(stdout).restarts.length, (n) => n >= 1, { timeoutMs: 20_000, intervalMs: 200 });
  const startedAt = Date.now();
  await pg1.start();
  const result = await run;
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);

  records(result.stdout);
  const load = parsePgbenchLoad(result.stdout);
  const first = load.restarts[0]!;
  expect(first.at).toBeGreaterThanOrEqual(killedAt);
  // Aborted clients (2), no connection (1), the stall watchdog (130) or timeout (124), with pgbench's reason.
  expect([1, 2, 124, 130]).toContain(first.exitCode);
  expect(first.reason).toMatch(/\S/);
  // Busy samples before the kill and after the server came back; none while it was down.
  const busy = load.samples.filter((s) => s.tps > 0);
  expect(busy.filter((s) => s.at < killedAt).length).toBeGreaterThanOrEqual(2);
  expect(busy.filter((s) => s.at > startedAt).length).toBeGreaterThanOrEqual(2);
  // (A sample ends up to a second after the transactions it counts, and the kill takes a moment.)
  expect(busy.filter((s) => s.at > killedAt + 2000 && s.at < startedAt)).toEqual([]);
  expect(load.summary).toMatchObject({ duration_s: 25, runs: load.restarts.length + 1, restarts: load.restarts.length, samples: load.samples.length, last_exit: 0 });
  expect(load.summary!.elapsed_s).toBeGreaterThanOrEqual(25);
});

test('`pgbench-load stop` ends a running load at once: its summary, no restart, exit 0; with none running it says so', async () => {
  let stdout = '';
  const run = execa('docker', ['exec', client.id, 'pgbench-load', '-T', '120', '-c', '2', '-n'], { reject: false });
  run.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  await pollUntil('two progress lines before the stop', () => parsePgbenchLoad(stdout).samples.length, (n) => n >= 2, { timeoutMs: 20_000 });
  const asked = Date.now();
  const stop = await client.container.exec(['pgbench-load', 'stop']);
  expect(stop.exitCode, stop.stderr).toBe(0);
  expect(stop.stdout.trim()).toBe('pgbench-load: stopped 1 load');
  // `stop` returns once the load has ended: its summary is written by then.
  const result = await run;
  expect(Date.now() - asked).toBeLessThan(15_000);
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  records(result.stdout);
  const load = parsePgbenchLoad(result.stdout);
  expect(load.restarts).toEqual([]);
  expect(load.summary).toMatchObject({ duration_s: 120, runs: 1, restarts: 0, samples: load.samples.length, last_exit: 0 });
  expect(load.summary!.elapsed_s).toBeLessThan(60);
  expect(load.summary!.transactions).toBeGreaterThan(0);
  const none = await client.container.exec(['pgbench-load', 'stop']);
  expect([none.exitCode, none.stdout.trim()]).toEqual([0, 'pgbench-load: no load was running']);
});
