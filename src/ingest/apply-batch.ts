// One queued batch: validate (the queue door may bring raw samples) → apply to buckets and mark
// the entities whose rules read what changed as dirty (the drainer judges them).

import { withCategorySamples } from '../domain/complaints.js';
import type { Clock, Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { RawSample, SampleRejection } from '../domain/sample.js';
import { validateSamples } from './validate.js';
import { BadColumns, batchSamples, isColumnar } from '../queues/sample-payload.js';
import { ApplyRounds, type Gather, type HeldMirror, type Lane } from './apply-rounds.js';
import type { PipelineObserver } from '../observability/events.js';
import type { SampleBatchJob } from '../queues/names.js';
import type { RedisRegistryStore, RegistryCache } from '../state/registry-store.js';
import type { SeriesStore } from '../state/series-store.js';
import type { EntityEvaluator } from '../evaluate/live-evaluator.js';

export interface BatchOutcome {
  readonly accepted: number;
  readonly rejected: readonly SampleRejection[];
  /** Chunks applied now; 0 with skippedChunks > 0 means a retry found the work done. */
  readonly chunks: number;
  readonly skippedChunks: number;
  readonly entities: number;
}

export interface SampleBatchDeps {
  readonly clock: Clock;
  readonly calendar: Calendar;
  readonly metrics: () => MetricCatalogue;
  readonly retentionDays: number;
  readonly maxFutureMs: number;
  readonly series: SeriesStore;
  readonly registry: RegistryCache;
  readonly registryStore: RedisRegistryStore;
  readonly evaluator: EntityEvaluator;
  readonly observer: PipelineObserver;
  /** How the backfill lane gathers jobs before a round (the worker's: GATHER_* and its hold); none by default. */
  readonly gather?: Gather;
  /** Share the backfill lane's entities with the other worker processes (queues/backfill-partitions.ts). */
  readonly mirror?: HeldMirror;
}

export class SampleBatchProcessor {
  /** Group commit of the jobs this worker holds at once, where the series layout joins jobs (compact, applied in the worker). */
  private readonly rounds?: ApplyRounds;

  /** Whether an entity's rules read these metrics: one function for every job, so a round of them asks once per entity (SeriesStore.applyJobs). */
  private readonly affected = (id: string, metrics: ReadonlySet<string>): boolean => this.deps.evaluator.affected(id, metrics);

  constructor(private readonly deps: SampleBatchDeps) {
    if (deps.series.joinsJobs) {
      this.rounds = new ApplyRounds(deps.series, { observe: (jobs, samples, lane) => deps.observer.applyRound(jobs, samples, lane), gather: deps.gather, mirror: deps.mirror });
    }
  }

  /**
   * Validate and apply one job, in `lane` of the group commit (the lane of the queue it came from);
   * `queuedMs`: how long it had waited in its queue (the backfill lane's gather reads it).
   */
  async process(jobId: string, job: SampleBatchJob, lane: Lane = 'live', queuedMs = 0): Promise<BatchOutcome> {
    const d = this.deps;
    const started = performance.now();
    const now = d.clock.now();
    const source = typeof job?.source === 'string' ? job.source : 'queue';
    let raws: readonly RawSample[];
    try {
      raws = batchSamples(job);
    } catch (err) {
      // A v: 2 batch whose columns do not hold together (the doors never write one; a producer of
      // its own might): nothing of it can be read, so it is one coded reject and nothing to apply,
      // not a failed job retried ten times.
      if (!(err instanceof BadColumns)) throw err;
      d.observer.samplesRejected(`${source}:worker`, 'bad_batch', 1);
      return { accepted: 0, rejected: [{ index: -1, code: 'bad_batch', message: `batch v: 2: ${err.message}` }], chunks: 0, skippedChunks: 0, entities: 0 };
    }
    const { accepted, rejected } = validateSamples(raws, {
      metrics: d.metrics(),
      now,
      retentionDays: d.retentionDays,
      maxFutureMs: d.maxFutureMs,
      calendar: d.calendar,
      ownShapes: isColumnar(job),
    });
    // The HTTP door counts what it receives itself; the other doors (CSV import in its own
    // process, producers on the queue) are counted here, where their samples are first seen.
    if (source !== 'http') {
      d.observer.samplesReceived(source, raws.length);
      d.observer.samplesAccepted(source, accepted.length);
    }
    if (rejected.length) {
      const byCode = new Map<string, number>();
      for (const r of rejected) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
      for (const [code, n] of byCode) d.observer.samplesRejected(`${source}:worker`, code, n);
    }
    await d.registry.refresh();
    // Samples of entities not registered, found before the job waits for its round (a worker's
    // round holds hundreds of jobs: looked up as each comes, not all at once when the round is
    // written and its entities are to be judged). Noted only once applied (below).
    const unknown = new Map<string, number>();
    // An entity's samples mostly come together (the doors group them): looked up once per run.
    let last: string | undefined;
    let known = true;
    for (const s of accepted) {
      if (s.entity !== last) {
        last = s.entity;
        known = d.registry.get(s.entity) !== undefined;
      }
      if (!known) unknown.set(s.entity, (unknown.get(s.entity) ?? 0) + 1);
    }
    // Complaints also count under complaints.<category> (the breakdown campaign reports read).
    const applied = withCategorySamples(accepted);
    // The store splits the samples by entity shard (one script call per shard in the compact layout),
    // with the other jobs this worker holds where it joins jobs.
    const { chunks, skippedChunks, entities, rejected: refused } =
      this.rounds && applied.length > 0 ? await this.rounds.apply(jobId, applied, now, this.affected, lane, queuedMs) : await d.series.apply(jobId, applied, now, this.affected);
    if (refused.length) {
      // Refused by the store (compact layout: id_window_passed, value_out_of_range), counted once when applied.
      const byCode = new Map<string, number>();
      for (const r of refused) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
      for (const [code, n] of byCode) d.observer.samplesRejected(`${source}:worker`, code, n);
    }

    if (chunks > 0 && unknown.size) {
      // Counted once per applied job, not again on a retry.
      await d.registryStore.noteUnknown(unknown);
      let n = 0;
      for (const c of unknown.values()) n += c;
      d.observer.unknownEntitySamples(n);
    }
    const lags: number[] = [];
    for (let i = 0; i < accepted.length; i += Math.max(1, Math.floor(accepted.length / 64))) lags.push((now - accepted[i]!.ts) / 1000);
    d.observer.batchApplied(accepted.length, (performance.now() - started) / 1000, lags);
    const byMetric = new Map<string, { n: number; sum: number }>();
    // Looked up once per run of one metric (a daily export is one metric for thousands of rows).
    let lastMetric: string | undefined;
    let t: { n: number; sum: number } | undefined;
    for (const x of accepted) {
      if (x.metric !== lastMetric) {
        lastMetric = x.metric;
        t = byMetric.get(x.metric) ?? byMetric.set(x.metric, { n: 0, sum: 0 }).get(x.metric)!;
      }
      t!.n++;
      t!.sum += x.value;
    }
    d.observer.metricSamples(byMetric);
    // Store refusals carry no batch index (a derived complaint category has none): index -1.
    const all = refused.length ? [...rejected, ...refused.map((r) => ({ ...r, index: -1 }))] : rejected;
    return { accepted: accepted.length, rejected: all, chunks, skippedChunks, entities };
  }
}
