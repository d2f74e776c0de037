// Evaluate every rule in scope for one entity: pure, time injected through EvalContext.

import type { AlertRecord, Verdict } from '../domain/alert.js';
import { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import type { Rule, Severity } from '../domain/rule.js';
import { isOpen } from '../domain/lifecycle.js';
import type { Judgement } from './judge.js';
import { resolveVerdict } from './judge.js';
import { evaluateAbsence } from './kinds/absence.js';
import { evaluateChange } from './kinds/change.js';
import { evaluateDate } from './kinds/date.js';
import { evaluateFlatline } from './kinds/flatline.js';
import { evaluateIntraday } from './kinds/intraday.js';
import { evaluateRatio } from './kinds/ratio.js';
import { evaluateThreshold } from './kinds/threshold.js';
import { inScope } from './scope.js';
import type { EvalContext } from './types.js';
import type { EntityHourly, EntitySeries } from '../domain/series.js';

/** The rules whose scope selects this entity (live windows are judged per day). */
export function rulesInScope(rules: readonly Rule[], entity: Entity): Rule[] {
  return rules.filter((r) => inScope(r, entity));
}

function runKind(rule: Rule, entity: Entity, series: EntitySeries, hourly: EntityHourly | undefined, ctx: EvalContext, open: Severity | undefined): Judgement {
  switch (rule.kind) {
    case 'threshold':
      return evaluateThreshold({ rule, entity, series, ctx, open });
    case 'ratio':
      return evaluateRatio({ rule, entity, series, ctx, open });
    case 'change':
      return evaluateChange({ rule, entity, series, ctx, open });
    case 'absence':
      return evaluateAbsence({ rule, entity, series, ctx, open });
    case 'flatline':
      return evaluateFlatline({ rule, entity, series, ctx, open });
    case 'date':
      return evaluateDate({ rule, entity, series, ctx, open });
    case 'intraday':
      return evaluateIntraday({ rule, entity, series, hourly, ctx, open });
  }
}

/**
 * One rule for one entity. Undefined when the rule cannot judge (no data, too little history);
 * a `severity: null` verdict when it cannot judge because of the minimum-baseline guard or the
 * live window while an alert is open, so that alert resolves. An intraday alert never outlives its
 * day: the first evaluation on a later local day resolves it (the day close does this just after
 * midnight), and the new day is judged afresh.
 */
export function evaluateRule(
  rule: Rule,
  entity: Entity,
  series: EntitySeries,
  prior: AlertRecord | undefined,
  ctx: EvalContext,
  hourly?: EntityHourly,
): Verdict | undefined {
  const open = prior && isOpen(prior) ? prior.severity : undefined;
  if (rule.kind === 'intraday' && open !== undefined && prior!.period.slice(0, 10) < Calendar.isoDay(ctx.today)) {
    return resolveVerdict(rule, entity, ctx.today, `${prior!.period.slice(0, 10)} 的日内预警随当日结束`);
  }
  const j = runKind(rule, entity, series, hourly, ctx, open);
  if ('verdict' in j) return j.verdict;
  if (open !== undefined && (j.skip === 'guard' || j.skip === 'not_live')) {
    return resolveVerdict(rule, entity, ctx.today, j.summary);
  }
  return undefined;
}

/**
 * One verdict per in-scope rule that can judge now (see evaluateRule). `hourly` holds the
 * entity's hourly series of the metrics its intraday rules read (without it they cannot judge).
 * `scoped`: `rules` are the entity's rules in scope already (its read plan's), not filtered again.
 */
export function evaluateEntity(
  rules: readonly Rule[],
  entity: Entity,
  series: EntitySeries,
  priors: ReadonlyMap<string, AlertRecord>,
  ctx: EvalContext,
  hourly?: EntityHourly,
  scoped = false,
): Verdict[] {
  const out: Verdict[] = [];
  for (const rule of scoped ? rules : rulesInScope(rules, entity)) {
    const v = evaluateRule(rule, entity, series, priors.get(rule.id), ctx, hourly);
    if (v) out.push(v);
  }
  return out;
}
