import { defineConfig } from 'vitest/config';

// The attack tests of test/resilience/ (issue 9), one file at a time: each attacks a sidecar in a child process
// and requires /healthz within 1 s throughout, so the machine's two cores belong to the attacker and the
// sidecar alone, not to another test file running beside them.
export default defineConfig({
  test: {
    include: ['test/resilience/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
