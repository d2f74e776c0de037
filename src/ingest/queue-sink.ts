// The one path every door ends in: samples become batched jobs on the `samples` queue (live ones)
// or a backfill queue (those with no live sample): their entities' partition of `samples-backfill`.
// One job per sample tops out near 13k/s; a job per batch keeps Redis busy with data, not
// bookkeeping.

import type { FlowProducer, JobsOptions, Queue } from 'bullmq';
import type { Clock } from '../domain/clock.js';
import type { Sample } from '../domain/sample.js';
import type { SampleBatchJob } from '../queues/names.js';
import { withTimeout } from '../redis/connect.js';
import { toColumns } from '../queues/sample-payload.js';
import type { SampleSink } from '../state/ports.js';

/** Completed jobs each sample queue keeps (at most an hour): each holds its samples, ~44 KB of Redis memory for 2,000 daily ones as v: 2, ~240 KB as v: 1. */
export const COMPLETED_SAMPLE_JOBS_KEPT = 100;

export const SAMPLE_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  // Kept for a look at what was applied (a job's returnvalue: accepted, chunks, entities), not for
  // the work: a retry needs only a job not yet completed. With 2,000 kept per queue, a province's
  // re-import (every backfill partition busy for an hour) held 10 queues × 2,000 jobs × ~240 KB,
  // ~4.8 GB of Redis's memory, more than twice the maxmemory docs/scaling.md sizes it with.
  removeOnComplete: { age: 3600, count: COMPLETED_SAMPLE_JOBS_KEPT },
  removeOnFail: { age: 14 * 86400 },
};

export interface QueueSinkOptions {
  /** Several jobs of one call go in one MULTI through this producer (Queue.addBulk is a plain pipeline). */
  readonly flows?: FlowProducer;
  /** False while the queue's connection is not ready: the call fails at once instead of waiting. */
  readonly ready?: () => boolean;
  /** Bound on one enqueue; past it the call fails (the caller answers 503). */
  readonly timeoutMs?: number;
  /**
   * Put each entity's samples of a call together (in their order) before the call is cut into
   * jobs, so a job applies several samples per series at once. Only for the compact layout, whose
   * ids belong to one entity: in the buckets layout an id re-sent under another entity moves, and
   * there the order across entities must stay as sent.
   */
  readonly groupByEntity?: boolean;
  /**
   * Where backfill jobs go (`samples-backfill`): a job none of whose samples is live (older than
   * `liveFrom`, yesterday 00:00 in LOOKOUT_TZ) is queued there, so a live sample sent during a
   * backfill is never queued behind it. Without it every job goes to `queue`. With `queueOf` (the
   * backfill's partition queues, queues/backfill-partitions.ts) and `groupByEntity`, a call's
   * backfill samples are split by the queue of their entity first, each queue's cut into jobs.
   */
  readonly backfill?: { readonly queue: Queue; readonly queueOf?: (entity: string) => Queue; readonly liveFrom: () => number };
  /**
   * Whether every worker reads batches in columns (queues/payload-readers.ts): then jobs are queued
   * as v: 2 (queues/sample-payload.ts), a fifth of v: 1's Redis memory for a daily export; without
   * it, or while a worker of an earlier release consumes, as v: 1.
   */
  readonly columns?: { columnar(): Promise<boolean> };
}

/** The samples with each entity's together, in the order each entity first appears; an entity's own order kept. */
export function groupedByEntity(samples: readonly Sample[]): Sample[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const g = groups.get(s.entity);
    if (g) g.push(s);
    else groups.set(s.entity, [s]);
  }
  if (groups.size === samples.length) return samples as Sample[];
  const out: Sample[] = [];
  for (const g of groups.values()) for (const s of g) out.push(s);
  return out;
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
    const columnar = (await this.opts.columns?.columnar()) === true;
    if (this.opts.groupByEntity && samples.length > this.batchSize) samples = groupedByEntity(samples);
    const backfill = this.opts.backfill;
    const liveFrom = backfill?.liveFrom() ?? -Infinity;
    const jobs: { queue: Queue; job: { name: string; data: SampleBatchJob; opts: JobsOptions } }[] = [];
    const push = (queue: Queue, part: Sample[]): void => {
      const data: SampleBatchJob = columnar ? { v: 2, source, receivedAt, ...toColumns(part) } : { v: 1, source, samples: part, receivedAt };
      jobs.push({ queue, job: { name: 'batch', data, opts: SAMPLE_JOB_OPTIONS } });
    };
    // Partitioned only where each entity's samples are together (the compact layout): in the
    // buckets layout an id re-sent under another entity moves, so a job keeps the order as sent.
    const queueOf = this.opts.groupByEntity ? backfill?.queueOf : undefined;
    const split = new Map<Queue, Sample[]>();
    let lastEntity: string | undefined;
    let lastQueue: Queue | undefined;
    for (let i = 0; i < samples.length; i += this.batchSize) {
      const part = samples.slice(i, i + this.batchSize);
      if (!backfill || part.some((s) => s.ts >= liveFrom)) push(this.queue, part);
      else if (!queueOf) push(backfill.queue, part);
      else {
        for (const s of part) {
          if (s.entity !== lastEntity) {
            lastEntity = s.entity;
            lastQueue = queueOf(s.entity);
          }
          const to = split.get(lastQueue!);
          if (to) to.push(s);
          else split.set(lastQueue!, [s]);
        }
      }
    }
    for (const [queue, list] of split) for (let i = 0; i < list.length; i += this.batchSize) push(queue, list.slice(i, i + this.batchSize));
    // A call is stored whole or not at all: one job is one script, several go in one MULTI (the
    // queues share the prefix, and so the hash tag on a cluster).
    const work: Promise<unknown> =
      jobs.length > 1 && this.opts.flows
        ? this.opts.flows.addBulk(jobs.map(({ queue, job }) => ({ ...job, queueName: queue.name, prefix: queue.opts.prefix })))
        : Promise.all([...new Set(jobs.map((j) => j.queue))].map((q) => q.addBulk(jobs.filter((j) => j.queue === q).map((j) => j.job))));
    await (this.opts.timeoutMs ? withTimeout(work, this.opts.timeoutMs, 'enqueue') : work);
    return { jobs: jobs.length };
  }
}
