// What one run of the components project shares: its id, the labels on everything it starts, and
// the cleanup that removes exactly that (other engineers' clusters on the same engine are never touched).
import { execFileSync } from 'node:child_process';
import { HARNESS_LABEL } from '../../../harness/environment/compose.ts';

// The label naming the run; its value is the run id.
export const RUN_LABEL = 'workshop.components.run';

// The variable that hands the run id from the global setup to the test files (and to a child run).
export const RUN_ENV = 'WORKSHOP_COMPONENTS_RUN';

// A run id that sorts by time and cannot collide with a concurrent run on the same machine.
export function newComponentsRun(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `components-${stamp}-${process.pid}`;
}

// The labels of every container and network of a run: the harness's own, plus the run's.
export function runLabels(run: string): Record<string, string> {
  const [key, value] = HARNESS_LABEL.split('=') as [string, string];
  return { [key]: value, [RUN_LABEL]: run };
}

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

function docker(args: string[]): string {
  try {
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`docker ${args.join(' ')} failed with exit code ${e.status}: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: error });
  }
}

const ids = (text: string) => text.split('\n').map((s) => s.trim()).filter(Boolean);

// What the run `run` still has on the engine, found by its label.
export function leftovers(run: string): Leftovers {
  const filter = ['--filter', `label=${RUN_LABEL}=${run}`];
  return {
    containers: ids(docker(['ps', '--all', '--quiet', ...filter])),
    networks: ids(docker(['network', 'ls', '--quiet', ...filter])),
    volumes: ids(docker(['volume', 'ls', '--quiet', ...filter])),
  };
}

// Removes every container (with its anonymous volumes), network and volume labelled with `run`.
// Synchronous on purpose: it also runs inside a SIGINT handler, before the process exits.
export function removeRun(run: string): Leftovers {
  const found = leftovers(run);
  // Containers first: a network in use cannot be removed.
  if (found.containers.length > 0) docker(['rm', '--force', '--volumes', ...found.containers]);
  if (found.networks.length > 0) docker(['network', 'rm', ...found.networks]);
  if (found.volumes.length > 0) docker(['volume', 'rm', '--force', ...found.volumes]);
  const left = leftovers(run);
  const count = left.containers.length + left.networks.length + left.volumes.length;
  if (count > 0) throw new Error(`Cleanup of components run ${run}: still present after removal: ${JSON.stringify(left)}; remove them with docker rm -f / docker network rm`);
  return found;
}
