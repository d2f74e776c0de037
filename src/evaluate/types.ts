import type { Calendar } from '../domain/clock.js';

/** Daily buckets of one metric for one entity: local day index → value (sum, or mean for gauges). */
export type DailySeries = ReadonlyMap<number, number>;

/** Everything stored for one entity that rules may read: metric → daily series. */
export type EntitySeries = ReadonlyMap<string, DailySeries>;

export interface EvalContext {
  /** Evaluation instant (epoch ms), injected. */
  readonly now: number;
  /** Local day index of `now`; days before it are complete. */
  readonly today: number;
  readonly calendar: Calendar;
  /**
   * The latest day the scheduler has closed. Absence may only fire on a closed day: samples of
   * a backfill still catching up must not read as silence. Undefined: absence can only resolve.
   */
  readonly closedThrough?: number;
}
