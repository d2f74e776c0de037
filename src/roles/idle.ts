// Waiting until the pipeline has settled: samples applied, dirty entities judged, events relayed
// and (where this process notifies) consumed. Tests and the demo step on from there.

import { sumCounts, type Counted, type Counts } from '../queues/counts.js';
import type { RedisClient } from '../state/client.js';
import type { Keyspace } from '../state/keys.js';
import { RedisStateProbe } from '../state/state-probe.js';

export interface Settling {
  readonly redis: RedisClient;
  readonly keys: Keyspace;
  readonly queues: { readonly [q in 'samples' | 'backfill' | 'alertEvents' | 'escalations' | 'dispatch' | 'sms' | 'email' | 'webhook']: Counted };
  /** Set when this process consumes alert events (no consumer: nothing drains them). */
  readonly notifier?: unknown;
}

/** Resolve once nothing is queued, dirty or unrelayed; throw what is stuck after `timeoutMs`. */
export async function waitIdle(p: Settling, timeoutMs = 60_000): Promise<void> {
  const { queues } = p;
  const probe = new RedisStateProbe(p.redis, p.keys);
  const deadline = performance.now() + timeoutMs;
  const consumesEvents = p.notifier !== undefined;
  const none = Promise.resolve({} as Counts);
  for (;;) {
    // Read in the order work flows (sample jobs → dirty → judging → outbox → alert events →
    // steps and messages): work only moves downstream, so what was in flight between two reads is
    // seen by the later one. Read at once, the outbox was read after the alert-event queue, and an
    // event moved between the two was in neither: idle while its transition was still to come.
    const s = await sumCounts([queues.samples, queues.backfill], ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
    const { dirty, evaluating, outbox } = await probe.backlog();
    const a: Counts = consumesEvents ? await queues.alertEvents.getJobCounts('waiting', 'active', 'prioritized') : {};
    const [n, d] = await Promise.all([
      // Escalation steps wait minutes on purpose: idle means nothing due now is left undone.
      consumesEvents ? queues.escalations.getJobCounts('waiting', 'active', 'prioritized') : none,
      consumesEvents ? sumCounts([queues.dispatch, queues.sms, queues.email, queues.webhook]) : none,
    ]);
    const busy = [s, a, n, d].some((c) => Object.values(c).some((x) => x > 0)) || dirty + evaluating + outbox > 0;
    if (!busy) return;
    if (performance.now() > deadline) {
      throw new Error(`not idle after ${timeoutMs} ms: samples ${JSON.stringify(s)} events ${JSON.stringify(a)} steps ${JSON.stringify(n)} messages ${JSON.stringify(d)} dirty ${dirty} evaluating ${evaluating} outbox ${outbox}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
