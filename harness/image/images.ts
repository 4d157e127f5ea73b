// The per-major images: built from environments/image when missing or when their inputs changed.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { imageBuildArgs, majorInfo } from '../lab/majors.ts';
import { environmentsDir } from '../paths.ts';

const imageDir = path.join(environmentsDir, 'image');
const INPUTS_LABEL = 'workshop.inputs-hash';

export function imageTag(major: number): string {
  return `workshop-postgres:${major}`;
}

export function baseImage(suite: string): string {
  return `debian:${suite}-slim`;
}

// Hash of everything the image is made from: the build folder and this major's row of the matrix.
export function inputsHash(major: number): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(majorInfo(major)));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(path.relative(imageDir, full)).update(String(statSync(full).mode & 0o111)).update(readFileSync(full));
    }
  };
  walk(imageDir);
  return hash.digest('hex').slice(0, 16);
}

async function imageLabel(tag: string, label: string): Promise<string | undefined> {
  const result = await execa('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, tag], { reject: false });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function imageExists(tag: string): Promise<boolean> {
  return (await execa('docker', ['image', 'inspect', tag], { reject: false })).exitCode === 0;
}

export interface ImageResult {
  major: number;
  tag: string;
  built: boolean;
  baseMade: boolean;
  seconds: number;
}

// Makes the Debian base image where no registry answers, so the Dockerfile keeps its plain FROM.
export async function ensureBase(suite: string, log: (line: string) => void): Promise<boolean> {
  const tag = baseImage(suite);
  if (await imageExists(tag)) return false;
  const pull = await execa('docker', ['pull', tag], { reject: false, timeout: 120_000 });
  if (pull.exitCode === 0) return false;
  log(`${tag}: docker pull failed (${(pull.stderr || String(pull.exitCode)).split('\n')[0]}); making it with debootstrap`);
  const started = Date.now();
  await execa(path.join(imageDir, 'make-base'), [suite, tag], { stdio: ['ignore', 'inherit', 'inherit'] });
  log(`${tag}: made in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return true;
}

// A line the classic builder prints as it starts each Dockerfile instruction: `Step 3/14 : RUN apt-get …`.
const STEP_LINE = /^Step \d+\/\d+ : /;
const HEARTBEAT_MS = 30_000;

// Follows a classic build's output: a line per Dockerfile step with the time since the start, and every
// `heartbeatMs` a line naming the step still running (the package step is silent for a minute or more).
// With `verbose`, every line instead.
export async function followBuild(lines: AsyncIterable<string>, log: (line: string) => void, options: { verbose?: boolean; heartbeatMs?: number } = {}): Promise<void> {
  const started = Date.now();
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
  let step = { name: '', since: started };
  const heartbeat = setInterval(() => {
    if (step.name && !options.verbose) log(`[${seconds(started)}] still on ${step.name} (${seconds(step.since)})`);
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  try {
    for await (const line of lines) {
      if (options.verbose) log(line);
      if (!STEP_LINE.test(line)) continue;
      step = { name: line.split(' : ')[0]!, since: Date.now() };
      if (!options.verbose) log(`[${seconds(started)}] ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
    }
  } finally {
    clearInterval(heartbeat);
  }
}

// Builds the image of a major unless one with the same inputs exists. The build streams a line per
// Dockerfile step (every line with `verbose`), so a first build is never minutes of silence.
export async function ensureImage(major: number, log: (line: string) => void, options: { force?: boolean; verbose?: boolean } = {}): Promise<ImageResult> {
  const info = majorInfo(major);
  const tag = imageTag(major);
  const hash = inputsHash(major);
  const started = Date.now();
  if (!options.force && (await imageLabel(tag, INPUTS_LABEL)) === hash) {
    return { major, tag, built: false, baseMade: false, seconds: 0 };
  }
  const baseMade = await ensureBase(info.suite, log);
  log(`${tag}: building (PostgreSQL ${major} on Debian ${info.suite}, inputs ${hash}); this takes a few minutes the first time`);
  const args = ['build', ...Object.entries(imageBuildArgs(major)).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]), '--label', `${INPUTS_LABEL}=${hash}`, '-t', tag, imageDir];
  // The classic builder (no BuildKit) uses the local base image made above as it is, and prints plain lines.
  const build = execa('docker', args, { reject: false, all: true, env: { DOCKER_BUILDKIT: '0' } });
  await followBuild(build.iterable({ from: 'all' }), (line) => log(`${tag}: ${line}`), { verbose: options.verbose });
  const result = await build;
  if (result.exitCode !== 0) {
    throw new Error(`Building ${tag} failed with exit code ${result.exitCode}: docker ${args.join(' ')}\n${result.all?.split('\n').slice(-40).join('\n')}`);
  }
  log(`${tag}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { major, tag, built: true, baseMade, seconds: (Date.now() - started) / 1000 };
}

// The versions of the software inside a major's image, for the report's "verified on" line.
export async function imageVersions(major: number): Promise<Record<string, string>> {
  const script = [
    'echo "postgres=$(postgres --version | awk \'{print $3}\')"',
    'echo "patroni=$(patroni --version 2>&1 | awk \'{print $NF}\')"',
    'echo "pgbouncer=$(pgbouncer --version 2>&1 | head -1 | awk \'{print $NF}\')"',
    'echo "haproxy=$(haproxy -v 2>&1 | head -1 | awk \'{print $3}\')"',
    'echo "etcd=$(etcd --version 2>&1 | head -1 | awk \'{print $NF}\')"',
    'echo "debian=$(cat /etc/debian_version)"',
  ].join('; ');
  const result = await execa('docker', ['run', '--rm', '--entrypoint', 'sh', imageTag(major), '-c', script], { reject: false, timeout: 60_000 });
  const versions: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const [key, value] = line.split('=');
    if (key && value) versions[key] = value.trim();
  }
  return versions;
}
