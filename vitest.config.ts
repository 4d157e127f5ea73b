// Three projects: `unit` (no Docker), `components` (the harness's probes and the image's tools
// against real PostgreSQL, started with testcontainers) and `labs` (one spec per lab, against real clusters).
import { defineConfig } from 'vitest/config';

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
          // Labs share one Docker engine and 2 cores: one lab at a time.
          fileParallelism: false,
          testTimeout: 15 * 60_000,
          hookTimeout: 5 * 60_000,
        },
      },
    ],
  },
});
