// A persistent bash session, as an attendee's terminal: state carries from step to step.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { descendants, isAlive, signalAll } from './process-tree.ts';

export interface TerminalOptions {
  cwd: string;
  env?: Record<string, string>;
  // Step files, background logs and the transcript go here.
  workDir: string;
  // Time a timed-out step's processes get between SIGTERM and SIGKILL.
  killGraceMs?: number;
}

export interface CommandOutcome {
  exitCode: number;
  output: string;
  durationMs: number;
  timedOut: boolean;
  startedAt: string;
  endedAt: string;
}

export interface BackgroundJob {
  id: string;
  pid: number;
  logFile: string;
  rcFile: string;
  startedAt: number;
  timeoutSeconds?: number;
}

export class TerminalError extends Error {
  override name = 'TerminalError';
}

// psql's ways to quit, as the last line of a typed step.
const QUITS_PROGRAM = /(^|\n)\s*(\\q|quit|exit)\s*;?\s*\n$/;

// Exit code reported for a step that the harness ended at its timeout (as `timeout(1)` does).
export const TIMEOUT_EXIT_CODE = 124;

interface Pending {
  marker: string;
  resolve: (result: { rc: number; output: string }) => void;
}

export class Terminal {
  readonly name: string;
  private readonly options: TerminalOptions;
  private readonly bash: ChildProcessWithoutNullStreams;
  private buffer = '';
  private pending: Pending | undefined;
  private counter = 0;
  private readonly token = randomBytes(6).toString('hex');
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitWaiters: (() => void)[] = [];
  private readonly background = new Map<string, BackgroundJob>();
  // The step that started a program (psql) still reading this terminal, if any.
  private program: { stepId: string; marker: string; done: Promise<{ rc: number; output: string }> } | undefined;
  readonly transcript: string;

  constructor(name: string, options: TerminalOptions) {
    this.name = name;
    this.options = options;
    mkdirSync(path.join(options.workDir, name), { recursive: true });
    this.transcript = path.join(options.workDir, `transcript-${name}.log`);
    this.bash = spawn('bash', ['--noprofile', '--norc'], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, TERM: 'dumb', NO_COLOR: '1', PAGER: 'cat', PSQL_PAGER: 'cat' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.bash.stdout.setEncoding('utf8');
    this.bash.stderr.setEncoding('utf8');
    this.bash.stdout.on('data', (chunk: string) => this.receive(chunk));
    this.bash.stderr.on('data', (chunk: string) => this.receive(chunk));
    this.bash.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.exitWaiters.splice(0).forEach((wake) => wake());
    });
    this.bash.stdin.on('error', () => {
      // Writing to a terminal whose bash died: reported by `run` through `exited`.
    });
    // One stream, in the order the reader would see it.
    this.bash.stdin.write('exec 2>&1\n');
  }

  get pid(): number {
    return this.bash.pid!;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  // Runs a command to completion in this shell; the first failing command ends the step, as it would
  // stop a careful reader. A timeout ends only this step's processes.
  async run(id: string, code: string, timeoutSeconds?: number): Promise<CommandOutcome> {
    this.assertUsable(id);
    const file = this.writeStepFile(id, code);
    const marker = this.nextMarker();
    const started = Date.now();
    const result = this.expect(marker);
    this.send(
      `trap '__ws_rc=$?; trap - ERR; return $__ws_rc' ERR; source ${quote(file)} </dev/null; __ws_rc=$?; trap - ERR; printf '\\n%s %s\\n' ${quote(marker)} "$__ws_rc"\n`,
    );
    return this.finish(id, code, started, result, timeoutSeconds);
  }

  // Starts a program that reads this terminal (psql); later `type` calls are its input. Done when the
  // program answers a first `\echo` (it has started and reads), or with its exit code when it ends first
  // (psql could not connect).
  async startProgram(id: string, code: string, timeoutSeconds?: number): Promise<CommandOutcome> {
    this.assertUsable(id);
    const file = this.writeStepFile(id, code);
    const marker = this.nextMarker();
    const done = this.expect(marker);
    const started = Date.now();
    this.send(`source ${quote(file)}; printf '\\n%s %s\\n' ${quote(marker)} "$?"\n`);
    const program = { stepId: id, marker, done };
    this.program = program;
    const answer = this.nextMarker();
    const answered = this.expect(answer, true);
    this.send(`\\echo\n\\echo ${answer} 0\n`);
    const outcome = await this.finish(id, code, started, Promise.race([answered, done]), timeoutSeconds);
    if (this.program !== program && this.alive) {
      // The program ended before it answered: the shell reads the two `\echo` lines itself and prints
      // the marker; take it here so it does not end up in the next step's output.
      await Promise.race([this.expect(answer), new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (this.pending?.marker === answer) this.pending = undefined;
    }
    return outcome;
  }

  get programStep(): string | undefined {
    return this.program?.stepId;
  }

  // Types SQL into the program started here; done at its echoed marker, or when the program exits (`\q`).
  async type(id: string, text: string, timeoutSeconds?: number): Promise<CommandOutcome> {
    const program = this.program;
    if (!program) throw new TerminalError(`Step \`${id}\`: terminal \`${this.name}\` runs no program to type into: an earlier \`interactive\` step must start one (psql)`);
    const started = Date.now();
    const body = text.replace(/\n?$/, '\n');
    // Text that quits the program ends the step when the program exits: nothing may follow it, or the
    // shell would read it as commands.
    if (QUITS_PROGRAM.test(body)) {
      this.send(body);
      return this.finish(id, text, started, program.done, timeoutSeconds);
    }
    const marker = this.nextMarker();
    // psql prints the marker after the statements before it have run; a bare `\echo` first, so the
    // marker starts a line of its own as the shell's marker does.
    const echoed = this.expect(marker, true);
    this.send(`${body}\\echo\n\\echo ${marker} 0\n`);
    return this.finish(id, text, started, Promise.race([echoed, program.done]), timeoutSeconds);
  }

  private async finish(
    id: string, code: string, started: number, result: Promise<{ rc: number; output: string }>, timeoutSeconds?: number,
  ): Promise<CommandOutcome> {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const limit = timeoutSeconds !== undefined
      ? new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutSeconds * 1000); })
      : new Promise<void>(() => {});
    const died = new Promise<void>((resolve) => (this.alive ? this.exitWaiters.push(resolve) : resolve()));
    const first = await Promise.race([result.then(() => 'done' as const), limit.then(() => 'timeout' as const), died.then(() => 'died' as const)]);
    if (first === 'timeout') {
      timedOut = true;
      await this.interruptForeground();
    }
    clearTimeout(timer);
    const settled = await Promise.race([result, died.then(() => undefined)]);
    const ended = Date.now();
    let outcome: CommandOutcome;
    if (settled) {
      outcome = { exitCode: timedOut ? TIMEOUT_EXIT_CODE : settled.rc, output: settled.output, durationMs: ended - started, timedOut, startedAt: new Date(started).toISOString(), endedAt: new Date(ended).toISOString() };
    } else {
      const output = this.buffer;
      this.buffer = '';
      this.pending = undefined;
      outcome = {
        exitCode: timedOut ? TIMEOUT_EXIT_CODE : (this.exited?.code ?? 128), output: output + (timedOut ? '' : `\n[terminal ${this.name}: bash exited (${this.exited?.signal ?? this.exited?.code})]`),
        durationMs: ended - started, timedOut, startedAt: new Date(started).toISOString(), endedAt: new Date(ended).toISOString(),
      };
    }
    this.log(`$ ${code.replace(/\n/g, '\n> ')}\n${outcome.output}${outcome.output.endsWith('\n') || !outcome.output ? '' : '\n'}[step ${id}: exit ${outcome.exitCode}${timedOut ? ', timed out' : ''}, ${outcome.durationMs} ms]\n`);
    return outcome;
  }

  // Ends the foreground step's processes (not background jobs), then bash itself if nothing else answers.
  private async interruptForeground(): Promise<void> {
    const protectedPids = new Set<number>();
    for (const job of this.background.values()) {
      protectedPids.add(job.pid);
      descendants(job.pid).forEach((pid) => protectedPids.add(pid));
    }
    const targets = descendants(this.pid).filter((pid) => !protectedPids.has(pid));
    const grace = this.options.killGraceMs ?? 2000;
    if (targets.length > 0) {
      signalAll(targets, 'SIGTERM');
      if (await this.settlesWithin(grace)) return;
      signalAll(targets.filter(isAlive), 'SIGKILL');
      if (await this.settlesWithin(grace)) return;
    }
    // A step busy in bash itself (a builtin loop) can only be ended with its shell.
    this.bash.kill('SIGKILL');
  }

  private async settlesWithin(ms: number): Promise<boolean> {
    const pending = this.pending;
    if (!pending) return true;
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.pending !== pending) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.pending !== pending;
  }

  // Starts a step without waiting; its output goes to a log of its own.
  async startBackground(id: string, code: string, timeoutSeconds?: number): Promise<BackgroundJob> {
    this.assertUsable(id);
    if (this.background.has(id)) throw new TerminalError(`Background step \`${id}\` is already running in terminal \`${this.name}\``);
    const file = this.writeStepFile(id, code);
    const dir = path.join(this.options.workDir, this.name);
    const logFile = path.join(dir, `${id}.background.log`);
    const rcFile = path.join(dir, `${id}.background.rc`);
    rmSync(logFile, { force: true });
    rmSync(rcFile, { force: true });
    const marker = this.nextMarker();
    const started = this.expect(marker);
    this.send(
      `{ trap '__ws_rc=$?; trap - ERR; return $__ws_rc' ERR; source ${quote(file)} </dev/null >${quote(logFile)} 2>&1; printf '%s' "$?" >${quote(rcFile)}; } & printf '\\n%s %s\\n' ${quote(marker)} "$!"\n`,
    );
    const { rc: pid } = await started;
    const job: BackgroundJob = { id, pid, logFile, rcFile, startedAt: Date.now(), ...(timeoutSeconds !== undefined && { timeoutSeconds }) };
    this.background.set(id, job);
    this.log(`$ ${code.replace(/\n/g, '\n> ')}   # background, pid ${pid}, output in ${path.basename(logFile)}\n`);
    return job;
  }

  backgroundJobs(): BackgroundJob[] {
    return [...this.background.values()];
  }

  // Waits for a background step to end by itself; at its own timeout it is stopped.
  async waitBackground(id: string, timeoutMs: number): Promise<CommandOutcome> {
    const job = this.requireJob(id);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(job.rcFile) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!existsSync(job.rcFile)) return this.stopBackground(id);
    return this.collect(job, false);
  }

  // Stops a background step now (SIGTERM, then SIGKILL after the grace time).
  async stopBackground(id: string): Promise<CommandOutcome> {
    const job = this.requireJob(id);
    if (!existsSync(job.rcFile)) {
      const grace = this.options.killGraceMs ?? 2000;
      signalAll([job.pid, ...descendants(job.pid)], 'SIGTERM');
      const deadline = Date.now() + grace;
      while (!existsSync(job.rcFile) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      if (!existsSync(job.rcFile)) signalAll([job.pid, ...descendants(job.pid)].filter(isAlive), 'SIGKILL');
      return this.collect(job, true);
    }
    return this.collect(job, false);
  }

  private collect(job: BackgroundJob, stopped: boolean): CommandOutcome {
    this.background.delete(job.id);
    const output = existsSync(job.logFile) ? readFileSync(job.logFile, 'utf8') : '';
    const rcText = existsSync(job.rcFile) ? readFileSync(job.rcFile, 'utf8').trim() : '';
    const ended = Date.now();
    const exitCode = stopped ? TIMEOUT_EXIT_CODE : Number(rcText || 128);
    this.log(`[background step ${job.id}: exit ${exitCode}${stopped ? ', stopped' : ''}, ${ended - job.startedAt} ms]\n${output}`);
    return { exitCode, output, durationMs: ended - job.startedAt, timedOut: stopped, startedAt: new Date(job.startedAt).toISOString(), endedAt: new Date(ended).toISOString() };
  }

  // Stops background jobs and any program, then ends bash and everything it started.
  async close(): Promise<{ id: string; outcome: CommandOutcome }[]> {
    const stopped: { id: string; outcome: CommandOutcome }[] = [];
    for (const id of [...this.background.keys()]) stopped.push({ id, outcome: await this.stopBackground(id) });
    if (this.alive) {
      const everything = descendants(this.pid);
      this.bash.stdin.end();
      signalAll(everything, 'SIGTERM');
      const deadline = Date.now() + (this.options.killGraceMs ?? 2000);
      while (this.alive && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      signalAll([...everything, this.pid].filter(isAlive), 'SIGKILL');
      const last = Date.now() + 2000;
      while (this.alive && Date.now() < last) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return stopped;
  }

  private requireJob(id: string): BackgroundJob {
    const job = this.background.get(id);
    if (!job) throw new TerminalError(`No background step \`${id}\` in terminal \`${this.name}\`: it was never started here, or was already waited for`);
    return job;
  }

  private assertUsable(id: string) {
    if (!this.alive) throw new TerminalError(`Step \`${id}\`: terminal \`${this.name}\` is gone (bash exited: ${this.exited?.signal ?? this.exited?.code}); see ${this.transcript}`);
    if (this.program) throw new TerminalError(`Step \`${id}\`: terminal \`${this.name}\` is running the program started by step \`${this.program.stepId}\`: type \`\\q\` into it first, or use another terminal`);
    if (this.pending) throw new TerminalError(`Step \`${id}\`: terminal \`${this.name}\` is still busy with another step`);
  }

  private writeStepFile(id: string, code: string): string {
    const file = path.join(this.options.workDir, this.name, `${String(++this.counter).padStart(3, '0')}-${id}.sh`);
    writeFileSync(file, code.endsWith('\n') ? code : `${code}\n`);
    return file;
  }

  private nextMarker(): string {
    return `__workshop_${this.token}_${++this.counter}__`;
  }

  private expect(marker: string, extra = false): Promise<{ rc: number; output: string }> {
    return new Promise((resolve) => {
      const entry: Pending = { marker, resolve };
      if (!extra || !this.pending) this.pending = entry;
      else this.extraPending.push(entry);
      this.scan();
    });
  }

  // A program step waits on two markers (its echo, and the program's exit); both are watched.
  private extraPending: Pending[] = [];

  private receive(chunk: string) {
    this.buffer += chunk;
    this.scan();
  }

  private scan() {
    for (const entry of [this.pending, ...this.extraPending]) {
      if (!entry) continue;
      const at = this.buffer.indexOf(`${entry.marker} `);
      if (at < 0) continue;
      const lineEnd = this.buffer.indexOf('\n', at);
      if (lineEnd < 0) continue;
      const rc = Number(this.buffer.slice(at + entry.marker.length + 1, lineEnd).trim());
      let output = this.buffer.slice(0, at);
      // The driver prints a newline before its marker so it starts a line of its own.
      if (output.endsWith('\n')) output = output.slice(0, -1);
      this.buffer = this.buffer.slice(lineEnd + 1);
      if (this.pending === entry) this.pending = undefined;
      this.extraPending = this.extraPending.filter((e) => e !== entry);
      // A program's exit also settles whichever typed step was waiting.
      if (this.program?.marker === entry.marker) {
        this.program = undefined;
        for (const other of this.extraPending.splice(0)) other.resolve({ rc, output });
      }
      entry.resolve({ rc, output });
      this.scan();
      return;
    }
  }

  private send(text: string) {
    this.bash.stdin.write(text);
  }

  private log(text: string) {
    appendFileSync(this.transcript, text);
  }
}

export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
