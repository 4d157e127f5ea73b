// Benchmark: what a terminal step costs over running the same command directly. Prints figures.
//   npx tsx bench/step-overhead.ts [iterations]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Terminal } from '../harness/terminal/terminal.ts';

const iterations = Number(process.argv[2] ?? 200);
const commands = { 'true (builtin)': 'true', 'echo hello | cat': 'echo hello | cat', '/bin/true (fork+exec)': '/bin/true' };

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const workDir = mkdtempSync(path.join(tmpdir(), 'workshop-bench-'));
const terminal = new Terminal('bench', { cwd: workDir, workDir });
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
console.log(`step overhead, ${iterations} iterations each (median / p95 / mean)`);
for (const [label, command] of Object.entries(commands)) {
  const viaStep: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let t = performance.now();
    await terminal.run(`s${i}`, command);
    viaStep.push(performance.now() - t);
    t = performance.now();
    await execa('bash', ['--noprofile', '--norc', '-c', command]);
    direct.push(performance.now() - t);
  }
  const s = stats(viaStep);
  const d = stats(direct);
  console.log(`${label.padEnd(24)} step ${fmt(s.median)} / ${fmt(s.p95)} / ${fmt(s.mean)}   bash -c ${fmt(d.median)} / ${fmt(d.p95)} / ${fmt(d.mean)}`);
}
await terminal.close();
