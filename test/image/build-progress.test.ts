import { afterEach, describe, expect, test, vi } from 'vitest';
import { followBuild } from '../../harness/image/images.ts';

// Lines as the classic builder prints them (DOCKER_BUILDKIT=0), each after `ms` of build time.
async function* output(lines: [ms: number, line: string][]) {
  for (const [ms, line] of lines) {
    await vi.advanceTimersByTimeAsync(ms);
    yield line;
  }
}

const build: [number, string][] = [
  [0, 'Step 1/3 : FROM debian:forky-slim'],
  [0, ' ---> 1b2c3d'],
  [1_000, 'Step 2/3 : RUN set -eux; apt-get update; apt-get install -y postgresql-18 patroni etcd-server'],
  [20_000, 'Get:1 http://deb.debian.org/debian forky InRelease'],
  [50_000, 'Setting up postgresql-18'],
  [5_000, 'Step 3/3 : LABEL workshop.inputs-hash=abc'],
  [1_000, 'Successfully tagged workshop-postgres:18'],
];

describe('following an image build', () => {
  afterEach(() => { vi.useRealTimers(); });

  test('prints a line per Dockerfile step and, while a step runs long, that it is still on it', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    await followBuild(output(build), (line) => lines.push(line), { heartbeatMs: 30_000 });
    expect(lines).toEqual([
      '[0 s] Step 1/3 : FROM debian:forky-slim',
      '[1 s] Step 2/3 : RUN set -eux; apt-get update; apt-get install -y postgresql-18 patroni etcd-server',
      '[30 s] still on Step 2/3 (29 s)',
      '[60 s] still on Step 2/3 (59 s)',
      '[76 s] Step 3/3 : LABEL workshop.inputs-hash=abc',
    ]);
  });

  test('with verbose prints every line', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    await followBuild(output(build.slice(0, 2)), (line) => lines.push(line), { verbose: true });
    expect(lines).toEqual(['Step 1/3 : FROM debian:forky-slim', ' ---> 1b2c3d']);
  });

  test('says nothing more once the build has ended', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    await followBuild(output(build.slice(0, 3)), (line) => lines.push(line), { heartbeatMs: 5_000 });
    expect(lines).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(lines).toHaveLength(2);
  });
});
