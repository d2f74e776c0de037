// Shared fixtures for evaluator tests: rules from YAML-shaped objects (so defaults come from
// the real schema), series from promtool-style strings, and an injected clock.

import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import type { Rule, Severity } from '../../src/domain/rule.js';
import { RULE_SCHEMAS, isRuleKind } from '../../src/config/rule-schema.js';
import { expandSeriesValues } from '../../src/backtest/rule-tests.js';
import type { EntitySeries } from '../../src/domain/series.js';
import type { EvalContext } from '../../src/evaluate/types.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';
import { evaluateRule } from '../../src/evaluate/index.js';

export const calendar = new Calendar('Asia/Shanghai');

export function day(iso: string): number {
  const d = Calendar.parseIsoDay(iso);
  if (d === undefined) throw new Error(`bad day ${iso}`);
  return d;
}

/** The evaluation context at local `hour` of `iso` (today = that day). */
export function ctxAt(iso: string, hour = 9): EvalContext {
  const today = day(iso);
  return { now: calendar.startOfDay(today) + hour * 3_600_000, today, calendar };
}

/** A rule through the real schema (YAML field names), with an id and name filled in. */
export function rule(raw: Record<string, unknown>): Rule {
  const kind = raw.kind;
  if (!isRuleKind(kind)) throw new Error(`bad kind ${String(kind)}`);
  return RULE_SCHEMAS[kind].parse({ id: 'r', name: 'test rule', ...raw });
}

/** `"100x27 40"` from `start` as one metric's daily series. */
export function daily(start: string, values: string): Map<number, number> {
  const out = new Map<number, number>();
  expandSeriesValues(values).forEach((v, i) => {
    if (v !== undefined) out.set(day(start) + i, v);
  });
  return out;
}

export function series(metric: string, start: string, values: string): EntitySeries {
  return new Map([[metric, daily(start, values)]]);
}

export function entity(over: Partial<Entity> & { attrs?: Entity['attrs'] } = {}): Entity {
  return { id: 'E1', kind: 'core_dealer', name: '测试', region: 'R1', district: 'M01', manager: 'CM01', attrs: {}, ...over };
}

/** An open alert record for `r` (as the lifecycle would have stored it). */
export function openAlert(r: Rule, e: Entity, severity: Severity, confirmed = true): AlertRecord {
  const step = applyVerdict(undefined, { rule: r.id, entity: e.id, severity, confirmed, period: '2026-01-01', notify: true, summary: '' }, 0);
  return step.record!;
}

/** Evaluate one rule at `iso` (09:00 by default), optionally with an open prior alert. */
export function judge(r: Rule, e: Entity, s: EntitySeries, iso: string, prior?: AlertRecord, hour = 9) {
  return evaluateRule(r, e, s, prior, ctxAt(iso, hour));
}
