// The shared judging loop of every kind: which days are judged, `for` confirmation, the live
// window, and the Verdict built from a day's outcome. Kinds only say what one day looks like.

import type { Verdict } from '../domain/alert.js';
import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import type { Rule, Severity } from '../domain/rule.js';
import { severityRank } from '../domain/rule.js';
import { isLiveOn } from './scope.js';
import type { EvalContext } from './types.js';
import type { DailySeries, EntityHourly, EntitySeries } from '../domain/series.js';

/** Why a rule could not judge. `guard` and `not_live` resolve an open alert; the rest keep it. */
export type SkipReason = 'no_data' | 'no_baseline' | 'guard' | 'not_live';

/** What a rule concluded about one day. */
export interface DayOutcome {
  readonly severity: Severity | null;
  readonly notify: boolean;
  readonly value?: number;
  readonly baseline?: number;
  readonly measure?: number;
  readonly p?: number;
  readonly summary: string;
}

/** Judge one day; `partial` marks today's incomplete day. */
export type DayJudge = (day: number, partial: boolean) => DayOutcome | SkipReason;

export type Judgement = { readonly verdict: Verdict } | { readonly skip: SkipReason; readonly summary: string };

/** A day a rule judges: a complete day, or today's partial day. */
export interface Anchor {
  readonly day: number;
  readonly partial: boolean;
}

/** Everything a kind evaluator gets. `open` is the severity of the rule's open alert, if any. */
export interface KindInput<R extends Rule> {
  readonly rule: R;
  readonly entity: Entity;
  readonly series: EntitySeries;
  /** Hourly series of the entity (read for intraday rules only). */
  readonly hourly?: EntityHourly;
  readonly ctx: EvalContext;
  readonly open?: Severity;
}

const EMPTY: DailySeries = new Map();

/** The rule metric's daily series (empty when the entity never reported it). */
export function metricSeries(series: EntitySeries, metric: string): DailySeries {
  return series.get(metric) ?? EMPTY;
}

/** The latest day before `before` that has data (a key present, even with value 0). */
export function latestDayWithData(s: DailySeries, before: number): number | undefined {
  let best: number | undefined;
  for (const d of s.keys()) if (d < before && (best === undefined || d > best)) best = d;
  return best;
}

/**
 * Days a daily rule judges: J, the latest complete day with data; plus, for rules that fire on
 * a rise (`above`, `spike`), today's partial day when it has data.
 */
export function dailyAnchors(s: DailySeries, ctx: EvalContext, withPartial: boolean): Anchor[] {
  const out: Anchor[] = [];
  const j = latestDayWithData(s, ctx.today);
  if (j !== undefined) out.push({ day: j, partial: false });
  if (withPartial && s.has(ctx.today)) out.push({ day: ctx.today, partial: true });
  return out;
}

const SKIP_PRIORITY: readonly SkipReason[] = ['guard', 'not_live', 'no_baseline', 'no_data'];

const SKIP_SUMMARY: Readonly<Record<SkipReason, string>> = {
  guard: '基线低于最小基线，不再判断',
  not_live: '不在活动期内，不再判断',
  no_baseline: '历史数据不足，无法计算基线',
  no_data: '无数据',
};

function isOutcome(r: DayOutcome | SkipReason): r is DayOutcome {
  return typeof r !== 'string';
}

/**
 * Judge the anchors (the most severe outcome wins; on a tie the complete day), then confirm
 * with `for`: the condition must hold on each of the `for` consecutive days ending at the anchor.
 */
export function judgeAnchors(rule: Rule, entity: Entity, anchors: readonly Anchor[], judge: DayJudge, today: number): Judgement {
  // Live rules judge days inside [start, end]; once yesterday is past `end` the campaign has
  // left its window, so even its last days are no longer judged and open alerts resolve.
  const judgeable = (day: number): boolean => isLiveOn(entity, day) && (day >= today - 1 || isLiveOn(entity, today - 1));
  const live: DayJudge = rule.scope.liveWindow ? (day, partial) => (judgeable(day) ? judge(day, partial) : 'not_live') : judge;
  if (anchors.length === 0) return { skip: 'no_data', summary: SKIP_SUMMARY.no_data };

  let best: { anchor: Anchor; outcome: DayOutcome } | undefined;
  const skips: SkipReason[] = [];
  for (const anchor of anchors) {
    const r = live(anchor.day, anchor.partial);
    if (!isOutcome(r)) {
      skips.push(r);
      continue;
    }
    if (!best || severityRank(r.severity) > severityRank(best.outcome.severity)) best = { anchor, outcome: r };
  }
  if (!best) {
    const reason = SKIP_PRIORITY.find((s) => skips.includes(s)) ?? 'no_data';
    return { skip: reason, summary: SKIP_SUMMARY[reason] };
  }

  const { anchor, outcome } = best;
  let confirmed = outcome.severity !== null;
  for (let i = 1; confirmed && i < rule.for; i++) {
    const r = live(anchor.day - i, false);
    confirmed = isOutcome(r) && r.severity !== null;
  }
  return { verdict: toVerdict(rule, entity, anchor.day, outcome, confirmed) };
}

// Calendar.isoDay builds a Date; verdicts of one evaluation share a handful of days.
const isoCache = new Map<number, string>();
function isoDay(day: number): string {
  let iso = isoCache.get(day);
  if (iso === undefined) {
    if (isoCache.size > 4096) isoCache.clear();
    iso = Calendar.isoDay(day);
    isoCache.set(day, iso);
  }
  return iso;
}

export function toVerdict(rule: Rule, entity: Entity, day: number, o: DayOutcome, confirmed: boolean): Verdict {
  return {
    rule: rule.id,
    entity: entity.id,
    severity: o.severity,
    confirmed: o.severity !== null && confirmed,
    period: isoDay(day),
    value: o.value,
    baseline: o.baseline,
    measure: o.measure,
    p: o.p,
    notify: o.severity === null ? true : o.notify,
    summary: o.summary,
  };
}

/** The verdict that resolves an open alert whose rule can no longer judge (guard, live window). */
export function resolveVerdict(rule: Rule, entity: Entity, day: number, summary: string): Verdict {
  return toVerdict(rule, entity, day, { severity: null, notify: true, summary }, false);
}
