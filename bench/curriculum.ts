// Benchmark: where a verify run's time goes, per lab and PostgreSQL major, beside the previous run's figures.
//   npm run bench -- [lab…] [--pg 18|15,17,18|all] [--from runs/<run id>]
// Without --from it runs `workshop verify` with the same labs and majors first. Figures come from the
// run's reports (each step's start and duration), so they cost the run nothing:
//   wall      the lab from its spec's start to its report (environment removed)
//   ready     the step that starts the environment (`docker compose up`)
//   steps     every other foreground step of the page, typed and waited for
//   waits     the spec's own time between steps (polls, measurements, probes)
//   teardown  the page's `docker compose down` step plus the harness's removal after the last step
// Earlier runs' figures are kept in runs/bench/pg<major>.json (per major, on this machine); the table
// shows the newest earlier run beside this one.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { repoRoot } from '../harness/paths.ts';

interface StepFigures { command: string; background: boolean; startedAt: string; durationMs: number }
interface LabFigures { id: string; status: string; startedAt: string; durationMs: number; steps: StepFigures[] }
interface RunFigures { runId: string; major: number; startedAt: string; endedAt: string; labs: LabFigures[] }

// One lab's time, split by where it went (seconds).
export interface LabTimes { lab: string; status: string; wall: number; ready: number; steps: number; waits: number; teardown: number }
export interface BenchRecord { runId: string; major: number; runWall: number; labs: LabTimes[] }

// Runs kept per major in runs/bench/pg<major>.json, oldest first.
const HISTORY = 20;
const UP = /\bdocker compose\b[^\n]*\bup\b/;
const DOWN = /\bdocker compose\b[^\n]*\bdown\b/;

// Splits a lab's wall time into environment start, page steps, spec waits and teardown.
export function labTimes(lab: LabFigures): LabTimes {
  const start = Date.parse(lab.startedAt);
  const end = start + lab.durationMs;
  const foreground = lab.steps.filter((step) => !step.background);
  const up = foreground.find((step) => UP.test(step.command));
  const down = foreground.filter((step) => DOWN.test(step.command)).at(-1);
  const lastEnd = Math.max(start, ...lab.steps.map((step) => Date.parse(step.startedAt) + step.durationMs));
  const ms = {
    ready: up?.durationMs ?? 0,
    steps: foreground.filter((step) => step !== up && step !== down).reduce((sum, step) => sum + step.durationMs, 0),
    teardown: (down?.durationMs ?? 0) + Math.max(0, end - lastEnd),
  };
  const waits = Math.max(0, lab.durationMs - ms.ready - ms.steps - ms.teardown);
  const s = (value: number) => Math.round(value / 100) / 10;
  return { lab: lab.id, status: lab.status, wall: s(lab.durationMs), ready: s(ms.ready), steps: s(ms.steps), waits: s(waits), teardown: s(ms.teardown) };
}

// The figures of one run report (runs/<id>/report-pg<major>.json).
export function benchRecord(report: RunFigures): BenchRecord {
  const labs = report.labs.filter((lab) => lab.status !== 'not-applicable').map(labTimes);
  const runWall = (Date.parse(report.endedAt) - Date.parse(report.startedAt)) / 1000;
  return { runId: report.runId, major: report.major, runWall: Math.round(runWall * 10) / 10, labs };
}

// A table of this run beside the previous one: `wall (prev)` per lab, then totals.
export function formatBench(current: BenchRecord, previous?: BenchRecord): string {
  const before = new Map(previous?.labs.map((lab) => [lab.lab, lab]) ?? []);
  const header = ['lab', 'status', 'wall s', 'ready s', 'steps s', 'waits s', 'teardown s', previous ? `wall s, run ${previous.runId}` : ''];
  const rows = current.labs.map((lab) => {
    const old = before.get(lab.lab);
    return [lab.lab, lab.status, lab.wall.toFixed(1), lab.ready.toFixed(1), lab.steps.toFixed(1), lab.waits.toFixed(1), lab.teardown.toFixed(1),
      old ? `${old.wall.toFixed(1)} (${signed(lab.wall - old.wall)})` : previous ? '–' : ''];
  });
  const sum = (key: keyof Omit<LabTimes, 'lab' | 'status'>, record: BenchRecord) => record.labs.reduce((total, lab) => total + lab[key], 0);
  const oldTotal = previous ? sum('wall', previous) : 0;
  rows.push(['all labs', '', sum('wall', current).toFixed(1), sum('ready', current).toFixed(1), sum('steps', current).toFixed(1), sum('waits', current).toFixed(1),
    sum('teardown', current).toFixed(1), previous ? `${oldTotal.toFixed(1)} (${signed(sum('wall', current) - oldTotal)})` : '']);
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const slowest = [...current.labs].sort((a, b) => b.wall - a.wall)[0];
  return [
    `PostgreSQL ${current.major}, run ${current.runId}: ${current.runWall.toFixed(1)} s for the run (image check, labs, reports)${previous ? `, previous ${previous.runWall.toFixed(1)} s` : ''}`,
    line(header), ...rows.slice(0, -1).map(line), line(rows.at(-1)!),
    slowest ? `slowest lab: ${slowest.lab} ${slowest.wall.toFixed(1)} s` : '',
  ].join('\n');
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

function readRun(file: string): RunFigures {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunFigures;
  } catch (error) {
    throw new Error(`bench: cannot read the run report ${path.relative(repoRoot, file)}: ${(error as Error).message}`, { cause: error });
  }
}

// The run folders under runs/ made since `since` (unix ms), newest last.
function runsSince(runsDir: string, since: number): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir).map((name) => path.join(runsDir, name))
    .filter((dir) => /\d{8}-\d{6}$/.test(dir) && statSync(dir).isDirectory() && statSync(dir).mtimeMs >= since - 1000)
    .sort();
}

const USAGE = `usage: npm run bench -- [lab…] [--pg 15,17,18|all] [--jobs <n>]   verify the labs, then print where the time went
       npm run bench -- --from runs/<run id>                         read a finished verify run instead
Per lab and major: wall, environment ready, page steps, spec waits, teardown, beside the previous
run's figures (kept in runs/bench/pg<major>.json).`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { pg: { type: 'string' }, from: { type: 'string' }, jobs: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runsDir = path.join(repoRoot, 'runs');
  let runDir: string;
  if (values.from) {
    runDir = path.resolve(values.from);
    if (!existsSync(runDir)) {
      console.error(`bench: --from ${values.from}: no such run folder; expected runs/<run id> of a verify run`);
      return 2;
    }
  } else {
    const since = Date.now();
    const args = ['bin/workshop.mjs', 'verify', ...positionals, ...(values.pg ? ['--pg', values.pg] : []), ...(values.jobs ? ['--jobs', values.jobs] : [])];
    console.log(`bench: node ${args.join(' ')}`);
    const run = await execa('node', args, { cwd: repoRoot, stdio: 'inherit', reject: false });
    const made = runsSince(runsDir, since);
    if (made.length === 0) {
      console.error(`bench: workshop verify exited with ${run.exitCode} and left no run folder under runs/`);
      return run.exitCode === 0 ? 3 : (run.exitCode ?? 3);
    }
    runDir = made.at(-1)!;
  }
  const reports = readdirSync(runDir).filter((name) => /^report-pg\d+\.json$/.test(name)).sort();
  if (reports.length === 0) {
    console.error(`bench: ${path.relative(repoRoot, runDir)} holds no report-pg<major>.json: the run ended before any major finished`);
    return 1;
  }
  const keep = path.join(runsDir, 'bench');
  mkdirSync(keep, { recursive: true });
  for (const name of reports) {
    const record = benchRecord(readRun(path.join(runDir, name)));
    const file = path.join(keep, `pg${record.major}.json`);
    const history = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchRecord[]) : [];
    const previous = history.filter((earlier) => earlier.runId !== record.runId).at(-1);
    console.log(`\n${formatBench(record, previous)}`);
    const kept = [...history.filter((earlier) => earlier.runId !== record.runId), record].slice(-HISTORY);
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`);
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
