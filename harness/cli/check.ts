// `workshop check <lab>`: an attendee's own environment checked with the lab's checkpoints, read-only,
// and where they stand: the last section done and, for the first checkpoint that does not hold, the
// step of the page that makes it true.
import path from 'node:path';
import { execa } from 'execa';
import pc from 'picocolors';
import { findLab } from '../lab/catalog.ts';
import { formatProblem, type LabDocument, type Step } from '../lab/model.ts';
import { labSectionsOf } from '../agenda/agenda.ts';
import { corePath, corePathProblems } from '../agenda/core-path.ts';
import { matrix, UsageError } from '../lab/majors.ts';
import { checkpointsFor, checkpointTarget, runCheckpoints, type CheckpointResult } from '../checkpoint/run.ts';
import { labSections, standing, type Standing } from '../checkpoint/standing.ts';
import { normaliseOutput } from '../expect/match.ts';
import { environmentsDir } from '../paths.ts';

// A compose project found running: its name, the environment folder it was started from and its major.
export interface RunningEnvironment {
  project: string;
  environment: string;
  major: number | undefined;
  // Running containers / all containers of the project.
  running: number;
  containers: number;
}

export interface CheckOptions {
  lab: string;
  major?: number;
  project?: string;
  // Only the lab's core path (`--core-path`): the checkpoints of the sections its front matter's
  // `deep_dives` does not name, as an attendee of the 3-hour workshop leaves the environment.
  corePath?: boolean;
  // Folder of the modules (tests use fixtures); the curriculum by default.
  root?: string;
  print?: (line: string) => void;
}

const EXIT = { pass: 0, failed: 1, usage: 2 } as const;
// The compose projects of `workshop verify` runs: ws-<run id>-<module>[-<lab suffix>]-pg<major> (projectKey in harness/spec/lab.ts).
const HARNESS_RUN_PROJECT = /^ws-\d{8}-\d{6}-/;

// The compose projects of the workshop's environments that have containers, from their compose labels:
// the folder they were started from (`docker compose up` in environments/<env>, or `workshop up <env>`)
// and the image's major (workshop-postgres:<major>).
export async function runningEnvironments(): Promise<RunningEnvironment[]> {
  const format = '{{.Label "com.docker.compose.project"}}\t{{.Label "com.docker.compose.project.working_dir"}}\t{{.Image}}\t{{.State}}';
  const result = await execa('docker', ['ps', '--all', '--filter', 'label=workshop.harness=true', '--format', format], { reject: false, timeout: 15_000 });
  if (result.exitCode !== 0) {
    throw new UsageError(`check: the Docker engine does not answer (docker ps exited with ${result.exitCode}: ${result.stderr.trim().split('\n')[0]}); start Docker, then your lab's environment`);
  }
  const projects = new Map<string, RunningEnvironment>();
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    const [project = '', workingDir = '', image = '', state = ''] = line.split('\t');
    // The environments are folders named environments/<env> (of this clone or another one).
    if (!project || path.basename(path.dirname(workingDir)) !== path.basename(environmentsDir)) continue;
    const entry = projects.get(project) ?? { project, environment: path.basename(workingDir), major: undefined, running: 0, containers: 0 };
    const major = /^workshop-postgres:(\d+)$/.exec(image)?.[1];
    if (major) entry.major ??= Number(major);
    entry.containers += 1;
    if (state === 'running') entry.running += 1;
    projects.set(project, entry);
  }
  return [...projects.values()].filter((p) => p.running > 0).sort((a, b) => a.project.localeCompare(b.project));
}

// Chooses the attendee's project among those running the lab's environment: `--project`, else the
// ones on `--pg`, else the one compose names by default (`name:` of the compose file, the folder).
export function chooseEnvironment(candidates: RunningEnvironment[], environment: string, options: { major?: number; project?: string }): RunningEnvironment | string {
  // A verify run's projects (ws-<run id>-…) come and go with their run: only named, never chosen.
  const own = candidates.filter((c) => c.environment === environment && (options.project !== undefined || !HARNESS_RUN_PROJECT.test(c.project)));
  const start = `start it: cd environments/${environment} && docker compose up --detach --wait --wait-timeout 240 (or: npx workshop up ${environment}${options.major ? ` --pg ${options.major}` : ''})`;
  if (options.project) {
    const named = own.find((c) => c.project === options.project);
    if (named) return named;
    return `no running \`${environment}\` environment has the compose project name \`${options.project}\`${own.length > 0 ? `; running: ${own.map((c) => c.project).join(', ')}` : `; ${start}`}`;
  }
  const onMajor = options.major === undefined ? own : own.filter((c) => c.major === options.major);
  if (onMajor.length === 0) {
    const others = own.length > 0 ? ` (running on PostgreSQL ${own.map((c) => `${c.major ?? '?'}: project ${c.project}`).join(', ')}: leave out --pg, or give --pg of one of them)` : '';
    return `no \`${environment}\` environment is running${options.major ? ` on PostgreSQL ${options.major}` : ''}${others}; ${start}`;
  }
  if (onMajor.length === 1) return onMajor[0]!;
  const byDefaultName = onMajor.filter((c) => c.project === environment);
  if (byDefaultName.length === 1) return byDefaultName[0]!;
  return `several \`${environment}\` environments are running (${onMajor.map((c) => `${c.project} on PostgreSQL ${c.major ?? '?'}`).join(', ')}): name yours with --project <name> (docker compose ls lists them)`;
}

// Runs the checkpoints in order and prints them with the attendee's standing; returns the exit code.
export async function check(options: CheckOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const started = Date.now();
  const lab = findLab(options.lab, options.root);
  const document = lab.document;
  if (document.problems.length > 0) throw new UsageError(`check: ${document.file} does not pass lint:\n${document.problems.map(formatProblem).join('\n')}`);
  const fm = document.frontMatter!;

  let target = checkpointTarget(undefined);
  let major = options.major ?? matrix().defaultMajor;
  let found: RunningEnvironment | undefined;
  if (fm.environment) {
    const chosen = chooseEnvironment(await runningEnvironments(), fm.environment, options);
    if (typeof chosen === 'string') {
      print(pc.red(`Lab ${fm.id} runs on the \`${fm.environment}\` environment: ${chosen}`));
      return EXIT.usage;
    }
    found = chosen;
    major = options.major ?? chosen.major ?? major;
    target = checkpointTarget({ name: chosen.project, environment: fm.environment, major });
  }
  // After the environment: with none running, the attendee first learns how to start it.
  if (document.checkpoints.length === 0) throw new UsageError(`check: lab ${fm.id} declares no checkpoints yet (\`check=<id>\` blocks in ${document.file}): nothing to check`);
  if (!fm.majors.includes(major)) throw new UsageError(`check: lab ${fm.id} does not run on PostgreSQL ${major} (${fm.majors.join(', ')} only: ${fm.majorsReason ?? ''})`);
  let checkpoints = checkpointsFor(document, major);
  let steps: Step[] | undefined;
  let scope = '';
  if (options.corePath) {
    const sections = labSectionsOf(document);
    const problems = corePathProblems(document, sections);
    if (problems.length > 0) throw new UsageError(`check --core-path: ${document.file}: its core path cannot be typed alone, so no environment can stand on it:\n${problems.map(formatProblem).join('\n')}`);
    const core = corePath(document, sections, major);
    if (core.checkpoints.length === 0) throw new UsageError(`check --core-path: lab ${fm.id} has no checkpoint on its core path on PostgreSQL ${major} (every one sits in a deep dive: ${sections.filter((s) => s.mark === 'deep-dive').map((s) => s.slug).join(', ')}); check it without --core-path`);
    ({ checkpoints, steps } = core);
    scope = ` · core path (${core.skipped.length} deep dive${core.skipped.length === 1 ? '' : 's'} skipped)`;
  }
  print(`${pc.bold(fm.title)} (${fm.id}) · PostgreSQL ${major}${found ? ` · compose project ${found.project}` : ''}${scope} · ${checkpoints.length} checkpoints, read-only`);
  const results = await runCheckpoints(document, major, checkpoints, target);
  const where = standing(document, major, results, labSections(document), steps);
  for (const line of formatStanding(document, where)) print(line);
  print(pc.dim(`${results.length} checkpoints in ${((Date.now() - started) / 1000).toFixed(1)} s`));
  return where.reached === results.length ? EXIT.pass : EXIT.failed;
}

// ✓ or ✗ per checkpoint with what it saw, then the last section done and what to do next.
export function formatStanding(document: LabDocument, where: Standing): string[] {
  const lines: string[] = [];
  where.results.forEach((result, index) => {
    const seen = seenText(result);
    const replaced = !result.ok && index < where.reached;
    const mark = result.ok ? pc.green('✓') : replaced ? pc.dim('·') : pc.red('✗');
    lines.push(`${mark} ${result.checkpoint.title}  ${pc.dim(`${document.file}:${result.checkpoint.position.line}`)}`);
    lines.push(pc.dim(`    saw: ${seen}${replaced ? `  (changed by a later step, as the page says: until=${result.checkpoint.until})` : ''}`));
  });
  lines.push('');
  const last = where.sectionsDone.at(-1);
  lines.push(pc.bold('Where you stand'));
  lines.push(last ? `  last section completed: ${last.title}` : '  no section completed yet');
  if (!where.next) {
    lines.push(pc.green(`  every checkpoint holds: the lab is done up to its last checkpoint`));
    return lines;
  }
  const { result, firstStep, firstStepNumber, stepNumber, section, link } = where.next;
  lines.push(`  first checkpoint that does not hold: ${result.checkpoint.title} (${document.file}:${result.checkpoint.position.line})`);
  lines.push(`    expected: ${result.expectation ? result.expectation.lines.join(' ⏎ ') : '(no expectation)'}`);
  lines.push(`    seen:     ${seenText(result)}`);
  const steps = firstStepNumber === stepNumber ? `Step ${stepNumber}` : `Steps ${firstStepNumber} to ${stepNumber}`;
  lines.push(`  the page makes it true in ${steps}, from “${section.title}” (${firstStep.position.file}:${firstStep.position.line})`);
  lines.push(`    on the site: ${link}`);
  return lines;
}

// What a checkpoint printed, on one line (and its exit code when it failed).
function seenText(result: CheckpointResult): string {
  const lines = normaliseOutput(result.output);
  const text = lines.length === 0 ? '(nothing)' : lines.length > 6 ? `${lines.slice(0, 6).join(' ⏎ ')} ⏎ … ${lines.length - 6} more lines` : lines.join(' ⏎ ');
  if (result.timedOut) return `${text} (timed out)`;
  return result.exitCode === 0 ? text : `${text} (exit code ${result.exitCode})`;
}

