// Reads of campaign figures from the daily buckets the worker keeps (the same buckets
// SeriesStore.readDaily reads), for a bounded range of days and many campaigns at once.

import type { Redis } from 'ioredis';
import type { Keyspace } from '../queues/names.js';
import { parseBucket } from '../domain/bucket.js';
import { CATEGORY_METRICS } from '../domain/complaints.js';

/** The figures a campaign export carries (SPEC §4 metric names). */
export const CAMPAIGN_METRICS = ['enrollments', 'complaints', 'unsubscribes'] as const;
export type CampaignMetric = (typeof CAMPAIGN_METRICS)[number];

/** entity → metric → local day → value (absent: no data that day). */
export type DailyValues = Map<string, Map<string, Map<number, number>>>;

/** Daily values of summed metrics for several entities over [fromDay, toDay]: one HMGET per (metric, day). */
export async function readDays(redis: Redis, keys: Keyspace, entities: readonly string[], metrics: readonly string[], fromDay: number, toDay: number): Promise<DailyValues> {
  const out: DailyValues = new Map();
  for (const e of entities) out.set(e, new Map(metrics.map((m) => [m, new Map<number, number>()])));
  if (!entities.length || !metrics.length || toDay < fromDay) return out;
  const p = redis.pipeline();
  for (const m of metrics) for (let d = fromDay; d <= toDay; d++) p.hmget(keys.daily(m, d), ...entities);
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

/** The metrics a campaign report reads: enrollments, complaints, unsubscribes and the complaint categories. */
export const REPORT_METRICS: readonly string[] = [...CAMPAIGN_METRICS, ...CATEGORY_METRICS];

/** True when samples of any of `metrics` arrived for `day` (the daily export is in). */
export async function exportArrived(redis: Redis, keys: Keyspace, day: number, metrics: readonly string[] = CAMPAIGN_METRICS): Promise<boolean> {
  const p = redis.pipeline();
  for (const m of metrics) p.hget(keys.feed(m), String(day));
  const res = (await p.exec()) ?? [];
  return res.some(([, v]) => Number(v ?? 0) > 0);
}

/** Sum of a day map over [from, to]. */
export function sumDays(days: ReadonlyMap<number, number> | undefined, from: number, to: number): number {
  let s = 0;
  if (!days) return 0;
  for (const [d, v] of days) if (d >= from && d <= to) s += v;
  return s;
}
