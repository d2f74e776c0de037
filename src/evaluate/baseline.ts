// An entity's own baseline for a day, and its own day-to-day variability around that baseline.

import type { BaselineSpec } from '../domain/rule.js';
import { mean, median, robustDispersion } from './stats.js';
import type { DailySeries } from '../domain/series.js';

export interface Baseline {
  readonly value: number;
  /** The history points the baseline was computed from (robust_z uses their spread). */
  readonly points: readonly number[];
}

/** Values of the `days` complete days before `day` that have data. */
export function trailingPoints(series: DailySeries, day: number, days: number): number[] {
  const out: number[] = [];
  for (let d = day - days; d < day; d++) {
    const v = series.get(d);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Values of the same weekday in each of the `weeks` weeks before `day` that have data. */
export function sameWeekdayPoints(series: DailySeries, day: number, weeks: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= weeks; k++) {
    const v = series.get(day - 7 * k);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** The baseline the rule expects for `day`; undefined when fewer than `minPoints` points exist. */
export function baselineAt(spec: BaselineSpec, series: DailySeries, day: number): Baseline | undefined {
  const points =
    spec.method === 'same_weekday_median' ? sameWeekdayPoints(series, day, spec.weeks) : trailingPoints(series, day, spec.days);
  if (points.length === 0 || points.length < spec.minPoints) return undefined;
  const value = spec.method === 'trailing_mean' ? mean(points) : median(points);
  return { value, points };
}

/** How a summary names the baseline: 同期基线 (same weekday), 近14天基线, 近7天均值. */
export function baselineLabel(spec: BaselineSpec): string {
  switch (spec.method) {
    case 'same_weekday_median':
      return '同期基线';
    case 'trailing_median':
      return `近${spec.days}天基线`;
    case 'trailing_mean':
      return `近${spec.days}天均值`;
  }
}

/**
 * Median of an ascending list without one element of value `v`. Only v's side of the middle
 * matters (ties give the same answer), so each day costs O(1) after one sort.
 */
function medianWithout(sorted: Float64Array, v: number): number {
  const n = sorted.length;
  if (n % 2 === 0) {
    const lo = sorted[n / 2 - 1]!;
    return v <= lo ? sorted[n / 2]! : lo;
  }
  const h = (n - 1) / 2;
  const mid = sorted[h]!;
  if (v < mid) return (mid + sorted[h + 1]!) / 2;
  if (v > mid) return (sorted[h - 1]! + mid) / 2;
  return (sorted[h - 1]! + sorted[h + 1]!) / 2;
}

interface Day {
  readonly day: number;
  readonly value: number;
}

/** An observed day and what the baseline method expects for it. */
interface Expected {
  readonly x: number;
  readonly e: number;
}

function expectedSameWeekday(days: readonly Day[]): Expected[] {
  const out: Expected[] = [];
  for (const d of days) {
    const others = days.filter((o) => o.day !== d.day && (o.day - d.day) % 7 === 0).map((o) => o.value);
    if (others.length >= 2) out.push({ x: d.value, e: median(others) });
  }
  return out;
}

function expectedTrailing(days: readonly Day[], method: 'trailing_mean' | 'trailing_median'): Expected[] {
  if (days.length < 4) return [];
  if (method === 'trailing_mean') {
    const total = days.reduce((s, d) => s + d.value, 0);
    return days.map((d) => ({ x: d.value, e: (total - d.value) / (days.length - 1) }));
  }
  const sorted = Float64Array.from(days, (d) => d.value).sort();
  return days.map((d) => ({ x: d.value, e: medianWithout(sorted, d.value) }));
}

/**
 * The entity's own over-dispersion φ (Var = φ·μ) over the `days` complete days before
 * `endExclusive`: each day is compared with what the rule's baseline method expects for it
 * from the other days of the window (leave-one-out, so the baseline's own uncertainty is
 * part of the noise), and φ is a robust variance of the Pearson residuals (x − e)/√e.
 */
export function dispersionBefore(
  spec: BaselineSpec,
  series: DailySeries,
  endExclusive: number,
  days: number,
): { readonly phi: number; readonly points: number } {
  const window: Day[] = [];
  for (let d = endExclusive - days; d < endExclusive; d++) {
    const v = series.get(d);
    if (v !== undefined) window.push({ day: d, value: v });
  }
  const expected = spec.method === 'same_weekday_median' ? expectedSameWeekday(window) : expectedTrailing(window, spec.method);
  const residuals = expected.map(({ x, e }) => (x - e) / Math.sqrt(Math.max(e, 1)));
  return { phi: robustDispersion(residuals), points: residuals.length };
}
