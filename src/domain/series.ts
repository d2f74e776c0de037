// What rules read: an entity's daily and hourly series, and the window of days a read covers.

/** Daily buckets of one metric for one entity: local day index → value (sum, or mean for gauges). */
export type DailySeries = ReadonlyMap<number, number>;

/** Everything stored for one entity that rules may read: metric → daily series. */
export type EntitySeries = ReadonlyMap<string, DailySeries>;

/** Hours in a local day's hourly row (a DST day keeps 24 wall-clock slots). */
export const HOURS_PER_DAY = 24;

/**
 * Hourly buckets of one metric for one entity: local day index → its 24 values by local hour of
 * day (0–23); NaN (or a missing day) is no data, 0 is data.
 */
export type HourlySeries = ReadonlyMap<number, ArrayLike<number>>;

/** The hourly series an evaluation read for one entity (only metrics of intraday rules): metric → hourly series. */
export type EntityHourly = ReadonlyMap<string, HourlySeries>;

/** The first day a read on `today` covers for a metric read `lookback` days back, within the retention. */
export function readFromDay(today: number, retentionDays: number, lookback: number): number {
  return Math.max(today - retentionDays, today - lookback);
}
