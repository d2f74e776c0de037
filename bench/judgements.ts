// How many entity judgements a Lookout process made (its lookout_evaluations_total): the bench
// prints them per entity, the figure that tells how well evaluation coalesced during a backfill.

import type { ChildProcess } from 'node:child_process';
import type { Lookout } from '../src/main.js';

export async function evaluations(lookout: Pick<Lookout, 'metrics'>): Promise<number> {
  const m = await lookout.metrics.registry.getSingleMetric('lookout_evaluations_total')?.get();
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0;
}

/** A bench worker process's count (bench/worker.ts answers the 'evaluations' message). */
export function childEvaluations(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'evaluations' in m) {
        child.off('message', onMessage);
        resolve(Number((m as { evaluations: unknown }).evaluations));
      }
    };
    child.on('message', onMessage);
    child.send('evaluations');
  });
}
