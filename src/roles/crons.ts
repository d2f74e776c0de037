// The production half of the crons port (domain/clock.ts): the scheduler's crons on node-cron
// and the wall clock.

import { schedule } from 'node-cron';
import type { Logger } from 'pino';
import type { Crons } from '../domain/clock.js';

/** node-cron on the wall clock; an overlapping tick or an escaped error is logged, never thrown. */
export function wallCrons(logger: Logger): Crons {
  return {
    add(name, expression, timeZone, job) {
      let running = false;
      const task = schedule(
        expression,
        async () => {
          if (running) {
            logger.warn({ cron: name }, 'cron still running: this tick skipped');
            return;
          }
          running = true;
          try {
            await job();
          } catch (err) {
            logger.error({ cron: name, err: (err as Error).message }, 'cron failed');
          } finally {
            running = false;
          }
        },
        { timezone: timeZone, name },
      );
      return { stop: () => void task.stop() };
    },
  };
}
