// Deferring into a digest (quiet hours, rate limit): the intents wait in the contact's digest
// until it is due, and a `deferred` record says so at once.

import type { Clock } from '../../domain/clock.js';
import type { NotifyObserver } from '../context.js';
import type { Intent } from '../intent.js';
import type { NotificationRecords } from '../../domain/notification.js';
import { recordId, unsent, type Message } from './stage.js';
import type { DigestStore } from './stores.js';

export interface DeferDeps {
  readonly digests: DigestStore;
  readonly records: Pick<NotificationRecords, 'create'>;
  readonly clock: Clock;
  readonly observer: NotifyObserver;
}

export async function deferToDigest(deps: DeferDeps, m: Message, intents: readonly Intent[], due: number, reason: string): Promise<void> {
  await deps.digests.defer(m.contactId, intents.map((i) => ({ ...i, reason })), due);
  const now = deps.clock.now();
  const { created } = await deps.records.create({
    id: recordId('deferred', m.contactId, m.batch, reason),
    channel: 'sms',
    contact: m.contactId,
    kind: 'alert',
    items: intents.map((i) => i.item),
    state: 'deferred',
    reason,
    ...unsent(now),
  });
  if (created) deps.observer.notification('sms', 'deferred', intents.length);
}
