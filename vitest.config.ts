import { defineConfig } from 'vitest/config';
import { RequiresReporter } from './test/helpers/requires-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test owns real sockets and processes; a hung await must fail, not stall CI.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add contention to timing-sensitive network tests.
    maxWorkers: 2,
    pool: 'forks',
    // Suites skipped by requires() (a system program is missing) are named in one line at the end.
    reporters: ['default', new RequiresReporter()],
  },
});
