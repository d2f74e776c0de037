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
 * The jobs a worker process's backfill consumers hold between them (LOOKOUT_WORKER_HOLD), whichever
 * partitions they serve now. Split once between the partitions served when each was taken, a
 * process that served all 8 partitions alone at its start and then handed half of them to a second
 * process held a quarter of its hold in the partitions it kept (32 jobs each of 256), and its share
 * of a backfill came in two rounds, not one.
 */
export class HoldBudget {
  private held = 0;
  private readonly followers = new Set<() => void>();

  constructor(readonly limit: number) {}

  /** Jobs in hand now, of every consumer sharing the budget. */
  get inHand(): number {
    return this.held;
  }

  /**
   * How many jobs one fetcher may fetch beyond those it holds: its share of what is left (rounded
   * up, so the last jobs of the hold are fetched), at most FETCH_AHEAD.
   */
  ahead(): number {
    const free = this.limit - this.held;
    if (free <= 0) return 0;
    return Math.min(FETCH_AHEAD, Math.ceil(free / Math.max(1, this.followers.size)));
  }

  take(): void {
    this.held++;
    this.changed();
  }

  give(): void {
    this.held--;
    this.changed();
  }

  /** Call `f` now and whenever what is held, or who shares it, changes; returns how to stop. */
  follow(f: () => void): () => void {
    this.followers.add(f);
    this.changed();
    return () => {
      this.followers.delete(f);
      this.changed();
    };
  }

  private changed(): void {
    for (const f of this.followers) f();
  }
}

/**
 * Consumers of `queue` holding jobs out of `budget` (shared with the process's other backfill
 * consumers), each job handed to `process` as soon as it is fetched: `fetchers` BullMQ workers
 * (HOLD_FETCHERS; fewer for a small hold), each fetching at most FETCH_AHEAD jobs beyond those it
 * has handed over, and only its share of what the budget has left (its concurrency follows). A
 * fetch already under way when the last of the hold came still brings its job: at most FETCH_AHEAD
 * a fetcher beyond the hold is in hand (and one a fetcher always may be: BullMQ's least concurrency).
 */
export function heldWorkers<T, R>(queue: string, process: (job: Job<T>) => Promise<R>, budget: HoldBudget, opts: Omit<WorkerOptions, 'concurrency'>, most = HOLD_FETCHERS): Worker<T, R>[] {
  const fetchers = Math.max(1, Math.min(most, budget.limit));
  return Array.from({ length: fetchers }, () => {
    let inHand = 0;
    const follow = (): void => {
      worker.concurrency = Math.max(1, inHand + budget.ahead());
    };
    const worker: Worker<T, R> = new Worker<T, R>(
      queue,
      async (job) => {
        inHand++;
        budget.take();
        try {
          return await process(job);
        } finally {
          inHand--;
          budget.give();
        }
      },
      // Set by follow() at once, before the worker's loop first fetches.
      { ...opts, concurrency: 1 },
    );
    const unfollow = budget.follow(follow);
    worker.once('closed', unfollow);
    return worker;
  });
}
