// Samplers: a query (or any probe) read at a fixed interval while something runs, for figures and plots.
// A sample lost to a busy server is a gap, not a failure; the errors are counted.

export interface Sampler<T> {
  readonly samples: T[];
  // Ends the sampling and returns what was read.
  stop(): Promise<T[]>;
}

// Reads `probe` every `intervalMs` until stopped; each value is kept with the time it was read.
// `stop()` ends the pause at once and aborts the read in flight through `signal` (a probe that
// honours it ends within that read, not after one more interval); an aborted read is no error.
export function startSampler<T>(probe: (signal: AbortSignal) => Promise<T>, intervalMs: number): Sampler<T> & { errors: number } {
  const samples: T[] = [];
  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  const sampler = {
    samples,
    errors: 0,
    async stop(): Promise<T[]> {
      stopping.abort();
      wake?.();
      await loop;
      return samples;
    },
  };
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        samples.push(await probe(stopping.signal));
      } catch {
        if (!stopping.signal.aborted) sampler.errors += 1;
      }
      if (stopping.signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      wake = undefined;
    }
  })();
  return sampler;
}

// Reads `probe` every `intervalMs` for as long as `running` lasts (a pgbench run), then returns the samples.
export async function sampleWhile<T>(running: Promise<unknown>, probe: (signal: AbortSignal) => Promise<T>, intervalMs: number): Promise<T[]> {
  const sampler = startSampler(probe, intervalMs);
  await running.then(() => undefined, () => undefined);
  return sampler.stop();
}
