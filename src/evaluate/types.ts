// What a judgement is given: the injected instant, its local day and calendar, and the feed.
import type { Calendar } from '../domain/clock.js';

export interface EvalContext {
  /** Evaluation instant (epoch ms), injected. */
  readonly now: number;
  /** Local day index of `now`; days before it are complete. */
  readonly today: number;
  readonly calendar: Calendar;
  /**
   * Samples received per local day for each metric, across all entities (the feed). Absence
   * fires only for days the feed delivered in normal volume: an outlet silent while the others
   * reported is absent; everyone silent is a stalled feed (or a backfill still catching up),
   * not thousands of absences. Undefined: every day counts as delivered (rule tests).
   */
  readonly feed?: ReadonlyMap<string, ReadonlyMap<number, number>>;
}
