// Group: a recipient's intents on one channel inside the group wait become one message.
// Joining (intake) adds an intent to the recipient's open group once, and schedules the group's
// flush after the wait; at the flush (message pipeline) the group keeps what is still worth
// sending, one item per alert.

import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { jobOptions } from '../../queues/job-options.js';
import { jobIdPart, type NotifyObserver } from '../context.js';
import type { DeferredIntent, FlushJob } from '../intent.js';
import type { IntakeStage, MessageStage, Pending } from './stage.js';
import type { AlertLookup, GroupStore } from './stores.js';

const DAY_MS = 86_400_000;
/** A group flush retries on its own schedule, whatever the policies say about messages. */
const FLUSH_RETRY = { attempts: 10, backoffMs: 1000 };

export interface JoinGroupDeps {
  readonly groups: GroupStore;
  readonly flushQueue: Pick<Queue, 'add'>;
  readonly groupWaitMs: () => number;
}

/** Intake: each intent joins its (contact, channel) group; each new group flushes after the group wait. */
export function joinGroupStage(deps: JoinGroupDeps): IntakeStage {
  return {
    name: 'join group',
    async run(_ctx, b) {
      const wait = deps.groupWaitMs();
      for (const i of b.intents) {
        const window = await deps.groups.join(i, randomUUID(), 7 * DAY_MS);
        // Adding the flush job again for the same window is a no-op (deterministic id).
        await deps.flushQueue.add(
          'flush',
          { contact: i.contact, channel: i.channel, window } satisfies FlushJob,
          jobOptions(jobIdPart(`flush.${i.channel}.${i.contact}.${window}`), FLUSH_RETRY, { delayMs: wait, keepCompletedDays: 1 }),
        );
      }
      return b;
    },
  };
}

export interface GroupDeps {
  readonly alerts: AlertLookup;
  readonly observer: NotifyObserver;
}

/**
 * Still worth sending: alert notices only while their alert episode is firing; the same alert
 * twice (two steps inside one wait) keeps its latest step.
 */
export async function latestLive(alerts: AlertLookup, intents: readonly DeferredIntent[]): Promise<Pending[]> {
  const out: Pending[] = [];
  const seen = new Set<string>();
  for (const i of intents) {
    const a = await alerts.get(i.item.alert);
    if (!a || a.episode !== i.item.episode) continue;
    if (i.kind === 'alert' && a.state !== 'firing') continue;
    const k = `${i.kind}.${i.item.alert}`;
    if (seen.has(k)) {
      const at = out.findIndex((o) => `${o.intent.kind}.${o.intent.item.alert}` === k);
      if (i.item.step > out[at]!.intent.item.step) out[at] = { intent: i, alert: a };
      continue;
    }
    seen.add(k);
    out.push({ intent: i, alert: a });
  }
  return out;
}

/** Message: what the group or digest held becomes the pending items of one message. */
export function groupStage(deps: GroupDeps): MessageStage {
  return {
    name: 'group',
    async run(m, b) {
      if (m.origin === 'group' && b.intents.length > 1) deps.observer.notification(m.channel, 'grouped', b.intents.length);
      // A digest lists what still needs attention; the night's resolve notices are not worth an SMS.
      const pending = await latestLive(deps.alerts, m.origin === 'digest' ? b.intents.filter((i) => i.kind === 'alert') : b.intents);
      const dropped = b.intents.length - pending.length;
      if (dropped) deps.observer.notification(m.channel, 'cancelled', dropped);
      if (!pending.length) return { ...b, pending, outcome: 'every alert was acknowledged or resolved meanwhile' };
      return { ...b, pending };
    },
  };
}
