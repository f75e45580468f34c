import { defineConfig } from 'vitest/config';

/** The live-AWS suite (`npm run test:aws`): runs only with BREAKGLASS_TEST_AWS=1 and AWS credentials. */
export default defineConfig({
  test: {
    include: ['test/aws/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['api/local/quiet-warnings.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
