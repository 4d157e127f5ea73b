// Compose projects of the harness: unique names, teardown with volumes, evidence, cleanup by label.
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../lab/majors.ts';
import { environmentsDir, repoRoot } from '../paths.ts';

// Every container, network and volume of an environment carries this label (environments/*/compose.yaml).
export const HARNESS_LABEL = 'workshop.harness=true';
const PROJECT_LABEL = 'com.docker.compose.project';
const PATRONI_CONFIG = '/etc/workshop/patroni.yml';

export interface ComposeProject {
  name: string;
  // The folder under environments/; unknown for a project found by its label (compose finds it by name).
  environment?: string;
  major: number;
}

// The environments an attendee can start: the folders of environments/ that hold a compose.yaml.
export function environmentNames(): string[] {
  return readdirSync(environmentsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(environmentsDir, entry.name, 'compose.yaml')))
    .map((entry) => entry.name)
    .sort();
}

// The compose file of an environment; an unknown name is the user's mistake (exit 2), listed against the known ones.
export function composeFile(environment: string): string {
  const file = path.join(environmentsDir, environment, 'compose.yaml');
  if (!/^[\w-]+$/.test(environment) || !existsSync(file)) {
    throw new UsageError(`Environment \`${environment}\`: no such environment; expected one of ${environmentNames().join(', ')} (the folders of environments/ with a compose.yaml)`);
  }
  return file;
}

// Compose project names allow lowercase letters, digits, dashes and underscores.
export function projectName(parts: (string | number)[]): string {
  return parts.map((part) => String(part).toLowerCase().replace(/[^a-z0-9_-]+/g, '-')).join('-').replace(/-+/g, '-');
}

// The variables a terminal needs so the page's own `docker compose` commands reach this run's project.
export function composeEnv(project: ComposeProject): Record<string, string> {
  return { COMPOSE_PROJECT_NAME: project.name, PG_MAJOR: String(project.major) };
}

// Runs `docker compose` for a project; returns stdout, or throws with the command, exit code, stdout and stderr.
export async function compose(project: ComposeProject, args: string[], options: { timeoutMs?: number; reject?: boolean; stripFinalNewline?: boolean } = {}) {
  const file = project.environment ? ['-f', composeFile(project.environment)] : [];
  return execa('docker', ['compose', '-p', project.name, ...file, ...args], {
    cwd: repoRoot,
    env: composeEnv(project),
    timeout: options.timeoutMs ?? 120_000,
    reject: options.reject ?? true,
    stripFinalNewline: options.stripFinalNewline ?? true,
  });
}

// Removes the project's containers, networks and volumes.
export async function composeDown(project: ComposeProject): Promise<void> {
  await compose(project, ['down', '--volumes', '--remove-orphans', '--timeout', '5'], { timeoutMs: 180_000 });
}

// Keeps what a failure needs to be understood: container states and logs, and Patroni's view.
export async function saveEvidence(project: ComposeProject, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const saved: string[] = [];
  const keep = async (file: string, args: string[]) => {
    const result = await compose(project, args, { reject: false, timeoutMs: 60_000 });
    writeFileSync(path.join(dir, file), `$ docker compose ${args.join(' ')}\n[exit ${result.exitCode}]\n${result.stdout}\n${result.stderr}`);
    saved.push(file);
  };
  await keep('compose-ps.txt', ['ps', '--all']);
  await keep('compose-logs.txt', ['logs', '--no-color', '--timestamps']);
  const services = (await compose(project, ['ps', '--all', '--services'], { reject: false })).stdout.split('\n').filter(Boolean);
  // Patroni's own view (environments/config/patroni.yml is mounted at /etc/workshop in its nodes).
  for (const service of services.filter((s) => /^pg\d+$/.test(s))) {
    const patroni = await compose(project, ['exec', '-T', service, 'test', '-r', PATRONI_CONFIG], { reject: false });
    if (patroni.exitCode !== 0) continue;
    await keep(`patronictl-list-${service}.txt`, ['exec', '-T', service, 'patronictl', '-c', PATRONI_CONFIG, 'list']);
    await keep(`patronictl-history-${service}.txt`, ['exec', '-T', service, 'patronictl', '-c', PATRONI_CONFIG, 'history']);
    break;
  }
  return saved;
}

// Names of the compose projects holding anything with the harness label.
export async function harnessProjects(): Promise<string[]> {
  const names = new Set<string>();
  const format = `{{.Label "${PROJECT_LABEL}"}}`;
  const listings = [['ps', '--all'], ['volume', 'ls'], ['network', 'ls']];
  for (const listing of listings) {
    const args = [...listing, '--filter', `label=${HARNESS_LABEL}`, '--format', format];
    const result = await execa('docker', args, { reject: false });
    if (result.exitCode !== 0) throw new Error(`docker ${args.join(' ')} failed with exit code ${result.exitCode}: ${result.stderr}`);
    result.stdout.split('\n').map((s) => s.trim()).filter(Boolean).forEach((name) => names.add(name));
  }
  return [...names].sort();
}

// Removes every labelled project whose name starts with `prefix` (all of them without one); with
// `evidenceDir`, keeps each one's logs there first.
export async function cleanProjects(prefix = '', evidenceDir?: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await harnessProjects()) {
    if (!name.startsWith(prefix)) continue;
    if (evidenceDir) await saveEvidence({ name, major: 0 }, path.join(evidenceDir, name)).catch(() => undefined);
    const result = await execa('docker', ['compose', '-p', name, 'down', '--volumes', '--remove-orphans', '--timeout', '3'], { reject: false, timeout: 180_000 });
    if (result.exitCode !== 0) throw new Error(`docker compose -p ${name} down failed with exit code ${result.exitCode}:\n${result.stderr}`);
    removed.push(name);
  }
  return removed;
}
