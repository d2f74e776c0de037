// BullMQ options of every job Lookout adds for a person (escalation steps, group flushes, messages
// to send): a deterministic id (adding it twice is a no-op), exponential backoff, and kept for a
// while after it ends so a retried producer still finds it.

import type { JobsOptions } from 'bullmq';

const DAY_S = 86_400;

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}

export interface JobTiming {
  /** Run no earlier than this many ms from now. */
  readonly delayMs?: number;
  /** Days a completed job is kept (default 7). */
  readonly keepCompletedDays?: number;
}

export function jobOptions(jobId: string, retry: RetryPolicy, t: JobTiming = {}): JobsOptions & { jobId: string } {
  return {
    jobId,
    ...(t.delayMs !== undefined && { delay: t.delayMs }),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: (t.keepCompletedDays ?? 7) * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  };
}
