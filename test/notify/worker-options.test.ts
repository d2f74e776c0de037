// A job whose worker process dies (SIGKILL) again and again is retried, not failed: BullMQ's
// default of one stall fails it outright, bypassing `attempts`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { finallyFailed, reliableWorkerOptions } from '../../src/queues/worker-options.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';

const HOLD = fileURLToPath(new URL('./fixtures/hold-job.mjs', import.meta.url));
const TIMING = { lockDurationMs: 400, stalledIntervalMs: 250 };

/** Start a worker process, wait until it holds the job, and kill it. */
function crashHolding(prefix: string, queue: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOLD, testRedisUrl(), prefix, queue, JSON.stringify(reliableWorkerOptions(TIMING))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the worker process never took the job'));
    }, 10_000);
    child.stdout.on('data', (d: Buffer) => {
      if (!d.toString().includes('taken')) return;
      clearTimeout(timer);
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  });
}

describe('reliable worker options', () => {
  const prefix = freshPrefix('wo');
  const redis = connect();
  const conns = [redis];
  const conn = () => {
    const c = connect();
    conns.push(c);
    return c;
  };
  afterEach(async () => {
    await dropPrefix(redis, prefix);
  });
  afterAll(() => {
    for (const c of conns) c.disconnect();
  });

  it('a job held by a worker killed twice is retried and completes', async () => {
    const queue = new Queue('q', { connection: conn(), prefix });
    await queue.add('j', { n: 1 }, { jobId: 'j1', attempts: 1 });
    await crashHolding(prefix, 'q');
    await crashHolding(prefix, 'q'); // the second process first moved the stalled job back, then took it
    const failed: string[] = [];
    const done = new Promise<string>((resolve) => {
      const w = new Worker('q', async () => 'ok', { connection: conn(), prefix, ...reliableWorkerOptions(TIMING) });
      w.on('failed', (_job, err) => failed.push(err.message));
      w.on('completed', (job) => void w.close().then(() => resolve(job.id!)));
    });
    const winner = await Promise.race([done, new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(failed).toEqual([]);
    expect(winner).toBe('j1');
    const job = await queue.getJob('j1');
    expect(job?.stalledCounter).toBeGreaterThanOrEqual(2);
    await queue.close();
  }, 30_000);

  it('knows when BullMQ has given up on a job', () => {
    expect(finallyFailed({ attemptsMade: 1, opts: { attempts: 3 } }, new Error('boom'))).toBe(false);
    expect(finallyFailed({ attemptsMade: 3, opts: { attempts: 3 } }, new Error('boom'))).toBe(true);
    expect(finallyFailed({ attemptsMade: 0, opts: { attempts: 3 } }, new Error('job stalled more than allowable limit'))).toBe(true);
  });
});
