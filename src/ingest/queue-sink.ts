// The one path every door ends in: samples become batched jobs on the `samples` queue (live ones)
// or a backfill queue (those with no live sample): their entities' partition of `samples-backfill`,
// where a live sample of an entity whose backfill is still there follows it.
// One job per sample tops out near 13k/s; a job per batch keeps Redis busy with data, not
// bookkeeping.

import type { FlowProducer, JobsOptions, Queue } from 'bullmq';
import type { Clock } from '../domain/clock.js';
import type { Sample } from '../domain/sample.js';
import type { SampleBatchJob } from '../queues/names.js';
import { withTimeout } from '../redis/connect.js';
import { toColumns } from '../queues/sample-payload.js';
import { fnv1a32 } from '../state/shard.js';
import type { SampleSink } from '../state/ports.js';
import type { PipelineObserver } from '../observability/events.js';

/** Completed jobs each sample queue keeps (at most an hour): each holds its samples, ~44 KB of Redis memory for 2,000 daily ones as v: 2, ~240 KB as v: 1. */
export const COMPLETED_SAMPLE_JOBS_KEPT = 100;

/**
 * Jobs a backfill partition may have waiting for a live sample to follow its entity's backfill
 * there (~128,000 samples at the default batch size: about one round of the worker that serves it).
 * With more, the live sample goes on `samples`, as any other, and is not held up behind a backlog.
 */
export const FOLLOW_MAX_WAITING = 64;

/** How often a sink asks every partition it remembers entities in, not only a call's: those found empty are forgotten even if their entities send nothing live. */
export const FOLLOW_SWEEP_MS = 60_000;

/** Entities a sink remembers having queued a backfill for, over all partitions; past it it remembers no more (only the following stops). */
export const FOLLOW_MAX_ENTITIES = 2_000_000;

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
  /** Bound on one enqueue's Redis commands (asking the backfill partitions, then the add); past it the call fails (the caller answers 503). */
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
   * backfill is never queued behind another entity's backfill. Without it every job goes to `queue`. With `queueOf` (the
   * backfill's partition queues, queues/backfill-partitions.ts) and `groupByEntity`, a call's
   * backfill samples are split by the queue of their entity first, each queue's cut into jobs.
   */
  readonly backfill?: {
    readonly queue: Queue;
    readonly queueOf?: (entity: string) => Queue;
    readonly liveFrom: () => number;
    /**
     * A live sample follows its entity's backfill (default true, with `queueOf` and `groupByEntity`):
     * while a backfill this sink queued for the entity is still in its partition (waiting or being
     * applied), and that partition has at most FOLLOW_MAX_WAITING jobs waiting (or a live sample of
     * the entity followed already), the live sample is queued there too, behind it, instead of on
     * `queue`. It is applied with the backfill, in the same
     * write of its series, and judged once with it, as it would have been judged anyway
     * (docs/ingest.md "A live sample follows its backfill").
     */
    readonly follow?: boolean;
  };
  /** Told how many live samples of a call followed their backfill (lookout_live_samples_followed_total). */
  readonly observer?: Pick<PipelineObserver, 'liveSamplesFollowed'>;
  /**
   * Whether every worker reads batches in columns (queues/payload-readers.ts): then jobs are queued
   * as v: 2 (queues/sample-payload.ts), a fifth of v: 1's Redis memory for a daily export; without
   * it, or while a worker of an earlier release consumes, as v: 1.
   */
  readonly columns?: { columnar(): Promise<boolean> };
}

/** The samples with each entity's together, in the order each entity first appears; an entity's own order kept. */
export function groupedByEntity(samples: readonly Sample[]): Sample[] {
  if (entitiesTogether(samples)) return samples as Sample[];
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const g = groups.get(s.entity);
    if (g) g.push(s);
    else groups.set(s.entity, [s]);
  }
  const out: Sample[] = [];
  for (const g of groups.values()) for (const s of g) out.push(s);
  return out;
}

/** entitiesTogether's open-addressing table (a run's index + 1 per slot, 0: empty), reused from call to call. */
let runTable = new Int32Array(1 << 12);

/**
 * Whether each entity's samples already come together (a daily export, an entity's hours in a
 * row): then grouping keeps them as they are. Asked of every call the door cuts, so it is an
 * open-addressing set of the entities' runs in a reused typed array, not a Set (whose growth and
 * rehashing cost a 20,000-sample call as much as the grouping it saves).
 */
function entitiesTogether(samples: readonly Sample[]): boolean {
  let size = 1 << 12;
  while (size < 2 * samples.length) size *= 2;
  if (size > runTable.length) runTable = new Int32Array(size);
  const table = size === runTable.length ? runTable : runTable.subarray(0, size);
  table.fill(0);
  const mask = size - 1;
  let last: string | undefined;
  let together = true;
  for (let i = 0; i < samples.length && together; i++) {
    const entity = samples[i]!.entity;
    if (entity === last) continue;
    last = entity;
    let slot = fnv1a32(entity) & mask;
    for (;;) {
      const at = table[slot]!;
      if (at === 0) {
        table[slot] = i + 1;
        break;
      }
      if (samples[at - 1]!.entity === entity) {
        together = false; // met before, with another entity's samples between
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return together;
}

export class QueueSampleSink implements SampleSink {
  /**
   * Entities this sink queued a backfill for, by the partition queue it went to, kept while that
   * queue has jobs (forgotten when a call finds it empty): a live sample of one follows it there.
   * True once a live sample of the entity followed: its later samples through this sink follow too,
   * whatever the partition's backlog and even when it cannot be counted, until it is found empty, so
   * a correction is never applied before the value it corrects.
   */
  private readonly backfilled = new Map<Queue, Map<string, boolean>>();
  private backfilledCount = 0;
  /** When (the injected clock) every remembered partition was last asked. */
  private sweptAt = -Infinity;

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
    // The partitions a live sample of this call may follow its entity's backfill to. The bound
    // (timeoutMs) holds for the Redis side of the call: the time the asking took is not the add's.
    const askedAt = performance.now();
    const following = queueOf !== undefined && backfill?.follow !== false;
    const follow = following && this.backfilled.size > 0 ? await this.followable(this.toAsk(samples, liveFrom, queueOf)) : undefined;
    const askMs = performance.now() - askedAt;
    const split = new Map<Queue, Sample[]>();
    const live: Sample[] = [];
    let followed = 0;
    /** Entities a live sample of this call followed to each partition (pinned there once queued). */
    const pins = new Map<Queue, Set<string>>();
    let lastEntity: string | undefined;
    let lastQueue: Queue | undefined;
    const queueOfEntity = (entity: string): Queue => {
      if (entity !== lastEntity) {
        lastEntity = entity;
        lastQueue = queueOf!(entity);
      }
      return lastQueue!;
    };
    const toPartition = (queue: Queue, s: Sample): void => {
      const to = split.get(queue);
      if (to) to.push(s);
      else split.set(queue, [s]);
    };
    for (let i = 0; i < samples.length; i += this.batchSize) {
      const part = samples.slice(i, i + this.batchSize);
      if (!backfill || part.some((s) => s.ts >= liveFrom)) {
        if (!follow) live.push(...part); // (nothing remembered: no entity to follow, none pinned)
        else
          for (const s of part) {
            const queue = queueOfEntity(s.entity);
            const remembered = this.backfilled.get(queue)?.get(s.entity);
            if (remembered === true || (remembered === false && follow.has(queue))) {
              toPartition(queue, s);
              if (s.ts >= liveFrom) {
                followed++;
                (pins.get(queue) ?? pins.set(queue, new Set()).get(queue)!).add(s.entity);
              }
            } else live.push(s);
          }
      } else if (!queueOf) push(backfill.queue, part);
      else for (const s of part) toPartition(queueOfEntity(s.entity), s);
    }
    // The live parts whole, as cut above (a part that lost no sample to a backfill is one job).
    for (let i = 0; i < live.length; i += this.batchSize) push(this.queue, live.slice(i, i + this.batchSize));
    for (const [queue, list] of split) for (let i = 0; i < list.length; i += this.batchSize) push(queue, list.slice(i, i + this.batchSize));
    // A call is stored whole or not at all: one job is one script, several go in one MULTI (the
    // queues share the prefix, and so the hash tag on a cluster).
    const work: Promise<unknown> =
      jobs.length > 1 && this.opts.flows
        ? this.opts.flows.addBulk(jobs.map(({ queue, job }) => ({ ...job, queueName: queue.name, prefix: queue.opts.prefix })))
        : Promise.all([...new Set(jobs.map((j) => j.queue))].map((q) => q.addBulk(jobs.filter((j) => j.queue === q).map((j) => j.job))));
    try {
      await (this.opts.timeoutMs ? withTimeout(work, Math.max(1, this.opts.timeoutMs - askMs), 'enqueue') : work);
    } finally {
      // Remembered even when the add failed or ran out of time (its jobs may yet land): following a
      // backfill that is not there only waits a gather, while missing one could reorder an id's copies.
      if (following) this.remember(split, pins);
    }
    if (followed > 0) this.opts.observer?.liveSamplesFollowed(followed);
    return { jobs: jobs.length };
  }

  /**
   * Note the entities of the backfill just queued on each partition (queued, so a later call's live
   * samples may follow them), and pin those a live sample followed.
   */
  private remember(split: ReadonlyMap<Queue, readonly Sample[]>, pins: ReadonlyMap<Queue, ReadonlySet<string>>): void {
    for (const [queue, list] of split) {
      if (queue === this.opts.backfill?.queue) continue;
      let entities = this.backfilled.get(queue);
      if (!entities) this.backfilled.set(queue, (entities = new Map()));
      for (const e of pins.get(queue) ?? []) {
        // (Forgotten meanwhile only if a concurrent call found the partition empty before this one's jobs landed.)
        if (!entities.has(e)) this.backfilledCount++;
        entities.set(e, true);
      }
      let last: string | undefined;
      for (const s of list) {
        if (s.entity === last) continue;
        last = s.entity;
        if (entities.has(s.entity) || this.backfilledCount >= FOLLOW_MAX_ENTITIES) continue;
        entities.set(s.entity, false);
        this.backfilledCount++;
      }
    }
  }

  /**
   * The partitions a call's samples might follow a backfill to: those where an entity of the call
   * is remembered, when the call holds a live sample (none otherwise: nothing to ask); and every
   * remembered one once each FOLLOW_SWEEP_MS.
   */
  private toAsk(samples: readonly Sample[], liveFrom: number, queueOf: (entity: string) => Queue): Queue[] {
    if (!samples.some((s) => s.ts >= liveFrom)) return [];
    const now = this.clock.now();
    if (now - this.sweptAt >= FOLLOW_SWEEP_MS) {
      this.sweptAt = now;
      return [...this.backfilled.keys()];
    }
    const out = new Set<Queue>();
    let last: string | undefined;
    for (const s of samples) {
      if (s.entity === last) continue;
      last = s.entity;
      const queue = queueOf(s.entity);
      if (!out.has(queue) && this.backfilled.get(queue)?.has(s.entity)) out.add(queue);
    }
    return [...out];
  }

  /**
   * Which of `queues` a live sample may follow its backfill to now: those still holding jobs
   * (waiting, being applied or to be retried) with at most FOLLOW_MAX_WAITING waiting. One found
   * empty has applied what this sink queued there: its entities are forgotten. Asked once per call
   * with a live sample, for the partitions its entities were remembered in; if Redis does not answer
   * in time, no sample follows (the call goes on as without).
   */
  private async followable(queues: readonly Queue[]): Promise<Set<Queue>> {
    if (queues.length === 0) return new Set();
    const answer = Promise.all(queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'active', 'delayed')));
    let counts: Awaited<typeof answer>;
    try {
      counts = await (this.opts.timeoutMs ? withTimeout(answer, this.opts.timeoutMs / 2, 'backfill counts') : answer);
    } catch {
      return new Set();
    }
    const out = new Set<Queue>();
    queues.forEach((queue, i) => {
      const c = counts[i]!;
      const waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
      if (waiting + (c.active ?? 0) + (c.delayed ?? 0) === 0) {
        this.backfilledCount -= this.backfilled.get(queue)!.size;
        this.backfilled.delete(queue);
      } else if (waiting <= FOLLOW_MAX_WAITING) out.add(queue);
    });
    return out;
  }
}
