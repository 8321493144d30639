import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no services and runs in seconds; `e2e` runs against the real
// brokers, Jaeger and Prometheus started by scripts/services (see e2e/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The suites share one broker and one Jaeger; running them one file at a time keeps
          // the two cores free for the services under test.
          fileParallelism: false,
        },
      },
    ],
  },
});
