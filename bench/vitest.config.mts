import { defineConfig } from 'vitest/config';

// The root config's `unit` project does not include bench/; `pnpm --filter @mqtrail/bench test`
// runs the statistics helpers' tests here. No benchmark timing is asserted anywhere.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
