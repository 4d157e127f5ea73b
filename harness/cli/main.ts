// The `workshop` command line: lint, verify, test, images, up, down, clean.
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { execa } from 'execa';
import pc from 'picocolors';
import { formatLint, lintPaths } from '../lab/lint.ts';
import { knownMajors, matrix, parseMajorList, UsageError } from '../lab/majors.ts';
import { cleanProjects, composeFile } from '../environment/compose.ts';
import { ensureImage, imageTag } from '../image/images.ts';
import { verify } from './verify.ts';
import { eslint, shellcheck, typecheck } from './code-checks.ts';
import { curriculumDir, repoRoot } from '../paths.ts';

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

const program = new Command('workshop')
  .description('Verify the PostgreSQL platforms workshop: every command of every lab, run against real clusters.')
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
  .option('--runs-dir <dir>', 'where run folders (transcripts, evidence) go', path.join(repoRoot, 'runs'))
  .option('--reports-dir <dir>', 'where the latest report per major is copied', path.join(repoRoot, 'reports'))
  .action(async (labs: string[], options: { pg?: string; keep: boolean; build: boolean; runsDir: string; reportsDir: string }) => {
    process.exitCode = await verify({ labs, majors: parseMajorList(options.pg), keep: options.keep, build: options.build, runsDir: path.resolve(options.runsDir), reportsDir: path.resolve(options.reportsDir) });
  });

program.command('test')
  .description('The test suite (`npm test`): the type checker, ESLint, shellcheck, lint, the unit tests, the site built and checked in Chromium, then every lab verified on the default major.')
  .option('--unit-only', 'code checks, lint, unit tests and the site test only (no Docker needed)', false)
  .option('--no-site', 'skip the site test and the site\'s code checks (docs-site/ needs `npm run site:install` and Chromium)')
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
    process.exitCode = await verify({ labs: [], majors: [matrix().defaultMajor], keep: false, build: true, runsDir: path.join(repoRoot, 'runs'), reportsDir: path.join(repoRoot, 'reports') });
  });

program.command('images')
  .description('Build the per-major images that are missing or whose inputs changed (making Debian base images where no registry answers).')
  .addOption(pgOption())
  .option('--force', 'rebuild even when the inputs did not change', false)
  .action(async (options: { pg?: string; force: boolean }) => {
    for (const major of parseMajorList(options.pg)) {
      const result = await ensureImage(major, log, { force: options.force });
      if (!result.built) log(`${result.tag}: up to date`);
    }
  });

program.command('up')
  .description('Start an environment for your own work through a lab (builds its image first if needed).')
  .argument('<environment>', 'single, replication, patroni or platform')
  .addOption(pgOption())
  .action(async (environment: string, options: { pg?: string }) => {
    const [major] = parseMajorList(options.pg);
    const file = composeFile(environment);
    await ensureImage(major!, log);
    log(`starting ${environment} on PostgreSQL ${major} (${imageTag(major!)})`);
    await execa('docker', ['compose', '-f', file, 'up', '--detach', '--wait', '--wait-timeout', '300'], { stdio: 'inherit', env: { PG_MAJOR: String(major) } });
    console.log(`\n${environment} is ready. In a terminal:\n  cd environments/${environment}\n  export PG_MAJOR=${major}\n  docker compose ps\nStop it with: npx workshop down ${environment}${major === matrix().defaultMajor ? '' : ` --pg ${major}`}`);
  });

program.command('down')
  .description('Stop an environment started with `up` and remove its volumes.')
  .argument('<environment>', 'single, replication, patroni or platform')
  .addOption(pgOption())
  .action(async (environment: string, options: { pg?: string }) => {
    const [major] = parseMajorList(options.pg);
    await execa('docker', ['compose', '-f', composeFile(environment), 'down', '--volumes', '--remove-orphans', '--timeout', '5'], { stdio: 'inherit', env: { PG_MAJOR: String(major) } });
  });

program.command('clean')
  .description('Remove every container, network and volume the harness labelled (workshop.harness=true), from any run.')
  .action(async () => {
    const removed = await cleanProjects();
    log(removed.length > 0 ? `removed: ${removed.join(', ')}` : 'nothing to remove');
  });

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
