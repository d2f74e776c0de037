// Job counts summed over several queues: the backfill's partitions counted as one queue, and the
// queues the idle check and the worker's readiness read together.

import type { JobType, Queue } from 'bullmq';

/** Jobs by state. */
export type Counts = Record<string, number>;

/** Anything counted as a queue is. */
export type Counted = Pick<Queue, 'getJobCounts'>;

/** Jobs of several queues in these states, summed by state. */
export async function sumCounts(qs: readonly Counted[], states: JobType[] = ['waiting', 'active', 'delayed', 'prioritized']): Promise<Counts> {
  const all = await Promise.all(qs.map((q) => q.getJobCounts(...states)));
  const out: Counts = {};
  for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}
