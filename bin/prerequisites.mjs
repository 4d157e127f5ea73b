// What a `workshop` command needs from the machine, checked by the launcher (bin/workshop.mjs) before
// the TypeScript CLI loads: a Node at the `engines` floor, the locked packages (installed when missing
// or stale), the host's tools the labs and tests run (jq, curl, Chromium), a Docker engine that answers
// with its compose plugin.
// What can be installed is installed, once, with a progress line; what cannot is named in one
// sentence with the command that installs it.
//
// Plain JavaScript with Node's own modules and syntax old Nodes parse: it runs before `npm ci` and
// must explain itself on a Node too old for the rest. Everything it reads of the machine comes in
// through `machine` (environment and PATH, Node version, root or not, the repository folder), so its
// unit test runs it against fake commands in a temporary folder, never against this machine.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The exit code of a machine that lacks something the command needs (the CLI's "bad input").
export const EXIT_PREREQUISITE = 2;

// The script that installs system packages on Debian or Ubuntu; README and CI use it too.
export const INSTALL_SCRIPT = 'bin/install-prerequisites';

// Waiting longer than this for the engine's answer means it hangs; say so instead of hanging too.
const DOCKER_TIMEOUT_MS = 30000;

// Names under which Debian, Ubuntu and Google ship a Chromium the site's browser test can drive.
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

// The host's tools, by the install script's component names, with what needs them.
const TOOLS = {
  jq: { name: 'jq', why: 'jq, which lab pages and the platform-health script read JSON with' },
  curl: { name: 'curl', why: 'curl, which module 08\'s page reads HAProxy\'s statistics with' },
  chromium: { name: 'Chromium', why: 'Chromium for the site\'s browser test' },
  shellcheck: { name: 'shellcheck', why: 'shellcheck, which `npm test` runs over every shell script' },
};

const AGAIN = 'then run the command again';

// This machine as the launcher sees it.
export function realMachine() {
  return {
    root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
    env: process.env,
    nodeVersion: process.versions.node,
    nodeExecPath: process.execPath,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    // systemd creates this folder at boot; where it runs, it is what starts the Docker engine.
    systemd: existsSync('/run/systemd/system'),
    log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} setup: ${line}`),
  };
}

// What a command needs beyond Node and the root packages, read from its arguments as the CLI parses
// them: `docker`, `site` (the site's packages and Chromium) and the host's `tools`.
export function needsOf(args) {
  const command = args.find((arg) => !arg.startsWith('-'));
  const needs = { command, docker: false, site: false, tools: [] };
  if (command === undefined || command === 'help' || args.includes('--help') || args.includes('-h')) return needs;
  // Lab pages run jq and curl on the attendee's host; the unit tests run the image's platform-health
  // script, which needs jq; the site test needs the site's packages and Chromium.
  const labs = ['jq', 'curl'];
  if (command === 'test') {
    const unitOnly = args.includes('--unit-only');
    const site = !args.includes('--no-site');
    const tools = unitOnly ? ['jq', 'shellcheck'] : [...labs, 'shellcheck'];
    return { command, docker: !unitOnly, site, tools: site ? [...tools, 'chromium'] : tools };
  }
  if (command === 'verify') return { ...needs, docker: true, tools: labs };
  if (['images', 'up', 'down', 'clean', 'check'].includes(command)) return { ...needs, docker: true };
  return needs;
}

// The lowest Node the workshop runs on: package.json's `engines.node`, which must read `>=X.Y[.Z]`.
export function nodeFloor(root) {
  const file = path.join(root, 'package.json');
  const range = JSON.parse(readFileSync(file, 'utf8')).engines?.node;
  const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range ?? '').trim());
  if (!match) throw new Error(`${file}: engines.node must read \`>=major.minor\`, found \`${range}\``);
  return match.slice(1).map((part) => Number(part ?? 0));
}

// A sentence saying the Node is older than the floor and how to get a newer one, or undefined.
export function nodeProblem(version, floor, recommended) {
  const have = String(version).replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((have[i] || 0) > floor[i]) return undefined;
    if ((have[i] || 0) < floor[i]) {
      const needed = floor[2] > 0 ? floor.join('.') : `${floor[0]}.${floor[1]}`;
      return `Node ${version} is too old for the workshop, which needs Node ${needed} or newer (${recommended} recommended, see .nvmrc): ` +
        `install it with nvm (\`nvm install ${recommended}\`) or from https://nodejs.org/en/download, ${AGAIN}.`;
    }
  }
  return undefined;
}

// Why the packages installed in `dir` do not match its package-lock.json, or undefined when they do.
// npm records what it installed in node_modules/.package-lock.json; optional packages for other
// platforms are locked but never installed.
export function lockDrift(dir) {
  const installedFile = path.join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(installedFile)) {
    return existsSync(path.join(dir, 'node_modules')) ? 'node_modules/ has no record of an npm install' : 'node_modules/ is missing';
  }
  const locked = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')).packages || {};
  let installed;
  try {
    installed = JSON.parse(readFileSync(installedFile, 'utf8')).packages || {};
  } catch {
    return 'node_modules/.package-lock.json is unreadable';
  }
  const drift = [];
  const name = (key) => key.replace(/^.*node_modules\//, '');
  for (const key of Object.keys(locked)) {
    if (key === '') continue;
    const want = locked[key];
    const have = installed[key];
    if (!have) {
      if (!want.optional) drift.push(`${name(key)} is not installed`);
    } else if (have.version !== want.version || have.resolved !== want.resolved || have.integrity !== want.integrity) {
      drift.push(`${name(key)} is ${have.version}, locked ${want.version}`);
    }
  }
  for (const key of Object.keys(installed)) if (!(key in locked)) drift.push(`${name(key)} is no longer locked`);
  if (drift.length === 0) return undefined;
  return drift.slice(0, 3).join(', ') + (drift.length > 3 ? ` and ${drift.length - 3} more` : '');
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

// The first executable called `name` on the machine's PATH.
export function which(name, env) {
  for (const dir of String(env.PATH || '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function firstLine(text) {
  return String(text || '').split('\n').map((line) => line.trim()).find((line) => line.length > 0) || '';
}

// One sentence on what keeps Docker from running the labs, or undefined when the engine answers.
export function dockerProblem(env, systemd) {
  const docker = which('docker', env);
  if (!docker) {
    return `Docker is not installed (no \`docker\` command on PATH): install the Docker engine and its compose plugin with ` +
      `\`sudo ${INSTALL_SCRIPT} docker\` on Debian or Ubuntu (elsewhere see https://docs.docker.com/engine/install/), ${AGAIN}.`;
  }
  // `docker version` asks the engine and reports a failure plainly, where `docker info --format`
  // turns a refused socket into a template error.
  const info = spawnSync(docker, ['version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8', timeout: DOCKER_TIMEOUT_MS });
  if (info.error || info.status !== 0) {
    const seen = info.error && info.error.code === 'ETIMEDOUT'
      ? `no answer within ${DOCKER_TIMEOUT_MS / 1000} s`
      : firstLine(info.stderr) || firstLine(info.stdout) || (info.error ? info.error.message : `exit code ${info.status}`);
    if (/permission denied/i.test(seen)) {
      return `The Docker engine refuses this user (\`docker version\`: ${seen.replace(/\.$/, '')}): add yourself to the docker group ` +
        `(\`sudo usermod -aG docker $USER\`, then log in again) or run as root, ${AGAIN}.`;
    }
    const start = systemd ? '`sudo systemctl start docker`' : `\`sudo ${INSTALL_SCRIPT} docker\` (it starts dockerd)`;
    const where = env.DOCKER_HOST ? `, or point DOCKER_HOST (now \`${env.DOCKER_HOST}\`) at a running engine` : '';
    return `The Docker engine does not answer (\`docker version\`: ${seen.replace(/\.$/, '')}): start it with ${start}${where}, ${AGAIN}.`;
  }
  const compose = spawnSync(docker, ['compose', 'version', '--short'], { env, encoding: 'utf8', timeout: DOCKER_TIMEOUT_MS });
  if (compose.error || compose.status !== 0 || !/^v?2\./.test(firstLine(compose.stdout))) {
    const seen = firstLine(compose.stderr) || firstLine(compose.stdout) || (compose.error ? compose.error.message : `exit code ${compose.status}`);
    return `Docker Compose v2 is missing (\`docker compose version\`: ${seen.replace(/\.$/, '')}): install the compose plugin with ` +
      `\`sudo ${INSTALL_SCRIPT} docker\` on Debian or Ubuntu (elsewhere see https://docs.docker.com/compose/install/linux/), ${AGAIN}.`;
  }
  return undefined;
}

// The Chromium the site's browser test drives: CHROMIUM_PATH when set, else the first on PATH.
export function findChromium(env) {
  if (env.CHROMIUM_PATH) return { path: env.CHROMIUM_PATH, usable: isExecutable(env.CHROMIUM_PATH), chosen: true };
  for (const name of CHROMIUM_NAMES) {
    const found = which(name, env);
    if (found) return { path: found, usable: true, chosen: false };
  }
  return undefined;
}

function npmCommand(machine) {
  // Under `npm test` npm says where it lives; otherwise the npm beside Node on PATH.
  const execPath = machine.env.npm_execpath;
  if (execPath && /npm-cli\.js$/.test(execPath)) return [machine.nodeExecPath, [execPath]];
  const npm = which('npm', machine.env);
  return npm ? [npm, []] : undefined;
}

// Installs the locked packages of `dir` when they are missing or stale; returns a problem sentence or undefined.
function ensurePackages(machine, dir, what) {
  const drift = lockDrift(dir);
  if (drift === undefined) return undefined;
  const where = path.relative(machine.root, dir) || '.';
  const npm = npmCommand(machine);
  if (!npm) return `npm is not on PATH, so ${what} cannot be installed: npm comes with Node (https://nodejs.org/en/download), ${AGAIN}.`;
  const args = [...npm[1], 'ci', '--no-audit', '--no-fund'];
  machine.log(`installing ${what} from ${path.join(where, 'package-lock.json')} (npm ci in ${where}; ${drift})`);
  const started = Date.now();
  const result = spawnSync(npm[0], args, { cwd: dir, env: machine.env, stdio: 'inherit' });
  if (result.status !== 0) {
    return `Installing ${what} failed (npm ci in ${where} ended with ${result.error ? result.error.message : `exit code ${result.status}`}; its output is above): ` +
      `fix what it says, ${AGAIN}.`;
  }
  machine.log(`${what}: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return undefined;
}

function toolMissing(tool, env) {
  return tool === 'chromium' ? !findChromium(env) : !which(tool, env);
}

// Installs the missing host tools through the install script where the package manager is usable
// (root with apt-get); otherwise, or when that fails, names what is missing and how to install it.
function ensureTools(machine, needs, env) {
  const problems = [];
  const chromium = needs.tools.includes('chromium') ? findChromium(machine.env) : undefined;
  if (chromium && chromium.chosen && !chromium.usable) {
    problems.push(`CHROMIUM_PATH is \`${chromium.path}\`, which is not an executable file: point it at a Chromium or Chrome binary, ` +
      `or unset it to use \`chromium\` from PATH, ${AGAIN}.`);
  }
  let missing = needs.tools.filter((tool) => !(tool === 'chromium' && chromium) && toolMissing(tool, machine.env));
  if (missing.length > 0 && machine.isRoot && which('apt-get', machine.env)) {
    machine.log(`installing ${missing.join(' and ')} with the package manager (${INSTALL_SCRIPT} ${missing.join(' ')})`);
    const install = spawnSync(path.join(machine.root, INSTALL_SCRIPT), missing, { cwd: machine.root, env: machine.env, stdio: 'inherit' });
    const still = missing.filter((tool) => toolMissing(tool, machine.env));
    if (still.length > 0) {
      const ended = install.error ? install.error.message : `exit code ${install.status}`;
      problems.push(`Installing ${still.join(' and ')} failed (\`${INSTALL_SCRIPT} ${missing.join(' ')}\` ended with ${ended}; its output is above): ` +
        `fix what it says, ${AGAIN}.`);
    }
    missing = [];
  }
  if (missing.length > 0) {
    const names = missing.map((tool) => TOOLS[tool].name).join(' and ');
    const alternatives = missing.includes('chromium') ? '; CHROMIUM_PATH may name another Chrome, and `npx workshop test --no-site` leaves the site test out' : '';
    problems.push(`${names} ${missing.length > 1 ? 'are' : 'is'} not installed (${missing.map((tool) => TOOLS[tool].why).join('; ')}): ` +
      `install ${missing.length > 1 ? 'them' : 'it'} with \`sudo ${INSTALL_SCRIPT} ${missing.join(' ')}\` on Debian or Ubuntu, or your system's package manager${alternatives}, ${AGAIN}.`);
  }
  const found = needs.tools.includes('chromium') ? findChromium(machine.env) : undefined;
  if (found && found.usable && !found.chosen) env.CHROMIUM_PATH = found.path;
  return problems;
}

// Checks and installs what the command in `args` needs. Returns the problems (one sentence each;
// the launcher exits EXIT_PREREQUISITE when there are any) and variables to set for the command.
export function prepare(args, machine) {
  const needs = needsOf(args);
  let recommended = 'the current LTS';
  try {
    recommended = readFileSync(path.join(machine.root, '.nvmrc'), 'utf8').trim() || recommended;
  } catch { /* no .nvmrc: name the LTS in general */ }
  const tooOld = nodeProblem(machine.nodeVersion, nodeFloor(machine.root), recommended);
  // Nothing else is worth checking on a Node that cannot run the CLI.
  if (tooOld) return { problems: [tooOld], env: {} };

  const env = {};
  const problems = [];
  if (needs.docker) {
    const docker = dockerProblem(machine.env, machine.systemd);
    if (docker) problems.push(docker);
  }
  problems.push(...ensureTools(machine, needs, env));
  if (problems.length > 0) return { problems, env };

  const rootPackages = ensurePackages(machine, machine.root, 'the workshop\'s packages');
  if (rootPackages) return { problems: [rootPackages], env };
  if (needs.site) {
    const sitePackages = ensurePackages(machine, path.join(machine.root, 'docs-site'), 'the site\'s packages');
    if (sitePackages) return { problems: [sitePackages], env };
  }
  return { problems, env };
}
