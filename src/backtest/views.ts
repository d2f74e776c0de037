// The evaluators read ReadonlyMaps: DailySeries (day → value) and HourlySeries (day → its 24
// hourly values). The live worker builds them from Redis for each judgement; a replay of a year
// would build hundreds of millions of Map entries that way. These views answer the same
// questions straight from the columns, over the window the live worker would have read, with
// no copying: moving to the next day only moves the window.

import type { DailySeries, HourlySeries } from '../domain/series.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import { bucketValue } from '../domain/bucket.js';
import type { ColumnsSnapshot } from './columns.js';

/** One entity's metric by local day, as parseDailyReads (src/state/series-store.ts) returns it. */
export class DailyView implements DailySeries {
  private lo = 0;
  private hi = -1;

  /** `series`: the series index (−1: the entity never reported the metric). */
  constructor(
    private readonly cols: ColumnsSnapshot,
    private readonly series: number,
    private readonly avg: boolean,
  ) {}

  /** Show the days [lo, hi] (both included), as a live read of fromDay..toDay would. */
  window(lo: number, hi: number): void {
    this.lo = lo;
    this.hi = hi;
  }

  get(day: number): number | undefined {
    if (day < this.lo || day > this.hi || this.series < 0) return undefined;
    const c = this.cols.columns[day - this.cols.base];
    if (c === undefined) return undefined;
    // The same arithmetic as a Redis bucket read (domain/bucket.ts).
    return bucketValue(c.sums[this.series]!, c.counts[this.series]!, this.avg);
  }

  has(day: number): boolean {
    if (day < this.lo || day > this.hi || this.series < 0) return false;
    const c = this.cols.columns[day - this.cols.base];
    return c !== undefined && c.counts[this.series]! > 0;
  }

  private days(): number[] {
    const out: number[] = [];
    if (this.series < 0) return out;
    const lo = Math.max(this.lo, this.cols.base);
    const hi = Math.min(this.hi, this.cols.base + this.cols.columns.length - 1);
    for (let d = lo; d <= hi; d++) {
      const c = this.cols.columns[d - this.cols.base];
      if (c !== undefined && c.counts[this.series]! > 0) out.push(d);
    }
    return out;
  }

  get size(): number {
    return this.days().length;
  }

  /** Days with data, oldest first (the order the live reader inserts them in). */
  keys(): MapIterator<number> {
    return this.days().values();
  }

  values(): MapIterator<number> {
    return this.days()
      .map((d) => this.get(d)!)
      .values();
  }

  entries(): MapIterator<[number, number]> {
    return this.days()
      .map((d): [number, number] => [d, this.get(d)!])
      .values();
  }

  [Symbol.iterator](): MapIterator<[number, number]> {
    return this.entries();
  }

  forEach(fn: (value: number, key: number, map: ReadonlyMap<number, number>) => void, thisArg?: unknown): void {
    for (const d of this.days()) fn.call(thisArg, this.get(d)!, d, this);
  }
}

/**
 * One entity's metric by local hour, as parseHourlyReads returns it: day → 24 values (NaN: no
 * data that hour), only days with data in the window of hours [fromHour, toHour].
 *
 * Today's partial day (`partialDay`) is shown only for a series fed by the hour — one with
 * samples in at least two different hours of some day. A series of daily exports (one sample a
 * day, stamped at midnight or at any one hour) arrives after each day is over, so a live
 * evaluation during the day would not have seen that day's sample.
 */
export class HourlyView implements HourlySeries {
  private fromHour = 0;
  private toHour = -1;
  private partialDay = NaN;
  private fedByHour: boolean | undefined;

  constructor(
    private readonly cols: ColumnsSnapshot,
    private readonly series: number,
    private readonly avg: boolean,
  ) {}

  /** Some day of the series has samples in two or more different hours. */
  get hourlyFeed(): boolean {
    if (this.fedByHour === undefined) {
      this.fedByHour = false;
      for (let i = 0; i < this.cols.columns.length && !this.fedByHour; i++) this.fedByHour = this.hoursWithData(this.cols.base + i) >= 2;
    }
    return this.fedByHour;
  }

  window(fromHour: number, toHour: number, partialDay: number): void {
    this.fromHour = fromHour;
    this.toHour = toHour;
    this.partialDay = partialDay;
  }

  /** True when hour `hourOfDay` (0–23) of `day` has samples (whatever the window). */
  hasHour(day: number, hourOfDay: number): boolean {
    if (this.series < 0) return false;
    const c = this.cols.columns[day - this.cols.base];
    return c !== undefined && c.counts[this.series * HOURS_PER_DAY + hourOfDay]! > 0;
  }

  /** Hours of `day` with samples (the whole day, whatever the window). */
  hoursWithData(day: number): number {
    if (this.series < 0) return 0;
    const c = this.cols.columns[day - this.cols.base];
    if (c === undefined) return 0;
    let n = 0;
    const at = this.series * HOURS_PER_DAY;
    for (let h = 0; h < HOURS_PER_DAY; h++) if (c.counts[at + h]! > 0) n++;
    return n;
  }

  get(day: number): Float64Array | undefined {
    if (this.series < 0) return undefined;
    const first = Math.max(day * HOURS_PER_DAY, this.fromHour);
    const last = Math.min(day * HOURS_PER_DAY + HOURS_PER_DAY - 1, this.toHour);
    if (first > last) return undefined;
    const c = this.cols.columns[day - this.cols.base];
    if (c === undefined) return undefined;
    if (day === this.partialDay && !this.hourlyFeed) return undefined;
    const at = this.series * HOURS_PER_DAY;
    let row: Float64Array | undefined;
    for (let h = first - day * HOURS_PER_DAY; h <= last - day * HOURS_PER_DAY; h++) {
      const v = bucketValue(c.sums[at + h]!, c.counts[at + h]!, this.avg);
      if (v === undefined) continue;
      row ??= new Float64Array(HOURS_PER_DAY).fill(NaN);
      row[h] = v;
    }
    return row;
  }

  has(day: number): boolean {
    return this.get(day) !== undefined;
  }

  private days(): number[] {
    const out: number[] = [];
    for (let d = Math.floor(this.fromHour / HOURS_PER_DAY); d <= Math.floor(this.toHour / HOURS_PER_DAY); d++) if (this.has(d)) out.push(d);
    return out;
  }

  get size(): number {
    return this.days().length;
  }

  keys(): MapIterator<number> {
    return this.days().values();
  }

  values(): MapIterator<Float64Array> {
    return this.days()
      .map((d) => this.get(d)!)
      .values();
  }

  entries(): MapIterator<[number, Float64Array]> {
    return this.days()
      .map((d): [number, Float64Array] => [d, this.get(d)!])
      .values();
  }

  [Symbol.iterator](): MapIterator<[number, Float64Array]> {
    return this.entries();
  }

  forEach(fn: (value: Float64Array, key: number, map: ReadonlyMap<number, ArrayLike<number>>) => void, thisArg?: unknown): void {
    for (const d of this.days()) fn.call(thisArg, this.get(d)!, d, this);
  }
}
