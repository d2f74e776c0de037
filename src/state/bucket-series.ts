// The buckets layout (LOOKOUT_SERIES_LAYOUT=buckets, the default): daily and hourly buckets keyed
// by (metric, day) and (metric, hour) with entities as fields, sample ids per day (see lua.ts).

import type { RedisClient } from './client.js';
import { parseBucket, toMilli } from '../domain/bucket.js';
import type { Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample } from '../domain/sample.js';
import type { Keyspace } from './keys.js';
import { BucketDailyCells } from './daily-cells.js';
import { APPLY_SAMPLES_LUA } from './lua.js';
import type { RetentionPolicy } from './series-layout.js';
import {
  seriesOf,
  setHourly,
  type DailyByEntity,
  type DailyCellsByEntity,
  type DailyRead,
  type DirtyMarks,
  type HourlyByEntity,
  type HourlyRead,
  type LayoutApplyResult,
  type QueuedReads,
  type SeriesLayout,
  type Tx,
} from './series-layout.js';

/** Samples per EVALSHA call: big enough to amortise the call, small enough not to stall Redis. */
const SAMPLES_PER_CALL = 1000;

export class BucketSeries implements SeriesLayout {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    private readonly metrics: () => MetricCatalogue,
    private readonly retention: RetentionPolicy,
  ) {
    redis.defineCommand('lookoutApply', { numberOfKeys: 0, lua: APPLY_SAMPLES_LUA });
  }

  async apply(jobId: string, samples: readonly Sample[], now: number, dirty: DirtyMarks): Promise<LayoutApplyResult> {
    const today = this.calendar.dayOf(now);
    const minHour = (today - this.retention.hourlyRetentionDays) * 24;
    const catalogue = this.metrics();
    const head = [String(this.retention.retentionDays), String(this.retention.hourlyRetentionDays), String(minHour), String(now)];

    // Chunks are cut deterministically from the job's samples, so a retry names the same chunks.
    // Inside a chunk, samples are grouped by (metric, day): the script then builds each key once.
    const pipeline = this.redis.pipeline();
    let chunks = 0;
    const dirtySet = new Set([...dirty.live, ...dirty.backfill]);
    for (let c = 0; c < samples.length; c += SAMPLES_PER_CALL) {
      const end = Math.min(samples.length, c + SAMPLES_PER_CALL);
      const groups = new Map<string, string[]>();
      const live: string[] = [];
      const marked: string[] = [];
      for (let i = c; i < end; i++) {
        const s = samples[i]!;
        const day = this.calendar.dayOf(s.ts);
        const key = `${s.metric}\u0000${day}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push(s.entity, String(this.calendar.hourOf(s.ts)), String(toMilli(s.value)), s.id ?? '');
        if (dirtySet.delete(s.entity)) (dirty.live.has(s.entity) ? live : marked).push(s.entity);
      }
      const args = [this.keys.prefix, this.keys.chunk(jobId, chunks++), ...head, String(live.length + marked.length), String(live.length), String(dirty.leadMs), ...live, ...marked];
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
    return { chunks: applied, skippedChunks: chunks - applied, rejected: [] };
  }

  queueReads(tx: Tx, daily: readonly DailyRead[], hourly: readonly HourlyRead[]): QueuedReads {
    let length = 0;
    for (const r of daily) {
      for (let d = r.fromDay; d <= r.toDay; d++) tx.hmget(this.keys.daily(r.metric, d), ...r.entities);
      length += Math.max(0, r.toDay - r.fromDay + 1);
    }
    for (const r of hourly) {
      for (let h = r.fromHour; h <= r.toHour; h++) tx.hmget(this.keys.hourly(r.metric, h), ...r.entities);
      length += Math.max(0, r.toHour - r.fromHour + 1);
    }
    return {
      length,
      parse: (results, at, dailyOut, hourlyOut) => {
        let k = at;
        for (const r of daily) k = this.parseDaily(r, results, k, dailyOut);
        for (const r of hourly) k = this.parseHourly(r, results, k, hourlyOut);
      },
    };
  }

  readDailyCells(daily: readonly DailyRead[]): Promise<DailyCellsByEntity> {
    return new BucketDailyCells(this.redis, this.keys).readDailyCells(daily);
  }

  private avg(metric: string): boolean {
    return this.metrics().get(metric)?.aggregation === 'avg';
  }

  private parseDaily(r: DailyRead, results: readonly unknown[], k: number, out: DailyByEntity): number {
    const avg = this.avg(r.metric);
    const series = seriesOf(out, r.entities, r.metric);
    for (let d = r.fromDay; d <= r.toDay; d++) {
      const buckets = (results[k++] ?? []) as (string | null)[];
      for (let j = 0; j < series.length; j++) {
        const v = parseBucket(buckets[j], avg);
        if (v !== undefined) series[j]!.set(d, v);
      }
    }
    return k;
  }

  private parseHourly(r: HourlyRead, results: readonly unknown[], k: number, out: HourlyByEntity): number {
    const avg = this.avg(r.metric);
    const series = seriesOf(out, r.entities, r.metric);
    for (let h = r.fromHour; h <= r.toHour; h++) {
      const buckets = (results[k++] ?? []) as (string | null)[];
      for (let j = 0; j < series.length; j++) {
        const v = parseBucket(buckets[j], avg);
        if (v !== undefined) setHourly(series[j]!, h, v);
      }
    }
    return k;
  }
}
