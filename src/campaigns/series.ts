// The metrics campaign figures are read from (state/daily-reads.ts reads the daily buckets), and
// whether a day's campaign export arrived.

import { CATEGORY_METRICS } from '../domain/complaints.js';
import type { DailyReads } from '../state/daily-reads.js';

export type { DailyValues } from '../state/daily-reads.js';

/** The figures a campaign export carries (metrics of the built-in catalogue). */
export const CAMPAIGN_METRICS = ['enrollments', 'complaints', 'unsubscribes'] as const;
export type CampaignMetric = (typeof CAMPAIGN_METRICS)[number];

/** The metrics a campaign report reads: enrollments, complaints, unsubscribes and the complaint categories. */
export const REPORT_METRICS: readonly string[] = [...CAMPAIGN_METRICS, ...CATEGORY_METRICS];

/** True when samples of any of `metrics` arrived for `day` (the daily export is in). */
export function exportArrived(days: Pick<DailyReads, 'arrived'>, day: number, metrics: readonly string[] = CAMPAIGN_METRICS): Promise<boolean> {
  return days.arrived(day, metrics);
}

/** Sum of a day map over [from, to]. */
export function sumDays(days: ReadonlyMap<number, number> | undefined, from: number, to: number): number {
  let s = 0;
  if (!days) return 0;
  for (const [d, v] of days) if (d >= from && d <= to) s += v;
  return s;
}
