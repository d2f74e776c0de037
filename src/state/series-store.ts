// Per-entity series in Redis: daily and hourly sums (or sum+count for gauges), aligned in
// LOOKOUT_TZ on event time, with id-replacement and bounded retention. Two layouts implement it
// (LOOKOUT_SERIES_LAYOUT): `buckets` (bucket-series.ts, the default) and `compact`
// (compact-series.ts); every reader goes through this class.

import { batch, type RedisClient } from './client.js';
import { liveFrom, type Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample, SampleRejection } from '../domain/sample.js';
import { HOURS_PER_DAY, readFromDay, type EntitySeries } from '../domain/series.js';
import type { Keyspace } from './keys.js';
import { BucketSeries } from './bucket-series.js';
import { CompactSeries, type RoundDraft } from './compact-series.js';
import { DEFAULT_SHARDS } from './shard.js';
import { EVAL_MAX_DELAY_MS } from './dirty.js';
import { ID_WINDOW_DAYS } from './compact-format.js';
import type { DailyByEntity, DailyCellsByEntity, DailyRead, HourlyByEntity, HourlyRead, QueuedReads, SeriesLayout, SeriesLayoutName, Tx } from './series-layout.js';

export type { DailyRead, HourlyByEntity, HourlyRead, QueuedReads, SeriesLayoutName } from './series-layout.js';

import type { RetentionPolicy } from './series-layout.js';

export type { RetentionPolicy };

/** The settings the store reads (AppConfig carries them all). */
export interface SeriesSettings extends RetentionPolicy {
  readonly seriesLayout?: SeriesLayoutName;
  readonly shards?: number;
  readonly maxFutureMs?: number;
  readonly idWindowDays?: number;
  /** Compact layout: LOOKOUT_APPLY_IN (default worker). */
  readonly applyIn?: 'worker' | 'redis';
}

export interface ApplyResult {
  /** Chunks applied now (0 when a retried job had applied them all already). */
  readonly chunks: number;
  readonly skippedChunks: number;
  /** Entities the job's samples touched. */
  readonly entities: number;
  /** Samples the store refused (compact layout: id_window_passed, value_out_of_range); indexes into `samples`. */
  readonly rejected: readonly SampleRejection[];
}

/** One job's samples for applyJobs. */
export interface JobToApply {
  readonly jobId: string;
  readonly samples: readonly Sample[];
  /** Whether an entity's rules read these metrics (it then joins the dirty set); default: always. */
  readonly needsEvaluation?: (entity: string, metrics: ReadonlySet<string>) => boolean;
}

type NeedsEvaluation = NonNullable<JobToApply['needsEvaluation']>;
const ALWAYS: NeedsEvaluation = () => true;

/**
 * One entity's samples in a round (SeriesStore.applyJobs). Its metrics are one name, or a set once
 * it has several: most rounds bring one metric per entity, and a set per entity was the largest
 * thing a deep round kept alive after the samples themselves.
 */
interface Touch {
  /** The job (its index in the round) whose samples are being met now. */
  job: number;
  /** Its metrics in the round's jobs before `job`. */
  metrics: string | Set<string>;
  /** Its metrics in `job`; undefined until the job is met. */
  inJob: string | Set<string> | undefined;
  /** Whether a sample of it in `job` is live. */
  jobLive: boolean;
  /** Its metrics in the jobs it was live in (all of each such job's, as the job alone marked them). */
  live: string | Set<string> | undefined;
}

function withMetric(to: string | Set<string> | undefined, metric: string): string | Set<string> {
  if (to === undefined || to === metric) return metric;
  if (typeof to === 'string') return new Set([to, metric]);
  to.add(metric);
  return to;
}

function withMetrics(to: string | Set<string> | undefined, metrics: string | Set<string>): string | Set<string> {
  if (typeof metrics === 'string') return withMetric(to, metrics);
  let out = to;
  for (const m of metrics) out = withMetric(out, m);
  return out!;
}

/** Fold the entity's metrics of its current job into the round's, and move on to job `next`. */
function endJob(t: Touch, next: number): void {
  if (t.inJob !== undefined) {
    t.metrics = t.metrics === t.inJob ? t.metrics : withMetrics(t.metrics, t.inJob);
    if (t.jobLive) t.live = withMetrics(t.live, t.inJob);
  }
  t.job = next;
  t.inJob = undefined;
  t.jobLive = false;
}

function metricSet(m: string | Set<string>): ReadonlySet<string> {
  return typeof m === 'string' ? onlyMetric(m) : m;
}

/**
 * What each entity of a round's jobs touched (SeriesStore.applyJobs), job after job: each entity
 * once, by the check its jobs ask (the worker's jobs share one). A deep round brings an entity in a
 * job per day, and its check and its mark were asked job by job.
 */
class RoundTouches {
  readonly byCheck = new Map<NeedsEvaluation, Map<string, Touch>>();
  /** Entities of each job touched. */
  readonly entitiesOf: number[] = [];

  /** `from`: the first instant that is live (liveFrom). */
  constructor(readonly from: number) {}

  /** Jobs touched so far. */
  get jobs(): number {
    return this.entitiesOf.length;
  }

  /** Touch the next job's samples. */
  touch({ samples, needsEvaluation = ALWAYS }: JobToApply): void {
    const j = this.entitiesOf.length;
    const from = this.from;
    let touches = this.byCheck.get(needsEvaluation);
    if (!touches) this.byCheck.set(needsEvaluation, (touches = new Map()));
    let entities = 0;
    // The doors put each entity's samples together: a run of one series needs no lookup.
    let t: Touch | undefined;
    let lastEntity: string | undefined;
    let lastMetric: string | undefined;
    let lastLive = false;
    for (const s of samples) {
      if (s.entity === lastEntity && s.metric === lastMetric) {
        if (!lastLive && s.ts >= from) t!.jobLive = lastLive = true;
        continue;
      }
      if (s.entity !== lastEntity) {
        t = touches.get(s.entity);
        if (t === undefined) touches.set(s.entity, (t = { job: j, metrics: s.metric, inJob: undefined, jobLive: false, live: undefined }));
        else if (t.job !== j) endJob(t, j);
        if (t.inJob === undefined) entities++;
        lastEntity = s.entity;
      }
      lastMetric = s.metric;
      lastLive = s.ts >= from;
      t!.inJob = withMetric(t!.inJob, s.metric);
      if (lastLive) t!.jobLive = true;
    }
    this.entitiesOf.push(entities);
  }
}

/** A round drafted as its jobs come (SeriesStore.draft): the lane that gathers has it work while it waits. */
export interface ApplyDraft {
  /** A job come (`now`: the clock when it came), after those added before. */
  add(job: JobToApply, now: number): void;
  /** Whether every job added has been worked through (grouped). */
  readonly grouped: boolean;
  /** Whether calls are left to build. */
  readonly unbuilt: boolean;
  /** Work until `deadline` (performance.now()): the jobs added, then their calls. */
  work(deadline: number): void;
}

/** The compact layout's draft (RoundDraft), and what each entity of the jobs touched (RoundTouches). */
class StoreDraft implements ApplyDraft {
  touches: RoundTouches;

  constructor(
    private readonly calendar: Calendar,
    readonly calls: RoundDraft,
  ) {
    this.touches = new RoundTouches(-Infinity);
  }

  isOf(parts: readonly JobToApply[]): boolean {
    return this.calls.isOf(parts);
  }

  add(job: JobToApply, now: number): void {
    this.calls.add(job);
    // A job come on a later day moves what is live: what was touched is touched again.
    const from = liveFrom(this.calendar, { now: () => now });
    if (from > this.touches.from) this.touches = new RoundTouches(from);
  }

  get grouped(): boolean {
    return this.touches.jobs === this.calls.jobs.length && this.calls.grouped;
  }

  get unbuilt(): boolean {
    return this.calls.unbuilt;
  }

  work(deadline: number): void {
    const jobs = this.calls.jobs;
    while (this.touches.jobs < jobs.length) {
      this.touches.touch(jobs[this.touches.jobs]!);
      if (performance.now() >= deadline) return;
    }
    this.calls.work(deadline);
  }
}

/** The set of one metric, one per metric name (shared: callers only read it). */
const ONLY_METRIC = new Map<string, ReadonlySet<string>>();
function onlyMetric(metric: string): ReadonlySet<string> {
  let set = ONLY_METRIC.get(metric);
  if (!set) ONLY_METRIC.set(metric, (set = new Set([metric])));
  return set;
}

export class SeriesStore {
  readonly layout: SeriesLayoutName;
  private readonly impl: SeriesLayout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    metrics: () => MetricCatalogue,
    private readonly retention: SeriesSettings,
  ) {
    this.layout = retention.seriesLayout ?? 'buckets';
    this.impl =
      this.layout === 'compact'
        ? new CompactSeries(redis, keys, calendar, metrics, { ...retention, shards: retention.shards ?? DEFAULT_SHARDS, maxFutureMs: retention.maxFutureMs ?? 5 * 60_000, idWindowDays: retention.idWindowDays ?? ID_WINDOW_DAYS })
        : new BucketSeries(redis, keys, calendar, metrics, retention);
  }

  /** Compact layout applied in the worker: calls whose write lost a race and were computed again (0 otherwise). */
  get applyConflicts(): number {
    return this.impl instanceof CompactSeries ? this.impl.conflicts : 0;
  }

  /**
   * Apply validated samples; `jobId` makes a retried job a no-op per chunk. Entities for which
   * `needsEvaluation(entity, metrics)` is true join the dirty set.
   */
  async apply(
    jobId: string,
    samples: readonly Sample[],
    now: number,
    needsEvaluation: (entity: string, metrics: ReadonlySet<string>) => boolean = () => true,
  ): Promise<ApplyResult> {
    return (await this.applyJobs([{ jobId, samples, needsEvaluation }], now))[0]!;
  }

  /**
   * Whether applyJobs joins several jobs into one apply (the compact layout computed in the worker):
   * the worker then applies the jobs it holds together (src/ingest/apply-rounds.ts).
   */
  get joinsJobs(): boolean {
    return this.impl instanceof CompactSeries && this.impl.joinsJobs;
  }

  /** Samples one round of joined jobs should hold at most (the compact layout: by its shard count); Infinity where jobs are not joined. */
  get roundSamples(): number {
    return this.impl instanceof CompactSeries ? this.impl.roundSamples : Infinity;
  }

  /**
   * A draft of the next round, for a lane that gathers its jobs before a round (the compact layout
   * applied in the worker: its calls, CompactSeries.draft, and what each entity touched); undefined
   * where jobs are not joined.
   */
  draft(): ApplyDraft | undefined {
    return this.impl instanceof CompactSeries && this.impl.joinsJobs ? new StoreDraft(this.calendar, this.impl.draft()) : undefined;
  }

  /**
   * Apply several jobs' samples (ids distinct) at one `now`: together where the layout joins them,
   * else one by one. An entity with a live sample is judged at once (a live mark), unless
   * `backfillHeld(entity)`: this worker holds a backfill of it still to apply, so it is judged with
   * its backfill instead of once before it and once after. `backfillLeadMs`: how much earlier the
   * backfill marks are stamped (DirtyMarks; a round begun after its producer went quiet). `draft`:
   * the round drafted as its jobs came (SeriesStore.draft), used if it is of exactly these jobs.
   */
  async applyJobs(parts: readonly JobToApply[], now: number, backfillHeld?: (entity: string) => boolean, backfillLeadMs = 0, draft?: ApplyDraft): Promise<ApplyResult[]> {
    // Live: a sample of today or yesterday (yesterday's daily export arrives today).
    const from = liveFrom(this.calendar, { now: () => now });
    const drafted = draft instanceof StoreDraft && draft.isOf(parts) ? draft : undefined;
    const round = drafted?.touches.from === from ? drafted.touches : new RoundTouches(from);
    while (round.jobs < parts.length) round.touch(parts[round.jobs]!);
    const live = new Set<string>();
    const backfill = new Set<string>();
    const { byCheck, entitiesOf } = round;
    for (const [needsEvaluation, touches] of byCheck) {
      for (const [e, t] of touches) {
        endJob(t, -1);
        // Live when a job it was live in touched what its rules read, as each job alone would mark it.
        if (t.live !== undefined && needsEvaluation(e, metricSet(t.live))) live.add(e);
        else if (needsEvaluation(e, metricSet(t.metrics))) backfill.add(e);
      }
    }
    // An entity live in one job is live for the round (a mark never moves later), unless this
    // worker still holds a backfill of it: then it is judged with that, not before it and again after.
    for (const e of live) {
      if (backfillHeld?.(e)) {
        live.delete(e);
        backfill.add(e);
      } else {
        backfill.delete(e);
      }
    }
    const dirty = { live, backfill, leadMs: EVAL_MAX_DELAY_MS, backfillLeadMs };
    const results =
      this.impl instanceof CompactSeries
        ? await this.impl.applyJobs(parts, now, dirty, drafted?.calls)
        : await Promise.all(parts.map((p) => this.impl.apply(p.jobId, p.samples, now, dirty)));
    return results.map((r, i) => ({ ...r, entities: entitiesOf[i]! }));
  }

  /** Queue the reads of a set of plans into a MULTI; parse the results with the answer's `parse`. */
  queueReads(tx: Tx, daily: readonly DailyRead[], hourly: readonly HourlyRead[] = []): QueuedReads {
    return this.impl.queueReads(tx, daily, hourly);
  }

  /** The stored daily cells (Σ in thousandths and sample count) of these reads. */
  readDailyCells(daily: readonly DailyRead[]): Promise<DailyCellsByEntity> {
    return this.impl.readDailyCells(daily);
  }

  /**
   * Hours an evaluation at `now` may read: from the first local day whose hourly buckets are
   * complete (days ≥ today − hourly retention were accepted whole), at most `lookbackDays` days
   * before today, up to the current hour.
   */
  hourlyWindow(now: number, lookbackDays: number): { fromHour: number; toHour: number } {
    const today = this.calendar.dayOf(now);
    const fromDay = today - Math.min(lookbackDays, this.retention.hourlyRetentionDays);
    return { fromHour: fromDay * HOURS_PER_DAY, toHour: this.calendar.hourOf(now) };
  }

  /** Days a judgement at `now` reads for a metric with `lookbackDays` of history (kernel plan). */
  dailyWindow(now: number, lookbackDays: number): { fromDay: number; toDay: number } {
    const today = this.calendar.dayOf(now);
    return { fromDay: readFromDay(today, this.retention.retentionDays, lookbackDays), toDay: today };
  }

  /** Run reads in one MULTI (per command on a cluster: client.ts) and parse them. */
  async read(daily: readonly DailyRead[], hourly: readonly HourlyRead[] = []): Promise<{ daily: DailyByEntity; hourly: HourlyByEntity }> {
    const tx = batch(this.redis, true);
    const q = this.queueReads(tx, daily, hourly);
    const res = ((await tx.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    const out = { daily: new Map(), hourly: new Map() } as { daily: DailyByEntity; hourly: HourlyByEntity };
    q.parse(res, 0, out.daily, out.hourly);
    return out;
  }

  /** Daily series of one entity over the days stored (API, CLI, tests). */
  async readDaily(entity: string, metrics: readonly string[]): Promise<EntitySeries> {
    return this.readDailyRange(entity, metrics, await this.knownDays(metrics));
  }

  /** Daily series of one entity over [fromDay, toDay]. */
  async readDailyRange(entity: string, metrics: readonly string[], range: { fromDay: number; toDay: number }): Promise<EntitySeries> {
    const { daily } = await this.read(metrics.map((metric) => ({ metric, entities: [entity], ...range })));
    return daily.get(entity) ?? new Map();
  }

  /** The span of days stored for these metrics (from the feed counters). */
  private async knownDays(metrics: readonly string[]): Promise<{ fromDay: number; toDay: number }> {
    let fromDay = Infinity;
    let toDay = -Infinity;
    for (const m of metrics) {
      for (const f of await this.redis.hkeys(this.keys.feed(m))) {
        fromDay = Math.min(fromDay, Number(f));
        toDay = Math.max(toDay, Number(f));
      }
    }
    return Number.isFinite(fromDay) ? { fromDay, toDay } : { fromDay: 0, toDay: -1 };
  }

  /** Hourly buckets of one entity and metric over the hour indexes [fromHour, toHour]: hour index → value. */
  async readHourRange(entity: string, metric: string, fromHour: number, toHour: number): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (toHour < fromHour) return out;
    const { hourly } = await this.read([], [{ metric, entities: [entity], fromHour, toHour }]);
    for (const [day, row] of hourly.get(entity)?.get(metric) ?? []) {
      row.forEach((v, h) => {
        if (!Number.isNaN(v)) out.set(day * HOURS_PER_DAY + h, v);
      });
    }
    return new Map([...out].sort((a, b) => a[0] - b[0]));
  }

  /** Hourly buckets of one entity and metric over the hourly retention: hour index → value. */
  async readHourly(entity: string, metric: string): Promise<Map<number, number>> {
    const days = await this.knownDays([metric]);
    const to = (days.toDay + 1) * 24;
    const from = to - (this.retention.hourlyRetentionDays + 1) * 24;
    return this.readHourRange(entity, metric, from, to - 1);
  }
}

/** The feed counter hash (day → samples of one metric across all entities). */
export function parseFeed(h: Record<string, string> | null | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const [day, count] of Object.entries(h ?? {})) out.set(Number(day), Number(count));
  return out;
}
