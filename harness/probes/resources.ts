// Resources of a lab's environment: its compose project's containers sampled with `docker stats` while the lab runs.
import { execa } from 'execa';
import type { ComposeProject } from '../environment/compose.ts';
import type { LabReport, LabResources } from '../report/model.ts';
import type { Mark, Section } from '../agenda/agenda.ts';
import { startSampler } from './sampler.ts';

// The pause after each sample. `docker stats --no-stream` itself takes about 2 s (it reads each
// container's counters twice, a second apart, for the CPU figure), so a sample comes every ~5 s:
// often enough to see a load of a few seconds, cheap enough beside labs on a 2-core machine.
export const RESOURCE_PAUSE_MS = 3_000;
// A docker call slower than this (a busy engine) is a gap in the series, not a wait of the lab.
const DOCKER_CALL_TIMEOUT_MS = 15_000;
const PROJECT_LABEL = 'com.docker.compose.project';

// One container's figures in one `docker stats` line; undefined when it has none (stopped: `--`).
export interface ContainerStats {
  name: string;
  memoryBytes?: number;
  cpuPercent?: number;
}

// One sample of the project: the sums over its containers that reported figures.
export interface ResourceSample {
  at: number;
  containers: number;
  memoryBytes: number;
  cpuPercent: number;
}

export class DockerStatsError extends Error {
  override name = 'DockerStatsError';
}

// Binary units are what `docker stats` prints for memory (go-units BytesSize); decimal ones (its
// network and block I/O columns, some Docker Desktop builds) are read too rather than misread.
const UNITS: Record<string, number> = {
  b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
};

// `512MiB`, `1.5GiB`, `0B` → bytes; undefined for `--` (a container that is not running).
export function parseBytes(text: string, where = 'docker stats'): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '--' || trimmed === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(trimmed);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new DockerStatsError(`${where}: expected a size such as \`512MiB\` or \`1.5GiB\` (units ${Object.keys(UNITS).join(', ')}, case-insensitive), got \`${text}\``);
  }
  return Number(match[1]) * unit;
}

// `183.52%` → 183.52 (100 = one core); undefined for `--`.
export function parsePercent(text: string, where = 'docker stats'): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '--' || trimmed === '') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(trimmed);
  if (!match) throw new DockerStatsError(`${where}: expected a percentage such as \`12.5%\`, got \`${text}\``);
  return Number(match[1]);
}

// One line of `docker stats --no-stream --format '{{json .}}'`. MemUsage is `<used> / <limit>` (Linux)
// or the private working set alone (Windows containers); the used part is what counts.
export function parseStatsLine(line: string): ContainerStats {
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(line) as Record<string, unknown>;
  } catch (error) {
    throw new DockerStatsError(`docker stats: expected one JSON object per line (--format '{{json .}}'), got \`${line.slice(0, 200)}\`: ${(error as Error).message}`);
  }
  const field = (name: string): string => {
    const value = row[name];
    if (typeof value !== 'string') throw new DockerStatsError(`docker stats: line without a string \`${name}\` field (Docker too old or another format?): \`${line.slice(0, 200)}\``);
    return value;
  };
  const name = typeof row.Name === 'string' ? row.Name : field('ID');
  const memoryBytes = parseBytes(field('MemUsage').split('/')[0]!, `docker stats, container ${name}, MemUsage`);
  const cpuPercent = parsePercent(field('CPUPerc'), `docker stats, container ${name}, CPUPerc`);
  return { name, ...(memoryBytes !== undefined && { memoryBytes }), ...(cpuPercent !== undefined && { cpuPercent }) };
}

// The sums over one `docker stats` output; a container without figures (stopped) adds nothing.
export function sumStats(output: string, at: number): ResourceSample {
  const rows = output.split('\n').map((line) => line.trim()).filter(Boolean).map(parseStatsLine);
  return {
    at,
    containers: rows.length,
    memoryBytes: Math.round(rows.reduce((sum, row) => sum + (row.memoryBytes ?? 0), 0)),
    cpuPercent: rows.reduce((sum, row) => sum + (row.cpuPercent ?? 0), 0),
  };
}

// The report's figures from the samples: peaks of the sums and the series they come from. Samples
// of no container (before the page's `up`, after its clean-up) are not counted.
export function summarizeResources(samples: ResourceSample[], errors: number, pauseMs: number, lastError?: string): LabResources {
  const seen = samples.filter((s) => s.containers > 0);
  const peak = (key: 'memoryBytes' | 'cpuPercent') => seen.reduce<ResourceSample | undefined>((best, s) => (!best || s[key] > best[key] ? s : best), undefined);
  const memory = peak('memoryBytes');
  const cpu = peak('cpuPercent');
  return {
    pauseMs,
    samples: seen.length,
    errors,
    ...(lastError !== undefined && { lastError }),
    peakMemoryBytes: memory?.memoryBytes ?? 0,
    ...(memory && { peakMemoryAt: new Date(memory.at).toISOString() }),
    peakCpuPercent: round(cpu?.cpuPercent ?? 0, 2),
    ...(cpu && { peakCpuAt: new Date(cpu.at).toISOString() }),
    containers: Math.max(0, ...seen.map((s) => s.containers)),
    points: seen.map((s) => [s.at, s.memoryBytes, round(s.cpuPercent, 2)]),
  };
}

// The live line at the end of a lab: `resources: peak 1.2 GiB memory, peak 180 % CPU (1.8 cores), 24 samples`.
export function describeResources(r: LabResources): string {
  if (r.samples === 0) return `resources: no sample of the environment's containers${r.errors > 0 ? ` (${r.errors} failed: ${r.lastError ?? 'no message'})` : ''}`;
  const period = r.points.length > 1 ? `, one every ${((r.points.at(-1)![0] - r.points[0]![0]) / (r.points.length - 1) / 1000).toFixed(1)} s` : '';
  return `resources: peak ${formatBytes(r.peakMemoryBytes)} memory, peak ${Math.round(r.peakCpuPercent)} % CPU (${(r.peakCpuPercent / 100).toFixed(1)} cores), ` +
    `${r.samples} samples${period} of up to ${r.containers} containers${r.errors > 0 ? `, ${r.errors} failed (last: ${r.lastError ?? 'no message'})` : ''}`;
}

// Bytes as docker prints them, in binary units.
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  return `${Math.round(bytes / 2 ** 10)} KiB`;
}

// One sample of a compose project: its running containers (by compose's project label, as
// `docker compose ps` finds them) read by one `docker stats --no-stream`.
export async function sampleProject(project: string, signal?: AbortSignal): Promise<ResourceSample> {
  const options = { timeout: DOCKER_CALL_TIMEOUT_MS, ...(signal && { cancelSignal: signal }) };
  const ps = await execa('docker', ['ps', '--quiet', '--filter', `label=${PROJECT_LABEL}=${project}`], options);
  const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return { at: Date.now(), containers: 0, memoryBytes: 0, cpuPercent: 0 };
  const stats = await execa('docker', ['stats', '--no-stream', '--format', '{{json .}}', ...ids], options);
  return sumStats(stats.stdout, Date.now());
}

export interface ResourceSampler {
  // Ends the sampling (the read in flight is aborted, its docker process ended) and sums it up.
  stop(): Promise<LabResources>;
}

// Samples the project's containers every RESOURCE_PAUSE_MS until stopped. A failed sample (a
// container gone between `ps` and `stats`, a busy engine) is a gap counted in `errors`, never a
// failure of the lab.
export function startResourceSampler(project: ComposeProject, pauseMs = RESOURCE_PAUSE_MS, read = sampleProject): ResourceSampler {
  let lastError: string | undefined;
  const sampler = startSampler(async (signal) => {
    try {
      return await read(project.name, signal);
    } catch (error) {
      if (!signal.aborted) lastError = describeFailure(error);
      throw error;
    }
  }, pauseMs);
  let stopped: Promise<LabResources> | undefined;
  return {
    stop: () => (stopped ??= sampler.stop().then((samples) => summarizeResources(samples, sampler.errors, pauseMs, lastError))),
  };
}

// `Command failed with exit code 1: docker stats …: Error response from daemon: No such container: …`
function describeFailure(error: unknown): string {
  const { shortMessage, message, stderr } = error as { shortMessage?: string; message?: string; stderr?: unknown };
  const said = typeof stderr === 'string' ? stderr.split('\n').find((line) => line.trim() !== '') : undefined;
  return `${shortMessage ?? message ?? String(error)}${said ? `: ${said}` : ''}`.slice(0, 400);
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

// One section of a lab page with the peaks sampled while it ran.
export interface SectionResources {
  title: string;
  slug: string;
  mark: Mark;
  samples: number;
  peakMemoryBytes: number;
  peakCpuPercent: number;
}

// The lab's samples split by the page's sections (agenda/pageSections): a section runs from its
// first step's start to the next section's first step (the spec's own waits after its steps
// included), so every sample after the first step belongs to one section. With the core path's
// marks, this says what the core path needs apart from its deep dives.
export function resourcesBySection(lab: Pick<LabReport, 'steps' | 'resources'>, sections: Section[]): SectionResources[] {
  const points = lab.resources?.points ?? [];
  const starts = new Map<string, number>();
  for (const step of lab.steps) if (!starts.has(step.id)) starts.set(step.id, Date.parse(step.startedAt));
  const windows = sections
    .map((section) => ({ section, from: Math.min(...section.steps.map((id) => starts.get(id) ?? Infinity)) }))
    .filter((w) => Number.isFinite(w.from))
    .sort((a, b) => a.from - b.from);
  return windows.map(({ section, from }, i) => {
    const until = windows[i + 1]?.from ?? Infinity;
    const inside = points.filter(([at]) => at >= from && at < until);
    return {
      title: section.title, slug: section.slug, mark: section.mark, samples: inside.length,
      peakMemoryBytes: Math.max(0, ...inside.map((p) => p[1])),
      peakCpuPercent: Math.max(0, ...inside.map((p) => p[2])),
    };
  });
}
