// No container, network or volume outlives a components run: a child vitest run of a tiny project
// with the components project's global setup (fixtures/interrupt) is interrupted with Ctrl-C
// (SIGINT to its process group, as a terminal sends it) while its cluster starts, or fails without
// stopping its cluster; afterwards nothing labelled with its run id is left.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { expect, test } from 'vitest';
import { pollUntil } from '../../harness/index.ts';
import { repoRoot } from '../../harness/paths.ts';
import { leftovers, newComponentsRun, RUN_ENV } from './support/run.ts';

const config = path.join(repoRoot, 'test', 'components', 'fixtures', 'interrupt', 'vitest.config.ts');
const vitest = path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');

// Starts the fixture project in its own process group with its own run id.
function startFixture(run: string, mode: 'wait' | 'fail') {
  // The child is a vitest of its own: none of this worker's VITEST_* variables may leak into it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const child = spawn(process.execPath, [vitest, 'run', '--config', config], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, [RUN_ENV]: run, FIXTURE_MODE: mode, NO_COLOR: '1' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output };
}

async function exitWithin<T>(exited: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`the fixture run did not exit within ${ms} ms; its output:\n${what()}`)), ms); });
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('Ctrl-C while the cluster starts: the run removes every container and network it made', async () => {
  const run = `${newComponentsRun()}-sigint`;
  const fixture = startFixture(run, 'wait');
  try {
    // Interrupt as soon as the run has a container: the network exists, the cluster is not ready.
    await pollUntil(`a container of run ${run}`, () => leftovers(run).containers.length, (n) => n >= 1, { timeoutMs: 90_000, intervalMs: 200 });
    process.kill(-fixture.child.pid!, 'SIGINT');
    const [code, signal] = await exitWithin(fixture.exited, 60_000, fixture.output);
    expect({ code, signal }, fixture.output()).not.toEqual({ code: 0, signal: null });
    expect(fixture.output()).toMatch(new RegExp(`components: SIGINT: removed run ${run}: [1-9]\\d* container\\(s\\), 1 network\\(s\\)`));
    expect(leftovers(run)).toEqual({ containers: [], networks: [], volumes: [] });
  } finally {
    if (fixture.child.exitCode === null) process.kill(-fixture.child.pid!, 'SIGKILL');
  }
});

test('a failed test that leaves its cluster: the global teardown removes it', async () => {
  const run = `${newComponentsRun()}-fail`;
  const fixture = startFixture(run, 'fail');
  const [code] = await exitWithin(fixture.exited, 150_000, fixture.output);
  expect(code, fixture.output()).toBe(1);
  expect(fixture.output()).toContain('fixture failure: the cluster is left for the global teardown');
  expect(fixture.output()).toMatch(new RegExp(`components: teardown removed what run ${run} left: \\{"containers":\\["\\w+","\\w+"\\],"networks":\\["\\w+"\\]`));
  expect(leftovers(run)).toEqual({ containers: [], networks: [], volumes: [] });
});
