// The spec API: a lab opened from its Markdown, its steps run by id in document order and checked.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { findLab } from '../lab/catalog.ts';
import type { Checkpoint, Expectation, LabDocument, Step } from '../lab/model.ts';
import { formatProblem } from '../lab/model.ts';
import { PROGRAM_LANGUAGES } from '../lab/parse.ts';
import { matchOutput } from '../expect/match.ts';
import { Terminal, type CommandOutcome } from '../terminal/terminal.ts';
import { compose, composeDown, composeEnv, harnessProjects, projectName, saveEvidence, type ComposeProject } from '../environment/compose.ts';
import type { CheckpointReport, LabReport, Measurement, Series, StepReport } from '../report/model.ts';
import { checkpointsFor, checkpointTarget, runCheckpoints, type CheckpointResult } from '../checkpoint/run.ts';
import { expectedAt, standing, stepBefore } from '../checkpoint/standing.ts';
import { corePath, corePathProblems, type SkippedDeepDive } from '../agenda/core-path.ts';
import { labSectionsOf } from '../agenda/agenda.ts';
import { emit, runContext, type RunContext } from './run-context.ts';
import { budget, Deadline, pollUntil, timeFactor, type PollOptions } from './wait.ts';
import { repoRoot, relativeToRepo } from '../paths.ts';
import { connect, publishedAddress, type NodeAddress } from '../postgres/postgres.ts';
import { PatroniCluster } from '../patroni/patroni.ts';
import { checkWriterLedger, parseWriterVerdict, readWriterLedger, verdictDiffers, type LedgerCheck, type WriterResult } from '../probes/writer.ts';
import { versionFacts, type VersionFacts } from '../lab/majors.ts';
import { describeResources, startResourceSampler, type ResourceSampler } from '../probes/resources.ts';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

export class StepFailedError extends Error {
  override name = 'StepFailedError';
}

export interface LabOptions {
  // Folder holding the lab (tests use fixtures); the curriculum by default.
  root?: string;
  major?: number;
  // Extra variables for every terminal.
  env?: Record<string, string>;
  // A lab stopped on purpose after this step (`verify --page-only --stop-after`): the steps and
  // checkpoints after it are not expected to run.
  stopAfter?: string;
  // Only the lab's core path (`verify --page-only --core-path`): the steps and checkpoints of its
  // deep dives are neither run nor owed; the checkpoints of the core path are the only ones checked.
  corePath?: boolean;
}

// One lab being verified on one major.
export class Lab {
  readonly document: LabDocument;
  readonly major: number;
  // The version table's facts for this major: what specs ask instead of comparing major numbers.
  readonly versions: VersionFacts;
  readonly context: RunContext;
  readonly project: ComposeProject | undefined;
  readonly workDir: string;
  // The applicable steps (each id's variant for this major), in document order; on the core path,
  // those of its core sections.
  readonly steps: Step[];
  // The applicable checkpoints, in document order; each runs right after the step before it. On the
  // core path, those of its core sections.
  readonly checkpoints: Checkpoint[];
  // On the core path: the deep dives it skips, with their steps and checkpoints on this major.
  readonly skipped: SkippedDeepDive[] | undefined;
  private readonly checkpointsAfter = new Map<Step, Checkpoint[]>();
  private readonly checkpointReports: CheckpointReport[] = [];
  private readonly checked = new Set<Checkpoint>();
  private readonly terminals = new Map<string, Terminal>();
  private readonly done = new Set<string>();
  private readonly started = new Date();
  private readonly stepReports: StepReport[] = [];
  private readonly measurements: Measurement[] = [];
  private readonly seriesList: Series[] = [];
  private readonly errors: string[] = [];
  private readonly extraEnv: Record<string, string>;
  private readonly passwords: { POSTGRES_PASSWORD: string; REPLICATION_PASSWORD: string; PGBOUNCER_AUTH_PASSWORD: string };
  private failed = false;
  private firstFailure: string | undefined;
  private closed = false;
  private readonly stopAfter?: Step;
  private resources: ResourceSampler | undefined;

  constructor(document: LabDocument, options: LabOptions = {}) {
    if (document.problems.length > 0) {
      throw new Error(`${document.file} does not pass lint:\n${document.problems.map(formatProblem).join('\n')}`);
    }
    this.document = document;
    this.context = runContext();
    this.major = options.major ?? this.context.major;
    this.versions = versionFacts(this.major);
    const fm = document.frontMatter!;
    this.workDir = freshDir(path.join(this.context.runDir, `pg${this.major}`, fm.id));
    this.project = fm.environment
      ? { name: projectName(['ws', this.context.runId, projectKey(fm.id, document.file), `pg${this.major}`]), environment: fm.environment, major: this.major }
      : undefined;
    // Fresh passwords per run: the environments read them from the terminal's variables, so no fixed
    // secret is needed anywhere and the spec's own connections use the same ones.
    this.passwords = {
      POSTGRES_PASSWORD: randomBytes(12).toString('base64url'),
      REPLICATION_PASSWORD: randomBytes(12).toString('base64url'),
      PGBOUNCER_AUTH_PASSWORD: randomBytes(12).toString('base64url'),
    };
    this.extraEnv = { PG_MAJOR: String(this.major), ...this.passwords, ...(this.project && composeEnv(this.project)), ...options.env };
    if (options.corePath) {
      const sections = labSectionsOf(document);
      // A core path the linter refuses cannot be typed alone (it would end a background step it never
      // started, or check a state only a deep dive makes): no run could tell anything more.
      const problems = corePathProblems(document, sections);
      if (problems.length > 0) throw new Error(`${document.file}: its core path cannot be typed alone:\n${problems.map(formatProblem).join('\n')}`);
      const core = corePath(document, sections, this.major);
      this.steps = core.steps;
      this.checkpoints = core.checkpoints;
      this.skipped = core.skipped;
    } else {
      this.steps = document.steps.filter((step) => !step.pg || step.pg.includes(this.major));
      this.checkpoints = checkpointsFor(document, this.major);
      this.skipped = undefined;
    }
    if (options.stopAfter !== undefined) {
      this.stopAfter = this.steps.find((s) => s.id === options.stopAfter);
      if (!this.stopAfter) throw new Error(`${document.file}: no step \`${options.stopAfter}\` applies to PostgreSQL ${this.major}; steps: ${this.steps.map((s) => s.id).join(', ')}`);
    }
    for (const checkpoint of this.checkpoints) {
      const step = stepBefore(document, checkpoint, this.major);
      if (step) this.checkpointsAfter.set(step, [...(this.checkpointsAfter.get(step) ?? []), checkpoint]);
    }
  }

  get id(): string {
    return this.document.frontMatter!.id;
  }

  // Whether the lab's front matter lists this major.
  get applies(): boolean {
    return this.document.frontMatter!.majors.includes(this.major);
  }

  step(id: string): Step {
    const step = this.steps.find((s) => s.id === id);
    if (!step) {
      const dive = this.skipped?.find((d) => d.steps.some((s) => s.id === id));
      if (dive) throw new StepFailedError(`Step \`${id}\` (${where(dive.steps.find((s) => s.id === id)!)}) is in the deep dive \`${dive.section.title}\` (${dive.section.file}:${dive.section.line}), which the core path skips`);
      const other = this.document.steps.find((s) => s.id === id);
      throw new StepFailedError(other
        ? `Step \`${id}\` (${where(other)}) does not apply to PostgreSQL ${this.major} (${other.pg?.describe()} only); the spec must not run it on this major`
        : `No step \`${id}\` in ${this.document.file}: expected one of ${this.steps.map((s) => s.id).join(', ')}`);
    }
    return step;
  }

  expectation(id: string): Expectation | undefined {
    return this.document.expectations.find((e) => e.step === id && (!e.pg || e.pg.includes(this.major)));
  }

  // Runs one step in its terminal and checks its exit code and expected output; returns what it printed.
  async run(id: string): Promise<CommandOutcome> {
    const step = this.step(id);
    // After a failed step the lab's state is unknown: later steps would only repeat the first error.
    if (this.firstFailure) throw new StepFailedError(`Step \`${id}\` (${where(step)}) not run: ${this.firstFailure} failed earlier`);
    this.assertInOrder(step);
    // From the first step (the page's `up`), the environment's containers are sampled until close().
    if (this.project) this.resources ??= startResourceSampler(this.project);
    const terminal = this.terminal(step.terminal);
    this.done.add(step.id);
    emit(this.context, { type: 'step-start', lab: this.id, step: id, terminal: step.terminal, at: new Date().toISOString(), background: step.background });
    if (step.background) {
      const job = await terminal.startBackground(step.id, step.code, stepLimitSeconds(step));
      const now = new Date().toISOString();
      return { exitCode: 0, output: `[started in the background, pid ${job.pid}]`, durationMs: 0, timedOut: false, startedAt: now, endedAt: now };
    }
    if (step.interactive) {
      const outcome = await terminal.startProgram(step.id, step.code, stepLimitSeconds(step));
      this.check(step, outcome);
      await this.runCheckpointsAfter(step);
      return outcome;
    }
    const outcome = PROGRAM_LANGUAGES.includes(step.lang)
      ? await terminal.type(step.id, step.code, stepLimitSeconds(step), step.key)
      : await terminal.run(step.id, step.code, stepLimitSeconds(step), step.key);
    this.check(step, outcome);
    await this.runCheckpointsAfter(step);
    return outcome;
  }

  // After a step that checkpoints follow on the page, every checkpoint of the lab runs as `workshop
  // check` runs it, and where an attendee who stands here would be told they stand must be here:
  // this step's checkpoints hold, the earlier ones still expected (no `until=` replaced them) hold,
  // and no later checkpoint already holds with everything expected there (it could not tell where
  // the attendee is). So every verify run proves the check at each of the page's checkpoints.
  private async runCheckpointsAfter(step: Step): Promise<void> {
    const mine = this.checkpointsAfter.get(step) ?? [];
    if (mine.length === 0) return;
    const results = await runCheckpoints(this.document, this.major, this.checkpoints, checkpointTarget(this.project), timeFactor());
    for (const checkpoint of mine) {
      this.checked.add(checkpoint);
      this.recordCheckpoint(results[this.checkpoints.indexOf(checkpoint)]!, step, false);
    }
    const here = this.checkpoints.indexOf(mine.at(-1)!) + 1;
    const expected = expectedAt(this.checkpoints, here);
    // This step's own checkpoints first, then the earlier ones a later step undid.
    const failing = [...expected.filter((i) => mine.includes(this.checkpoints[i]!)), ...expected].map((i) => results[i]!).find((r) => !r.ok);
    if (failing) {
      const recheck = !mine.includes(failing.checkpoint);
      if (recheck) this.recordCheckpoint(failing, step, true);
      this.failCheckpoint(failing, step, recheck);
    }
    const reached = standing(this.document, this.major, results, []).reached;
    if (reached > here) {
      const early = results[here]!;
      this.recordCheckpoint(early, step, true);
      const message = `Checkpoint \`${early.checkpoint.id}\` (${where(early.checkpoint)}) "${early.checkpoint.title}" already holds after step \`${step.id}\` (${where(step)}), before the step it follows has run: \`workshop check\` would tell an attendee who stands here that they are ${reached - here} checkpoint(s) further on. Make it check what its own step changes.\n  output:\n${indent(early.output)}`;
      this.failed = true;
      this.errors.push(message);
      this.firstFailure ??= `checkpoint \`${early.checkpoint.id}\` (${where(early.checkpoint)})`;
      throw new StepFailedError(message);
    }
  }

  private recordCheckpoint(result: CheckpointResult, step: Step, recheck: boolean) {
    const { checkpoint, expectation } = result;
    this.checkpointReports.push({
      id: checkpoint.id, title: checkpoint.title, source: where(checkpoint), after: step.id, command: checkpoint.code,
      startedAt: result.startedAt, durationMs: result.durationMs, exitCode: result.exitCode, timedOut: result.timedOut,
      outcome: result.ok ? 'passed' : 'failed', ...(recheck && { recheck }),
      ...(expectation && { expectation: { source: `${expectation.position.file}:${expectation.codeLine}`, ok: result.diff === undefined, ...(result.diff && { diff: result.diff }) } }),
      output: result.output.length > 20_000 ? `${result.output.slice(0, 20_000)}\n[… ${result.output.length - 20_000} more characters]` : result.output,
    });
    emit(this.context, { type: 'checkpoint', lab: this.id, checkpoint: checkpoint.id, title: checkpoint.title, at: new Date().toISOString(), outcome: result.ok ? 'passed' : 'failed', durationMs: result.durationMs, recheck });
  }

  private failCheckpoint(result: CheckpointResult, step: Step, recheck: boolean): never {
    const { checkpoint, expectation } = result;
    this.failed = true;
    const command = checkpoint.code.replace(/\n/g, '\n  ');
    const what = recheck
      ? `no longer holds after step \`${step.id}\` (${where(step)}): \`workshop check\` would fail an attendee who stands here. If the page changes it on purpose, give it \`until=<id of the first checkpoint after that change>\``
      : `does not hold after step \`${step.id}\` (${where(step)})`;
    const seen = result.exitCode !== 0
      ? `  exited with ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}, expected 0\n  output:\n${indent(result.output)}`
      : `  diff against the expectation at ${expectation!.position.file}:${expectation!.codeLine} (- expected, + printed):\n${result.diff!.map((line) => `    ${line}`).join('\n')}`;
    const message = `Checkpoint \`${checkpoint.id}\` (${where(checkpoint)}) "${checkpoint.title}" ${what}\n  command (run on its own in ${relativeToRepo(checkpointTarget(this.project).cwd) || '.'}):\n  ${command}\n${seen}`;
    this.errors.push(message);
    this.firstFailure ??= `checkpoint \`${checkpoint.id}\` (${where(checkpoint)})`;
    throw new StepFailedError(message);
  }

  // Runs every remaining step up to and including `id` (all remaining steps without one).
  async runThrough(id?: string): Promise<void> {
    const last = id === undefined ? this.steps.length - 1 : this.steps.indexOf(this.step(id));
    for (const step of this.steps.slice(0, last + 1)) {
      if (!this.done.has(step.id)) await this.run(step.id);
    }
  }

  // Waits for a background step to end by itself (failing at its `timeout=`, or at `timeoutMs`, each
  // scaled once by WORKSHOP_TIME_FACTOR), then checks it.
  async wait(id: string, timeoutMs?: number): Promise<CommandOutcome> {
    const step = this.backgroundStep(id);
    const limit = budget(timeoutMs ?? (step.timeoutSeconds ?? DEFAULT_BACKGROUND_WAIT_S) * 1000);
    const outcome = await this.terminal(step.terminal).waitBackground(id, limit);
    this.check(step, outcome);
    return outcome;
  }

  // Stops a background step that runs until stopped (a load) and checks its expected output.
  async stop(id: string): Promise<CommandOutcome> {
    const step = this.backgroundStep(id);
    const outcome = await this.terminal(step.terminal).stopBackground(id);
    this.check(step, { ...outcome, exitCode: step.exitCode }, false);
    return outcome;
  }

  // Records a figure for the report and the site.
  measure(name: string, value: number, unit: string, description?: string): void {
    if (!Number.isFinite(value)) throw new Error(`Measurement \`${name}\`: expected a finite number, got ${value}`);
    this.measurements.push({ name, value, unit, ...(description && { description }) });
  }

  series(series: Series): void {
    this.seriesList.push(series);
  }

  // Polls a condition against the lab's time budget; on timeout says what was last seen.
  poll<T>(description: string, probe: () => Promise<T> | T, accept: (value: T) => boolean, options?: PollOptions): Promise<T> {
    return pollUntil(description, probe, accept, options);
  }

  deadline(ms: number): Deadline {
    return new Deadline(budget(ms));
  }

  // A `pg` client of the environment's service (as the postgres user) through its published port.
  async connect(service: string, port = 5432): Promise<pg.Client & AsyncDisposable> {
    if (!this.project) throw new Error(`Lab ${this.id} has no environment to connect to`);
    const address = await publishedAddress(this.project, service, port);
    return connect(address, { password: this.passwords.POSTGRES_PASSWORD });
  }

  // The superuser credentials of this run's environment (fresh per run), for connections the spec opens itself.
  get credentials(): { user: string; password: string } {
    return { user: 'postgres', password: this.passwords.POSTGRES_PASSWORD };
  }

  // The 127.0.0.1 address a service's port of the environment is published on.
  address(service: string, port: number): Promise<NodeAddress> {
    return publishedAddress(this.environment(), service, port);
  }

  // What a service of the environment logged (its server log: `docker compose logs <service>`).
  async serverLog(service: string): Promise<string> {
    const result = await compose(this.environment(), ['logs', '--no-log-prefix', service], { timeoutMs: 60_000 });
    return result.stdout;
  }

  // Runs a command in a service of the environment, without a TTY (`docker compose exec -T`), and
  // returns its stdout as printed (final newline kept); throws with the command, exit code, stdout and
  // stderr when it fails.
  async exec(service: string, command: string[]): Promise<string> {
    const result = await compose(this.environment(), ['exec', '-T', service, ...command], { timeoutMs: 60_000, reject: false, stripFinalNewline: false });
    if (result.exitCode !== 0) {
      throw new Error(`docker compose exec ${service} ${command.join(' ')} exited ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    }
    return result.stdout;
  }

  // The ledger of the image's `writer` that the page started in `service` (its run and records), as
  // the spec's measurements read it; `dir` is the writer's WRITER_DIR.
  async writerLedger(service = 'client', dir = '/tmp/writer'): Promise<{ run: string; result: WriterResult }> {
    // `docker compose exec` under heavy load has been seen to exit 0 with no output (07, twice:
    // "Unexpected end of JSON input"); the file itself is written whole by `writer start`. Read
    // until it parses, with a deadline that reports the last output seen.
    const parses = (text: string) => { try { return typeof (JSON.parse(text) as { run?: unknown }).run === 'string'; } catch { return false; } };
    const text = await this.poll(`${service}:${dir}/run.json to read as the writer's run (JSON with "run")`, () => this.exec(service, ['cat', `${dir}/run.json`]), parses, { timeoutMs: 20_000, intervalMs: 500 });
    const meta = JSON.parse(text) as { run: string };
    const result = readWriterLedger(await this.exec(service, ['cat', `${dir}/ledger`]), `${service}:${dir}/ledger`);
    return { run: meta.run, result };
  }
  // Runs the page's verdict step (`writer check` in the client), reads the same ledger and checks the
  // printed verdict against it and against the primary that `onPrimary` reaches; fails on a difference.
  async writerVerdict(
    step: string, onPrimary: (work: (primary: pg.Client) => Promise<LedgerCheck>) => Promise<LedgerCheck>,
  ): Promise<{ output: string; result: WriterResult; ledger: LedgerCheck }> {
    const { output } = await this.run(step);
    const { run, result } = await this.writerLedger('client');
    const ledger = await onPrimary((primary) => checkWriterLedger(primary, run, result));
    const difference = verdictDiffers(parseWriterVerdict(output), result, ledger);
    if (difference) throw new StepFailedError(`Step \`${step}\`: ${difference}`);
    return { output, result, ledger };
  }


  private environment(): ComposeProject {
    if (!this.project) throw new Error(`Lab ${this.id} has no environment (front matter \`environment: none\`)`);
    return this.project;
  }

  // The Patroni cluster of the environment (REST API through the nodes' published 8008 ports).
  patroni(nodes?: string[]): PatroniCluster {
    if (!this.project) throw new Error(`Lab ${this.id} has no environment`);
    return new PatroniCluster(this.project, nodes);
  }

  terminal(name: string): Terminal {
    let terminal = this.terminals.get(name);
    if (!terminal) {
      terminal = new Terminal(name, { cwd: repoRoot, env: this.extraEnv, workDir: this.workDir });
      this.terminals.set(name, terminal);
    }
    return terminal;
  }

  // Fails the lab; `at` names what failed (`step \`x\` (file:line)`) when the run stops there, so the
  // steps after it are reported as not run without a second error.
  markFailed(reason?: string, at?: string): void {
    this.failed = true;
    if (reason) this.errors.push(reason);
    if (at) this.firstFailure ??= at;
  }

  // Stops terminals, keeps evidence on failure, removes the environment (unless kept) and writes the
  // lab's report. Throws when an applicable step never ran.
  async close(): Promise<LabReport> {
    if (this.closed) throw new Error(`Lab ${this.id} closed twice`);
    this.closed = true;
    // A lab that failed already has said why; an abandoned background step is then one more error.
    const failedBefore = this.failed;
    // Stopped before anything is torn down, so that containers going down do not count.
    const resources = await this.resources?.stop();
    if (resources) emit(this.context, { type: 'note', lab: this.id, at: new Date().toISOString(), text: describeResources(resources) });
    // A background step the spec never waited for nor stopped had its exit code and output checked by
    // nothing: the lab fails, naming the step.
    const abandoned: string[] = [];
    for (const terminal of this.terminals.values()) {
      for (const { id, outcome } of await terminal.close()) {
        const step = this.step(id);
        const message = `Background step \`${id}\` (${where(step)}) was still running at teardown: the spec never waited for it (lab.wait) nor stopped it (lab.stop), so its output was not checked; it was stopped after ${outcome.durationMs} ms`;
        this.record(step, outcome, false);
        this.errors.push(message);
        this.failed = true;
        abandoned.push(message);
      }
    }
    // A lab stopped on purpose owes only the steps up to the stop, and their checkpoints. On the core
    // path, this.steps and this.checkpoints hold only the core sections': the deep dives' are not owed.
    const owed = this.stopAfter ? this.steps.slice(0, this.steps.indexOf(this.stopAfter) + 1) : this.steps;
    const notRun = owed.filter((s) => !this.done.has(s.id)).map((s) => `${s.id} (${where(s)})`);
    const owedCheckpoints = this.checkpoints.filter((c) => {
      const step = stepBefore(this.document, c, this.major);
      return !this.stopAfter || step === undefined || owed.includes(step);
    });
    // A checkpoint that never ran was never proved: the lab fails, like a step never run.
    const checkpointsNotRun = owedCheckpoints.filter((c) => !this.checked.has(c)).map((c) => `${c.id} (${where(c)})`);
    if (notRun.length > 0 || checkpointsNotRun.length > 0) this.failed = true;
    let evidence: string | undefined;
    if (this.project) {
      if (this.failed) {
        evidence = path.join(this.workDir, 'evidence');
        try {
          await saveEvidence(this.project, evidence);
        } catch (error) {
          this.errors.push(`Saving evidence failed: ${(error as Error).message}`);
        }
      }
      if (this.context.keep && !(await harnessProjects()).includes(this.project.name)) {
        // The page's own clean-up step (`docker compose down --volumes`) ran: nothing is left to keep.
        emit(this.context, { type: 'note', lab: this.id, at: new Date().toISOString(), text: `not kept: the page's clean-up step removed ${this.project.name}; to keep an environment, stop before it: workshop verify --page-only --stop-after <step> ${this.id} --pg ${this.major}` });
      } else if (this.context.keep) {
        emit(this.context, { type: 'note', lab: this.id, at: new Date().toISOString(), text: `kept: ${this.project.name} (cd environments/${this.project.environment} && COMPOSE_PROJECT_NAME=${this.project.name} PG_MAJOR=${this.major} docker compose ps)` });
        if (this.stopAfter) {
          emit(this.context, { type: 'note', lab: this.id, at: new Date().toISOString(), text: `stopped after step \`${this.stopAfter.id}\` (${where(this.stopAfter)}); where it stands: npx workshop check ${this.id} --pg ${this.major} --project ${this.project.name}${this.skipped ? ' --core-path' : ''}; remove it: cd environments/${this.project.environment} && COMPOSE_PROJECT_NAME=${this.project.name} PG_MAJOR=${this.major} docker compose down --volumes` });
        }
      } else {
        await composeDown(this.project);
      }
    }
    const report: LabReport = {
      id: this.id,
      title: this.document.frontMatter!.title,
      file: this.document.file,
      ...(this.project && { environment: this.project.environment }),
      major: this.major,
      status: this.failed ? 'failed' : 'passed',
      startedAt: this.started.toISOString(),
      durationMs: Date.now() - this.started.getTime(),
      steps: this.stepReports,
      ...(this.stopAfter && { stoppedAfter: this.stopAfter.id }),
      ...(this.skipped && { corePath: true, deepDivesSkipped: this.skipped.map((d) => `${d.section.title} (${d.section.file}:${d.section.line})`) }),
      stepsNotRun: notRun,
      checkpoints: this.checkpointReports,
      checkpointsNotRun,
      measurements: this.measurements,
      series: this.seriesList,
      errors: this.errors,
      ...(resources && { resources }),
      ...(evidence && { evidence: relativeToRepo(evidence) }),
    };
    const file = path.join(this.workDir, 'lab-report.json');
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    emit(this.context, { type: 'lab-end', lab: this.id, at: new Date().toISOString(), status: report.status, report: file });
    if (abandoned.length > 0 && !failedBefore) throw new StepFailedError(abandoned.join('\n'));
    // Steps skipped after a failed one are listed in the report; the failure itself was already thrown.
    if (notRun.length > 0 && !this.firstFailure) {
      throw new StepFailedError(`${this.document.file}: ${notRun.length} ${this.skipped ? 'core ' : ''}step(s) that apply to PostgreSQL ${this.major} never ran: ${notRun.join(', ')}. A spec must run every step of its lab${this.skipped ? '\'s core path' : ''}.`);
    }
    if (checkpointsNotRun.length > 0 && !this.firstFailure) {
      throw new StepFailedError(`${this.document.file}: ${checkpointsNotRun.length} checkpoint(s) that apply to PostgreSQL ${this.major} never ran: ${checkpointsNotRun.join(', ')}. Each runs after the step before it; that step was not run through lab.run().`);
    }
    return report;
  }

  private backgroundStep(id: string): Step {
    const step = this.step(id);
    if (!step.background) throw new StepFailedError(`Step \`${id}\` (${where(step)}) is not a background step: use lab.run()`);
    if (!this.done.has(id)) throw new StepFailedError(`Background step \`${id}\` (${where(step)}) was never started: lab.run('${id}') first`);
    return step;
  }

  private assertInOrder(step: Step) {
    if (this.done.has(step.id)) throw new StepFailedError(`Step \`${step.id}\` (${where(step)}) already ran: each step runs once`);
    const earlier = this.steps.slice(0, this.steps.indexOf(step)).filter((s) => !this.done.has(s.id));
    if (earlier.length > 0) {
      throw new StepFailedError(`Step \`${step.id}\` (${where(step)}) runs before ${earlier.map((s) => `\`${s.id}\` (${where(s)})`).join(', ')}: run the lab's steps in document order`);
    }
  }

  private check(step: Step, outcome: CommandOutcome, checkExit = true) {
    const expectation = this.expectation(step.id);
    if (!expectation && !step.unchecked && this.document.expectations.some((e) => e.step === step.id)) {
      // Lint refuses this for the lab's majors; a lab opened on another major must not pass unchecked.
      this.record(step, outcome, false);
      this.failed = true;
      const message = `Step \`${step.id}\` (${where(step)}) has expectations for other majors but none for PostgreSQL ${this.major}: its output cannot be checked; add one, or mark the step \`unchecked="<reason>"\``;
      this.errors.push(message);
      this.firstFailure ??= `step \`${step.id}\` (${where(step)})`;
      throw new StepFailedError(message);
    }
    const matched = expectation ? matchOutput(expectation.lines, outcome.output) : undefined;
    const exitOk = !checkExit || outcome.exitCode === step.exitCode;
    const ok = exitOk && (matched?.ok ?? true);
    this.record(step, outcome, ok, expectation && matched ? { source: `${expectation.position.file}:${expectation.codeLine}`, ok: matched.ok, ...(!matched.ok && { diff: matched.diff }) } : undefined);
    if (ok) return;
    this.failed = true;
    const command = step.code.replace(/\n/g, '\n  ');
    let message: string;
    if (!exitOk) {
      message = `Step \`${step.id}\` (${where(step)}) ${outcome.timedOut ? `timed out after ${stepLimitSeconds(step)} s (timeout=${step.timeoutSeconds}${timeFactor() === 1 ? '' : ` × WORKSHOP_TIME_FACTOR ${timeFactor()}`})` : `exited with ${outcome.exitCode}, expected ${step.exitCode}`}\n` +
        `  command (terminal ${step.terminal}):\n  ${command}\n  exit code: ${outcome.exitCode}\n  output:\n${indent(outcome.output)}`;
    } else {
      message = `Step \`${step.id}\` (${where(step)}): output does not match the expectation at ${expectation!.position.file}:${expectation!.codeLine}\n` +
        `  command (terminal ${step.terminal}):\n  ${command}\n  diff (- expected, + printed):\n${matched!.diff.map((line) => `    ${line}`).join('\n')}`;
    }
    this.errors.push(message);
    this.firstFailure ??= `step \`${step.id}\` (${where(step)})`;
    throw new StepFailedError(message);
  }

  private record(step: Step, outcome: CommandOutcome, ok: boolean, expectation?: StepReport['expectation']) {
    this.stepReports.push({
      id: step.id, terminal: step.terminal, source: where(step), command: step.code, background: step.background,
      startedAt: outcome.startedAt, durationMs: outcome.durationMs, exitCode: outcome.exitCode, expectedExitCode: step.exitCode,
      timedOut: outcome.timedOut, outcome: ok ? 'passed' : 'failed', ...(expectation && { expectation }),
      output: outcome.output.length > 20_000 ? `${outcome.output.slice(0, 20_000)}\n[… ${outcome.output.length - 20_000} more characters]` : outcome.output,
    });
    emit(this.context, { type: 'step-end', lab: this.id, step: step.id, at: outcome.endedAt, exitCode: outcome.exitCode, durationMs: outcome.durationMs, outcome: ok ? 'passed' : 'failed', timedOut: outcome.timedOut });
  }
}

// A folder of its own for each opening of a lab, even when a run opens the same lab twice.
function freshDir(base: string): string {
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

// A background step without `timeout=` that the spec waits for gets this long (before the time factor).
const DEFAULT_BACKGROUND_WAIT_S = 600;

// A step's `timeout=`, scaled by WORKSHOP_TIME_FACTOR like every other wait.
function stepLimitSeconds(step: Step): number | undefined {
  return step.timeoutSeconds === undefined ? undefined : budget(step.timeoutSeconds * 1000) / 1000;
}

function where(step: Step | Checkpoint): string {
  return `${step.position.file}:${step.position.line}`;
}

function indent(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const shown = lines.length > 60 ? [...lines.slice(0, 20), `[… ${lines.length - 40} lines …]`, ...lines.slice(-20)] : lines;
  return shown.map((line) => `    ${line}`).join('\n');
}

// A lab's part of its compose project name: the module's number, and for another lab of the module
// its file's suffix (lab-guardrails.md: 06-guardrails), so that two labs of one module can run side
// by side. Short: compose's progress lines (`✔ Container <name>  Paused`), which pages expect, cut
// long container names to the terminal's width.
export function projectKey(labId: string, file: string): string {
  const suffix = /^lab-(.+)\.md$/.exec(path.basename(file))?.[1];
  return [labId.split('-')[0]!, ...(suffix ? [suffix] : [])].join('-');
}

export function openLab(id: string, options: LabOptions = {}): Lab {
  return new Lab(findLab(id, options.root).document, options);
}

// For a spec file: opens the lab before its tests and closes it after them, even on failure or Ctrl-C.
export function useLab(id: string, options: LabOptions = {}): Lab {
  const lab = openLab(id, options);
  let closing: Promise<LabReport> | undefined;
  const close = () => (closing ??= lab.close());
  const onSignal = (signal: NodeJS.Signals) => {
    lab.markFailed(`interrupted by ${signal}`);
    void close().finally(() => process.exit(130));
  };
  beforeAll(() => {
    emit(lab.context, { type: 'lab-start', lab: lab.id, at: new Date().toISOString(), ...(lab.project && { project: lab.project.name }) });
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  afterEach(({ task }) => {
    // The assertion's message goes into the report and the live output, not only vitest's summary
    // at the end of the run (which the report never sees).
    if (task.result?.state === 'fail') {
      const why = (task.result.errors ?? []).map((e) => (e.message ?? String(e)).slice(0, 2000)).join('\n');
      const message = `test failed: ${task.name}${why ? `: ${why}` : ''}`;
      lab.markFailed(message);
      emit(lab.context, { type: 'note', lab: lab.id, at: new Date().toISOString(), text: message });
    }
  });
  afterAll(async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close();
  });
  return lab;
}
