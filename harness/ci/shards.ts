// The shard plan of CI: which labs on which PostgreSQL major each parallel job verifies.
// The workflow reads it as JSON (`workshop ci plan`), so the matrix comes from environments/majors.yaml
// and the labs' front matter rather than being written out in the YAML.

export interface PlannedLab {
  id: string;
  // The majors its front matter lists.
  majors: number[];
  // Relative cost, for instance the milliseconds its last run took; 1 when unknown.
  weight?: number;
}

export interface Shard {
  // Unique and stable for the same input, used in job and artifact names: `pg18-3`.
  name: string;
  pg: number;
  labs: string[];
  // Sum of the labs' weights.
  weight: number;
}

export interface ShardPlan {
  // One entry per major some lab applies to: the image jobs.
  majors: number[];
  shards: Shard[];
}

// GitHub-hosted runners run at most 20 jobs of a free account at once, and the verify workflow's unit
// job may still run beside the shards: 19 shards never queue, so the wall time stays the slowest shard's.
export const DEFAULT_MAX_JOBS = 19;

// Splits labs × majors into at most `maxJobs` shards of one major each, so a shard needs one image.
// With enough jobs every lab of every major gets its own; otherwise each major gets jobs in proportion
// to its total weight and labs are packed heaviest-first into the lightest shard (LPT scheduling).
export function planShards(labs: PlannedLab[], majors: number[], maxJobs = DEFAULT_MAX_JOBS): ShardPlan {
  if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new RangeError(`Expected \`maxJobs\` to be a positive integer, got \`${maxJobs}\``);
  const perMajor = [...new Set(majors)].sort((a, b) => a - b)
    .map((pg) => ({ pg, labs: labs.filter((lab) => lab.majors.includes(pg)).map((lab) => ({ id: lab.id, weight: weightOf(lab) })) }))
    .filter((entry) => entry.labs.length > 0);
  if (perMajor.length > maxJobs) {
    throw new RangeError(`${perMajor.length} majors need at least ${perMajor.length} jobs (one image each), but at most ${maxJobs} may run at once: raise --max-jobs`);
  }
  const jobs = allocateJobs(perMajor.map((entry) => ({
    labs: entry.labs.length, weight: sum(entry.labs.map((lab) => lab.weight)), heaviest: Math.max(...entry.labs.map((lab) => lab.weight)),
  })), maxJobs);
  const shards = perMajor.flatMap((entry, index) => pack(entry.labs, jobs[index]!).map((bin, n) => ({
    name: `pg${entry.pg}-${n + 1}`,
    pg: entry.pg,
    labs: bin.labs.map((lab) => lab.id).sort(),
    weight: bin.weight,
  })));
  return { majors: perMajor.map((entry) => entry.pg), shards };
}

function weightOf(lab: PlannedLab): number {
  const weight = lab.weight ?? 1;
  if (!(weight > 0)) throw new RangeError(`Lab ${lab.id}: expected a positive weight, got \`${lab.weight}\``);
  return weight;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

// Jobs per major: at least one each, never more than its labs, the rest handed out one at a time to
// the major with the largest weight per job, while that still exceeds its heaviest lab (no split
// can make a shard lighter than the heaviest lab in it).
function allocateJobs(groups: { labs: number; weight: number; heaviest: number }[], maxJobs: number): number[] {
  const jobs = groups.map(() => 1);
  let spare = maxJobs - groups.length;
  while (spare > 0) {
    let best = -1;
    for (const [index, group] of groups.entries()) {
      if (jobs[index]! >= group.labs || group.weight / jobs[index]! <= group.heaviest) continue;
      if (best < 0 || group.weight / jobs[index]! > groups[best]!.weight / jobs[best]!) best = index;
    }
    if (best < 0) break;
    jobs[best]! += 1;
    spare -= 1;
  }
  return jobs;
}

// Longest-processing-time-first: heaviest lab into the currently lightest bin; ties keep id order.
function pack(labs: { id: string; weight: number }[], bins: number): { labs: { id: string; weight: number }[]; weight: number }[] {
  const result = Array.from({ length: bins }, () => ({ labs: [] as { id: string; weight: number }[], weight: 0 }));
  const ordered = [...labs].sort((a, b) => b.weight - a.weight || a.id.localeCompare(b.id));
  for (const lab of ordered) {
    const lightest = result.reduce((min, bin) => (bin.weight < min.weight ? bin : min), result[0]!);
    lightest.labs.push(lab);
    lightest.weight += lab.weight;
  }
  return result.filter((bin) => bin.labs.length > 0);
}
