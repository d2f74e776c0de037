// Reads of the daily cells the worker keeps (through the series layout in use, as SeriesStore
// reads them) for many entities and a bounded range of days at once: campaign figures, the halls'
// ranking, and whether a day's export arrived (the feed counters).

import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';
import { bucketValue, MILLI } from '../domain/bucket.js';
import type { DailyCellSource } from './daily-cells.js';

/** entity → metric → local day → value (absent: no data that day). */
export type DailyValues = Map<string, Map<string, Map<number, number>>>;

/** One entity's Σ values (in units), number of samples, and days with samples over a range. */
export interface RangeTotals {
  readonly sum: number;
  readonly count: number;
  readonly days: number;
}

export interface DailyReads {
  /** Daily values of summed metrics for several entities over [fromDay, toDay]. */
  readDays(entities: readonly string[], metrics: readonly string[], fromDay: number, toDay: number): Promise<DailyValues>;
  /** True when samples of any of `metrics` arrived for `day` (that day's export is in). */
  arrived(day: number, metrics: readonly string[]): Promise<boolean>;
  /** Each entity's Σ, count and days with samples of `metric` over [fromDay, toDay]; entities without any are absent. */
  totals(entities: readonly string[], metric: string, fromDay: number, toDay: number): Promise<Map<string, RangeTotals>>;
}

export class RedisDailyReads implements DailyReads {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    /** The daily cells of the layout in use (daily-cells.ts dailyCellsFor). */
    private readonly cells: DailyCellSource,
  ) {}

  /** Values of summed metrics: each day's Σ, read in one pipeline. */
  async readDays(entities: readonly string[], metrics: readonly string[], fromDay: number, toDay: number): Promise<DailyValues> {
    const out: DailyValues = new Map();
    for (const e of entities) out.set(e, new Map(metrics.map((m) => [m, new Map<number, number>()])));
    if (!entities.length || !metrics.length || toDay < fromDay) return out;
    const cells = await this.cells.readDailyCells(metrics.map((metric) => ({ metric, entities, fromDay, toDay })));
    for (const e of entities) {
      for (const m of metrics) {
        const days = out.get(e)!.get(m)!;
        for (const [d, c] of cells.get(e)?.get(m) ?? []) days.set(d, bucketValue(c.sumMilli, c.count, false)!);
      }
    }
    return out;
  }

  async arrived(day: number, metrics: readonly string[]): Promise<boolean> {
    const p = this.redis.pipeline();
    for (const m of metrics) p.hget(this.keys.feed(m), String(day));
    const res = (await p.exec()) ?? [];
    return res.some(([, v]) => Number(v ?? 0) > 0);
  }

  async totals(entities: readonly string[], metric: string, fromDay: number, toDay: number): Promise<Map<string, RangeTotals>> {
    const out = new Map<string, RangeTotals>();
    if (!entities.length || toDay < fromDay) return out;
    const cells = await this.cells.readDailyCells([{ metric, entities, fromDay, toDay }]);
    for (const e of entities) {
      let sumMilli = 0;
      let count = 0;
      let days = 0;
      for (const c of cells.get(e)?.get(metric)?.values() ?? []) {
        sumMilli += c.sumMilli;
        count += c.count;
        days += 1;
      }
      if (days) out.set(e, { sum: sumMilli / MILLI, count, days });
    }
    return out;
  }
}
