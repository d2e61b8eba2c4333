import { defineConfig } from 'vitest/config';

/** Files that measure the process they run in (RSS) or drive a real-time demo: each gets a fresh process. */
const OWN_PROCESS = ['test/attribution/memory-bound.test.ts', 'test/demo/**/*.test.ts'];
/** The attack tests run on their own afterwards (vitest.resilience.config.ts). */
const RESILIENCE = 'test/resilience/**';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests bind real ports; forks keep each file's servers in their own process.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: [...OWN_PROCESS, RESILIENCE, '**/node_modules/**'],
          // One module cache per worker instead of per file: importing the sidecar's modules again for each
          // of ~100 files cost about a third of the suite's time. Tests keep no module state between files.
          isolate: false,
        },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS } },
    ],
  },
});
