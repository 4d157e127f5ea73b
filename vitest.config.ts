// Three projects: `unit` (no Docker), `components` (the harness's probes and the image's tools
// against real PostgreSQL, started with testcontainers) and `labs` (one spec per lab, against real clusters).
import { defineConfig } from 'vitest/config';

// Lab specs side by side, as `workshop verify --jobs` asks.
function labJobs(): number {
  const jobs = Number(process.env.WORKSHOP_JOBS ?? '1');
  return Number.isInteger(jobs) && jobs >= 1 ? jobs : 1;
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/components/**', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'components',
          include: ['test/components/**/*.test.ts'],
          globalSetup: ['test/components/global-setup.ts'],
          // Each file starts its own containers once (beforeAll); two files at a time on 2 cores.
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // testcontainers reads it when the first container starts (support/cluster.ts says why).
          env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
        },
      },
      {
        test: {
          name: 'labs',
          include: ['labs/*.spec.ts'],
          // One lab at a time, unless `workshop verify --jobs N` runs N side by side (WORKSHOP_JOBS):
          // each has its own compose project, and the labs that compare performance run alone.
          fileParallelism: labJobs() > 1,
          maxWorkers: labJobs(),
          testTimeout: 15 * 60_000,
          hookTimeout: 5 * 60_000,
        },
      },
    ],
  },
});
