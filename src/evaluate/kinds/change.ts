// change: a drop or spike vs the entity's own baseline, backed by evidence (docs/rules.md, "Evidence").
// A level is met when the measure (percent, robust z or ratio) reaches `at` AND the observation
// is unlikely under the entity's own over-dispersed count model (p ≤ max_p). Small volumes
// also judge the sums of the last 2..k days, Bonferroni-corrected for the k windows tried.

import type { ChangeRule, Level, Severity } from '../../domain/rule.js';
import { severityRank } from '../../domain/rule.js';
import type { Baseline } from '../baseline.js';
import { baselineAt, baselineLabel, dispersionBefore } from '../baseline.js';
import type { DayJudge, DayOutcome, Judgement, KindInput } from '../judge.js';
import { dailyAnchors, judgeAnchors, metricSeries } from '../judge.js';
import type { Reach } from '../levels.js';
import { effectiveAt, isHeld, mildestLevel, reaches } from '../levels.js';
import { changeTailP, robustSd } from '../stats.js';
import { fmtNum, fmtPct, metricTitle, windowPrefix } from '../summary.js';
import type { DailySeries } from '../../domain/series.js';

/** One judged window: the sum of `days` days ending at the judged day and its baseline sum. */
interface Window {
  readonly days: number;
  readonly x: number;
  readonly b: number;
}

interface WindowResult extends Window {
  readonly measure: number;
  readonly p?: number;
  readonly severity: Severity | null;
  readonly notify: boolean;
}

/** The direction in which the measure must reach `at`. */
function reachOf(rule: ChangeRule): Reach {
  return rule.measure === 'ratio' && rule.direction === 'drop' ? 'le' : 'ge';
}

/** percent: change in % of the baseline; robust_z: change in robust SDs; ratio: x / b. */
function measureOf(rule: ChangeRule, w: Window, base: Baseline): number {
  const delta = rule.direction === 'drop' ? w.b - w.x : w.x - w.b;
  switch (rule.measure) {
    case 'percent':
      return (delta / w.b) * 100;
    case 'ratio':
      return w.x / w.b;
    case 'robust_z': {
      // A perfectly flat history has MAD 0: floor the scale at the Poisson noise √b.
      const perDay = Math.max(robustSd(base.points), Math.sqrt(base.value));
      return delta / (perDay * Math.sqrt(w.days));
    }
  }
}

/** The windows a day is judged on: the day itself, then sums of 2..k days that all have data. */
function windowsAt(
  rule: ChangeRule,
  s: DailySeries,
  baseline: (day: number) => Baseline | undefined,
  day: number,
  x0: number,
  b0: number,
  partial: boolean,
): Window[] {
  const out: Window[] = [{ days: 1, x: x0, b: b0 }];
  const k = partial ? 1 : (rule.evidence?.accumulateDays ?? 1);
  let x = x0;
  let b = b0;
  for (let m = 2; m <= k; m++) {
    const d = day - m + 1;
    const xd = s.get(d);
    const bd = baseline(d)?.value;
    if (xd === undefined || bd === undefined || !(bd > 0)) break;
    x += xd;
    b += bd;
    out.push({ days: m, x, b });
  }
  return out;
}

/**
 * φ for a sum of m days. Consecutive days share (almost) the same trailing baseline, so its
 * estimation error adds up m times instead of √m times: Var(ΣX − ΣB) gains m(m−1)·v_b, where
 * v_b is the variance of the baseline (π/2·s²/n for a median, s²/n for a mean, s the robust SD
 * of its points). Same-weekday baselines of consecutive days use different days: no correction.
 */
function windowDispersion(rule: ChangeRule, phi: number, w: Window, base: Baseline): number {
  if (w.days === 1 || rule.baseline.method === 'same_weekday_median' || base.points.length === 0) return phi;
  const s = robustSd(base.points);
  const vb = ((rule.baseline.method === 'trailing_median' ? Math.PI / 2 : 1) * s * s) / base.points.length;
  return phi + ((w.days - 1) * vb) / base.value;
}

/** What judging a window needs besides the window; φ is computed only when evidence is needed. */
interface WindowContext {
  readonly rule: ChangeRule;
  readonly base: Baseline;
  readonly phi: () => number;
  readonly tests: number;
  readonly open: Severity | undefined;
}

function result(w: Window, measure: number, p: number | undefined, severity: Severity | null, notify: boolean): WindowResult {
  return { days: w.days, x: w.x, b: w.b, measure, p, severity, notify };
}

function judgeWindow(w: Window, { rule, base, phi, tests, open }: WindowContext): WindowResult {
  const reach = reachOf(rule);
  const measure = measureOf(rule, w, base);
  const ev = rule.evidence;
  const meets = (level: Level) => reaches(measure, effectiveAt(level, reach, rule.hysteresis, open), reach);
  const mild = mildestLevel(rule.levels);
  const infoAt = open === 'info' ? effectiveAt(mild, reach, rule.hysteresis, mild.severity) : mild.at;
  const infoCandidate = ev !== undefined && ev.infoP > 0 && reaches(measure, infoAt, reach);
  // Most days change too little to matter: skip the (costlier) evidence for them.
  if (!infoCandidate && !rule.levels.some(meets)) return result(w, measure, undefined, null, true);

  const p = ev ? Math.min(1, changeTailP(w.x, w.b, windowDispersion(rule, phi(), w, base), rule.direction) * tests) : undefined;
  // Evidence is needed to open (or raise) an alert, not to keep the level it already holds on
  // the latest day; sums of earlier days keep an alert open only with evidence of their own.
  const waived = (l: Level) => w.days === 1 && isHeld(l, open);
  const level = rule.levels.find((l) => meets(l) && (p === undefined || p <= ev!.maxP || waived(l)));
  if (level) return result(w, measure, p, level.severity, true);
  if (infoCandidate && (p! <= ev.infoP || (open === 'info' && w.days === 1))) return result(w, measure, p, 'info', false);
  return result(w, measure, p, null, true);
}

/** Most severe first; then the strongest evidence; then the shortest window. */
function better(a: WindowResult, b: WindowResult): boolean {
  const ra = severityRank(a.severity);
  const rb = severityRank(b.severity);
  if (ra !== rb) return ra > rb;
  if ((a.p ?? 1) !== (b.p ?? 1)) return (a.p ?? 1) < (b.p ?? 1);
  return a.days < b.days;
}

function describe(rule: ChangeRule, r: WindowResult, partial: boolean): string {
  const prefix = windowPrefix(r.days, partial);
  const head = `${metricTitle(rule.metric)} ${prefix ? `${prefix} ` : ''}${fmtNum(r.x)}`;
  const label = r.days > 1 ? '基线' : baselineLabel(rule.baseline);
  const word = rule.direction === 'drop' ? '下降' : '上升';
  let change: string;
  if (rule.measure === 'ratio') change = `为基线的 ${(r.x / r.b).toFixed(1)} 倍`;
  else if (rule.measure === 'robust_z') change = `${word} ${r.measure.toFixed(1)} 个标准差`;
  else change = r.x === r.b ? '持平' : `${r.x < r.b ? '下降' : '上升'} ${fmtPct(Math.abs(((r.x - r.b) / r.b) * 100))}`;
  const tail = r.severity === 'info' ? '（证据不足，仅记录）' : '';
  return `${head}，${label} ${fmtNum(r.b)}，${change}${tail}`;
}

export function evaluateChange({ rule, entity, series, ctx, open }: KindInput<ChangeRule>): Judgement {
  const s = metricSeries(series, rule.metric);
  const anchors = dailyAnchors(s, ctx, rule.direction === 'spike');
  const ev = rule.evidence;
  let phi: number | undefined;
  // The entity's own variability, estimated once per evaluation from days before the judged windows.
  const dispersion = (): number => {
    if (!ev) return 1;
    const last = anchors[0]?.day ?? ctx.today;
    phi ??= dispersionBefore(rule.baseline, s, last - ev.accumulateDays + 1, ev.dispersionDays).phi;
    return phi;
  };

  // Windows and `for` re-use the baselines of earlier days: compute each once.
  const baselines = new Map<number, Baseline | undefined>();
  const baseline = (day: number): Baseline | undefined => {
    if (!baselines.has(day)) baselines.set(day, baselineAt(rule.baseline, s, day));
    return baselines.get(day);
  };

  const judge: DayJudge = (day, partial): DayOutcome | 'no_data' | 'no_baseline' | 'guard' => {
    const base = baseline(day);
    if (!base) return 'no_baseline';
    if (base.value < rule.baseline.min || !(base.value > 0)) return 'guard';
    const x0 = s.get(day);
    if (x0 === undefined) return 'no_data';
    const windows = windowsAt(rule, s, baseline, day, x0, base.value, partial);
    const context: WindowContext = { rule, base, phi: dispersion, tests: windows.length, open };
    const results = windows.map((w) => judgeWindow(w, context));
    const best = results.reduce((a, b) => (better(b, a) ? b : a));
    const shown = best.severity === null ? results[0]! : best;
    return {
      severity: best.severity,
      notify: best.notify,
      value: shown.x,
      baseline: shown.b,
      measure: shown.measure,
      p: shown.p,
      summary: describe(rule, shown, partial),
    };
  };
  return judgeAnchors(rule, entity, anchors, judge, ctx.today);
}
