// intraday: today's cumulative count up to the current local hour H vs the entity's own expected
// cumulative at H (docs/rules.md, "intraday"), so a dealer collapsing this morning is flagged by late morning
// instead of after midnight.
//
// Expected cumulative at H:  E = s(H) × L
//   L     the level: median of the same weekday's daily values over the last `weeks` weeks
//         (daily buckets, the same baseline as the daily same_weekday_median rule);
//   s(H)  the shape: median over the profile days of c_d(H) / t_d, the share of day d's total
//         sold before H (hourly buckets). Profile days are the same weekday's days in the last
//         `weeks` weeks with hourly data when there are at least `min_points` of them, otherwise
//         every day of those weeks with hourly data (an all-days shape, still scaled by the
//         weekday's own level).
// Evidence: P(X ≤ x) (drop) under a negative binomial with mean E and dispersion
//   φ_H = s·φ_day + (1 − s)·ψ
// where φ_day is the entity's own day-to-day dispersion (the daily machinery of baseline.ts) and ψ
// the over-dispersion of its hour-of-day shape (how far c_d(H) strays from ŝ·t_d beyond a
// binomial split, estimated robustly, leave-one-out, from the profile days). Under a gamma-Poisson
// day with a binomial split of its sales over hours, Var(c(H)) = s·φ_day·E + (1 − s)·E exactly
// this; so the over-dispersion of a partial day shrinks with its expected share of the day.

import type { BaselineSpec, IntradayRule, Level, Severity } from '../../domain/rule.js';
import { baselineAt, dispersionBefore } from '../baseline.js';
import type { DayOutcome, Judgement, KindInput } from '../judge.js';
import { metricSeries, toVerdict } from '../judge.js';
import type { Reach } from '../levels.js';
import { effectiveAt, isHeld, mildestLevel, reaches } from '../levels.js';
import { isLiveOn } from '../scope.js';
import { changeTailP, median, robustDispersion } from '../stats.js';
import { fmtNum, fmtPct, metricTitle } from '../summary.js';
import type { DailySeries, HourlySeries } from '../../domain/series.js';
import { HOURS_PER_DAY } from '../../domain/series.js';

const EMPTY: HourlySeries = new Map();

/** One past day with hourly data: its total and the cumulative counts before each hour. */
export interface ProfileDay {
  readonly day: number;
  /** cum[h] = Σ of hours < h (cum[0] = 0, cum[24] = the day's total). */
  readonly cum: Float64Array;
}

/** Which history the hour-of-day shape came from. */
export type ProfileSource = 'same_weekday' | 'all_days';

/** The expectation for today at hour H, with what the evidence needs. */
export interface IntradayExpectation {
  /** Expected cumulative count before hour H. */
  readonly expected: number;
  /** The same weekday's daily level L. */
  readonly level: number;
  /** Expected share of the day sold before H. */
  readonly share: number;
  readonly source: ProfileSource;
  readonly profileDays: number;
}

/** cum[h] for one day's row (NaN hours are no data: they add nothing); undefined without any data. */
export function cumulative(row: ArrayLike<number> | undefined): Float64Array | undefined {
  if (!row) return undefined;
  const cum = new Float64Array(HOURS_PER_DAY + 1);
  let any = false;
  for (let h = 0; h < HOURS_PER_DAY; h++) {
    const v = row[h];
    const ok = v !== undefined && Number.isFinite(v);
    if (ok) any = true;
    cum[h + 1] = cum[h]! + (ok ? v : 0);
  }
  return any ? cum : undefined;
}

/** True when the row has data in some hour < `hour`. */
export function hasDataBefore(row: ArrayLike<number> | undefined, hour: number): boolean {
  if (!row) return false;
  for (let h = 0; h < Math.min(hour, HOURS_PER_DAY); h++) {
    const v = row[h];
    if (v !== undefined && Number.isFinite(v)) return true;
  }
  return false;
}

/** Past days (the `weeks` weeks before `today`) with hourly data and a positive total. */
export function profileDays(hourly: HourlySeries, today: number, weeks: number): ProfileDay[] {
  const out: ProfileDay[] = [];
  for (let d = today - weeks * 7; d < today; d++) {
    const cum = cumulative(hourly.get(d));
    if (cum && cum[HOURS_PER_DAY]! > 0) out.push({ day: d, cum });
  }
  return out;
}

const sameWeekday = (a: number, b: number): boolean => (((a - b) % 7) + 7) % 7 === 0;

function shareOf(p: ProfileDay, hour: number): number {
  return p.cum[hour]! / p.cum[HOURS_PER_DAY]!;
}

/** The profile days the shape is taken from, and which kind of history they are. */
function shapeDays(days: readonly ProfileDay[], today: number, minPoints: number): { days: ProfileDay[]; source: ProfileSource } | undefined {
  const same = days.filter((p) => sameWeekday(p.day, today));
  if (same.length >= minPoints) return { days: same, source: 'same_weekday' };
  if (days.length >= minPoints) return { days: [...days], source: 'all_days' };
  return undefined;
}

function levelSpec(rule: IntradayRule): BaselineSpec {
  return { method: 'same_weekday_median', days: 14, weeks: rule.baseline.weeks, min: rule.baseline.min, minPoints: rule.baseline.minPoints };
}

/**
 * The expected cumulative count before local hour `hour` of `today`; undefined when the level or
 * the shape has fewer than `min_points` days.
 */
export function expectedCumulative(
  rule: IntradayRule,
  daily: DailySeries,
  days: readonly ProfileDay[],
  today: number,
  hour: number,
): IntradayExpectation | undefined {
  const level = baselineAt(levelSpec(rule), daily, today);
  if (!level) return undefined;
  const shape = shapeDays(days, today, rule.baseline.minPoints);
  if (!shape) return undefined;
  const share = median(shape.days.map((p) => shareOf(p, hour)));
  return { expected: share * level.value, level: level.value, share, source: shape.source, profileDays: shape.days.length };
}

/**
 * ψ: over-dispersion of the hour-of-day split beyond a binomial one. Each profile day's c_d(H)
 * is compared with ŝ·t_d, ŝ the median share of the other days of its group (its weekday for a
 * same-weekday shape, all days otherwise; at least 2 others); the binomial-scaled residuals go
 * through the same robust estimator as the daily dispersion.
 */
export function shapeDispersion(days: readonly ProfileDay[], hour: number, source: ProfileSource): number {
  const residuals: number[] = [];
  for (const p of days) {
    const others = days.filter((o) => o !== p && (source === 'all_days' || sameWeekday(o.day, p.day))).map((o) => shareOf(o, hour));
    if (others.length < 2) continue;
    const s = median(others);
    const t = p.cum[HOURS_PER_DAY]!;
    residuals.push((p.cum[hour]! - s * t) / Math.sqrt(Math.max(t * s * (1 - s), 1)));
  }
  return robustDispersion(residuals);
}

/** The direction in which the measure must reach `at`. */
function reachOf(rule: IntradayRule): Reach {
  return rule.measure === 'ratio' && rule.direction === 'drop' ? 'le' : 'ge';
}

function measureOf(rule: IntradayRule, x: number, e: number): number {
  if (rule.measure === 'ratio') return x / e;
  return ((rule.direction === 'drop' ? e - x : x - e) / e) * 100;
}

function describe(rule: IntradayRule, hour: number, x: number, exp: IntradayExpectation, severity: Severity | null): string {
  const label = exp.source === 'same_weekday' ? '同期同时段' : '预期';
  const change =
    rule.measure === 'ratio'
      ? `为预期的 ${(x / exp.expected).toFixed(1)} 倍`
      : x === exp.expected
        ? '持平'
        : `${x < exp.expected ? '下降' : '上升'} ${fmtPct(Math.abs(((x - exp.expected) / exp.expected) * 100))}`;
  const tail = severity === 'info' ? '（证据不足，仅记录）' : '';
  return `${metricTitle(rule.metric)} 今日截至${hour}时累计 ${fmtNum(x)}，${label} ${fmtNum(exp.expected)}，${change}${tail}`;
}

/** What judging today at one hour needs (shared by the `for` look-backs). */
interface HourContext {
  readonly rule: IntradayRule;
  readonly daily: DailySeries;
  readonly days: readonly ProfileDay[];
  readonly todayRow: ArrayLike<number> | undefined;
  readonly today: number;
  readonly phiDay: () => number;
  readonly open: Severity | undefined;
}

type HourResult = DayOutcome | 'no_data' | 'no_baseline' | 'guard';

/** Judge today's cumulative count before local hour `hour`. */
function judgeHour(c: HourContext, hour: number): HourResult {
  const { rule, open } = c;
  if (!hasDataBefore(c.todayRow, hour)) return 'no_data';
  const exp = expectedCumulative(rule, c.daily, c.days, c.today, hour);
  if (!exp) return 'no_baseline';
  if (exp.expected < rule.baseline.min || !(exp.expected > 0)) return 'guard';
  const x = cumulative(c.todayRow)![hour]!;
  const reach = reachOf(rule);
  const measure = measureOf(rule, x, exp.expected);
  const ev = rule.evidence;
  const meets = (level: Level) => reaches(measure, effectiveAt(level, reach, rule.hysteresis, open), reach);
  const mild = mildestLevel(rule.levels);
  const infoAt = open === 'info' ? effectiveAt(mild, reach, rule.hysteresis, mild.severity) : mild.at;
  const infoCandidate = ev !== undefined && ev.infoP > 0 && reaches(measure, infoAt, reach);
  const outcome = (severity: Severity | null, notify: boolean, p?: number): DayOutcome => ({
    severity,
    notify,
    value: x,
    baseline: exp.expected,
    measure,
    p,
    summary: describe(rule, hour, x, exp, severity),
  });
  if (!infoCandidate && !rule.levels.some(meets)) return outcome(null, true);

  let p: number | undefined;
  if (ev) {
    const psi = shapeDispersion(c.days, hour, exp.source);
    const phi = exp.share * c.phiDay() + (1 - exp.share) * psi;
    p = changeTailP(x, exp.expected, phi, rule.direction);
  }
  // As for change rules: evidence opens (or raises) an alert; a held level needs none to stay.
  const level = rule.levels.find((l) => meets(l) && (p === undefined || p <= ev!.maxP || isHeld(l, open)));
  if (level) return outcome(level.severity, true, p);
  if (infoCandidate && (p! <= ev.infoP || open === 'info')) return outcome('info', false, p);
  return outcome(null, true, p);
}

/**
 * Judge today's partial day at the current local hour H = hour of `ctx.now` (the hours before H
 * are complete; the current one is not counted). Not judged before `from_hour`; `for: N` asks
 * that the condition hold at each of the hours H, H − 1, …, H − N + 1 (all ≥ `from_hour`).
 */
export function evaluateIntraday({ rule, entity, series, hourly, ctx, open }: KindInput<IntradayRule>): Judgement {
  const hour = Math.min(HOURS_PER_DAY, Math.max(0, ctx.calendar.hourOf(ctx.now) - ctx.today * HOURS_PER_DAY));
  if (hour < rule.fromHour) return { skip: 'no_data', summary: `日内判断从${rule.fromHour}时开始` };
  if (rule.scope.liveWindow && !isLiveOn(entity, ctx.today)) return { skip: 'not_live', summary: '不在活动期内，不再判断' };
  const h = hourly?.get(rule.metric) ?? EMPTY;
  const daily = metricSeries(series, rule.metric);
  const ev = rule.evidence;
  let phiDay: number | undefined;
  const c: HourContext = {
    rule,
    daily,
    days: profileDays(h, ctx.today, rule.baseline.weeks),
    todayRow: h.get(ctx.today),
    today: ctx.today,
    // The entity's own day-to-day dispersion, from the complete days before today.
    phiDay: () => (phiDay ??= ev ? dispersionBefore(levelSpec(rule), daily, ctx.today, ev.dispersionDays).phi : 1),
    open,
  };
  const r = judgeHour(c, hour);
  if (typeof r === 'string') {
    const summary = { no_data: '今日暂无分时数据', no_baseline: '分时历史数据不足，无法计算预期', guard: '预期累计低于最小基线，不再判断' }[r];
    return { skip: r, summary };
  }
  let confirmed = r.severity !== null;
  for (let i = 1; confirmed && i < rule.for; i++) {
    const prev = hour - i >= rule.fromHour ? judgeHour(c, hour - i) : 'no_data';
    confirmed = typeof prev !== 'string' && prev.severity !== null;
  }
  return { verdict: toVerdict(rule, entity, ctx.today, r, confirmed) };
}
