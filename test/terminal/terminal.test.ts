import { mkdtempSync } from 'node:fs';
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

  test('a step that reads standard input sees end of file, not the next step', async () => {
    const t = terminal();
    const result = await t.run('stdin', 'cat; echo read-done');
    expect(result).toMatchObject({ exitCode: 0, output: 'read-done\n' });
  });

  test('keeps output without a final newline', async () => {
    const t = terminal();
    expect((await t.run('n', 'printf partial')).output).toBe('partial');
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

  test('a timeout in a builtin loop ends the terminal and says so on the next step', async () => {
    const t = terminal();
    const busy = await t.run('busy', 'while :; do :; done', 0.3);
    expect(busy.timedOut).toBe(true);
    expect(t.alive).toBe(false);
    await expect(t.run('next', 'echo')).rejects.toThrow(/terminal `main` is gone/);
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
});
