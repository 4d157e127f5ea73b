// `workshop ci …`: what the GitHub workflows compute, kept here so the YAML stays thin and the logic is tested.
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { allLabs } from '../lab/catalog.ts';
import { knownMajors, UsageError } from '../lab/majors.ts';
import { imageTag, inputsHash } from '../image/images.ts';
import { DEFAULT_MAX_JOBS, planShards, type PlannedLab } from '../ci/shards.ts';
import { mergeReports, readReport } from '../report/merge.ts';
import { markdownSummary } from '../report/summary.ts';

// The cache key of a major's image: it changes exactly when the image's inputs do.
export function imageCacheKey(major: number): string {
  return `${imageTag(major).replace(':', '-')}-${inputsHash(major)}`;
}

// Every *.json under the given files and folders (folders searched recursively, as artifacts download).
export function reportFiles(inputs: string[]): string[] {
  return inputs.flatMap((input) => {
    if (!existsSync(input)) throw new UsageError(`${input}: no such file or folder (expected run reports, reports/pg<major>.json)`);
    if (!statSync(input).isDirectory()) return [input];
    return readdirSync(input, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.json')).sort().map((name) => path.join(input, name));
  });
}

// Starting and removing an environment, in the unit of a lab step, for a plan without measured times.
const ENVIRONMENT_STEPS = 10;

// A lab's weight in the plan: the longest time a report of it took, in seconds.
function weightsFrom(dir: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const file of reportFiles([dir])) {
    for (const lab of readReport(file).labs) {
      if (lab.status === 'not-applicable' || lab.durationMs <= 0) continue;
      weights.set(lab.id, Math.max(weights.get(lab.id) ?? 0, lab.durationMs / 1000));
    }
  }
  return weights;
}

export function ciCommand(): Command {
  const ci = new Command('ci').description('What the GitHub workflows compute: the shard plan, merged reports, the job summary.');

  ci.command('plan')
    .description('Print the shard plan as JSON: labs × majors split over parallel jobs, each with its image cache key.')
    .addOption(new Option('--max-jobs <n>', 'at most this many verify jobs (GitHub runs 20 jobs of a free account at once, one is the unit job)').default(DEFAULT_MAX_JOBS).argParser(positiveInteger('--max-jobs')))
    .option('--weights-from <dir>', 'earlier reports: pack labs by the time they took (default: by their number of steps)')
    .option('--github-output', 'also append `majors=` and `shards=` to the file $GITHUB_OUTPUT names', false)
    .action((options: { maxJobs: number; weightsFrom?: string; githubOutput: boolean }) => {
      const weights = options.weightsFrom ? weightsFrom(options.weightsFrom) : new Map<string, number>();
      const labs: PlannedLab[] = allLabs().map((lab) => ({
        id: lab.id,
        majors: lab.document.frontMatter?.majors ?? [],
        // Without a measured time, a lab weighs its steps plus what starting and removing its environment costs.
        weight: weights.get(lab.id) ?? lab.document.steps.length + ENVIRONMENT_STEPS,
      }));
      const plan = planShards(labs, knownMajors(), options.maxJobs);
      const majors = plan.majors.map((pg) => ({ pg, image: imageTag(pg), key: imageCacheKey(pg) }));
      const shards = plan.shards.map((shard) => ({ ...shard, image: imageTag(shard.pg), key: imageCacheKey(shard.pg) }));
      console.log(JSON.stringify({ majors, shards }, null, 2));
      if (options.githubOutput) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) throw new UsageError('ci plan --github-output: $GITHUB_OUTPUT is not set (GitHub Actions sets it in a step)');
        appendFileSync(file, `majors=${JSON.stringify(majors)}\nshards=${JSON.stringify(shards)}\n`);
      }
    });

  ci.command('merge-reports')
    .description('Merge run reports (files or folders, e.g. the shards\' artifacts) into one pg<major>.json per major: the newest result of each lab.')
    .argument('<inputs...>', 'report files or folders holding them')
    .requiredOption('--out <dir>', 'where pg<major>.json are written (the folder is created)')
    .action((inputs: string[], options: { out: string }) => {
      const files = reportFiles(inputs);
      mkdirSync(options.out, { recursive: true });
      // A verify run that failed before any lab ran uploads no report: the site then says every lab is not verified.
      if (files.length === 0) console.log(`no report under ${inputs.join(', ')}: every lab will show as not verified`);
      const merged = mergeReports(files.map(readReport));
      for (const report of merged) {
        const file = path.join(options.out, `pg${report.major}.json`);
        writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
        const count = (status: string) => report.labs.filter((lab) => lab.status === status).length;
        console.log(`${file}: ${report.labs.length} labs (${count('passed')} passed, ${count('failed')} failed) from ${files.length} file(s)`);
      }
    });

  ci.command('summary')
    .description('Print the lab table of run reports as Markdown (for $GITHUB_STEP_SUMMARY). Missing files print a line saying so.')
    .argument('[inputs...]', 'report files or folders', ['reports'])
    .action((inputs: string[]) => {
      // Runs after failures too: a report that was never written is said, not an error.
      const present = inputs.filter((input) => existsSync(input));
      console.log(markdownSummary(reportFiles(present).map(readReport)));
    });

  return ci;
}

// A commander parser for a flag that takes a whole number, 1 or more.
export function positiveInteger(flag: string) {
  return (text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag}: expected a positive integer, found \`${text}\``);
    return value;
  };
}
