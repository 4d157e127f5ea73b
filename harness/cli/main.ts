// The `workshop` command line: lint, verify, test, images, up, down, clean, ci.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { execa } from 'execa';
import pc from 'picocolors';
import { formatLint, lintPaths } from '../lab/lint.ts';
import { knownMajors, matrix, parseMajorList, UsageError } from '../lab/majors.ts';
import { cleanProjects, composeFile, environmentNames } from '../environment/compose.ts';
import { ensureImage, imageTag } from '../image/images.ts';
import { labsNeedingCorePathRun, STAGED_LABS, verify } from './verify.ts';
import { ciCommand, positiveInteger } from './ci.ts';
import { check } from './check.ts';
import { buildAgenda, CORE_BUDGET_MINUTES, formatAgenda } from '../agenda/agenda.ts';
import { allLabs } from '../lab/catalog.ts';
import { formatProblem } from '../lab/model.ts';
import { eslint, shellcheck, typecheck } from './code-checks.ts';
import { DEFAULT_PAUSE_SECONDS } from '../spec/page-only.ts';
import { curriculumDir, repoRoot } from '../paths.ts';

// The pause of `npm test`'s page-only run: none. Each command is typed as soon as the previous one
// has returned, as fast as a person pasting them one by one could: the strictest test of the page's
// own waits (no state gets time to settle that the page does not wait for), and no idle time in CI
// (a 1 s pause was 309 s of the run on 18).
const TEST_PAUSE_SECONDS = 0;
// Labs side by side in `npm test` (verify --jobs): one per two cores. A Patroni lab keeps about a
// core busy (its loads, and Docker running each container's healthcheck, every 2 or 3 s): on 2
// cores 06 and 07 side by side left the CPU no idle time and took 1.6 and 1.8 times as long.
const TEST_JOBS = Math.max(1, Math.floor(os.availableParallelism() / 2));

// Exit codes: 0 pass, 1 a check failed, 2 bad input, 3 internal error.
export const EXIT = { pass: 0, failed: 1, usage: 2, internal: 3 } as const;

const log = (line: string) => console.log(`${pc.dim(new Date().toISOString().slice(11, 19))} ${line}`);
const pgOption = () => new Option('--pg <majors>', `PostgreSQL majors, comma-separated, or \`all\` (${knownMajors().join(', ')}); default ${matrix().defaultMajor}`);

function runLint(paths: string[]): number {
  const result = lintPaths(paths.length > 0 ? paths : [curriculumDir]);
  if (result.problems.length > 0) {
    console.error(formatLint(result));
    console.error(pc.red(`\n${result.problems.length} problem(s) in ${result.files.length} file(s)`));
    return EXIT.usage;
  }
  console.log(`lint: ${result.files.length} file(s), no problems`);
  return EXIT.pass;
}

const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

// Runs `docker compose` for `up`/`down` in the user's terminal; a failure is said in one line (compose printed its own error above).
async function composeInTerminal(environment: string, major: number, args: string[]): Promise<number> {
  const file = composeFile(environment);
  const result = await execa('docker', ['compose', '-f', file, ...args], { stdio: 'inherit', reject: false, env: { PG_MAJOR: String(major) } });
  if (result.exitCode === 0) return EXIT.pass;
  console.error(pc.red(`docker compose ${args[0]} of ${environment} (PostgreSQL ${major}) failed with exit code ${result.exitCode ?? result.signal}: docker compose -f ${path.relative(process.cwd(), file)} ${args.join(' ')}`));
  return EXIT.failed;
}

const environmentsHelp = () => environmentNames().join(', ');

const program = new Command('workshop')
  .description('Verify the PostgreSQL platforms workshop: every command of every lab, run against real clusters.')
  .version(version, '-V, --version', 'print the version of the workshop')
  .showHelpAfterError()
  .exitOverride();

program.command('lint')
  .description('Check lessons and labs: block options, step ids, expectations, file= paths, version ranges, front matter.')
  .argument('[paths...]', 'files or folders (default: curriculum/)')
  .action((paths: string[]) => { process.exitCode = runLint(paths); });

program.command('verify')
  .description('Run labs against real clusters, once per PostgreSQL major; print each step; write one report per major.')
  .argument('[labs...]', 'lab ids or their numbers (`01`, `06-patroni`); default: every lab')
  .addOption(pgOption())
  .option('--keep', 'leave each environment running after its lab, and print how to reach it', false)
  .option('--no-build', 'do not build missing or outdated images first')
  .option('--page-only', 'type each lab straight through as an attendee would, without its spec: a pause between commands, nothing in between', false)
  .option('--pause <seconds>', `with --page-only: seconds between two commands (default ${DEFAULT_PAUSE_SECONDS})`)
  .option('--stop-after <step>', 'with --page-only, one lab and one major: stop after this step and keep the environment (then `workshop check` it)')
  .option('--core-path', 'with --page-only: type only each lab\'s core path, its deep dives (front matter `deep_dives`) skipped, as an attendee of the 3-hour workshop', false)
  .addOption(new Option('--jobs <n>', 'labs side by side on a major, each in its own environment (labs whose front matter says `runs_alone` still run alone, after the others)').default(1).argParser(positiveInteger('--jobs')))
  .option('--runs-dir <dir>', 'where run folders (transcripts, evidence) go', path.join(repoRoot, 'runs'))
  .option('--reports-dir <dir>', 'where the latest report per major is copied', path.join(repoRoot, 'reports'))
  .action(async (labs: string[], options: { pg?: string; keep: boolean; build: boolean; pageOnly: boolean; pause?: string; stopAfter?: string; corePath: boolean; jobs: number; runsDir: string; reportsDir: string }) => {
    if (options.pause !== undefined && !options.pageOnly) throw new UsageError('verify --pause: applies with --page-only only (the pause between two typed commands)');
    if (options.stopAfter !== undefined && !options.pageOnly) throw new UsageError('verify --stop-after: applies with --page-only only (the page typed up to that step)');
    if (options.corePath && !options.pageOnly) throw new UsageError('verify --core-path: applies with --page-only only (the page typed as an attendee of the workshop types it, deep dives skipped); add --page-only');
    process.exitCode = await verify({
      labs, majors: parseMajorList(options.pg), keep: options.keep, build: options.build, jobs: options.jobs, runsDir: path.resolve(options.runsDir), reportsDir: path.resolve(options.reportsDir),
      ...(options.pageOnly && { pageOnly: { pauseSeconds: pauseSeconds(options.pause), ...(options.stopAfter !== undefined && { stopAfter: options.stopAfter }), ...(options.corePath && { corePath: true }) } }),
    });
  });

// `--pause 2.5` as seconds; only with --page-only.
function pauseSeconds(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAUSE_SECONDS;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`verify --pause: expected a number of seconds (0 or more), found \`${text}\``);
  return seconds;
}

program.command('check')
  .description('Check your own environment against a lab\'s checkpoints (read-only): ✓ or ✗ per checkpoint, the last section you completed and the step to look at next. Exit 0 all hold, 1 one does not, 2 no environment running.')
  .argument('<lab>', 'lab id or its number (`01`, `04-replication`)')
  .addOption(new Option('--pg <major>', 'the PostgreSQL major of your environment (default: the one running)'))
  .option('--project <name>', 'the compose project of your environment, when several of the lab\'s environment run (docker compose ls)')
  .option('--core-path', 'you follow the 3-hour core path: only the checkpoints of the sections that are not deep dives (front matter `deep_dives`)', false)
  .action(async (name: string, options: { pg?: string; project?: string; corePath: boolean }) => {
    const majors = options.pg === undefined ? undefined : parseMajorList(options.pg);
    if (majors && majors.length !== 1) throw new UsageError(`check --pg: expected one major, found \`${options.pg}\``);
    process.exitCode = await check({ lab: name, ...(majors && { major: majors[0]! }), ...(options.project && { project: options.project }), ...(options.corePath && { corePath: true }) });
  });

program.command('test')
  .description('The test suite (`npm test`): the type checker, ESLint, shellcheck, lint, the unit tests, the site built and checked in Chromium, the component tests on real PostgreSQL, then every lab verified on the default major by its spec, the agenda timed from that run (the core path within its budget), then page-only, then on its core path alone where a deep dive comes before a core step.')
  .option('--unit-only', 'code checks, lint, unit tests and the site test only (no Docker needed)', false)
  .option('--no-site', 'leave out the site test and the site\'s code checks (the site test needs Chromium; the launcher installs the site\'s packages)')
  .action(async (options: { unitOnly: boolean; site: boolean }) => {
    log(`code checks: tsc --noEmit, eslint, shellcheck${options.site ? '' : ' (docs-site left out: --no-site)'}`);
    const checks = [...await typecheck(options.site), await eslint(options.site), await shellcheck()];
    for (const check of checks) {
      console.log(`${check.ok ? pc.green('✔') : pc.red('✘')} ${check.name}${check.error ? `: ${check.error}` : ''}`);
    }
    if (checks.some((check) => !check.ok)) { process.exitCode = EXIT.failed; return; }
    const lint = runLint([]);
    if (lint !== EXIT.pass) { process.exitCode = lint; return; }
    const unit = await execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'unit'], { cwd: repoRoot, stdio: 'inherit', reject: false });
    if (unit.exitCode !== 0) { process.exitCode = EXIT.failed; return; }
    if (options.site) {
      log('site: build with the fixture reports and check every page in Chromium (npm --prefix docs-site test)');
      const site = await execa('npm', ['--prefix', 'docs-site', 'test'], { cwd: repoRoot, stdio: 'inherit', reject: false });
      if (site.exitCode !== 0) { process.exitCode = EXIT.failed; return; }
    }
    if (options.unitOnly) return;
    // The probes and the image's tools on real PostgreSQL (test/components), before the labs that trust them.
    await ensureImage(matrix().defaultMajor, log);
    log('components: the harness probes and the image tools on real PostgreSQL (vitest --project components)');
    const components = await execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'components'], { cwd: repoRoot, stdio: 'inherit', reject: false, env: { WORKSHOP_PG: String(matrix().defaultMajor) } });
    if (components.exitCode !== 0) { process.exitCode = EXIT.failed; return; }
    const runs = { runsDir: path.join(repoRoot, 'runs'), reportsDir: path.join(repoRoot, 'reports') };
    const tested = allLabs().map((lab) => lab.id).filter((id) => !STAGED_LABS.has(id));
    for (const [id, reason] of STAGED_LABS) log(`staged out of npm test: ${id} (${reason}); verify it with: npx workshop verify ${id} --pg all, and with --page-only`);
    if (TEST_JOBS > 1) log(`labs: ${TEST_JOBS} side by side (one per two cores; workshop verify --jobs ${TEST_JOBS}), the labs of front matter runs_alone by themselves`);
    const full = await verify({ labs: tested, majors: [matrix().defaultMajor], keep: false, build: true, jobs: TEST_JOBS, ...runs });
    // Interrupted (Ctrl-C, SIGTERM): stop here rather than start the page-only run.
    if (full === 130) { process.exitCode = 130; return; }
    // The 3-hour core path, timed with the step durations this run just measured.
    const agenda = buildAgenda(matrix().defaultMajor, { reportsDir: runs.reportsDir });
    const agendaOk = agenda.problems.length === 0 && agenda.coreMinutes <= CORE_BUDGET_MINUTES;
    const modules = agenda.modules.map((m) => `${m.module.slice(0, 2)} ${m.coreMinutes.toFixed(1)}`).join(', ');
    console.log(`${agendaOk ? pc.green('✔') : pc.red('✘')} agenda: core path ${agenda.coreMinutes.toFixed(1)} min of ${CORE_BUDGET_MINUTES} (${modules}; workshop agenda lists every section)`);
    if (!agendaOk) console.error(agenda.problems.length > 0 ? agenda.problems.map(formatProblem).join('\n') : `the core path is ${(agenda.coreMinutes - CORE_BUDGET_MINUTES).toFixed(1)} min over its budget: mark sections as deep dives (front matter deep_dives) or shorten them`);
    const agendaCode = agendaOk ? EXIT.pass : EXIT.failed;
    // Then every page as an attendee types it: straight through, a pause between commands, no spec code.
    log(`page-only: every lab typed straight through on PostgreSQL ${matrix().defaultMajor}, ${TEST_PAUSE_SECONDS} s between commands (workshop verify --page-only --pause ${TEST_PAUSE_SECONDS})`);
    const pageOnly = await verify({ labs: tested, majors: [matrix().defaultMajor], keep: false, build: false, jobs: TEST_JOBS, ...runs, pageOnly: { pauseSeconds: TEST_PAUSE_SECONDS } });
    if (pageOnly === 130) { process.exitCode = 130; return; }
    // Then the core path alone, for the labs where a deep dive comes before a core step. Where the deep
    // dives only follow the core path, the whole-page run above has typed it first, in the same state.
    const corePathLabs = labsNeedingCorePathRun(allLabs().filter((lab) => !STAGED_LABS.has(lab.id)), matrix().defaultMajor).map((lab) => lab.id);
    if (corePathLabs.length === 0) {
      log('core path: no lab has a deep dive before a core step: each core path is the start of its page, typed by the page-only run above');
      process.exitCode = Math.max(full, agendaCode, pageOnly);
      return;
    }
    log(`core path: ${corePathLabs.join(', ')} typed again with their deep dives skipped, as an attendee of the workshop (workshop verify --page-only --core-path --pause ${TEST_PAUSE_SECONDS} ${corePathLabs.join(' ')})`);
    const core = await verify({ labs: corePathLabs, majors: [matrix().defaultMajor], keep: false, build: false, jobs: TEST_JOBS, ...runs, pageOnly: { pauseSeconds: TEST_PAUSE_SECONDS, corePath: true } });
    process.exitCode = Math.max(full, agendaCode, pageOnly, core);
  });

program.command('agenda')
  .description('The 3-hour core path: attendee time per section of every lesson and lab (prose, commands typed, measured step time), failing when the core path is over its budget.')
  .addOption(new Option('--pg <major>', `the major whose reports give the measured step times; default ${matrix().defaultMajor}`))
  .option('--all', 'list deep-dive sections too', false)
  .option('--json', 'print the agenda as JSON', false)
  .option('--reports-dir <dir>', 'where the latest report per major is read (pg<major>.json)', path.join(repoRoot, 'reports'))
  .action((options: { pg?: string; all: boolean; json: boolean; reportsDir: string }) => {
    const [major] = parseMajorList(options.pg);
    const reportsDir = path.resolve(options.reportsDir);
    if (!existsSync(reportsDir)) throw new UsageError(`agenda --reports-dir ${options.reportsDir}: no such directory (${reportsDir}); give the folder that holds pg<major>.json, as verify --reports-dir wrote it`);
    const agenda = buildAgenda(major!, { reportsDir });
    console.log(options.json ? JSON.stringify(agenda, null, 2) : formatAgenda(agenda, { all: options.all }));
    if (agenda.problems.length > 0) {
      console.error(agenda.problems.map(formatProblem).join('\n'));
      process.exitCode = EXIT.usage;
    } else if (agenda.coreMinutes > CORE_BUDGET_MINUTES) {
      process.exitCode = EXIT.failed;
    }
  });

program.command('images')
  .description('Build the per-major images that are missing or whose inputs changed (making Debian base images where no registry answers).')
  .addOption(pgOption())
  .option('--force', 'rebuild even when the inputs did not change', false)
  .option('--verbose', 'print every line of the build, not only one per Dockerfile step', false)
  .action(async (options: { pg?: string; force: boolean; verbose: boolean }) => {
    for (const major of parseMajorList(options.pg)) {
      const result = await ensureImage(major, log, { force: options.force, verbose: options.verbose });
      if (!result.built) log(`${result.tag}: up to date`);
    }
  });

program.command('up')
  .description('Start an environment for your own work through a lab (builds its image first if needed).')
  .argument('<environment>', environmentsHelp())
  .addOption(pgOption())
  .action(async (environment: string, options: { pg?: string }) => {
    const [major] = parseMajorList(options.pg);
    composeFile(environment);
    await ensureImage(major!, log);
    log(`starting ${environment} on PostgreSQL ${major} (${imageTag(major!)})`);
    process.exitCode = await composeInTerminal(environment, major!, ['up', '--detach', '--wait', '--wait-timeout', '300']);
    if (process.exitCode !== EXIT.pass) {
      // Left as it is so its containers can be looked at (`docker compose ps`, `logs`).
      console.error(`Look at it in environments/${environment} with PG_MAJOR=${major} docker compose ps / logs; remove it with: npx workshop down ${environment} --pg ${major}`);
      return;
    }
    console.log(`\n${environment} is ready. In a terminal:\n  cd environments/${environment}\n  export PG_MAJOR=${major}\n  docker compose ps\nStop it with: npx workshop down ${environment}${major === matrix().defaultMajor ? '' : ` --pg ${major}`}`);
  });

program.command('down')
  .description('Stop an environment started with `up` and remove its volumes.')
  .argument('<environment>', environmentsHelp())
  .addOption(pgOption())
  .action(async (environment: string, options: { pg?: string }) => {
    const [major] = parseMajorList(options.pg);
    process.exitCode = await composeInTerminal(environment, major!, ['down', '--volumes', '--remove-orphans', '--timeout', '5']);
  });

program.command('clean')
  .description('Remove every container, network and volume the harness labelled (workshop.harness=true), from any run.')
  .option('--evidence <dir>', 'first keep each project\'s container logs and Patroni\'s view in <dir>/<project> (CI: after a timeout killed verify)')
  .action(async (options: { evidence?: string }) => {
    const removed = await cleanProjects('', options.evidence && path.resolve(options.evidence));
    log(removed.length > 0 ? `removed: ${removed.join(', ')}` : 'nothing to remove');
  });

program.addCommand(ciCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.pass : EXIT.usage;
  } else if (error instanceof UsageError || (error as Error).name === 'UsageError') {
    console.error(pc.red((error as Error).message));
    process.exitCode = EXIT.usage;
  } else {
    console.error(pc.red(`internal error: ${(error as Error).stack ?? String(error)}`));
    process.exitCode = EXIT.internal;
  }
}
