// Options every Lookout worker that carries a promise to a person shares: a job whose worker
// died (SIGKILL, OOM, a lost Redis link) is stalled and must go back to the queue, not fail —
// BullMQ's default of one stall fails it outright and bypasses `attempts`.

import type { WorkerOptions } from 'bullmq';

/** Crashes in a row a job survives before BullMQ gives up on it (each one is retried). */
export const MAX_STALLED_COUNT = 50;

export interface ReliableWorkerTiming {
  /** How long a job's lock lasts without renewal (renewed at half this while the process lives). */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for. */
  readonly stalledIntervalMs?: number;
}

export function reliableWorkerOptions(t: ReliableWorkerTiming = {}): Pick<WorkerOptions, 'maxStalledCount' | 'stalledInterval' | 'lockDuration'> {
  return {
    maxStalledCount: MAX_STALLED_COUNT,
    lockDuration: t.lockDurationMs ?? 60_000,
    stalledInterval: t.stalledIntervalMs ?? 30_000,
  };
}

/** True when BullMQ has given up on the job (no attempt left, or stalled too often). */
export function finallyFailed(job: { attemptsMade: number; opts: { attempts?: number } }, err: Error): boolean {
  return /stalled more than allowable limit/.test(err.message) || job.attemptsMade >= (job.opts.attempts ?? 1);
}
