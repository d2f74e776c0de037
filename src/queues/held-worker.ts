// A BullMQ consumer that holds many jobs at once (the backfill's group commit) without losing their
// locks. BullMQ's worker fetches jobs one after the other until it holds `concurrency` of them, and
// only then hands the first to its processor; a job's lock is renewed only once it is handed over.
// With hundreds held and a busy event loop (a deep round, the drainer), fetching them took longer
// than the lock: the first jobs were found stalled, queued again and applied a second time
// (their chunk markers made that a no-op, but the work was done twice). Here each job is handed
// over as soon as it is fetched, so its lock is renewed from then on, and the waiting for company
// is done by the rounds (apply-rounds.ts "gather"), which see what they hold.

import { Worker, type Job, type WorkerOptions } from 'bullmq';

/** Jobs fetched ahead of the processor at most (fetched, not yet handed over, so not yet renewed). */
export const FETCH_AHEAD = 2;

/** Fetchers of a deep hold: each fetches in sequence, so several fetch while the event loop is busy. */
export const HOLD_FETCHERS = 4;

/**
 * Consumers of `queue` holding up to `hold` jobs between them, each job handed to `process` as soon
 * as it is fetched: `fetchers` BullMQ workers (HOLD_FETCHERS; fewer for a small hold), each fetching
 * at most FETCH_AHEAD jobs beyond those it has handed over (its concurrency follows what it holds).
 */
export function heldWorkers<T, R>(queue: string, process: (job: Job<T>) => Promise<R>, hold: number, opts: Omit<WorkerOptions, 'concurrency'>, most = HOLD_FETCHERS): Worker<T, R>[] {
  const fetchers = Math.max(1, Math.min(most, hold));
  return Array.from({ length: fetchers }, (_, i) => {
    // Split the hold between the fetchers: their shares add up to it.
    const cap = Math.floor(hold / fetchers) + (i < hold % fetchers ? 1 : 0);
    let inHand = 0;
    const follow = () => {
      worker.concurrency = Math.max(1, Math.min(cap, inHand + FETCH_AHEAD));
    };
    const worker: Worker<T, R> = new Worker<T, R>(
      queue,
      async (job) => {
        inHand++;
        follow();
        try {
          return await process(job);
        } finally {
          inHand--;
          follow();
        }
      },
      { ...opts, concurrency: Math.min(cap, FETCH_AHEAD) },
    );
    return worker;
  });
}
