import { describe, expect, test } from 'vitest';
import { parsePgbenchLoad, tpsSeries } from '../../harness/probes/pgbench.ts';

const output = [
  'progress 1764240000.012 812.4 9.8 0',
  'progress 1764240001.010 790.0 10.1 0',
  'pgbench: error: client 3 aborted in command 5 of script 0; perhaps the backend died while processing',
  'restart 1764240001.900 2 clients aborted',
  'progress 1764240004.013 0.0 - 0',
  'progress 1764240005.011 701.5 11.3 0',
  'summary {"duration_s":6,"elapsed_s":6.002,"runs":2,"restarts":1,"samples":4,"transactions":2304,"mean_tps":383.9,"failed":0,"last_exit":0}',
].join('\n');

describe('pgbench-load output', () => {
  test('gives per-second samples with wall-clock times, restarts and the summary', () => {
    const load = parsePgbenchLoad(output);
    expect(load.samples.map((s) => [s.at, s.tps])).toEqual([[1764240000012, 812.4], [1764240001010, 790], [1764240004013, 0], [1764240005011, 701.5]]);
    expect(load.restarts).toEqual([{ at: 1764240001900, exitCode: 2, reason: 'clients aborted' }]);
    expect(load.summary).toMatchObject({ restarts: 1, transactions: 2304, mean_tps: 383.9 });
  });

  test('becomes a tps series with each restart marked', () => {
    const series = tpsSeries(parsePgbenchLoad(output), 'pgbench.tps', [{ at: 1764240001500, label: 'leader killed' }]);
    expect(series.points).toHaveLength(4);
    expect(series.marks).toEqual([{ at: 1764240001500, label: 'leader killed' }, { at: 1764240001900, label: 'pgbench restarted (clients aborted)' }]);
  });
});
