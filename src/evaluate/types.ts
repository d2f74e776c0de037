import type { Calendar } from '../domain/clock.js';

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

export interface EvalContext {
  /** Evaluation instant (epoch ms), injected. */
  readonly now: number;
  /** Local day index of `now`; days before it are complete. */
  readonly today: number;
  readonly calendar: Calendar;
  /**
   * Samples received per local day for each metric, across all entities (the feed). Absence
   * fires only for days the feed delivered in normal volume: an outlet silent while the others
   * reported is absent; everyone silent is a stalled feed (or a backfill still catching up),
   * not thousands of absences. Undefined: every day counts as delivered (rule tests).
   */
  readonly feed?: ReadonlyMap<string, ReadonlyMap<number, number>>;
}
