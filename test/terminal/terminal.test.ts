import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { Terminal, TIMEOUT_EXIT_CODE } from '../../harness/terminal/terminal.ts';
import { isAlive } from '../../harness/terminal/process-tree.ts';

const open: Terminal[] = [];
function terminal(name = 'main') {
  const workDir = mkdtempSync(path.join(tmpdir(), 'workshop-terminal-'));
  const t = new Terminal(name, { cwd: workDir, workDir, killGraceMs: 500 });
  open.push(t);
  return t;
}
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe('a terminal', () => {
  test('keeps variables, exports and the working directory from step to step', async () => {
    const t = terminal();
    await t.run('one', 'greeting=hello\nexport SHARED=exported\ncd /tmp');
    const two = await t.run('two', 'echo "$greeting $SHARED $(pwd)"; bash -c \'echo child sees $SHARED\'');
    expect(two.exitCode).toBe(0);
    expect(two.output).toBe('hello exported /tmp\nchild sees exported\n');
  });

  test('reports the exit code of the first failing command and runs nothing after it', async () => {
    const t = terminal();
    const result = await t.run('fails', 'echo before\nfalse\necho after');
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe('before\n');
    const next = await t.run('next', 'echo still here');
    expect(next).toMatchObject({ exitCode: 0, output: 'still here\n' });
  });

  test('reports exit codes other than 1 and keeps stderr in the output, in order', async () => {
    const t = terminal();
    const result = await t.run('code', 'echo out; echo err >&2; (exit 3)');
    expect(result).toMatchObject({ exitCode: 3, output: 'out\nerr\n' });
  });

  test('a step sees a terminal, of a fixed size and type', async () => {
    const t = terminal();
    const result = await t.run('tty', 'test -t 0 && test -t 1 && echo "tty $(tput cols)x$(tput lines) $TERM"');
    expect(result).toMatchObject({ exitCode: 0, output: 'tty 120x40 xterm-256color\n' });
  });

  test('a program that waits for input waits, until a key ends its input', async () => {
    const t = terminal();
    const result = await t.run('reads', 'cat; echo "read-done $?"', 10, { key: 'ctrl-d', afterSeconds: 0.5 });
    expect(result).toMatchObject({ exitCode: 0, output: 'read-done 0\n', timedOut: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
  });

  test('Ctrl-C ends the foreground program, and the terminal lives on', async () => {
    const t = terminal();
    await t.run('set', 'kept=yes');
    const result = await t.run('interrupted', 'echo waiting; sleep 30; echo never', 10, { key: 'ctrl-c', onText: 'waiting', afterSeconds: 0.2 });
    expect(result).toMatchObject({ exitCode: 130, output: 'waiting\n', timedOut: false });
    expect(result.durationMs).toBeLessThan(5000);
    expect((await t.run('after', 'echo $kept')).output).toBe('yes\n');
  });

  test('a key waiting for text that never comes is not pressed', async () => {
    const t = terminal();
    const result = await t.run('quiet', 'sleep 0.5; echo done', 10, { key: 'ctrl-c', onText: 'never printed' });
    expect(result).toMatchObject({ exitCode: 0, output: 'done\n' });
  });

  test('output is matched as the screen shows it; the transcript keeps the bytes', async () => {
    const t = terminal();
    const result = await t.run('render', String.raw`printf 'plain\n\033[1;31mred\033[0m\nprogress 10%%\rprogress 100%%\n'; printf '%0130d\n' 0`);
    expect(result.output).toBe(`plain\nred\nprogress 100%\n${'0'.repeat(130)}\n`);
    expect(result.raw).toContain('\x1b[1;31mred\x1b[0m\r\n');
    expect(result.raw).toContain('progress 10%\rprogress 100%');
    expect(readFileSync(t.transcript, 'utf8')).toContain('\x1b[1;31mred');
  });

  test('keeps output without a final newline', async () => {
    const t = terminal();
    const result = await t.run('n', 'printf partial');
    expect(result.raw).toBe('partial');
    expect(result.output).toBe('partial\n');
  });

  test('a timeout ends only that step and the terminal goes on', async () => {
    const t = terminal();
    await t.run('set', 'kept=yes');
    const slow = await t.run('slow', 'echo started; sleep 30; echo never', 0.5);
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).toBe(TIMEOUT_EXIT_CODE);
    expect(slow.output).toMatch(/^started\n/);
    expect(slow.output).not.toContain('never');
    expect(slow.durationMs).toBeLessThan(5000);
    const after = await t.run('after', 'echo $kept');
    expect(after).toMatchObject({ exitCode: 0, output: 'yes\n' });
  });

  test('a timeout in a builtin loop ends it with Ctrl-C, and the terminal goes on', async () => {
    const t = terminal();
    const busy = await t.run('busy', 'while :; do :; done', 0.3);
    expect(busy.timedOut).toBe(true);
    expect(t.alive).toBe(true);
    expect((await t.run('next', 'echo next')).output).toBe('next\n');
  });

  test('a background step runs while later steps go on, and is waited for', async () => {
    const t = terminal();
    await t.run('mark', 'export TAG=bg');
    const job = await t.startBackground('load', 'for i in 1 2 3; do echo "$TAG $i"; sleep 0.2; done');
    const meanwhile = await t.run('meanwhile', 'echo foreground');
    expect(meanwhile.output).toBe('foreground\n');
    expect(isAlive(job.pid)).toBe(true);
    const done = await t.waitBackground('load', 10_000);
    expect(done).toMatchObject({ exitCode: 0, output: 'bg 1\nbg 2\nbg 3\n', timedOut: false });
  });

  test('a step timing out leaves background steps running', async () => {
    const t = terminal();
    const job = await t.startBackground('load', 'sleep 20');
    await t.run('slow', 'sleep 20', 0.3);
    expect(isAlive(job.pid)).toBe(true);
    const stopped = await t.stopBackground('load');
    expect(stopped.timedOut).toBe(true);
    expect(isAlive(job.pid)).toBe(false);
  });

  test('closing stops background steps and every process the terminal started', async () => {
    const t = terminal();
    const job = await t.startBackground('forever', 'sleep 60');
    const stopped = await t.close();
    expect(stopped.map((s) => [s.id, s.outcome.timedOut])).toEqual([['forever', true]]);
    expect(isAlive(job.pid)).toBe(false);
    expect(t.alive).toBe(false);
  });

  test('two named terminals are independent shells', async () => {
    const a = terminal('a');
    const b = terminal('b');
    await a.run('x', 'only_a=1');
    expect((await b.run('y', 'echo "[${only_a:-unset}]"')).output).toBe('[unset]\n');
  });

  test('an interactive program reads the steps typed into its terminal until it exits', async () => {
    const t = terminal();
    // A line-reading program that echoes like psql's \echo; `quit` ends it.
    const opened = await t.startProgram('open', `(while IFS= read -r line; do case "$line" in '\\q') exit 0;; '\\echo') echo;; '\\echo '*) echo "\${line#'\\echo '}";; *) echo "got: $line";; esac; done)`);
    expect(opened.exitCode).toBe(0);
    const first = await t.type('say', 'hello');
    expect(first.output).toBe('got: hello\n');
    const quit = await t.type('quit', '\\q');
    expect(quit.exitCode).toBe(0);
    expect(t.programStep).toBeUndefined();
    expect((await t.run('after', 'echo back in bash')).output).toBe('back in bash\n');
  });

  test('an interactive step is done when its program answers, not when it was typed', async () => {
    const t = terminal();
    // Starts reading only after 0.6 s, as psql does once it has connected.
    const opened = await t.startProgram('open', `sleep 0.6; (while IFS= read -r line; do case "$line" in '\\q') exit 0;; '\\echo') echo;; '\\echo '*) echo "\${line#'\\echo '}";; esac; done)`);
    expect(opened.exitCode).toBe(0);
    expect(opened.durationMs).toBeGreaterThanOrEqual(500);
    expect(t.programStep).toBe('open');
    await t.type('quit', '\\q');
  });

  test('an interactive program that ends before answering fails its step with its exit code and output', async () => {
    const t = terminal();
    const opened = await t.startProgram('open', `echo 'psql: error: connection to server failed: Connection refused' >&2; (exit 2)`);
    expect(opened.exitCode).toBe(2);
    expect(opened.output).toContain('psql: error: connection to server failed');
    expect(t.programStep).toBeUndefined();
    // The shell read the lines meant for the program; none of it reaches the next step.
    expect((await t.run('after', 'echo back in bash')).output).toBe('back in bash\n');
  });

  test('a program with a prompt (psql in a terminal) shows only its answers, not its banner or prompts', async () => {
    const t = terminal();
    // readline's prompt, as psql's `postgres=# `; a banner first, as psql prints one.
    const program = path.join(mkdtempSync(path.join(tmpdir(), 'workshop-program-')), 'db');
    writeFileSync(program, [
      'echo "banner: type \\q to quit"',
      `while IFS= read -e -r -p 'db=# ' line; do`,
      `  case "$line" in '\\q') exit 0;; '\\echo') echo;; '\\echo '*) echo "\${line#'\\echo '}";; *) echo "got: $line";; esac`,
      'done',
    ].join('\n'));
    await t.startProgram('open', `bash ${program}`);
    const first = await t.type('say', 'hello\nworld');
    expect(first.output).toBe('got: hello\ngot: world\n');
    expect(first.raw).toContain('db=# ');
    const quit = await t.type('quit', '\\q');
    expect(quit).toMatchObject({ exitCode: 0, output: '' });
    expect((await t.run('after', 'echo back in bash')).output).toBe('back in bash\n');
  });

  test('a program whose terminal echoes (psql through docker compose exec) shows only its answers too', async () => {
    const t = terminal();
    const program = path.join(mkdtempSync(path.join(tmpdir(), 'workshop-program-')), 'db');
    // Echo on, as in the TTY docker makes in a container: lines typed ahead are echoed at once,
    // readline echoes each line after its prompt, and the answers are slow.
    writeFileSync(program, [
      'stty echo',
      'echo "banner"',
      `while IFS= read -e -r -p 'db=*# ' line; do`,
      `  case "$line" in '\\q') exit 0;; '\\echo') echo;; '\\echo '*) echo "\${line#'\\echo '}";; *) sleep 0.2; echo "got: $line";; esac`,
      'done',
    ].join('\n'));
    await t.startProgram('open', `bash ${program}`);
    const first = await t.type('say', 'select 1;\nselect 2;');
    expect(first.output).toBe('got: select 1;\ngot: select 2;\n');
    expect(first.raw).toContain('db=*# select 1;');
    expect((await t.type('again', 'select 3;')).output).toBe('got: select 3;\n');
    expect((await t.type('quit', '\\q')).exitCode).toBe(0);
  });
});
