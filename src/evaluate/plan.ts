// What a judgement reads: the kernel's read plan, shared by the live worker, the backtest replay
// and `lookout rules test`, so all three feed the evaluators the same inputs.
//
// - per entity: the rules in scope, the metrics they read, and the metrics whose hourly buckets
//   its intraday rules read;
// - per metric: the days of history — max(1, lookback of every rule reading it) + 2, or the whole
//   retention when an absence rule reads it ("did it ever report?"), never more than the
//   retention (LOOKOUT_RETENTION_DAYS) before today;
// - per metric read by the hour: the days of hourly history its intraday rules need, never more
//   than LOOKOUT_HOURLY_RETENTION_DAYS;
// - the feed counters of the metrics absence rules read (their feedDelivered guard).

import type { Entity } from '../domain/entity.js';
import type { Rule, RuleSet } from '../domain/rule.js';
import { ruleHourlyLookbackDays, ruleLookbackDays, ruleMetric } from '../domain/rule.js';
import { rulesInScope } from './evaluate-entity.js';

export interface EntityPlan {
  readonly entity: Entity;
  readonly rules: readonly Rule[];
  /** Metrics the rules in scope read, in first-use order. */
  readonly metrics: readonly string[];
  /** Metrics whose hourly buckets the intraday rules in scope read. */
  readonly hourlyMetrics: readonly string[];
  /** A date rule is in scope: it judges the entity whatever metric changed. */
  readonly dated: boolean;
  /** The ids of `rules`, in their order. */
  readonly ruleIds: readonly string[];
  /**
   * Its alerts' fingerprints, one per rule (fingerprint(rule, entity)): made at its first judgement
   * and kept with the plan. Present from the start (undefined until then), so that filling it in
   * does not change the plan's shape under the code that reads plans.
   */
  fingerprints: readonly string[] | undefined;
}

/** Rules in scope for an entity and what they read; null when no rule applies (not judged). */
export function planEntity(rules: readonly Rule[], entity: Entity): EntityPlan | null {
  const inScope = rulesInScope(rules, entity);
  if (!inScope.length) return null;
  const metrics = [...new Set(inScope.map(ruleMetric).filter((m): m is string => m !== undefined))];
  const hourlyMetrics = [...new Set(inScope.filter((r) => ruleHourlyLookbackDays(r) > 0).map((r) => ruleMetric(r)!))];
  return { entity, rules: inScope, metrics, hourlyMetrics, dated: inScope.some((r) => r.kind === 'date'), ruleIds: inScope.map((r) => r.id), fingerprints: undefined };
}

/** Metrics read by absence rules: their feed volume is part of every judgement. */
export function absenceMetrics(rules: readonly Rule[]): string[] {
  return [...new Set(rules.filter((r) => r.kind === 'absence').map((r) => ruleMetric(r)!))];
}

/** Days of history the rules reading `metric` need (Infinity: all that is kept). */
export function metricLookback(rules: readonly Rule[], metric: string): number {
  const reading = rules.filter((r) => ruleMetric(r) === metric);
  return reading.some((r) => r.kind === 'absence') ? Infinity : Math.max(1, ...reading.map(ruleLookbackDays)) + 2;
}

/** Days of hourly history before today the intraday rules reading `metric` need. */
export function metricHourlyLookback(rules: readonly Rule[], metric: string): number {
  return Math.max(0, ...rules.filter((r) => ruleMetric(r) === metric).map(ruleHourlyLookbackDays));
}


/**
 * The read plan of one rule set, memoised: per-entity plans and per-metric lookbacks are computed
 * once per rule set (and per registry entry: a changed entity is planned again).
 */
export class ReadPlanner {
  /** entity id → the registry entry planned and its plan (null: no rule in scope). */
  private readonly plans = new Map<string, { entity: Entity; plan: EntityPlan | null }>();
  private readonly lookbacks = new Map<string, number>();
  private readonly hourlyLookbacks = new Map<string, number>();
  readonly absenceMetrics: readonly string[];

  constructor(readonly rules: readonly Rule[]) {
    this.absenceMetrics = absenceMetrics(rules);
  }

  static of(ruleSet: RuleSet): ReadPlanner {
    return new ReadPlanner(ruleSet.rules);
  }

  plan(entity: Entity): EntityPlan | null {
    const cached = this.plans.get(entity.id);
    if (cached?.entity === entity) return cached.plan;
    const plan = planEntity(this.rules, entity);
    this.plans.set(entity.id, { entity, plan });
    return plan;
  }

  /** Days of daily history a judgement reads for `metric`. */
  lookback(metric: string): number {
    let n = this.lookbacks.get(metric);
    if (n === undefined) this.lookbacks.set(metric, (n = metricLookback(this.rules, metric)));
    return n;
  }

  /** Days of hourly history before today a judgement reads for `metric`. */
  hourlyLookback(metric: string): number {
    let n = this.hourlyLookbacks.get(metric);
    if (n === undefined) this.hourlyLookbacks.set(metric, (n = metricHourlyLookback(this.rules, metric)));
    return n;
  }
}
