import { describe, expect, test } from 'vitest';
import { sampleWhile, startSampler } from '../../harness/probes/sampler.ts';
import { printedFigure } from '../../harness/probes/pgbench.ts';

describe('samplers', () => {
  test('sample while a run lasts, keep going past a failed read, and count it', async () => {
    let n = 0;
    const sampler = startSampler(async () => {
      n += 1;
      if (n === 2) throw new Error('connection lost');
      return n;
    }, 10);
    // Polled, not slept: on a loaded machine 120 ms of wall time held fewer than 4 samples.
    await expect.poll(() => sampler.samples.length).toBeGreaterThan(3);
    const samples = await sampler.stop();
    expect(samples[0]).toBe(1);
    expect(samples).not.toContain(2);
    expect(samples.length).toBeGreaterThan(3);
    expect(sampler.errors).toBe(1);
    const during = await sampleWhile(new Promise((resolve) => setTimeout(resolve, 60)), async () => Date.now(), 10);
    expect(during.length).toBeGreaterThan(2);
  });
});

describe('printed figures', () => {
  const pgbench = 'latency average = 1.234 ms\ninitial connection time = 5.6 ms\ntps = 812.5 (without initial connection time)\n';
  test('read the number after a label, as text or as a pattern', () => {
    expect(printedFigure(pgbench, 'tps =')).toBe(812.5);
    expect(printedFigure(pgbench, 'latency average =')).toBe(1.234);
    expect(printedFigure('  WAL flushes: 56\n', /WAL flushes:/)).toBe(56);
  });
  test('say which label was missing, with the output', () => {
    expect(() => printedFigure(pgbench, 'average connection time =')).toThrow('No line starting with `average connection time =` followed by a number in:\nlatency average');
  });
});
