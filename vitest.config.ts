import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests bind real ports; forks keep each file's servers in their own process.
    pool: 'forks',
    maxWorkers: 2,
  },
});
