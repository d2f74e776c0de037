// The one path every door ends in: samples become batched jobs on the `samples` queue.
// One job per sample tops out near 13k/s; a job per batch keeps Redis busy with data, not
// bookkeeping.

import type { JobsOptions, Queue } from 'bullmq';
import type { Clock } from '../domain/clock.js';
import type { Sample } from '../domain/sample.js';
import type { SampleBatchJob } from '../queues/names.js';
import type { SampleSink } from '../state/ports.js';

export const SAMPLE_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 2000 },
  removeOnFail: { age: 14 * 86400 },
};

export class QueueSampleSink implements SampleSink {
  constructor(
    private readonly queue: Queue,
    private readonly batchSize: number,
    private readonly clock: Clock,
  ) {}

  async enqueue(samples: readonly Sample[], source: string): Promise<{ jobs: number }> {
    if (!samples.length) return { jobs: 0 };
    const receivedAt = this.clock.now();
    const jobs = [];
    for (let i = 0; i < samples.length; i += this.batchSize) {
      const data: SampleBatchJob = { v: 1, source, samples: samples.slice(i, i + this.batchSize), receivedAt };
      jobs.push({ name: 'batch', data, opts: SAMPLE_JOB_OPTIONS });
    }
    await this.queue.addBulk(jobs);
    return { jobs: jobs.length };
  }
}
