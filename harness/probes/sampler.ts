// Samplers: a query (or any probe) read at a fixed interval while something runs, for figures and plots.
// A sample lost to a busy server is a gap, not a failure; the errors are counted.

export interface Sampler<T> {
  readonly samples: T[];
  // Ends the sampling and returns what was read.
  stop(): Promise<T[]>;
}

// Reads `probe` every `intervalMs` until stopped; each value is kept with the time it was read.
export function startSampler<T>(probe: () => Promise<T>, intervalMs: number): Sampler<T> & { errors: number } {
  const samples: T[] = [];
  let running = true;
  const sampler = {
    samples,
    errors: 0,
    async stop(): Promise<T[]> {
      running = false;
      await loop;
      return samples;
    },
  };
  const loop = (async () => {
    while (running) {
      try {
        samples.push(await probe());
      } catch {
        sampler.errors += 1;
      }
      if (running) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return sampler;
}

// Reads `probe` every `intervalMs` for as long as `running` lasts (a pgbench run), then returns the samples.
export async function sampleWhile<T>(running: Promise<unknown>, probe: () => Promise<T>, intervalMs: number): Promise<T[]> {
  const sampler = startSampler(probe, intervalMs);
  await running.then(() => undefined, () => undefined);
  return sampler.stop();
}
