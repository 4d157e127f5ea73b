// A persistent bash session in a pseudo-terminal, as an attendee's terminal: state carries from step
// to step, programs see a TTY (`docker compose exec` allocates one, psql decides on its pager), and
// Ctrl-C is a key. Output is rendered as a person reads it for matching; the transcript keeps it raw.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import * as pty from '@lydell/node-pty';
import { KEYS, type KeyPress } from '../lab/model.ts';
import { descendants, isAlive, signalAll } from './process-tree.ts';
import { plainText, renderScreen, TERMINAL_SIZE } from './screen.ts';

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
  // What a person reads: rendered from the terminal's output (line ends, ANSI sequences, carriage
  // returns resolved); for typed program steps without the program's prompts and echo.
  output: string;
  // The bytes the terminal received, as the transcript keeps them.
  raw?: string;
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

// What the terminal reports as its type: programs pick their keys and colours from it.
export const TERMINAL_TYPE = 'xterm-256color';

export class Terminal {
  readonly name: string;
  private readonly options: TerminalOptions;
  private readonly bash: pty.IPty;
  private buffer = '';
  private pending: Pending | undefined;
  private counter = 0;
  private readonly token = `__ws_${randomBytes(6).toString('hex')}`;
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitWaiters: (() => void)[] = [];
  private readonly background = new Map<string, BackgroundJob>();
  // The step that started a program (psql) still reading this terminal, if any.
  private program: { stepId: string; marker: string; done: Promise<{ rc: number; output: string }> } | undefined;
  // Text a key press waits for in the output of the running step.
  private keyWatch: { text: string; seen: () => void } | undefined;
  readonly transcript: string;

  constructor(name: string, options: TerminalOptions) {
    this.name = name;
    this.options = options;
    mkdirSync(path.join(options.workDir, name), { recursive: true });
    this.transcript = path.join(options.workDir, `transcript-${name}.log`);
    // An interactive bash, as in a person's terminal window; no rc files, no history file.
    this.bash = pty.spawn('bash', ['--noprofile', '--norc'], {
      name: TERMINAL_TYPE,
      ...TERMINAL_SIZE,
      cwd: options.cwd,
      env: { ...stringEnv(process.env), ...options.env, TERM: TERMINAL_TYPE, HISTFILE: '', PS1: '', PS2: '' },
    });
    this.bash.onData((chunk) => this.receive(chunk));
    this.bash.onExit(({ exitCode, signal }) => {
      this.exited = { code: exitCode, signal: signal ? (signalName(signal) ?? null) : null };
      this.exitWaiters.splice(0).forEach((wake) => wake());
    });
    // Each command line ends at a prompt; PROMPT_COMMAND prints the marker of the line that ran
    // there, with its exit status, even when Ctrl-C abandoned the rest of the line; a line the driver
    // did not mark (a program's input read by bash after the program ended) prints none. No prompt text,
    // no echo of what is typed to bash (programs such as psql echo their own input), no job
    // control: a background step ignores the Ctrl-C typed for the foreground, as in a script.
    const setup = this.nextMarker();
    const ready = this.expect(setup);
    this.sendLine(
      `__ws_id=${markerId(setup)}; __ws_rc=; PROMPT_COMMAND=${quote(`__ws_last=$?; trap - ERR; if [ -n "$__ws_id" ]; then printf '\n%s %s %s\n' ${this.token} "$__ws_id" "\${__ws_rc:-$__ws_last}"; fi; __ws_id=; __ws_rc=`)}; set +m +o emacs +o vi +H; stty -echo`,
    );
    // A bash that died at start is reported by the step (`assertUsable`), not by a hang here.
    this.ready = Promise.race([ready, new Promise<void>((resolve) => this.exitWaiters.push(resolve))]).then(() => undefined);
  }

  // Settles once the shell has taken its settings; every command waits for it.
  private readonly ready: Promise<void>;

  get pid(): number {
    return this.bash.pid!;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  // Runs a command to completion in this shell; the first failing command ends the step, as it would
  // stop a careful reader. A timeout ends only this step's processes.
  async run(id: string, code: string, timeoutSeconds?: number, key?: KeyPress): Promise<CommandOutcome> {
    await this.ready;
    this.assertUsable(id);
    const file = this.writeStepFile(id, code);
    const marker = this.nextMarker();
    const started = Date.now();
    const result = this.expect(marker);
    // The step reads the terminal, as a command a person types does: `docker compose exec` gets a TTY.
    this.sendLine(`__ws_id=${markerId(marker)}; trap '__ws_rc=$?; trap - ERR; return $__ws_rc' ERR; source ${quote(file)}; __ws_rc=$?`);
    return this.finish(id, code, started, result, timeoutSeconds, key);
  }

  // Starts a program that reads this terminal (psql); later `type` calls are its input. Done when the
  // program answers a first `\echo` (it has started and reads), or with its exit code when it ends first
  // (psql could not connect).
  async startProgram(id: string, code: string, timeoutSeconds?: number): Promise<CommandOutcome> {
    await this.ready;
    this.assertUsable(id);
    const file = this.writeStepFile(id, code);
    const marker = this.nextMarker();
    const done = this.expect(marker);
    const started = Date.now();
    this.sendLine(`__ws_id=${markerId(marker)}; source ${quote(file)}; __ws_rc=$?`);
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
  async type(id: string, text: string, timeoutSeconds?: number, key?: KeyPress): Promise<CommandOutcome> {
    const program = this.program;
    if (!program) throw new TerminalError(`Step \`${id}\`: terminal \`${this.name}\` runs no program to type into: an earlier \`interactive\` step must start one (psql)`);
    const started = Date.now();
    const body = text.replace(/\n?$/, '\n');
    // Text that quits the program ends the step when the program exits: nothing may follow it, or the
    // shell would read it as commands.
    if (QUITS_PROGRAM.test(body)) {
      this.send(body);
      return this.finish(id, text, started, program.done, timeoutSeconds, key, body);
    }
    const marker = this.nextMarker();
    // psql prints the marker after the statements before it have run; a bare `\echo` first, so the
    // marker starts a line of its own. psql echoes the typed `\echo <marker>` after its prompt:
    // only a marker at the start of a line counts.
    const echoed = this.expect(marker, true);
    const typed = `${body}\\echo\n\\echo ${this.token} ${markerId(marker)} 0\n`;
    this.send(typed);
    return this.finish(id, text, started, Promise.race([echoed, program.done]), timeoutSeconds, key, typed);
  }

  private async finish(
    id: string, code: string, started: number, result: Promise<{ rc: number; output: string }>, timeoutSeconds?: number,
    key?: KeyPress, typed?: string,
  ): Promise<CommandOutcome> {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const keyTimers = this.pressKeyWhen(key);
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
    keyTimers.cancel();
    const settled = await Promise.race([result, died.then(() => undefined)]);
    const ended = Date.now();
    let outcome: CommandOutcome;
    const times = { durationMs: ended - started, timedOut, startedAt: new Date(started).toISOString(), endedAt: new Date(ended).toISOString() };
    if (settled) {
      outcome = { exitCode: timedOut ? TIMEOUT_EXIT_CODE : settled.rc, output: await readable(settled.output, typed), raw: settled.output, ...times };
    } else {
      const raw = this.buffer;
      this.buffer = '';
      this.pending = undefined;
      const output = await readable(raw, typed);
      outcome = {
        exitCode: timedOut ? TIMEOUT_EXIT_CODE : (this.exited?.code ?? 128), output: output + (timedOut ? '' : `\n[terminal ${this.name}: bash exited (${this.exited?.signal ?? this.exited?.code})]`),
        raw, ...times,
      };
    }
    const shown = outcome.raw ?? '';
    this.log(`$ ${code.replace(/\n/g, '\n> ')}\n${shown}${shown.endsWith('\n') || !shown ? '' : '\n'}[step ${id}: exit ${outcome.exitCode}${timedOut ? ', timed out' : ''}${keyTimers.pressed() ? `, ${key!.key} pressed` : ''}, ${outcome.durationMs} ms]\n`);
    return outcome;
  }

  // Presses the step's key after its time, or once its text has appeared (then after its time).
  private pressKeyWhen(key: KeyPress | undefined): { cancel: () => void; pressed: () => boolean } {
    if (!key) return { cancel: () => undefined, pressed: () => false };
    let pressed = false;
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const press = () => {
      if (cancelled) return;
      timer = setTimeout(() => {
        if (cancelled || !this.alive) return;
        pressed = true;
        this.log(`[key ${key.key}]\n`);
        this.send(KEYS[key.key]);
      }, (key.afterSeconds ?? 0) * 1000);
    };
    if (key.onText === undefined) press();
    else {
      const text = key.onText;
      this.keyWatch = { text, seen: () => { this.keyWatch = undefined; press(); } };
      this.checkKeyWatch();
    }
    return {
      cancel: () => { cancelled = true; clearTimeout(timer); this.keyWatch = undefined; },
      pressed: () => pressed,
    };
  }

  private checkKeyWatch() {
    if (this.keyWatch && plainText(this.buffer).includes(this.keyWatch.text)) this.keyWatch.seen();
  }

  // Ends the foreground step as a person would (Ctrl-C), then its processes (not background jobs),
  // then bash itself if nothing else answers.
  private async interruptForeground(): Promise<void> {
    const grace = this.options.killGraceMs ?? 2000;
    this.send(KEYS['ctrl-c']);
    if (await this.settlesWithin(grace)) return;
    const protectedPids = new Set<number>();
    for (const job of this.background.values()) {
      protectedPids.add(job.pid);
      descendants(job.pid).forEach((pid) => protectedPids.add(pid));
    }
    const targets = descendants(this.pid).filter((pid) => !protectedPids.has(pid));
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
    await this.ready;
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
    // Not on the terminal: its output goes to its log, it reads nothing, and the Ctrl-C typed for the
    // foreground does not reach it (as a load in a window of its own).
    this.sendLine(
      `__ws_id=${markerId(marker)}; { trap '' INT; trap - TERM; trap '__ws_rc=$?; trap - ERR; return $__ws_rc' ERR; source ${quote(file)} </dev/null >${quote(logFile)} 2>&1; printf '%s' "$?" >${quote(rcFile)}; } & __ws_rc=$!`,
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
      // The job's shell first: it would otherwise report its command's death (`Terminated`) in the log.
      const tree = descendants(job.pid);
      signalAll([job.pid], 'SIGTERM');
      signalAll(tree, 'SIGTERM');
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
      signalAll(everything, 'SIGTERM');
      // An interactive bash ignores SIGTERM; a hang-up ends it, as closing a terminal window does.
      signalAll([this.pid], 'SIGHUP');
      const deadline = Date.now() + (this.options.killGraceMs ?? 2000);
      while (this.alive && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      signalAll([...everything, this.pid].filter(isAlive), 'SIGKILL');
      const last = Date.now() + 2000;
      while (this.alive && Date.now() < last) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (this.alive) this.bash.kill('SIGKILL');
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

  // A marker is `<token> <id>`: PROMPT_COMMAND prints it at the start of a line, then the status.
  private nextMarker(): string {
    return `${this.token} ${++this.counter}`;
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
    this.checkKeyWatch();
    this.scan();
  }

  private scan() {
    for (const entry of [this.pending, ...this.extraPending]) {
      if (!entry) continue;
      // Only at the start of a line: psql echoes the typed `\echo <marker>` after its prompt.
      // Terminal controls may come first (readline's `ESC[?2004l` and a carriage return after psql's prompt).
      const found = new RegExp(`(^|\n)(?:\x1b\\[[0-9;?]*[A-Za-z]|\r)*${entry.marker} (-?\\d+)\r?\n`).exec(this.buffer);
      if (!found) continue;
      const at = found.index + found[1]!.length;
      const lineEnd = found.index + found[0].length - 1;
      const rc = Number(found[2]);
      let output = this.buffer.slice(0, at);
      // The driver prints a newline before its marker so it starts a line of its own.
      output = output.replace(/\r?\n$/, '');
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
    if (this.alive) this.bash.write(text);
  }

  // A line for bash; the terminal turns its newline into the Enter key (a carriage return).
  private sendLine(line: string) {
    this.send(`${line}\r`);
  }

  private log(text: string) {
    appendFileSync(this.transcript, text);
  }
}

export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

// The id part of a marker (`<token> <id>`), which the shell line sets as `__ws_id`.
function markerId(marker: string): string {
  return marker.slice(marker.indexOf(' ') + 1);
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function signalName(signal: number): NodeJS.Signals | undefined {
  return (Object.entries(osConstants.signals) as [NodeJS.Signals, number][]).find(([, number]) => number === signal)?.[0];
}

// psql's prompt: `postgres=# `, `postgres-# ` (a statement goes on), `app=*> ` (in a transaction).
const PROMPT = /^\S*[#>]$/;

// The output a person reads: rendered as the terminal shows it. For text typed into a program, the
// program's prompts are not output, nor is anything before its first prompt (psql's banner belongs
// to the step that started it), nor the typed lines a terminal echoes (this one does not, `stty
// -echo`, but the TTY `docker compose exec` makes in a container does, after psql's prompt).
async function readable(raw: string, typed: string | undefined): Promise<string> {
  const screen = await renderScreen(raw);
  if (typed === undefined) return screen;
  const lines = screen === '' ? [] : screen.replace(/\n$/, '').split('\n');
  const inputs = new Set(typed.split('\n').map((line) => line.trimEnd()).filter(Boolean));
  const isPrompt = (line: string) => {
    const text = line.trimEnd();
    if (PROMPT.test(text)) return true;
    const space = text.search(/[#>] /);
    return space >= 0 && PROMPT.test(text.slice(0, space + 1)) && inputs.has(text.slice(space + 2));
  };
  // A line typed ahead while the program was busy, echoed by its terminal (docker's TTY echoes).
  const isEcho = (line: string) => inputs.has(line.trimEnd());
  const first = lines.findIndex(isPrompt);
  const output = (first < 0 ? lines : lines.slice(first)).filter((line) => !isPrompt(line) && !isEcho(line));
  while (output.length > 0 && output.at(-1) === '') output.pop();
  return output.length === 0 ? '' : `${output.join('\n')}\n`;
}
