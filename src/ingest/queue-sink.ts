// The one path every door ends in: samples become batched jobs on the `samples` queue.
// One job per sample tops out near 13k/s; a job per batch keeps Redis busy with data, not
// bookkeeping.

import type { FlowProducer, JobsOptions, Queue } from 'bullmq';
import type { Clock } from '../domain/clock.js';
import type { Sample } from '../domain/sample.js';
import type { SampleBatchJob } from '../queues/names.js';
import { withTimeout } from '../redis/connect.js';
import type { SampleSink } from '../state/ports.js';

export const SAMPLE_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 2000 },
  removeOnFail: { age: 14 * 86400 },
};

export interface QueueSinkOptions {
  /** Several jobs of one call go in one MULTI through this producer (Queue.addBulk is a plain pipeline). */
  readonly flows?: FlowProducer;
  /** False while the queue's connection is not ready: the call fails at once instead of waiting. */
  readonly ready?: () => boolean;
  /** Bound on one enqueue; past it the call fails (the caller answers 503). */
  readonly timeoutMs?: number;
}

export class QueueSampleSink implements SampleSink {
  constructor(
    private readonly queue: Queue,
    private readonly batchSize: number,
    private readonly clock: Clock,
    private readonly opts: QueueSinkOptions = {},
  ) {}

  async enqueue(samples: readonly Sample[], source: string): Promise<{ jobs: number }> {
    if (!samples.length) return { jobs: 0 };
    if (this.opts.ready && !this.opts.ready()) throw new Error('Redis is not connected');
    const receivedAt = this.clock.now();
    const jobs = [];
    for (let i = 0; i < samples.length; i += this.batchSize) {
      const data: SampleBatchJob = { v: 1, source, samples: samples.slice(i, i + this.batchSize), receivedAt };
      jobs.push({ name: 'batch', data, opts: SAMPLE_JOB_OPTIONS });
    }
    // A call is stored whole or not at all: one job is one script, several go in one MULTI.
    const work: Promise<unknown> =
      jobs.length > 1 && this.opts.flows
        ? this.opts.flows.addBulk(jobs.map((j) => ({ ...j, queueName: this.queue.name, prefix: this.queue.opts.prefix })))
        : this.queue.addBulk(jobs);
    await (this.opts.timeoutMs ? withTimeout(work, this.opts.timeoutMs, 'enqueue') : work);
    return { jobs: jobs.length };
  }
}
