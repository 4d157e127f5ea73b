// Two projects: `unit` (no Docker) and `labs` (one spec per lab, against real clusters).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          testTimeout: 20_000,
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
