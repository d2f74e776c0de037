// What a Lookout process counted while the bench ran: its entity judgements (lookout_evaluations_total,
// printed per entity: how well evaluation coalesced during a backfill) and the sample jobs its stall
// check found stalled and queued again (lookout_sample_jobs_stalled_total: work done twice).

import type { ChildProcess } from 'node:child_process';
import type { Lookout } from '../src/main.js';

export interface Counts {
  readonly evaluations: number;
  readonly stalled: number;
}

async function sum(lookout: Pick<Lookout, 'metrics'>, name: string): Promise<number> {
  const m = await lookout.metrics.registry.getSingleMetric(name)?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
}

export async function counts(lookout: Pick<Lookout, 'metrics'>): Promise<Counts> {
  return { evaluations: await sum(lookout, 'lookout_evaluations_total'), stalled: await sum(lookout, 'lookout_sample_jobs_stalled_total') };
}

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
