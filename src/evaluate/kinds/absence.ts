// absence: no samples of a metric for `days` complete days, from an entity that used to report.
// Entities that never reported the metric (inside the history given) are not "absent".

import { Calendar } from '../../domain/clock.js';
import type { AbsenceRule } from '../../domain/rule.js';
import type { DayJudge, Judgement, KindInput } from '../judge.js';
import { judgeAnchors, latestDayWithData, metricSeries } from '../judge.js';
import { metricTitle } from '../summary.js';

/** A day is delivered when its sample count reaches half the median of the 7 days before it. */
export function feedDelivered(feed: ReadonlyMap<number, number> | undefined, day: number): boolean {
  if (!feed) return true;
  const count = feed.get(day) ?? 0;
  if (count <= 0) return false;
  const before: number[] = [];
  for (let d = day - 7; d < day; d++) {
    const c = feed.get(d);
    if (c) before.push(c);
  }
  if (!before.length) return true;
  before.sort((a, b) => a - b);
  const mid = before.length >> 1;
  const median = before.length % 2 ? before[mid]! : (before[mid - 1]! + before[mid]!) / 2;
  return count >= median / 2;
}

export function evaluateAbsence({ rule, entity, series, ctx }: KindInput<AbsenceRule>): Judgement {
  const s = metricSeries(series, rule.metric);
  const title = metricTitle(rule.metric);
  const judge: DayJudge = (day, partial) => {
    // Data today (even a partial day) ends the silence at once.
    if (partial) return { severity: null, notify: true, value: 0, summary: `${title} 今日已恢复上报` };
    const first = day - rule.days + 1;
    for (let d = first; d <= day; d++) {
      if (s.has(d)) return { severity: null, notify: true, value: 0, summary: `${title} 正常上报` };
    }
    const last = latestDayWithData(s, first);
    if (last === undefined) return 'no_data';
    // Silence counts only on days the feed delivered (not a stalled feed, not a backfill).
    for (let d = first; d <= day; d++) if (!feedDelivered(ctx.feed?.get(rule.metric), d)) return 'no_data';
    const silent = day - last;
    return {
      severity: rule.severity,
      notify: true,
      value: silent,
      summary: `${title} 已连续 ${silent} 天无数据（最后一次 ${Calendar.isoDay(last)}）`,
    };
  };
  const anchor = s.has(ctx.today) ? { day: ctx.today, partial: true } : { day: ctx.today - 1, partial: false };
  return judgeAnchors(rule, entity, [anchor], judge, ctx.today);
}
