import { describe, expect, test } from 'vitest';
import { benchRecord, formatBench, labTimes } from '../../bench/curriculum.ts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 4, 0, 0) + s * 1000).toISOString();
const step = (command: string, start: number, seconds: number, background = false) => ({ command, background, startedAt: at(start), durationMs: seconds * 1000 });

// A lab of 60 s: up 10 s, two steps of 5 s with a 20 s poll between them, a background load, down 4 s, 6 s of removal.
const lab = {
  id: '04-replication', status: 'passed', startedAt: at(0), durationMs: 60_000,
  steps: [
    step('cd environments/replication\ndocker compose up --detach --wait', 0, 10),
    step('docker compose exec pg1 psql -c "select 1"', 10, 5),
    step('docker compose exec client pgbench -T 20', 15, 25, true),
    step('docker compose exec pg1 psql -c "select 2"', 35, 5),
    step('docker compose down --volumes', 50, 4),
  ],
};

describe('bench: where a lab’s time goes', () => {
  test('splits wall time into ready, steps, waits and teardown that add up', () => {
    const times = labTimes(lab);
    expect(times).toEqual({ lab: '04-replication', status: 'passed', wall: 60, ready: 10, steps: 10, waits: 30, teardown: 10 });
    expect(times.ready + times.steps + times.waits + times.teardown).toBe(times.wall);
  });

  test('a lab without up or down steps puts everything after its last step in teardown', () => {
    const times = labTimes({ ...lab, steps: [step('echo hi', 1, 2)] });
    expect(times).toMatchObject({ ready: 0, steps: 2, teardown: 57, waits: 1 });
  });

  test('prints this run beside the previous one, with totals, and leaves out labs that do not apply', () => {
    const report = { runId: 'r2', major: 18, startedAt: at(0), endedAt: at(100), labs: [lab, { ...lab, id: '09-observability', status: 'not-applicable', steps: [] }] };
    const current = benchRecord(report);
    expect(current.labs.map((l) => l.lab)).toEqual(['04-replication']);
    const previous = { runId: 'r1', major: 18, runWall: 130, labs: [{ ...current.labs[0]!, wall: 90 }] };
    const text = formatBench(current, previous);
    expect(text).toContain('PostgreSQL 18, run r2: 100.0 s for the run');
    expect(text).toMatch(/04-replication\s+passed\s+60\.0\s+10\.0\s+10\.0\s+30\.0\s+10\.0\s+90\.0 \(-30\.0\)/);
    expect(text).toMatch(/all labs\s+60\.0/);
    expect(text).toContain('slowest lab: 04-replication 60.0 s');
  });
});
