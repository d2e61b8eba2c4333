import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The attack tests run on their own afterwards (vitest.resilience.config.ts): they hold the sidecar's
    // /healthz to 1 s while attacking it, which must not depend on what another test file does meanwhile.
    exclude: ['test/resilience/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests bind real ports; forks keep each file's servers in their own process.
    pool: 'forks',
    maxWorkers: 2,
  },
});
