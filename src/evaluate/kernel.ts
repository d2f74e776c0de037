// The evaluation kernel: one judgement of one entity at one instant — every in-scope rule's
// verdict carried through the alert lifecycle. The live worker, the backtest replay and
// `lookout rules test` all call it, so none of them can disagree with the others; the feed
// guard carries its own verdicts through the same `stepAll`.

import type { AlertRecord, Verdict } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import { applyVerdict, type Step } from '../domain/lifecycle.js';
import type { Rule } from '../domain/rule.js';
import { evaluateEntity } from './evaluate-entity.js';
import type { EvalContext } from './types.js';
import type { EntityHourly, EntitySeries } from '../domain/series.js';

/** A lifecycle step that changed the alert's record, with the record it replaced. */
export interface JudgedStep extends Step {
  readonly record: AlertRecord;
  readonly rule: string;
  readonly prior: AlertRecord | undefined;
}

/**
 * Carry verdicts through the lifecycle against the priors (rule id → record). Returns the steps
 * that changed a record; `priors` is not touched.
 */
export function stepAll(
  verdicts: readonly Verdict[],
  priors: ReadonlyMap<string, AlertRecord>,
  now: number,
  labelsOf: (rule: string) => Readonly<Record<string, string>> | undefined,
): JudgedStep[] {
  const out: JudgedStep[] = [];
  for (const v of verdicts) {
    const prior = priors.get(v.rule);
    const step = applyVerdict(prior, v, now, labelsOf(v.rule) ?? {});
    if (step.record) out.push({ ...step, record: step.record, rule: v.rule, prior });
  }
  return out;
}

/** What one judgement of one entity is given. */
export interface EntityJudgementInput {
  /** The rules to judge (those in the entity's scope are). */
  readonly rules: readonly Rule[];
  /** `rules` are those in the entity's scope already (its read plan's, planEntity): not filtered again. */
  readonly scoped?: boolean;
  readonly entity: Entity;
  /** What the entity stores, as the read plan read it; `hourly` for intraday rules. */
  readonly series: EntitySeries;
  readonly hourly?: EntityHourly;
  /** The entity's alerts so far: rule id → record. */
  readonly priors: ReadonlyMap<string, AlertRecord>;
  readonly ctx: EvalContext;
}

/**
 * Judge one entity at `ctx.now`. Pure; the caller stores the records (live: one guarded commit;
 * replay: its own map).
 */
export function judgeEntity({ rules, scoped, entity, series, hourly, priors, ctx }: EntityJudgementInput): JudgedStep[] {
  const verdicts = evaluateEntity(rules, entity, series, priors, ctx, hourly, scoped);
  return stepAll(verdicts, priors, ctx.now, (id) => rules.find((r) => r.id === id)?.labels);
}
