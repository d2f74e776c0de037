import { Queue, type Job, type Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { FETCH_AHEAD, HoldBudget, heldWorkers } from '../../src/queues/held-worker.js';
import { reliableWorkerOptions } from '../../src/queues/worker-options.js';
import { redisPerTest } from '../support/redis.js';

/**
 * A busy event loop, as a worker's deep round or the drainer makes it: every turn blocks `ms`.
 * Each fetch of a job then takes at least a turn.
 */
function busy(ms: number): () => void {
  let on = true;
  const spin = () => {
    if (!on) return;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // the turn is taken
    }
    setTimeout(spin, 0);
  };
  setTimeout(spin, 0);
  return () => {
    on = false;
  };
}

describe('heldWorkers (a deep hold, as the backfill consumer keeps)', () => {
  const ctx = redisPerTest('held');
  const closing: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  it('hands each job over as soon as it is fetched, so a hold that takes longer to fetch than a lock lasts loses no lock and runs no job twice', async () => {
    const JOBS = 40;
    const queue = new Queue('held', { connection: ctx.redis, prefix: ctx.prefix });
    closing.push(() => queue.close());
    await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'b', data: { i } })));
    // Every job is held until all are in hand (a round that takes them together), then a while more.
    const calls = new Map<number, number>();
    let release!: () => void;
    const all = new Promise<void>((resolve) => (release = resolve));
    const process = async (job: Job<{ i: number }>) => {
      calls.set(job.data.i, (calls.get(job.data.i) ?? 0) + 1);
      if (calls.size === JOBS) release();
      await all;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return job.data.i;
    };
    // 40 fetches of at least a 60 ms turn each outlast the 1 s lock: fetched all before the first
    // was handed over, the first jobs' locks ran out and the stall check queued them again.
    const stop = busy(60);
    const workers: Worker[] = heldWorkers('held', process, new HoldBudget(64), {
      connection: ctx.redis,
      prefix: ctx.prefix,
      ...reliableWorkerOptions({ lockDurationMs: 1_000, stalledIntervalMs: 300 }),
    });
    closing.push(() => Promise.all(workers.map((w) => w.close())));
    // Cleared first (closing runs in reverse), so a failed test's held jobs end and its workers close.
    closing.push(async () => {
      stop();
      release();
    });
    let stalled = 0;
    let completed = 0;
    for (const w of workers) {
      w.on('stalled', () => stalled++);
      w.on('completed', () => completed++);
    }
    await all;
    while (completed < JOBS) await new Promise((resolve) => setTimeout(resolve, 50));
    stop();
    expect(stalled).toBe(0);
    expect([...calls.values()].every((c) => c === 1)).toBe(true);
    expect(calls.size).toBe(JOBS);
    expect(await queue.getCompletedCount()).toBe(JOBS);
  });

  it('shares the hold between its fetchers, none fetching more than FETCH_AHEAD beyond what it handed over, and at most each fetcher\'s look-ahead beyond the hold in hand', async () => {
    const queue = new Queue('split', { connection: ctx.redis, prefix: ctx.prefix });
    closing.push(() => queue.close());
    await queue.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'b', data: { i } })));
    let inHand = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const budget = new HoldBudget(10);
    const workers = heldWorkers(
      'split',
      async () => {
        most = Math.max(most, ++inHand);
        await gate;
        inHand--;
      },
      budget,
      { connection: ctx.redis, prefix: ctx.prefix },
    );
    closing.push(() => Promise.all(workers.map((w) => w.close())));
    closing.push(async () => release());
    expect(workers).toHaveLength(4);
    while (inHand < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The hold of 10 is in hand, and at most the look-ahead of each fetcher beyond it (fetched
    // while the last of the hold came); then no fetcher fetches any more: each one's concurrency is
    // what it holds.
    expect(most).toBeGreaterThanOrEqual(10);
    expect(most).toBeLessThanOrEqual(10 + 4 * FETCH_AHEAD);
    expect(budget.inHand).toBe(most);
    expect(workers.reduce((n, w) => n + w.concurrency, 0)).toBe(most);
    expect(await queue.getActiveCount()).toBe(most);
    for (const w of workers) expect(w.concurrency).toBeLessThanOrEqual(10);
    release();
    while ((await queue.getCompletedCount()) < 30) await new Promise((resolve) => setTimeout(resolve, 50));
    // Idle, each fetcher looks FETCH_AHEAD ahead (a hold smaller than the fetchers: one each).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(workers.map((w) => w.concurrency)).toEqual([FETCH_AHEAD, FETCH_AHEAD, FETCH_AHEAD, FETCH_AHEAD]);
    const small = heldWorkers('x', async () => undefined, new HoldBudget(1), { connection: ctx.redis, prefix: ctx.prefix, autorun: false });
    closing.push(() => Promise.all(small.map((w) => w.close())));
    expect(small.map((w) => w.concurrency)).toEqual([1]);
  });

  it('one hold for all the queues it serves: the partitions kept after others were handed over hold it whole, and a closed consumer gives back what it held', async () => {
    // A process that served four partitions and then handed two over: before, each partition's
    // consumers kept the quarter of the hold they were given, and the two kept held half of it.
    const budget = new HoldBudget(12);
    const names = ['p0', 'p1', 'p2', 'p3'];
    const queues = names.map((n) => new Queue(n, { connection: ctx.redis, prefix: ctx.prefix }));
    closing.push(() => Promise.all(queues.map((q) => q.close())));
    let inHand = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const process = async () => {
      inHand++;
      await gate;
      inHand--;
    };
    const groups = names.map((n) => heldWorkers(n, process, budget, { connection: ctx.redis, prefix: ctx.prefix }, 1));
    closing.push(() => Promise.all(groups.flat().map((w) => w.close())));
    closing.push(async () => release());
    // Two of them are handed over (closed).
    await Promise.all([...groups[2]!, ...groups[3]!].map((w) => w.close()));
    // The two kept partitions hold the whole hold between them: the 4 jobs of p1 and the rest of
    // p0's (and at most its look-ahead beyond).
    await queues[1]!.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'b', data: { i } })));
    while (inHand < 4) await new Promise((resolve) => setTimeout(resolve, 20));
    await queues[0]!.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'b', data: { i } })));
    const deadline = Date.now() + 10_000;
    while (inHand < 12 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(inHand).toBeGreaterThanOrEqual(12);
    expect(inHand).toBeLessThanOrEqual(12 + FETCH_AHEAD);
    expect(await queues[1]!.getActiveCount()).toBe(4);
    expect(await queues[0]!.getActiveCount()).toBe(inHand - 4);
    expect(budget.inHand).toBe(inHand);
    // What the consumers held goes back to the budget as they finish.
    release();
    while ((await queues[0]!.getCompletedCount()) + (await queues[1]!.getCompletedCount()) < 24) await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([...groups[0]!, ...groups[1]!].map((w) => w.close()));
    expect(budget.inHand).toBe(0);
  });
});
