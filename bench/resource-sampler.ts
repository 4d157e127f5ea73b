// Benchmark: what the resource sampler of `workshop verify` costs, in CPU time per minute of sampling:
// this process (the timer, parsing) and its `docker ps`/`docker stats` children, and, where /proc shows
// them, dockerd and containerd, which read the containers' cgroups for each `docker stats`. Linux only
// (it reads /proc). Prints figures; compare with the same seconds without sampling (--idle).
//   npx tsx bench/resource-sampler.ts <compose project> [seconds=60] [--idle]
import { readdirSync, readFileSync } from 'node:fs';
import { describeResources, startResourceSampler } from '../harness/probes/resources.ts';

const [project, secondsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const idle = process.argv.includes('--idle');
if (!project) {
  console.error('usage: npx tsx bench/resource-sampler.ts <compose project> [seconds] [--idle]; list projects: docker ps --format \'{{.Label "com.docker.compose.project"}}\' | sort -u');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 60);
const ticks = 100; // USER_HZ on Linux

// utime+stime (and with children, cutime+cstime) of a process, in seconds.
function cpuSeconds(pid: number | 'self', children = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').map(Number);
  // After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based).
  const [utime, stime, cutime, cstime] = [fields[11]!, fields[12]!, fields[13]!, fields[14]!];
  return (utime + stime + (children ? cutime + cstime : 0)) / ticks;
}

function pidsOf(name: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name; } catch { return false; }
  });
}

const daemons = ['dockerd', 'containerd'].flatMap((name) => pidsOf(name).map((pid) => ({ name, pid })));
const before = { self: cpuSeconds('self', true), daemons: daemons.map((d) => cpuSeconds(d.pid)) };
const started = Date.now();
const sampler = idle ? undefined : startResourceSampler({ name: project, major: 0 });
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const resources = await sampler?.stop();
const minutes = (Date.now() - started) / 60_000;
const self = cpuSeconds('self', true) - before.self;
console.log(`${idle ? 'idle (no sampling)' : `sampling ${project}`} for ${(minutes * 60).toFixed(0)} s; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
if (resources) console.log(describeResources(resources));
console.log(`this process and its docker CLI children: ${(self / minutes).toFixed(2)} CPU s per minute (${(self / minutes / 60 * 100).toFixed(1)} % of one core)`);
daemons.forEach((d, i) => {
  const used = cpuSeconds(d.pid) - before.daemons[i]!;
  console.log(`${d.name} (pid ${d.pid}, all its work, other engineers' included): ${(used / minutes).toFixed(2)} CPU s per minute`);
});
