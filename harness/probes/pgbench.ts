// Reads the output of `pgbench-load` (environments/image/bin/pgbench-load): per-second progress with
// wall-clock timestamps, restarts after a failover aborted pgbench's clients, and the summary.
import type { Series } from '../report/model.ts';

export interface PgbenchSample {
  at: number;
  tps: number;
  latencyMs: number;
  failed: number;
}

export interface PgbenchLoad {
  samples: PgbenchSample[];
  restarts: { at: number; exitCode: number; reason: string }[];
  summary: Record<string, number> | undefined;
}

// Parses the wrapper's stdout; lines that are not its records (pgbench's own messages) are skipped.
export function parsePgbenchLoad(output: string): PgbenchLoad {
  const load: PgbenchLoad = { samples: [], restarts: [], summary: undefined };
  for (const line of output.split('\n')) {
    const progress = /^progress (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?|nan|-) (\d+)$/.exec(line);
    if (progress) {
      load.samples.push({ at: Math.round(Number(progress[1]) * 1000), tps: Number(progress[2]), latencyMs: Number(progress[3]), failed: Number(progress[4]) });
      continue;
    }
    const restart = /^restart (\d+(?:\.\d+)?) (\d+) (.*)$/.exec(line);
    if (restart) {
      load.restarts.push({ at: Math.round(Number(restart[1]) * 1000), exitCode: Number(restart[2]), reason: restart[3]! });
      continue;
    }
    if (line.startsWith('summary ')) load.summary = JSON.parse(line.slice('summary '.length)) as Record<string, number>;
  }
  return load;
}

// Throughput per second as a series for the report, restarts marked.
export function tpsSeries(load: PgbenchLoad, name = 'pgbench.tps', marks: Series['marks'] = []): Series {
  return {
    name, unit: 'tps',
    points: load.samples.map((s) => [s.at, s.tps]),
    marks: [...(marks ?? []), ...load.restarts.map((r) => ({ at: r.at, label: `pgbench restarted (${r.reason})` }))],
  };
}

// A figure a command printed after `label` (`tps = 123.4`, `latency average = 1.2 ms`, `WAL flushes: 56`):
// the first number on the first line that starts with it (leading spaces allowed).
export function printedFigure(output: string, label: string | RegExp): number {
  const source = typeof label === 'string' ? label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : label.source;
  const match = new RegExp(`^\\s*${source}\\s*([0-9.]+)`, 'm').exec(output);
  if (!match) throw new Error(`No line starting with \`${typeof label === 'string' ? label : `/${label.source}/`}\` followed by a number in:\n${output}`);
  return Number(match[1]);
}
