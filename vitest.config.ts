import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two files at a time: the tests mostly wait (Redis, SMPP/SMTP peers, spawned daemons, timers),
    // and vitest's default (cores − 1) runs one file at a time on a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
