// Per-entity time buckets in Redis: daily and hourly sums (or sum+count for gauges), aligned in
// LOOKOUT_TZ on event time, with id-replacement and bounded retention (see lua.ts).

import type { Redis } from 'ioredis';
import { parseBucket, toMilli } from '../domain/bucket.js';
import type { Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample } from '../domain/sample.js';
import { HOURS_PER_DAY, readFromDay, type EntitySeries } from '../domain/series.js';
import type { Keyspace } from './keys.js';
import { APPLY_SAMPLES_LUA } from './lua.js';

export interface RetentionPolicy {
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
}

/** Samples per EVALSHA call: big enough to amortise the call, small enough not to stall Redis. */
const SAMPLES_PER_CALL = 1000;

export interface ApplyResult {
  /** Chunks applied now (0 when a retried job had applied them all already). */
  readonly chunks: number;
  readonly skippedChunks: number;
  /** Entity → metrics touched. */
  readonly touched: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Entities needing one metric's daily values over [fromDay, toDay]. */
export interface DailyRead {
  readonly metric: string;
  readonly entities: readonly string[];
  readonly fromDay: number;
  readonly toDay: number;
}

/** Entities needing one metric's hourly buckets over the hour indexes [fromHour, toHour]. */
export interface HourlyRead {
  readonly metric: string;
  readonly entities: readonly string[];
  readonly fromHour: number;
  readonly toHour: number;
}

/** entity → metric → local day → its 24 hourly values (NaN: no data in that hour). */
export type HourlyByEntity = Map<string, Map<string, Map<number, Float64Array>>>;

type Tx = ReturnType<Redis['multi']>;

export class SeriesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    private readonly metrics: () => MetricCatalogue,
    private readonly retention: RetentionPolicy,
  ) {
    redis.defineCommand('lookoutApply', { numberOfKeys: 0, lua: APPLY_SAMPLES_LUA });
  }

  /**
   * Apply validated samples; `jobId` makes a retried job a no-op per chunk. Entities for which
   * `needsEvaluation(entity, metrics)` is true join the dirty set in the same atomic step.
   */
  async apply(
    jobId: string,
    samples: readonly Sample[],
    now: number,
    needsEvaluation: (entity: string, metrics: ReadonlySet<string>) => boolean = () => true,
  ): Promise<ApplyResult> {
    const touched = new Map<string, Set<string>>();
    for (const s of samples) {
      const set = touched.get(s.entity);
      if (set) set.add(s.metric);
      else touched.set(s.entity, new Set([s.metric]));
    }
    const dirty: string[] = [];
    for (const [e, metrics] of touched) if (needsEvaluation(e, metrics)) dirty.push(e);
    const today = this.calendar.dayOf(now);
    const minHour = (today - this.retention.hourlyRetentionDays) * 24;
    const catalogue = this.metrics();
    const head = [String(this.retention.retentionDays), String(this.retention.hourlyRetentionDays), String(minHour), String(now)];

    // Chunks are cut deterministically from the job's samples, so a retry names the same chunks.
    // Inside a chunk, samples are grouped by (metric, day): the script then builds each key once.
    const pipeline = this.redis.pipeline();
    let chunks = 0;
    const dirtySet = new Set(dirty);
    for (let c = 0; c < samples.length; c += SAMPLES_PER_CALL) {
      const end = Math.min(samples.length, c + SAMPLES_PER_CALL);
      const groups = new Map<string, string[]>();
      const marked: string[] = [];
      for (let i = c; i < end; i++) {
        const s = samples[i]!;
        const day = this.calendar.dayOf(s.ts);
        const key = `${s.metric}\u0000${day}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(s.entity, String(this.calendar.hourOf(s.ts)), String(toMilli(s.value)), s.id ?? '');
        if (dirtySet.delete(s.entity)) marked.push(s.entity);
      }
      const args = [this.keys.prefix, this.keys.chunk(jobId, chunks++), ...head, String(marked.length), ...marked];
      for (const [key, g] of groups) {
        const [metric, day] = key.split('\u0000') as [string, string];
        args.push(metric, catalogue.get(metric)?.aggregation === 'avg' ? 'a' : 's', day, String(g.length / 4));
        for (const x of g) args.push(x);
      }
      (pipeline as unknown as { lookoutApply(...a: string[]): void }).lookoutApply(...args);
    }
    const results = (await pipeline.exec()) ?? [];
    let applied = 0;
    for (const [err, res] of results) {
      if (err) throw err;
      if (res === 1) applied++;
    }
    return { chunks: applied, skippedChunks: chunks - applied, touched };
  }

  /** Queue the reads of `r` into a MULTI: per day, the buckets of its entities. */
  queueDailyReads(tx: Tx, r: DailyRead): void {
    for (let d = r.fromDay; d <= r.toDay; d++) tx.hmget(this.keys.daily(r.metric, d), ...r.entities);
  }

  /** How many results queueDailyReads adds to the transaction. */
  static dailyReadLength(r: DailyRead): number {
    return r.toDay - r.fromDay + 1;
  }

  /** Parse the results of queueDailyReads into `out` (entity → metric → day → value). */
  parseDailyReads(r: DailyRead, results: readonly (string | null)[][], out: Map<string, Map<string, Map<number, number>>>): void {
    const avg = this.metrics().get(r.metric)?.aggregation === 'avg';
    const series = seriesOf(out, r.entities, r.metric);
    let k = 0;
    for (let d = r.fromDay; d <= r.toDay; d++) {
      const buckets = results[k++] ?? [];
      for (let j = 0; j < series.length; j++) {
        const v = parseBucket(buckets[j], avg);
        if (v !== undefined) series[j]!.set(d, v);
      }
    }
  }

  /** Queue the reads of `r` into a MULTI: per hour, the buckets of its entities. */
  queueHourlyReads(tx: Tx, r: HourlyRead): void {
    for (let h = r.fromHour; h <= r.toHour; h++) tx.hmget(this.keys.hourly(r.metric, h), ...r.entities);
  }

  /** How many results queueHourlyReads adds to the transaction. */
  static hourlyReadLength(r: HourlyRead): number {
    return Math.max(0, r.toHour - r.fromHour + 1);
  }

  /** Parse the results of queueHourlyReads into `out` (entity → metric → day → 24 hourly values). */
  parseHourlyReads(r: HourlyRead, results: readonly (string | null)[][], out: HourlyByEntity): void {
    const avg = this.metrics().get(r.metric)?.aggregation === 'avg';
    const series = seriesOf(out, r.entities, r.metric);
    let k = 0;
    for (let h = r.fromHour; h <= r.toHour; h++) {
      const buckets = results[k++] ?? [];
      const day = Math.floor(h / HOURS_PER_DAY);
      const slot = h - day * HOURS_PER_DAY;
      for (let j = 0; j < series.length; j++) {
        const v = parseBucket(buckets[j], avg);
        if (v === undefined) continue;
        let row = series[j]!.get(day);
        if (!row) series[j]!.set(day, (row = new Float64Array(HOURS_PER_DAY).fill(NaN)));
        row[slot] = v;
      }
    }
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

  /** Daily series of one entity over the days stored (API, CLI, tests). */
  async readDaily(entity: string, metrics: readonly string[]): Promise<EntitySeries> {
    return this.readDailyRange(entity, metrics, await this.knownDays(metrics));
  }

  /** Daily series of one entity over [fromDay, toDay]. */
  async readDailyRange(entity: string, metrics: readonly string[], range: { fromDay: number; toDay: number }): Promise<EntitySeries> {
    const tx = this.redis.multi();
    const reads = metrics.map((metric) => ({ metric, entities: [entity], ...range }));
    for (const r of reads) this.queueDailyReads(tx, r);
    const res = ((await tx.exec()) ?? []).map(([, v]) => v as (string | null)[]);
    const out = new Map<string, Map<string, Map<number, number>>>();
    let k = 0;
    for (const r of reads) {
      const n = SeriesStore.dailyReadLength(r);
      this.parseDailyReads(r, res.slice(k, k + n), out);
      k += n;
    }
    return out.get(entity) ?? new Map();
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
    const avg = this.metrics().get(metric)?.aggregation === 'avg';
    const tx = this.redis.multi();
    for (let h = fromHour; h <= toHour; h++) tx.hget(this.keys.hourly(metric, h), entity);
    const out = new Map<number, number>();
    ((await tx.exec()) ?? []).forEach(([, raw], k) => {
      const v = parseBucket(raw as string | null, avg);
      if (v !== undefined) out.set(fromHour + k, v);
    });
    return out;
  }

  /** Hourly buckets of one entity and metric over the hourly retention: hour index → value. */
  async readHourly(entity: string, metric: string): Promise<Map<number, number>> {
    const days = await this.knownDays([metric]);
    const to = (days.toDay + 1) * 24;
    const from = to - (this.retention.hourlyRetentionDays + 1) * 24;
    const avg = this.metrics().get(metric)?.aggregation === 'avg';
    const tx = this.redis.multi();
    for (let h = from; h < to; h++) tx.hget(this.keys.hourly(metric, h), entity);
    const res = ((await tx.exec()) ?? []).map(([, v]) => v as string | null);
    const out = new Map<number, number>();
    res.forEach((raw, k) => {
      const v = parseBucket(raw, avg);
      if (v !== undefined) out.set(from + k, v);
    });
    return out;
  }
}

/** 'sum,count' (sum in thousandths) → the bucket's value, or undefined for no data. */
/** The feed counter hash (day → samples of one metric across all entities). */
export function parseFeed(h: Record<string, string> | null | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const [day, count] of Object.entries(h ?? {})) out.set(Number(day), Number(count));
  return out;
}

/** Each entity's day map for one metric in `out` (entity → metric → day → V), created on demand. */
function seriesOf<V>(out: Map<string, Map<string, Map<number, V>>>, entities: readonly string[], metric: string): Map<number, V>[] {
  return entities.map((e) => {
    let byMetric = out.get(e);
    if (!byMetric) out.set(e, (byMetric = new Map()));
    let days = byMetric.get(metric);
    if (!days) byMetric.set(metric, (days = new Map()));
    return days;
  });
}
