// What a Lookout process counted while the bench ran: its entity judgements (lookout_evaluations_total,
// printed per entity: how well evaluation coalesced during a backfill) and the sample jobs its stall
// check found stalled and queued again (lookout_sample_jobs_stalled_total: work done twice), and
// the apply calls whose fenced write found a key changed (lookout_apply_conflicts_total: computed again).

import type { ChildProcess } from 'node:child_process';
import type { Lookout } from '../src/main.js';

export interface Counts {
  readonly evaluations: number;
  readonly stalled: number;
  /** Apply calls computed again after losing their fenced write (lookout_apply_conflicts_total). */
  readonly conflicts: number;
  /** Rounds applied and the jobs they held, by lane (lookout_apply_round_jobs). */
  readonly rounds: Record<string, { rounds: number; jobs: number }>;
}

async function sum(lookout: Pick<Lookout, 'metrics'>, name: string): Promise<number> {
  const m = await lookout.metrics.registry.getSingleMetric(name)?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
}

async function rounds(lookout: Pick<Lookout, 'metrics'>): Promise<Counts['rounds']> {
  const m = await lookout.metrics.registry.getSingleMetric('lookout_apply_round_jobs')?.get();
  const out: Counts['rounds'] = {};
  for (const v of m?.values ?? []) {
    const lane = String(v.labels.lane);
    const r = (out[lane] ??= { rounds: 0, jobs: 0 });
    if ((v as { metricName?: string }).metricName?.endsWith('_count')) r.rounds += v.value;
    if ((v as { metricName?: string }).metricName?.endsWith('_sum')) r.jobs += v.value;
  }
  return out;
}

export async function counts(lookout: Pick<Lookout, 'metrics'>): Promise<Counts> {
  return { evaluations: await sum(lookout, 'lookout_evaluations_total'), stalled: await sum(lookout, 'lookout_sample_jobs_stalled_total'), conflicts: await sum(lookout, 'lookout_apply_conflicts_total'), rounds: await rounds(lookout) };
}

/** What a process counted before it started. */
export const none: Counts = { evaluations: 0, stalled: 0, conflicts: 0, rounds: {} };

/** A bench worker process's counts (bench/worker.ts answers the 'counts' message). */
export function childCounts(child: ChildProcess): Promise<Counts> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'counts' in m) {
        child.off('message', onMessage);
        resolve((m as { counts: Counts }).counts);
      }
    };
    child.on('message', onMessage);
    child.send('counts');
  });
}

/** What was counted between `before` and `after` (the same process). */
export function minus(after: Counts, before: Counts): Counts {
  const rounds: Counts['rounds'] = {};
  for (const [lane, r] of Object.entries(after.rounds)) {
    const b = before.rounds[lane] ?? { rounds: 0, jobs: 0 };
    rounds[lane] = { rounds: r.rounds - b.rounds, jobs: r.jobs - b.jobs };
  }
  return { evaluations: after.evaluations - before.evaluations, stalled: after.stalled - before.stalled, conflicts: after.conflicts - before.conflicts, rounds };
}
