// Reads of the daily buckets the worker keeps (the same buckets SeriesStore.readDaily reads) for
// many entities and a bounded range of days at once: campaign figures, the halls' ranking, and
// whether a day's export arrived (the feed counters).

import type { Redis } from 'ioredis';
import type { Keyspace } from './keys.js';
import { decodeBucket, parseBucket } from '../domain/bucket.js';

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
    private readonly redis: Redis,
    private readonly keys: Keyspace,
  ) {}

  /** One HMGET per (metric, day), in one pipeline. */
  async readDays(entities: readonly string[], metrics: readonly string[], fromDay: number, toDay: number): Promise<DailyValues> {
    const out: DailyValues = new Map();
    for (const e of entities) out.set(e, new Map(metrics.map((m) => [m, new Map<number, number>()])));
    if (!entities.length || !metrics.length || toDay < fromDay) return out;
    const p = this.redis.pipeline();
    for (const m of metrics) for (let d = fromDay; d <= toDay; d++) p.hmget(this.keys.daily(m, d), ...entities);
    const res = (await p.exec()) ?? [];
    let k = 0;
    for (const m of metrics) {
      for (let d = fromDay; d <= toDay; d++) {
        const [err, vals] = res[k++] ?? [null, []];
        if (err) throw err;
        (vals as (string | null)[]).forEach((raw, j) => {
          const v = parseBucket(raw, false);
          if (v !== undefined) out.get(entities[j]!)!.get(m)!.set(d, v);
        });
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
    const out = new Map<string, { sum: number; count: number; days: number }>();
    if (!entities.length || toDay < fromDay) return out;
    const p = this.redis.pipeline();
    for (let d = fromDay; d <= toDay; d++) p.hmget(this.keys.daily(metric, d), ...entities);
    const res = (await p.exec()) ?? [];
    for (const [err, values] of res) {
      if (err) throw err;
      (values as (string | null)[]).forEach((raw, j) => {
        const b = decodeBucket(raw);
        if (!b) return;
        const id = entities[j]!;
        const t = out.get(id) ?? { sum: 0, count: 0, days: 0 };
        t.sum += b.sum;
        t.count += b.count;
        t.days += 1;
        out.set(id, t);
      });
    }
    return out;
  }
}
