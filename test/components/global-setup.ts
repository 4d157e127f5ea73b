// Global setup of the components project: one run id for every container and network the test
// files start (label workshop.components.run), and the cleanup of everything carrying it: after
// the run (passed or failed) and on Ctrl-C/SIGTERM. Ryuk, testcontainers' own reaper, is disabled
// (test/components/support/cluster.ts says why), so nothing else would remove them.
import type { TestProject } from 'vitest/node';
import { descendants, isAlive, signalAll } from '../../harness/terminal/process-tree.ts';
import { newComponentsRun, removeRun, RUN_ENV } from './support/run.ts';

export default function setup(project: TestProject) {
  // A parent (the Ctrl-C test) may name the run so that it can look for leftovers afterwards.
  const run = process.env[RUN_ENV] || newComponentsRun();
  process.env[RUN_ENV] = run;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  project.provide('componentsRun', run);

  // On a signal vitest exits one millisecond later without running global teardowns. This handler
  // runs synchronously in the same tick, so the exit waits for it: stop the test workers first
  // (they could otherwise start a container after the sweep), then remove what the run labelled.
  const onSignal = (signal: NodeJS.Signals) => {
    const workers = descendants(process.pid);
    signalAll(workers, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (workers.some(isAlive) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    try {
      const removed = removeRun(run);
      process.stderr.write(`components: ${signal}: removed run ${run}: ${removed.containers.length} container(s), ${removed.networks.length} network(s), ${removed.volumes.length} volume(s)\n`);
    } catch (error) {
      process.stderr.write(`components: ${signal}: cleanup of run ${run} failed: ${(error as Error).message}\n`);
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const removed = removeRun(run);
    const count = removed.containers.length + removed.networks.length + removed.volumes.length;
    // Test files stop their own clusters; anything found here was left by a failure.
    if (count > 0) process.stderr.write(`components: teardown removed what run ${run} left: ${JSON.stringify(removed)}\n`);
  };
}
