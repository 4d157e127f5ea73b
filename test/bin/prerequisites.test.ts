// The launcher's checks (bin/prerequisites.mjs) against a fake machine: a temporary repository with
// its own lockfiles, and a PATH holding only fake `npm`, `docker`, `jq`, `chromium` and `apt-get`
// scripts that record their calls. Nothing here touches this machine's Node, packages or Docker.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { afterEach, describe, expect, test } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';
// @ts-expect-error: plain JavaScript module without type declarations (it must run before npm ci)
import { EXIT_PREREQUISITE, lockDrift, needsOf, nodeFloor, prepare } from '../../bin/prerequisites.mjs';

interface Outcome { problems: string[]; env: Record<string, string> }
interface FakeMachine { root: string; bin: string; env: Record<string, string>; nodeVersion: string; nodeExecPath: string; isRoot: boolean; systemd: boolean; log: (line: string) => void; lines: string[] }

const LOCK = {
  name: 'fake', version: '1.0.0', lockfileVersion: 3, requires: true,
  packages: {
    '': { name: 'fake', version: '1.0.0' },
    'node_modules/left-pad': { version: '1.3.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz', integrity: 'sha512-left' },
    // Optional packages for other platforms are locked but never installed.
    'node_modules/@esbuild/darwin-arm64': { version: '0.28.2', optional: true, os: ['darwin'] },
  },
};

const DEAD_ENGINE = 'Cannot connect to the Docker daemon at unix:///tmp/nonexistent.sock. Is the docker daemon running?';

const roots: string[] = [];
afterEach(() => { for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true }); });

function script(file: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/bash\nPATH=/usr/bin:/bin\n${body}\n`);
  chmodSync(file, 0o755);
}

// The fake docker answers `version` and `compose version` as told; every call is recorded.
function fakeDocker(m: FakeMachine, info: { exit: number; stderr?: string }, compose: { exit: number; out: string } = { exit: 0, out: '2.26.1' }): void {
  script(path.join(m.bin, 'docker'), [
    `echo "$*" >> ${m.root}/docker-calls`,
    'case "$1" in',
    `  version) ${info.exit === 0 ? 'echo 20.10.24' : `echo '${info.stderr}' >&2`}; exit ${info.exit} ;;`,
    `  compose) echo '${compose.out}'; exit ${compose.exit} ;;`,
    'esac',
  ].join('\n'));
}

// Fake host tools that are simply there.
function tools(m: FakeMachine, ...names: string[]): void {
  for (const name of names) script(path.join(m.bin, name), 'true');
}

function calls(m: FakeMachine, tool: string): string[] {
  const file = path.join(m.root, `${tool}-calls`);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

// A repository with package.json (floor 22.18), .nvmrc, the root's and the site's lockfiles and no
// node_modules; a fake npm whose `ci` records where it ran and writes what npm records of an install.
function fakeMachine(): FakeMachine {
  const root = mkdtempSync(path.join(os.tmpdir(), 'prerequisites-'));
  roots.push(root);
  const bin = path.join(root, 'fake-bin');
  for (const dir of [root, path.join(root, 'docs-site')]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fake', engines: { node: '>=22.18' } }));
    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(LOCK));
    // What npm records of an install: the locked packages it installed (not the one for darwin).
    const { 'node_modules/@esbuild/darwin-arm64': _, ...installed } = LOCK.packages;
    writeFileSync(path.join(dir, 'npm-record.json'), JSON.stringify({ ...LOCK, packages: installed }));
  }
  writeFileSync(path.join(root, '.nvmrc'), '24\n');
  script(path.join(bin, 'npm'), [
    `echo "$PWD $*" >> ${root}/npm-calls`,
    '[ -z "$FAIL_NPM" ] || { echo "npm error network" >&2; exit 1; }',
    'mkdir -p node_modules && cp npm-record.json node_modules/.package-lock.json',
  ].join('\n'));
  const lines: string[] = [];
  return { root, bin, env: { PATH: bin }, nodeVersion: '24.1.0', nodeExecPath: process.execPath, isRoot: false, systemd: false, log: (line) => lines.push(line), lines };
}

const run = (args: string[], m: FakeMachine): Outcome => prepare(args, m) as Outcome;

describe('what a command needs', () => {
  test('the labs need Docker, jq and curl; the test suite needs jq and shellcheck, and the site and Chromium unless left out', () => {
    expect(needsOf(['verify', '01'])).toMatchObject({ docker: true, site: false, tools: ['jq', 'curl'] });
    expect(needsOf(['test'])).toMatchObject({ docker: true, site: true, tools: ['jq', 'curl', 'shellcheck', 'chromium'] });
    expect(needsOf(['test', '--unit-only'])).toMatchObject({ docker: false, site: true, tools: ['jq', 'shellcheck', 'chromium'] });
    expect(needsOf(['test', '--unit-only', '--no-site'])).toMatchObject({ docker: false, site: false, tools: ['jq', 'shellcheck'] });
    expect(needsOf(['images', '--pg', '15'])).toMatchObject({ docker: true, site: false, tools: [] });
    expect(needsOf(['lint'])).toMatchObject({ docker: false, site: false, tools: [] });
    expect(needsOf(['verify', '--help'])).toMatchObject({ docker: false, tools: [] });
  });
});

describe('Node', () => {
  test('a Node older than the engines floor gets one sentence naming the floor and how to get Node, and nothing is installed', () => {
    const m = fakeMachine();
    for (const version of ['20.20.2', '22.17.1']) {
      const outcome = run(['verify'], { ...m, nodeVersion: version });
      expect(outcome.problems).toEqual([
        `Node ${version} is too old for the workshop, which needs Node 22.18 or newer (24 recommended, see .nvmrc): ` +
        'install it with nvm (`nvm install 24`) or from https://nodejs.org/en/download, then run the command again.',
      ]);
    }
    expect(calls(m, 'npm')).toEqual([]);
    fakeDocker(m, { exit: 0 });
    tools(m, 'jq', 'curl');
    for (const version of ['22.18.0', '24.1.0']) expect(run(['verify'], { ...m, nodeVersion: version }).problems).toEqual([]);
  });

  test('the engines floor satisfies the Node range of every locked package, the root\'s and the site\'s', () => {
    const floor = nodeFloor(repoRoot).join('.');
    for (const dir of [repoRoot, path.join(repoRoot, 'docs-site')]) {
      const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { optional?: boolean; engines?: { node?: string } }> };
      const refused = Object.entries(lock.packages)
        .filter(([key, entry]) => key !== '' && !entry.optional && entry.engines?.node && semver.validRange(entry.engines.node))
        .filter(([, entry]) => !semver.satisfies(floor, entry.engines!.node!))
        .map(([key, entry]) => `${key} (${entry.engines!.node})`);
      expect(refused, `${dir}/package-lock.json: packages that refuse Node ${floor}`).toEqual([]);
    }
  });
});

describe('packages', () => {
  test('missing packages are installed once, with a progress line; the next run installs nothing', () => {
    const m = fakeMachine();
    expect(run(['lint'], m).problems).toEqual([]);
    expect(calls(m, 'npm')).toEqual([`${m.root} ci --no-audit --no-fund`]);
    expect(m.lines[0]).toBe('installing the workshop\'s packages from package-lock.json (npm ci in .; node_modules/ is missing)');
    expect(m.lines[1]).toMatch(/^the workshop's packages: installed in \d+ s$/);
    expect(lockDrift(m.root)).toBeUndefined();
    expect(run(['lint'], m).problems).toEqual([]);
    expect(calls(m, 'npm')).toHaveLength(1);
  });

  test('packages that differ from the lock are installed again, naming what differs', () => {
    const m = fakeMachine();
    run(['lint'], m);
    const installed = path.join(m.root, 'node_modules', '.package-lock.json');
    const record = JSON.parse(readFileSync(installed, 'utf8'));
    record.packages['node_modules/left-pad'].version = '1.1.0';
    record.packages['node_modules/diff'] = { version: '9.0.0' };
    writeFileSync(installed, JSON.stringify(record));
    expect(lockDrift(m.root)).toBe('left-pad is 1.1.0, locked 1.3.0, diff is no longer locked');
    expect(run(['lint'], m).problems).toEqual([]);
    expect(calls(m, 'npm')).toHaveLength(2);
  });

  test('the site\'s packages are installed only when the site test runs', () => {
    const m = fakeMachine();
    tools(m, 'jq', 'curl', 'shellcheck', 'chromium');
    fakeDocker(m, { exit: 0 });
    run(['verify'], m);
    run(['test', '--unit-only', '--no-site'], m);
    expect(calls(m, 'npm')).toEqual([`${m.root} ci --no-audit --no-fund`]);
    const outcome = run(['test', '--unit-only'], m);
    expect(outcome).toEqual({ problems: [], env: { CHROMIUM_PATH: path.join(m.bin, 'chromium') } });
    expect(calls(m, 'npm')).toEqual([`${m.root} ci --no-audit --no-fund`, `${path.join(m.root, 'docs-site')} ci --no-audit --no-fund`]);
    expect(m.lines).toContain('installing the site\'s packages from docs-site/package-lock.json (npm ci in docs-site; node_modules/ is missing)');
  });

  test('an npm ci that fails is one sentence with its exit code', () => {
    const m = fakeMachine();
    const outcome = run(['lint'], { ...m, env: { ...m.env, FAIL_NPM: '1' } });
    expect(outcome.problems).toEqual(['Installing the workshop\'s packages failed (npm ci in . ended with exit code 1; its output is above): fix what it says, then run the command again.']);
  });
});

describe('Docker', () => {
  test('an engine that does not answer is one sentence saying so and how to start it; nothing is installed', () => {
    const m = fakeMachine();
    tools(m, 'jq', 'curl');
    fakeDocker(m, { exit: 1, stderr: DEAD_ENGINE });
    expect(run(['verify'], m).problems).toEqual([
      'The Docker engine does not answer (`docker version`: Cannot connect to the Docker daemon at unix:///tmp/nonexistent.sock. Is the docker daemon running?): ' +
      'start it with `sudo bin/install-prerequisites docker` (it starts dockerd), then run the command again.',
    ]);
    expect(run(['verify'], { ...m, systemd: true, env: { ...m.env, DOCKER_HOST: 'unix:///tmp/nonexistent.sock' } }).problems[0])
      .toMatch(/: start it with `sudo systemctl start docker`, or point DOCKER_HOST \(now `unix:\/\/\/tmp\/nonexistent.sock`\) at a running engine, then run the command again\.$/);
    expect(calls(m, 'npm')).toEqual([]);
  });

  test('no docker command, no compose plugin, a socket this user may not use: each gets its sentence', () => {
    const m = fakeMachine();
    expect(run(['images'], m).problems).toEqual([
      'Docker is not installed (no `docker` command on PATH): install the Docker engine and its compose plugin with `sudo bin/install-prerequisites docker` ' +
      'on Debian or Ubuntu (elsewhere see https://docs.docker.com/engine/install/), then run the command again.',
    ]);
    tools(m, 'jq', 'curl');
    fakeDocker(m, { exit: 0 }, { exit: 1, out: 'docker: compose is not a docker command.' });
    expect(run(['up', 'single'], m).problems[0]).toMatch(/^Docker Compose v2 is missing \(`docker compose version`: docker: compose is not a docker command\): install the compose plugin with `sudo bin\/install-prerequisites docker`/);
    fakeDocker(m, { exit: 1, stderr: 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' });
    expect(run(['verify'], m).problems[0]).toMatch(/^The Docker engine refuses this user \(`docker version`: permission denied .*\): add yourself to the docker group/);
  });

  test('the unit-only test suite and lint never ask Docker', () => {
    const m = fakeMachine();
    tools(m, 'jq', 'shellcheck');
    fakeDocker(m, { exit: 1, stderr: DEAD_ENGINE });
    expect(run(['test', '--unit-only', '--no-site'], m).problems).toEqual([]);
    expect(run(['lint'], m).problems).toEqual([]);
    expect(calls(m, 'docker')).toEqual([]);
    expect(run(['test', '--no-site'], m).problems[0]).toMatch(/^The Docker engine does not answer/);
    expect(calls(m, 'docker')).toEqual(['version --format {{.Server.Version}}']);
  });
});

describe('jq and Chromium', () => {
  test('without a usable package manager they are named in one sentence with the command that installs them', () => {
    const m = fakeMachine();
    tools(m, 'shellcheck');
    expect(run(['test', '--unit-only'], m).problems).toEqual([
      'jq and Chromium are not installed (jq, which lab pages and the platform-health script read JSON with; Chromium for the site\'s browser test): ' +
      'install them with `sudo bin/install-prerequisites jq chromium` on Debian or Ubuntu, or your system\'s package manager; ' +
      'CHROMIUM_PATH may name another Chrome, and `npx workshop test --no-site` leaves the site test out, then run the command again.',
    ]);
    // Root without apt-get cannot install them either.
    expect(run(['test', '--unit-only'], { ...m, isRoot: true }).problems[0]).toMatch(/^jq and Chromium are not installed/);
    tools(m, 'jq');
    fakeDocker(m, { exit: 0 });
    expect(run(['verify', '08'], m).problems).toEqual([
      'curl is not installed (curl, which module 08\'s page reads HAProxy\'s statistics with): ' +
      'install it with `sudo bin/install-prerequisites curl` on Debian or Ubuntu, or your system\'s package manager, then run the command again.',
    ]);
    expect(calls(m, 'npm')).toEqual([]);
  });

  test('as root with apt-get they are installed through bin/install-prerequisites, with a progress line', () => {
    const m = fakeMachine();
    tools(m, 'shellcheck');
    script(path.join(m.bin, 'apt-get'), 'exit 1');
    script(path.join(m.root, 'bin', 'install-prerequisites'), [
      `echo "$*" >> ${m.root}/install-calls`,
      `for tool in "$@"; do printf '#!/bin/bash\\n' > ${m.bin}/$tool; chmod +x ${m.bin}/$tool; done`,
    ].join('\n'));
    const outcome = run(['test', '--unit-only'], { ...m, isRoot: true });
    expect(outcome).toEqual({ problems: [], env: { CHROMIUM_PATH: path.join(m.bin, 'chromium') } });
    expect(calls(m, 'install')).toEqual(['jq chromium']);
    expect(m.lines[0]).toBe('installing jq and chromium with the package manager (bin/install-prerequisites jq chromium)');
  });

  test('an install that fails says so; a CHROMIUM_PATH that is no program is named', () => {
    const m = fakeMachine();
    tools(m, 'shellcheck');
    script(path.join(m.bin, 'apt-get'), 'exit 1');
    script(path.join(m.root, 'bin', 'install-prerequisites'), 'exit 100');
    expect(run(['test', '--unit-only', '--no-site'], { ...m, isRoot: true }).problems).toEqual([
      'Installing jq failed (`bin/install-prerequisites jq` ended with exit code 100; its output is above): fix what it says, then run the command again.',
    ]);
    tools(m, 'jq');
    expect(run(['test', '--unit-only'], { ...m, env: { ...m.env, CHROMIUM_PATH: '/nonexistent/chrome' } }).problems).toEqual([
      'CHROMIUM_PATH is `/nonexistent/chrome`, which is not an executable file: point it at a Chromium or Chrome binary, or unset it to use `chromium` from PATH, then run the command again.',
    ]);
    tools(m, 'google-chrome');
    expect(run(['test', '--unit-only'], m).env).toEqual({ CHROMIUM_PATH: path.join(m.bin, 'google-chrome') });
  });
});

describe('the launcher', () => {
  test('with a dead Docker engine, `workshop verify` exits 2 with that one sentence and no stack trace', () => {
    const m = fakeMachine();
    mkdirSync(path.join(m.root, 'bin'));
    for (const file of ['workshop.mjs', 'prerequisites.mjs']) copyFileSync(path.join(repoRoot, 'bin', file), path.join(m.root, 'bin', file));
    tools(m, 'jq', 'curl');
    fakeDocker(m, { exit: 1, stderr: DEAD_ENGINE });
    const result = spawnSync(process.execPath, [path.join(m.root, 'bin', 'workshop.mjs'), 'verify', '01'], { env: { PATH: m.bin }, encoding: 'utf8' });
    expect(result.status).toBe(EXIT_PREREQUISITE);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^The Docker engine does not answer \(`docker version`: Cannot connect to the Docker daemon at unix:\/\/\/tmp\/nonexistent\.sock\. .*\): start it with /);
  });
});
