// wait-for (environments/image/bin) on the host's python3: it waits on a condition against a
// deadline, and on timeout says what it waited for and the last answer it saw.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { environmentsDir } from '../../harness/paths.ts';

const script = path.join(environmentsDir, 'image', 'bin', 'wait-for');
const dir = mkdtempSync(path.join(tmpdir(), 'wait-for-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A command whose answer changes with each try: it prints how often it has been run.
const counter = path.join(dir, 'count');
writeFileSync(counter, `#!/usr/bin/env bash\nn=$(( $(cat "$0.n" 2>/dev/null || echo 0) + 1 ))\necho "$n" >"$0.n"\necho "$n"\n`, { mode: 0o755 });

function waitFor(args: string[]) {
  const result = spawnSync('python3', [script, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('wait-for', () => {
  test('tries again until the output is the awaited one, and says so', () => {
    rmSync(`${counter}.n`, { force: true });
    const result = waitFor(['--interval', '0.1', '--timeout', '10', '--equals', '3', 'the third try', '--', counter]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^waiting up to 10 s for the third try\nok after \d+\.\d s: the third try\n$/);
  });

  test('with --show, prints the answer that met the condition, not a later one', () => {
    rmSync(`${counter}.n`, { force: true });
    const result = waitFor(['--interval', '0.1', '--timeout', '10', '--show', '--matches', '^[2-9]$', 'a second try', '--', counter]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^waiting up to 10 s for a second try\nok after \d+\.\d s: a second try\n2\n$/);
  });

  test('matches a regular expression anywhere in the output', () => {
    const result = waitFor(['--matches', '^b+$', 'a line of bs', '--', 'printf', 'a\\nbbb\\n']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('ok after');
  });

  test('without --equals or --matches, waits for exit code 0', () => {
    const result = waitFor(['--interval', '0.1', '--timeout', '0.5', 'false to succeed', '--', 'false']);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('expected: exit code 0\nlast exit code: 1\n');
  });

  test('at the deadline prints what it waited for and the last value seen, and exits 1', () => {
    rmSync(`${counter}.n`, { force: true });
    const started = Date.now();
    const result = waitFor(['--interval', '0.2', '--timeout', '1', '--equals', 'never', 'an answer that never comes', '--', counter]);
    expect(result.status).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('waiting up to 1 s for an answer that never comes');
    // At or after the deadline (a try that starts late on a busy machine makes it later).
    expect(lines[1]).toMatch(/^timed out after \d+\.\d s waiting for an answer that never comes$/);
    expect(lines[2]).toBe("expected: output 'never'");
    expect(lines[3]).toBe('last exit code: 0');
    // The last answer is the last try's: the counter as the last run left it.
    expect(lines[4]).toBe(`last output: '${readFileSync(`${counter}.n`, 'utf8').trim()}'`);
  });

  test('a try still running at the deadline is ended and reported', () => {
    const result = waitFor(['--timeout', '0.5', 'sleep to end', '--', 'sleep', '30']);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('last exit code: none (still running)');
  });

  test.each([
    [['what'], 'expected `--` and the command to run after WHAT'],
    [['what', '--'], 'expected a command after `--`'],
    [['--timeout', '0', 'what', '--', 'true'], '--timeout and --interval must be positive'],
    [['--matches', '(', 'what', '--', 'true'], 'is not a regular expression'],
  ])('bad usage %j exits 2 with a message', (args, message) => {
    const result = waitFor(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
