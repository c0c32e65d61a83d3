// The chaos suite (npm run test:chaos): test/chaos/*.chaos.ts, one file at a time, long timeouts.
// Not matched by vitest.config.ts (test/**/*.test.ts), so `npm test` never runs it.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { stackEnv } from './stack.js';

export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['test/chaos/**/*.chaos.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 300_000,
    // The test support helpers read these: point them at the chaos stack, never the shared servers.
    env: { ...stackEnv() },
  },
});
