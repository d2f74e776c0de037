// The walk: for every local day from the first to the last, at the moment the scheduler's day
// close runs (the first run of LOOKOUT_DAY_CLOSE_CRON on the next day, 00:05 by default), judge
// every entity that has rules in scope with the kernel the live worker calls (judgeEntity: the
// same evaluators and the same lifecycle — pending/for, hysteresis, resolve), reading the window
// of days the kernel's read plan gives. Intraday rules are also judged during the day, at each
// run of the scheduler's hourly pass (from their `from_hour`), as the live worker judges an entity
// fed by the hour. Entities are independent of each other, so the walk goes entity by entity
// (each through all days) and can be split across threads.
//
// Everything here is pure and runs in a worker thread as well as in-process.

import type { AlertChange, AlertRecord } from '../domain/alert.js';
import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { isOpen } from '../domain/lifecycle.js';
import type { Rule, Severity } from '../domain/rule.js';
import { judgeEntity } from '../evaluate/kernel.js';
import { readFromDay } from '../domain/series.js';
import { ReadPlanner } from '../evaluate/plan.js';
import { JudgementSchedule } from '../evaluate/schedule.js';
import type { EvalContext } from '../evaluate/types.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import type { StoreSnapshot } from './store.js';
import { DailyView, HourlyView } from './views.js';

export interface ReplayInput {
  readonly rules: readonly Rule[];
  /** The entities to judge (any with no rule in scope are skipped), and their store indexes. */
  readonly entities: readonly Entity[];
  readonly entityIndexes: readonly number[];
  readonly store: StoreSnapshot;
  readonly timeZone: string;
  /** LOOKOUT_DAY_CLOSE_CRON: when the scheduler closes a day (default 00:05). */
  readonly dayCloseCron?: string;
  /** LOOKOUT_RETENTION_DAYS / LOOKOUT_HOURLY_RETENTION_DAYS: how far back a live judgement reads. */
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
  /** First day closed: days before `fromDay` are replayed to carry alert state, not counted. */
  readonly startDay: number;
  /** First and last day whose close (and hours) are counted. */
  readonly fromDay: number;
  readonly toDay: number;
}

/** One alert transition people would have heard of (fire, upgrade), or a weak-evidence record. */
export interface ReplayedAlert {
  readonly rule: string;
  readonly entity: string;
  readonly change: AlertChange;
  readonly severity: Severity;
  /** false: weak evidence, recorded for dashboards, pages nobody. */
  readonly notify: boolean;
  /** The day the verdict judged (`2026-11-21`). */
  readonly period: string;
  /** The evaluation instant (the day close, or the hour for intraday rules), ISO with offset. */
  readonly at: string;
  readonly value?: number;
  readonly baseline?: number;
  readonly measure?: number;
  readonly p?: number;
  readonly summary: string;
}

/**
 * Every transition the kernel made (start, fire, upgrade, downgrade, resolve, cancel), so a
 * reader sees how long each alert would have stayed open.
 */
export interface ReplayedTransition {
  readonly rule: string;
  readonly entity: string;
  readonly change: AlertChange;
  readonly severity: Severity;
  /** The severity before an upgrade or downgrade. */
  readonly previousSeverity?: Severity;
  readonly notify: boolean;
  readonly period: string;
  /** The evaluation instant, ISO with offset. */
  readonly at: string;
  /** Resolve: when the alert started firing, and how long it stayed open (hours, 0.1 h). */
  readonly firingSince?: string;
  readonly openHours?: number;
}

export interface RuleTally {
  readonly rule: string;
  /** Entities judged that are in the rule's scope. */
  inScope: number;
  /**
   * Alerts raised that page (notify), by severity when they first paged: fired, or a recorded
   * weak-evidence alert upgraded to a paging one.
   */
  readonly fired: Record<Severity, number>;
  /** Severity upgrades of alerts that already paged (they page again). */
  upgrades: number;
  /** Weak-evidence alerts recorded with notify: false: they page nobody. */
  recorded: number;
  /** Alerts that started pending (`for` not yet met), and pending alerts that never fired. */
  pending: number;
  cancelled: number;
  resolved: number;
  /** Alerts still open after the last day. */
  openAtEnd: number;
  /** Entities with a paging alert or upgrade; entities with a recorded one. */
  readonly entities: string[];
  readonly recordedEntities: string[];
}

export interface ReplayOutput {
  readonly tallies: RuleTally[];
  readonly alerts: ReplayedAlert[];
  readonly transitions: ReplayedTransition[];
  /** Entities judged (with rules in scope). */
  readonly judged: number;
  /** Evaluations made (entity × day closes, and entity × hours for intraday rules). */
  readonly evaluations: number;
  /** …of which during the day, for intraday rules (0 when no series is fed by the hour). */
  readonly hourEvaluations: number;
}

function newTally(rule: Rule): RuleTally {
  return {
    rule: rule.id,
    inScope: 0,
    fired: { info: 0, warning: 0, critical: 0 },
    upgrades: 0,
    recorded: 0,
    pending: 0,
    cancelled: 0,
    resolved: 0,
    openAtEnd: 0,
    entities: [],
    recordedEntities: [],
  };
}

/** The feed counters the live worker reads: metric → local day → samples, for absence metrics. */
function feedOf(store: StoreSnapshot, rules: readonly Rule[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const metric of new ReadPlanner(rules).absenceMetrics) {
    const m = store.metrics.indexOf(metric);
    const days = new Map<number, number>();
    if (m >= 0) {
      store.feed.columns.forEach((c, i) => {
        const n = c?.counts[m] ?? 0;
        if (n > 0) days.set(store.feed.base + i, n);
      });
    }
    out.set(metric, days);
  }
  return out;
}

/**
 * Replay the kernel over `input.entities` and the days; pure (no I/O), so it runs in a worker
 * thread too.
 */
export function replay(input: ReplayInput, onProgress?: (done: number, total: number) => void): ReplayOutput {
  const { rules, store, retentionDays, hourlyRetentionDays, startDay, fromDay, toDay } = input;
  const calendar = new Calendar(input.timeZone);
  const schedule = new JudgementSchedule(calendar, { dayCloseCron: input.dayCloseCron });
  const planner = new ReadPlanner(rules);
  const tallies = new Map<string, RuleTally>(rules.map((r) => [r.id, newTally(r)]));
  const metricCount = store.metrics.length;
  const feed = feedOf(store, rules);

  // One context per closed day, shared by every entity (none on a day the cron skips).
  const closes: (EvalContext | undefined)[] = [];
  const closeIso: string[] = [];
  for (let d = startDay; d <= toDay; d++) {
    const now = schedule.closeAt(d);
    closes.push(now === undefined ? undefined : { now, today: calendar.dayOf(now), calendar, feed });
    closeIso.push(now === undefined ? '' : calendar.formatLocal(now));
  }
  // The hourly pass's instants, per day from startDay: hour → instant (undefined: no pass).
  const passes: (number | undefined)[][] = [];
  if (rules.some((r) => r.kind === 'intraday')) {
    for (let d = startDay; d <= toDay; d++) passes.push(Array.from({ length: HOURS_PER_DAY }, (_, h) => schedule.hourPassAt(d, h)));
  }
  schedule.close();

  const alerts: ReplayedAlert[] = [];
  const transitions: ReplayedTransition[] = [];
  let judged = 0;
  let evaluations = 0;
  let hourEvaluations = 0;
  const progressEvery = Math.max(1, Math.floor(input.entities.length / 100));

  const record = (d: number, id: string, ruleId: string, change: AlertChange, r: AlertRecord, prior: AlertRecord | undefined, at: () => string): void => {
    if (d < fromDay) return;
    const paging = prior !== undefined && isOpen(prior) && prior.notify;
    const t = tallies.get(ruleId)!;
    switch (change) {
      case 'fire':
        if (r.notify) {
          t.fired[r.severity]++;
          t.entities.push(id);
        } else {
          t.recorded++;
          t.recordedEntities.push(id);
        }
        break;
      case 'upgrade':
        if (!r.notify) break;
        // A recorded weak-evidence alert that now pages is an alert raised; a paging one that
        // climbs pages again.
        if (paging) t.upgrades++;
        else t.fired[r.severity]++;
        t.entities.push(id);
        break;
      case 'start':
        t.pending++;
        break;
      case 'cancel':
        t.cancelled++;
        break;
      case 'resolve':
        t.resolved++;
        break;
      default:
        break;
    }
    const iso = at();
    const since = change === 'resolve' && r.firingAt !== undefined ? r.firingAt : undefined;
    transitions.push({
      rule: r.rule,
      entity: id,
      change,
      severity: r.severity,
      ...((change === 'upgrade' || change === 'downgrade') && prior && { previousSeverity: prior.severity }),
      notify: r.notify,
      period: r.period,
      at: iso,
      ...(since !== undefined && r.resolvedAt !== undefined && { firingSince: calendar.formatLocal(since), openHours: Math.round((r.resolvedAt - since) / 360_000) / 10 }),
    });
    if (change !== 'fire' && change !== 'upgrade') return;
    alerts.push({
      rule: r.rule,
      entity: id,
      change,
      severity: r.severity,
      notify: r.notify,
      period: r.period,
      at: iso,
      value: r.value,
      baseline: r.baseline,
      measure: r.measure,
      p: r.p,
      summary: r.summary,
    });
  };

  input.entities.forEach((entity, k) => {
    if (onProgress && k % progressEvery === 0) onProgress(k, input.entities.length);
    const plan = planner.plan(entity);
    if (!plan) return;
    judged++;
    for (const r of plan.rules) tallies.get(r.id)!.inScope++;
    const e = input.entityIndexes[k]!;
    const seriesIndex = (metric: string): number => {
      const m = store.metrics.indexOf(metric);
      return m < 0 ? -1 : store.seriesOf[e * metricCount + m]!;
    };
    const avg = (metric: string): boolean => store.avg[store.metrics.indexOf(metric)] ?? false;
    const daily = plan.metrics.map((metric) => ({ view: new DailyView(store.daily, seriesIndex(metric), avg(metric)), lookback: planner.lookback(metric) }));
    const series = new Map(plan.metrics.map((m, i) => [m, daily[i]!.view]));
    const hourly = plan.hourlyMetrics.map((metric) => {
      const s = seriesIndex(metric);
      return { view: new HourlyView(store.hourly, s < 0 ? -1 : store.hourlyOf[s]!, avg(metric)), lookback: planner.hourlyLookback(metric) };
    });
    const hourlyMap = hourly.length ? new Map(plan.hourlyMetrics.map((m, i) => [m, hourly[i]!.view])) : undefined;
    const intraday = plan.rules.filter((r) => r.kind === 'intraday');
    const fromHour = Math.min(HOURS_PER_DAY, ...intraday.map((r) => (r.kind === 'intraday' ? r.fromHour : HOURS_PER_DAY)));
    const priors = new Map<string, AlertRecord>();

    const apply = (d: number, rulesNow: readonly Rule[], ctx: EvalContext, at: () => string): void => {
      evaluations++;
      for (const step of judgeEntity({ rules: rulesNow, entity, series, hourly: hourlyMap, priors, ctx })) {
        priors.set(step.rule, step.record);
        if (step.event) record(d, entity.id, step.rule, step.event.change, step.record, step.prior, at);
      }
    };

    for (let d = startDay; d <= toDay; d++) {
      // Intraday rules through the day, at each run of the scheduler's hourly pass (it judges
      // silent feeds too), with the hours before h visible and the daily buckets up to yesterday
      // (the rule reads no day's total of today).
      if (intraday.length && hourlyMap && hourly.some((v) => v.view.hourlyFeed)) {
        for (const v of daily) v.view.window(readFromDay(d, retentionDays, v.lookback), d - 1);
        const at = passes[d - startDay]!;
        for (let h = Math.max(1, fromHour); h < HOURS_PER_DAY; h++) {
          const now = at[h];
          if (now === undefined) continue;
          for (const v of hourly) v.view.window((d - Math.min(v.lookback, hourlyRetentionDays)) * HOURS_PER_DAY, d * HOURS_PER_DAY + h - 1, d);
          hourEvaluations++;
          apply(d, intraday, { now, today: d, calendar, feed }, () => calendar.formatLocal(now));
        }
      }
      // The day close: every rule; the live read covers fromDay..today, and today's bucket is
      // still empty at the close (the day's exports have not arrived), so the window ends at `d`.
      const ctx = closes[d - startDay];
      if (!ctx) continue;
      for (const v of daily) v.view.window(readFromDay(ctx.today, retentionDays, v.lookback), d);
      for (const v of hourly) v.view.window((ctx.today - Math.min(v.lookback, hourlyRetentionDays)) * HOURS_PER_DAY, ctx.today * HOURS_PER_DAY - 1, ctx.today);
      apply(d, plan.rules, ctx, () => closeIso[d - startDay]!);
    }
    for (const r of priors.values()) if (isOpen(r)) tallies.get(r.rule)!.openAtEnd++;
  });
  onProgress?.(input.entities.length, input.entities.length);
  return { tallies: [...tallies.values()], alerts, transitions, judged, evaluations, hourEvaluations };
}
