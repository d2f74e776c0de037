// What the live worker (src/pipeline/entity-evaluator.ts) reads for a judgement, as pure
// functions of the rule set, so the replay feeds the evaluators exactly the same inputs:
//
// - per entity: the rules in scope (rulesInScope), the metrics they read, and the metrics whose
//   hourly buckets its intraday rules read;
// - per metric: the days of history — max(1, lookback of every rule reading it) + 2, or the
//   whole retention when an absence rule reads it ("did it ever report?"), never more than the
//   retention (LOOKOUT_RETENTION_DAYS) before today;
// - per metric read by the hour: the days of hourly history its intraday rules need, never more
//   than LOOKOUT_HOURLY_RETENTION_DAYS;
// - the feed counters of the metrics absence rules read (their feedDelivered guard).
//
// These mirror private methods of EntityEvaluator (plan, lookback, hourlyLookback,
// absenceMetrics); they are
// copied here rather than shared because src/pipeline is being edited by others. If they move
// to an exported pure module (e.g. src/evaluate/reads.ts), this file becomes re-exports.

import type { Entity } from '../domain/entity.js';
import type { Rule } from '../domain/rule.js';
import { ruleHourlyLookbackDays, ruleLookbackDays, ruleMetric } from '../domain/rule.js';
import { rulesInScope } from '../evaluate/index.js';

export interface EntityPlan {
  readonly entity: Entity;
  readonly rules: readonly Rule[];
  /** Metrics the rules in scope read, in first-use order. */
  readonly metrics: readonly string[];
  /** Metrics whose hourly buckets the intraday rules in scope read. */
  readonly hourlyMetrics: readonly string[];
}

/** Rules in scope for an entity and what they read; null when no rule applies (not judged). */
export function planEntity(rules: readonly Rule[], entity: Entity): EntityPlan | null {
  const inScope = rulesInScope(rules, entity);
  if (!inScope.length) return null;
  const metrics = [...new Set(inScope.map(ruleMetric).filter((m): m is string => m !== undefined))];
  const hourlyMetrics = [...new Set(inScope.filter((r) => ruleHourlyLookbackDays(r) > 0).map((r) => ruleMetric(r)!))];
  return { entity, rules: inScope, metrics, hourlyMetrics };
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

/** The first day a judgement on `today` reads for a metric (the last is today). */
export function readFromDay(today: number, retentionDays: number, lookback: number): number {
  return Math.max(today - retentionDays, today - lookback);
}
