// Read → evaluate → commit for a set of entities. Evaluation is pure; the commit is guarded by
// the entity's alert version, so two workers (or an ack) changing one entity's alerts can never
// overwrite each other: the loser re-reads and judges again. Samples landing meanwhile re-mark
// the entity dirty, so it is judged again on the newer data.

import { fingerprint, type AlertEvent } from '../domain/alert.js';
import type { Calendar } from '../domain/clock.js';
import type { RuleSet } from '../domain/rule.js';
import { judgeEntity } from './kernel.js';
import { planEntity, ReadPlanner, type EntityPlan } from './plan.js';
import type { PipelineObserver } from '../observability/events.js';
import type { SnapshotReader } from '../state/judgement-snapshot.js';
import type { EntityCommit, RedisAlertStore } from '../state/alert-store.js';
import type { RegistryCache } from '../state/registry-store.js';
import type { DailyRead, HourlyRead, SeriesStore } from '../state/series-store.js';

const CHUNK = 500;
const MAX_ROUNDS = 8;

export interface EvaluationOutcome {
  readonly evaluated: number;
  readonly events: readonly AlertEvent[];
  readonly conflicts: number;
}

export class EntityEvaluator {
  private planner: ReadPlanner | undefined;
  private plannerHash = '';
  /** Entity id → its plan, for the planner and the registry generation they were made under. */
  private readonly plans = new Map<string, EntityPlan | null>();
  private plansOf: ReadPlanner | undefined;
  private plansGeneration = -1;

  constructor(
    private readonly snapshots: SnapshotReader,
    private readonly series: SeriesStore,
    private readonly alerts: RedisAlertStore,
    private readonly registry: RegistryCache,
    private readonly ruleSet: () => RuleSet,
    private readonly calendar: Calendar,
    private readonly observer: PipelineObserver,
  ) {}

  /** The kernel's read plan of the current rule set (planned again when the rules change). */
  private reads(): ReadPlanner {
    const rs = this.ruleSet();
    if (!this.planner || rs.hash !== this.plannerHash) {
      this.planner = ReadPlanner.of(rs);
      this.plannerHash = rs.hash;
    }
    return this.planner;
  }

  /**
   * Rules in scope for a registered entity and what they read; null when none applies. Asked for
   * every entity of every applied job: one lookup while the registry and the rules stand still.
   * Planned here, not through the planner's own cache (keyed by the entry, a second lookup and a
   * second map of the same plans).
   */
  plan(id: string): EntityPlan | null {
    const planner = this.reads();
    if (this.plansOf !== planner || this.plansGeneration !== this.registry.generation) {
      this.plans.clear();
      this.plansOf = planner;
      this.plansGeneration = this.registry.generation;
    }
    let p = this.plans.get(id);
    if (p === undefined) {
      const entity = this.registry.get(id);
      // An id not registered is not kept: a producer's unknown ids must not grow the map.
      if (!entity) return null;
      p = planEntity(planner.rules, entity);
      this.plans.set(id, p);
    }
    return p;
  }

  /** Metrics read by absence rules (their feed volume is part of every judgement). */
  absenceMetrics(): string[] {
    return [...this.reads().absenceMetrics];
  }

  /** Entities whose in-scope rules read any of `metrics`. */
  affected(id: string, metrics: ReadonlySet<string>): boolean {
    const p = this.plan(id);
    if (!p) return false;
    return p.dated || p.metrics.some((m) => metrics.has(m));
  }

  /** The plans of those of `ids` that are judged: each entity planned once (a registry and a plan lookup, over maps of every entity). */
  private planned(ids: readonly string[]): EntityPlan[] {
    const out: EntityPlan[] = [];
    for (const id of ids) {
      const p = this.plan(id);
      if (p) out.push(p);
    }
    return out;
  }

  async evaluate(ids: readonly string[], now: number): Promise<EvaluationOutcome> {
    const started = performance.now();
    let pending = this.planned(ids);
    const evaluated = pending.length;
    const events: AlertEvent[] = [];
    let conflicts = 0;
    for (let round = 0; pending.length && round < MAX_ROUNDS; round++) {
      const retry: string[] = [];
      for (let c = 0; c < pending.length; c += CHUNK) {
        const out = await this.evaluateChunk(pending.slice(c, c + CHUNK), now);
        events.push(...out.events);
        retry.push(...out.conflicts);
      }
      conflicts += retry.length;
      // Planned again: the registry may have changed meanwhile.
      pending = this.planned(retry);
    }
    if (pending.length) throw new Error(`evaluation of ${pending.length} entities kept conflicting (first: ${pending[0]!.entity.id})`);
    this.observer.entitiesEvaluated(evaluated, (performance.now() - started) / 1000, conflicts);
    if (events.length) this.observer.transitions(events);
    return { evaluated, events, conflicts };
  }

  /** Read, judge and commit a chunk of planned entities; the ids of those whose commit conflicted come back. */
  private async evaluateChunk(plans: readonly EntityPlan[], now: number): Promise<{ events: AlertEvent[]; conflicts: string[] }> {
    const planner = this.reads();
    const byMetric = new Map<string, string[]>();
    for (const p of plans) for (const m of p.metrics) (byMetric.get(m) ?? byMetric.set(m, []).get(m)!).push(p.entity.id);
    const reads: DailyRead[] = [...byMetric].map(([metric, entities]) => ({
      metric,
      entities,
      ...this.series.dailyWindow(now, planner.lookback(metric)),
    }));
    // Intraday rules: today's hours so far and the hourly history of their shape.
    const byHourlyMetric = new Map<string, string[]>();
    for (const p of plans) for (const m of p.hourlyMetrics) (byHourlyMetric.get(m) ?? byHourlyMetric.set(m, []).get(m)!).push(p.entity.id);
    const hourlyReads: HourlyRead[] = [...byHourlyMetric].map(([metric, entities]) => ({
      metric,
      entities,
      ...this.series.hourlyWindow(now, planner.hourlyLookback(metric)),
    }));

    // One transaction: a consistent snapshot of the feed, the series and the alerts.
    const snap = await this.snapshots.read({
      feedMetrics: planner.absenceMetrics,
      daily: reads,
      hourly: hourlyReads,
      entities: plans.map((p) => ({ id: p.entity.id, rules: p.ruleIds, fingerprints: (p.fingerprints ??= p.rules.map((r) => fingerprint(r.id, p.entity.id))) })),
    });
    const ctx = { now, today: this.calendar.dayOf(now), calendar: this.calendar, feed: snap.feed };
    const commits: EntityCommit[] = [];
    for (const p of plans) {
      const { version, priors } = snap.alerts.get(p.entity.id)!;
      const series = snap.daily.get(p.entity.id) ?? new Map<string, Map<number, number>>();
      const steps = judgeEntity({ rules: p.rules, scoped: true, entity: p.entity, series, hourly: snap.hourly.get(p.entity.id), priors, ctx });
      if (steps.length) commits.push({ entity: p.entity.id, version, steps });
    }
    if (!commits.length) return { events: [], conflicts: [] };
    return this.alerts.commit(commits, now);
  }
}
