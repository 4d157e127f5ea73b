import { describe, expect, test } from 'vitest';
import { planShards, type PlannedLab } from '../../harness/ci/shards.ts';

const lab = (id: string, weight?: number, majors = [15, 17, 18]): PlannedLab => ({ id, majors, weight });
const pairs = (plan: ReturnType<typeof planShards>) => plan.shards.flatMap((shard) => shard.labs.map((id) => `${id}@${shard.pg}`)).sort();

describe('the shard plan', () => {
  test('with enough jobs, every lab of every major is a shard of its own', () => {
    const plan = planShards([lab('01-a'), lab('02-b')], [15, 18], 20);
    expect(plan).toEqual({
      majors: [15, 18],
      shards: [
        { name: 'pg15-1', pg: 15, labs: ['01-a'], weight: 1 },
        { name: 'pg15-2', pg: 15, labs: ['02-b'], weight: 1 },
        { name: 'pg18-1', pg: 18, labs: ['01-a'], weight: 1 },
        { name: 'pg18-2', pg: 18, labs: ['02-b'], weight: 1 },
      ],
    });
  });

  test('covers each applicable lab and major exactly once, and no lab on a major its front matter leaves out', () => {
    const labs = [lab('01-a', 3), lab('02-b', 5, [17, 18]), lab('03-c', 2), lab('04-d', 8, [15])];
    for (const maxJobs of [3, 4, 5, 7, 100]) {
      const plan = planShards(labs, [15, 17, 18], maxJobs);
      expect(pairs(plan), `maxJobs ${maxJobs}`).toEqual(['01-a@15', '01-a@17', '01-a@18', '02-b@17', '02-b@18', '03-c@15', '03-c@17', '03-c@18', '04-d@15']);
      expect(plan.shards.length).toBeLessThanOrEqual(maxJobs);
      expect(new Set(plan.shards.map((s) => s.name)).size).toBe(plan.shards.length);
    }
  });

  test('with fewer jobs than labs × majors, packs the heaviest labs first, each into the lightest shard (LPT)', () => {
    const labs = [lab('a', 60, [15]), lab('b', 30, [15]), lab('c', 30, [15]), lab('d', 20, [15]), lab('e', 20, [15]), lab('f', 20, [15])];
    const plan = planShards(labs, [15], 3);
    // a → 1; b → 2; c → 3; d → 2 (50); e → 3 (50); f → 2 (70). LPT stays within 4/3 of the best split (60).
    expect(plan.shards.map((s) => [s.labs, s.weight])).toEqual([[['a'], 60], [['b', 'd', 'f'], 70], [['c', 'e'], 50]]);
  });

  test('gives spare jobs to the major with the most work per job, and none where its heaviest lab bounds the shard anyway', () => {
    const labs = [lab('long', 100, [15]), lab('s1', 5, [15]), lab('s2', 5, [15]), lab('x', 40, [18]), lab('y', 40, [18]), lab('z', 40, [18])];
    const plan = planShards(labs, [15, 18], 6);
    // 18 gets a job of its own per lab (40 each); 15 in two jobs is already bounded by its 100-weight lab,
    // so the sixth job is left unused rather than spent on a third 15 shard that would change nothing.
    const jobs = (pg: number) => plan.shards.filter((s) => s.pg === pg).map((s) => s.weight);
    expect(jobs(15)).toEqual([100, 10]);
    expect(jobs(18)).toEqual([40, 40, 40]);
  });

  test('a major no lab applies to gets neither an image nor a shard', () => {
    const plan = planShards([lab('01-a', 1, [18])], [15, 17, 18]);
    expect(plan.majors).toEqual([18]);
    expect(plan.shards.map((s) => s.pg)).toEqual([18]);
  });

  test('bad limits and weights are said with the value seen', () => {
    expect(() => planShards([lab('a')], [15], 0)).toThrow('Expected `maxJobs` to be a positive integer, got `0`');
    expect(() => planShards([lab('a')], [15, 17, 18], 2)).toThrow('3 majors need at least 3 jobs (one image each), but at most 2 may run at once: raise --max-jobs');
    expect(() => planShards([lab('a', -1)], [15])).toThrow('Lab a: expected a positive weight, got `-1`');
  });
});
