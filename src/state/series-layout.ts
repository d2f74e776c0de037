// What both series layouts (LOOKOUT_SERIES_LAYOUT=buckets | compact) implement: apply a job's
// samples, and queue the reads of a set of plans into a transaction, then parse what came back.
// Every reader of stored series goes through SeriesStore, which holds one of them.

import type { Batch } from './client.js';
import type { Sample, SampleRejection } from '../domain/sample.js';

export type SeriesLayoutName = 'buckets' | 'compact';

/** How long series are kept: LOOKOUT_RETENTION_DAYS, LOOKOUT_HOURLY_RETENTION_DAYS. */
export interface RetentionPolicy {
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
}
export const SERIES_LAYOUTS: readonly SeriesLayoutName[] = ['buckets', 'compact'];

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

/** entity → metric → local day → value. */
export type DailyByEntity = Map<string, Map<string, Map<number, number>>>;

/** One stored daily cell: Σ values in thousandths and how many samples (count > 0). */
export interface DailyCell {
  readonly sumMilli: number;
  readonly count: number;
}

/** entity → metric → local day → its stored cell (days without samples absent). */
export type DailyCellsByEntity = Map<string, Map<string, Map<number, DailyCell>>>;

/** entity → metric → local day → its 24 hourly values (NaN: no data in that hour). */
export type HourlyByEntity = Map<string, Map<string, Map<number, Float64Array>>>;

export type Tx = Batch;

/** Reads queued into a transaction: how many results they take, and how to parse them. */
export interface QueuedReads {
  readonly length: number;
  /** Parse `results[at … at + length)` into the two maps. */
  parse(results: readonly unknown[], at: number, daily: DailyByEntity, hourly: HourlyByEntity): void;
}

/** What one layout's apply did. */
export interface LayoutApplyResult {
  /** Chunks applied now (0 when a retried job had applied them all already). */
  readonly chunks: number;
  readonly skippedChunks: number;
  /** Samples the store refused (indexes into the applied samples), e.g. id_window_passed; reported once, when applied. */
  readonly rejected: readonly SampleRejection[];
}

/**
 * The entities an apply marks for judgement. A `live` one (it got a sample of today or yesterday)
 * is stamped `leadMs` (EVAL_MAX_DELAY_MS) before Redis's now: drainers judge it at once, even while
 * they let a backlog of sample jobs go first. A `backfill` one (only older samples) is stamped now,
 * or `backfillLeadMs` before it: it waits the debounce (less that lead), or the backlog. A mark
 * never moves later (ZADD LT).
 */
export interface DirtyMarks {
  readonly live: ReadonlySet<string>;
  readonly backfill: ReadonlySet<string>;
  readonly leadMs: number;
  /**
   * The compact layout's rounds only: for a backfill round that began once its producer had gone
   * quiet (apply-rounds.ts Gather), how long it had been quiet, up to the drainers' debounce: that
   * wait for more of the backfill counts towards the debounce. Default 0.
   */
  readonly backfillLeadMs?: number;
}

export interface SeriesLayout {
  /** Apply validated samples; `jobId` makes a retried job a no-op per chunk; the `dirty` entities join the dirty set. */
  apply(jobId: string, samples: readonly Sample[], now: number, dirty: DirtyMarks): Promise<LayoutApplyResult>;
  /** Queue the reads into `tx` (a MULTI). */
  queueReads(tx: Tx, daily: readonly DailyRead[], hourly: readonly HourlyRead[]): QueuedReads;
  /** The stored daily cells (sum and count, whatever the metric's aggregation) of these reads. */
  readDailyCells(daily: readonly DailyRead[]): Promise<DailyCellsByEntity>;
}

/** Each entity's day map for one metric in `out` (entity → metric → day → V), created on demand. */
export function seriesOf<V>(out: Map<string, Map<string, Map<number, V>>>, entities: readonly string[], metric: string): Map<number, V>[] {
  return entities.map((e) => {
    let byMetric = out.get(e);
    if (!byMetric) out.set(e, (byMetric = new Map()));
    let days = byMetric.get(metric);
    if (!days) byMetric.set(metric, (days = new Map()));
    return days;
  });
}

/** Put one hourly value into a day map of 24-slot rows. */
export function setHourly(series: Map<number, Float64Array>, hour: number, value: number): void {
  const day = Math.floor(hour / 24);
  let row = series.get(day);
  if (!row) series.set(day, (row = new Float64Array(24).fill(NaN)));
  row[hour - day * 24] = value;
}
