import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  describeResources, DockerStatsError, resourcesBySection, parseBytes, parsePercent, parseStatsLine, startResourceSampler, summarizeResources, sumStats, type ResourceSample,
} from '../../harness/probes/resources.ts';
import { LabReport } from '../../harness/report/model.ts';
import { pageSections } from '../../harness/agenda/agenda.ts';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'resources', name), 'utf8');
const MiB = 2 ** 20;

describe('docker stats figures', () => {
  test('sizes in binary and decimal units become bytes; `--` is no figure', () => {
    expect(parseBytes('0B')).toBe(0);
    expect(parseBytes('512KiB')).toBe(512 * 1024);
    expect(parseBytes('93.93MiB')).toBeCloseTo(93.93 * MiB, 0);
    expect(parseBytes('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('1.2MB')).toBe(1.2e6);
    expect(parseBytes(' 7.653GiB ')).toBeCloseTo(7.653 * 2 ** 30, 0);
    expect(parseBytes('--')).toBeUndefined();
  });

  test('a size it cannot read is an error naming the field and what it saw', () => {
    expect(() => parseBytes('12 parsecs', 'docker stats, container pg1, MemUsage')).toThrow(DockerStatsError);
    expect(() => parseBytes('12 parsecs', 'docker stats, container pg1, MemUsage')).toThrow('docker stats, container pg1, MemUsage: expected a size such as `512MiB` or `1.5GiB` (units b, kib, mib, gib, tib, kb, mb, gb, tb, case-insensitive), got `12 parsecs`');
  });

  test('percentages of one core; `--` is no figure', () => {
    expect(parsePercent('183.52%')).toBe(183.52);
    expect(parsePercent('0.00%')).toBe(0);
    expect(parsePercent('--')).toBeUndefined();
    expect(() => parsePercent('n/a', 'docker stats, container pg2, CPUPerc')).toThrow('docker stats, container pg2, CPUPerc: expected a percentage such as `12.5%`, got `n/a`');
  });

  test('a line gives the container, its memory in use (not the limit) and its CPU', () => {
    const first = fixture('patroni-running.jsonl').split('\n')[0]!;
    expect(parseStatsLine(first)).toEqual({ name: 'ws-20261207-141336-06-pg15-client-1', memoryBytes: 10.67 * MiB, cpuPercent: 4.88 });
    expect(parseStatsLine(fixture('gone.jsonl').split('\n')[0]!)).toEqual({ name: 'ws-run-07-pg18-pgbouncer-1' });
  });

  test('a line that is not docker stats JSON says what it got', () => {
    expect(() => parseStatsLine('CONTAINER ID  NAME  CPU %')).toThrow("docker stats: expected one JSON object per line (--format '{{json .}}'), got `CONTAINER ID  NAME  CPU %`");
    expect(() => parseStatsLine('{"Name":"pg1","CPUPerc":"1.00%"}')).toThrow('docker stats: line without a string `MemUsage` field');
  });

  test('a sample sums the running containers; an exited or unreadable one adds nothing', () => {
    const running = sumStats(fixture('patroni-running.jsonl'), 1);
    expect(running.containers).toBe(7);
    expect(running.memoryBytes).toBe(Math.round((10.67 + 93.93 + 54.54 + 58.27 + 22.75 + 23.99 + 20.83) * MiB));
    expect(running.cpuPercent).toBeCloseTo(4.88 + 4.84 + 0.78 + 10.83 + 5.62 + 3.48 + 5.61, 6);
    const exited = sumStats(fixture('one-exited.jsonl'), 2);
    expect(exited).toEqual({ at: 2, containers: 2, memoryBytes: Math.round(10.69 * MiB), cpuPercent: 8.3 });
    const gone = sumStats(fixture('gone.jsonl'), 3);
    expect(gone).toEqual({ at: 3, containers: 3, memoryBytes: 1.5 * 2 ** 30 + 512 * 1024, cpuPercent: 184.02 });
  });
});

describe('a lab\'s resources', () => {
  const samples: ResourceSample[] = [
    { at: 1_000, containers: 0, memoryBytes: 0, cpuPercent: 0 },
    { at: 6_000, containers: 3, memoryBytes: 300 * MiB, cpuPercent: 150 },
    { at: 11_000, containers: 3, memoryBytes: 900 * MiB, cpuPercent: 40.123 },
    { at: 16_000, containers: 2, memoryBytes: 200 * MiB, cpuPercent: 5 },
    { at: 21_000, containers: 0, memoryBytes: 0, cpuPercent: 0 },
  ];

  test('peaks of the sums, each with its time; samples of no container do not count', () => {
    const r = summarizeResources(samples, 2, 3_000, 'Command failed with exit code 1: docker stats: No such container');
    expect(r).toMatchObject({
      pauseMs: 3_000, samples: 3, errors: 2, containers: 3,
      peakMemoryBytes: 900 * MiB, peakMemoryAt: new Date(11_000).toISOString(),
      peakCpuPercent: 150, peakCpuAt: new Date(6_000).toISOString(),
    });
    expect(r.points).toEqual([[6_000, 300 * MiB, 150], [11_000, 900 * MiB, 40.12], [16_000, 200 * MiB, 5]]);
    // The report's schema takes it, and a report without it stays valid.
    const lab = { id: '01', title: 't', file: 'f', major: 18, status: 'passed', startedAt: 'x', durationMs: 1, steps: [], stepsNotRun: [], measurements: [], series: [], errors: [] };
    expect(LabReport.parse({ ...lab, resources: r }).resources).toEqual(r);
    expect(LabReport.parse(lab).resources).toBeUndefined();
    expect(describeResources(r)).toBe('resources: peak 900 MiB memory, peak 150 % CPU (1.5 cores), 3 samples, one every 5.0 s of up to 3 containers, 2 failed (last: Command failed with exit code 1: docker stats: No such container)');
  });

  test('no container ever seen is said, not shown as a peak of zero', () => {
    const r = summarizeResources([samples[0]!], 1, 3_000, 'Command timed out after 15000 milliseconds: docker ps');
    expect(r).toMatchObject({ samples: 0, peakMemoryBytes: 0, peakCpuPercent: 0, points: [] });
    expect(describeResources(r)).toBe('resources: no sample of the environment\'s containers (1 failed: Command timed out after 15000 milliseconds: docker ps)');
  });

  test('a failed sample is a gap counted as an error; stop ends a read in flight at once', async () => {
    let n = 0;
    let aborted = false;
    const sampler = startResourceSampler({ name: 'ws-test', major: 18 }, 5, async (project, signal) => {
      expect(project).toBe('ws-test');
      n += 1;
      if (n === 2) throw Object.assign(new Error('Command failed with exit code 1: docker stats'), { shortMessage: 'Command failed with exit code 1: docker stats abc', stderr: 'Error response from daemon: No such container: abc\n' });
      if (n >= 4) {
        // A read that would outlast the lab: stop() must not wait for it.
        return new Promise<ResourceSample>((_resolve, reject) => signal?.addEventListener('abort', () => { aborted = true; reject(new Error('Command was canceled')); }));
      }
      return { at: n * 1000, containers: 1, memoryBytes: n * MiB, cpuPercent: n };
    });
    await expect.poll(() => n).toBe(4);
    const started = Date.now();
    const r = await sampler.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(aborted).toBe(true);
    expect(r).toMatchObject({ samples: 2, errors: 1, peakMemoryBytes: 3 * MiB, lastError: 'Command failed with exit code 1: docker stats abc: Error response from daemon: No such container: abc' });
  });

  test('stop ends the pause between samples at once', async () => {
    let n = 0;
    const sampler = startResourceSampler({ name: 'ws-test', major: 18 }, 60_000, async () => ({ at: ++n, containers: 1, memoryBytes: MiB, cpuPercent: 1 }));
    await expect.poll(() => n).toBe(1);
    const started = Date.now();
    const r = await sampler.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.samples).toBe(1);
  });
});

describe('resources by section of the page', () => {
  const page = [
    '---', 'title: t', 'environment: single', 'deep_dives: [under-load]', '---',
    '## Start', '```bash step=up', 'docker compose up', '```',
    '## Quiet', '```bash step=select', 'psql -c 1', '```',
    '## Under load', '```bash step=load', 'pgbench', '```', '```bash step=between', 'true', '```',
    '## Clean up', '```bash step=down', 'docker compose down', '```',
  ].join('\n');
  const { sections } = pageSections(page, '/x/curriculum/01-x/lab.md');
  const at = (s: number) => new Date(s * 1000).toISOString();
  const steps = [['up', 0], ['select', 10], ['load', 20], ['between', 40], ['down', 50]].map(([id, start]) => ({ id, startedAt: at(start as number) }));
  const resources = summarizeResources([5, 12, 18, 25, 45, 52].map((s, i) => ({ at: s * 1000, containers: 2, memoryBytes: [100, 150, 120, 900, 400, 50][i]! * MiB, cpuPercent: [20, 5, 9, 190, 30, 1][i]! })), 0, 3_000);

  test('a section holds the samples from its first step to the next section\'s, with its mark', () => {
    const bySection = resourcesBySection({ steps: steps as LabReport['steps'], resources }, sections);
    expect(bySection.map((s) => [s.title, s.mark, s.samples, s.peakMemoryBytes / MiB, s.peakCpuPercent])).toEqual([
      ['Start', 'core', 1, 100, 20],
      ['Quiet', 'core', 2, 150, 9],
      ['Under load', 'deep-dive', 2, 900, 190],
      ['Clean up', 'core', 1, 50, 1],
    ]);
  });
});
