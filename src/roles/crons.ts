// The production half of the crons port (domain/clock.ts): the scheduler's crons on node-cron and
// the notifier's periods (digest tick, reconciler) on timers, all on the wall clock.

import { schedule } from 'node-cron';
import type { Logger } from 'pino';
import type { Crons } from '../domain/clock.js';

/** One run of a job at a time; a tick that finds it running, or an error it lets escape, is logged. */
function guarded(logger: Logger, name: string, job: () => Promise<unknown>): () => Promise<void> {
  let running = false;
  return async () => {
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
  };
}

/** node-cron (and timers for periods) on the wall clock; an overlapping tick or an escaped error is logged, never thrown. */
export function wallCrons(logger: Logger): Crons {
  return {
    add(name, expression, timeZone, job) {
      const task = schedule(expression, guarded(logger, name, job), { timezone: timeZone, name });
      return { stop: () => void task.stop() };
    },
    every(name, ms, job) {
      const run = guarded(logger, name, job);
      const timer = setInterval(() => void run(), ms);
      // A period never keeps the process alive on its own.
      timer.unref();
      return { stop: () => clearInterval(timer) };
    },
  };
}
