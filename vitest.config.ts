import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn the CLI and open DuckDB files; 2 workers fit the 2-core machines.
    maxWorkers: 2,
  },
});
