import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';

const workshop = (...args: string[]) => execa(path.join(repoRoot, 'bin', 'workshop.mjs'), args, { cwd: repoRoot, reject: false, env: { NO_COLOR: '1' } });

describe('the workshop CLI', () => {
  test('lint exits 2 and prints file:line:col for each problem', async () => {
    const result = await workshop('lint', 'test/fixtures/lint/duplicate-step-id/lab.md');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('test/fixtures/lint/duplicate-step-id/lab.md:10:1 Duplicate step id `up`');
  });

  test('lint exits 0 on a clean lab', async () => {
    const result = await workshop('lint', 'test/fixtures/lint/clean/lab.md');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('lint: 1 file(s), no problems');
  });

  // Two CLI starts (each compiles the harness): seconds each on a loaded machine.
  test('bad input exits 2 with the accepted values', { timeout: 60_000 }, async () => {
    const result = await workshop('verify', '--pg', '16');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--pg: expected a comma-separated list of 15, 17, 18 (or `all`), found `16`');
    const unknown = await workshop('verify', 'no-such-lab');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('Lab `no-such-lab`: no such lab');
  });

  test('an unknown command exits 2 and shows help', async () => {
    const result = await workshop('frobnicate');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });
});
