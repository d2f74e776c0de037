// Recipient: the message's contact must still be in contacts.csv; a step that named a role
// nobody fills, or a contact that is gone, is a visible failed notification (no_recipient).

import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import type { Contact } from '../../route/types.js';
import type { NotifyObserver } from '../context.js';
import type { NotificationItem, NotificationRecords } from '../../domain/notification.js';
import { recordId, unsent, type MessageStage } from './stage.js';

export interface MissingDeps {
  readonly records: Pick<NotificationRecords, 'create'>;
  readonly clock: Clock;
  readonly observer: NotifyObserver;
  readonly logger: Logger;
}

export interface RecipientDeps extends MissingDeps {
  readonly contact: (id: string) => Contact | undefined;
}

export async function recordMissing(deps: MissingDeps, item: NotificationItem, ref: string, reason: string): Promise<void> {
  const now = deps.clock.now();
  const { created } = await deps.records.create({
    id: recordId('missing', item.alert, String(item.episode), String(item.step), ref),
    channel: 'sms',
    contact: ref,
    kind: 'alert',
    items: [item],
    state: 'failed',
    error: { code: 'no_recipient', message: `${ref}: ${reason}` },
    ...unsent(now),
  });
  if (created) {
    deps.observer.notification('none', 'no_recipient');
    deps.logger.error({ alert: item.alert, rule: item.rule, entity: item.entity, ref, reason }, 'escalation step has no recipient for a role');
  }
}

export function recipientStage(deps: RecipientDeps): MessageStage {
  return {
    name: 'recipient',
    async run(m, b) {
      const contact = deps.contact(m.contactId);
      if (contact) return { ...b, contact };
      for (const p of b.pending) await recordMissing(deps, p.intent.item, `contact:${m.contactId}`, 'the contact is no longer in contacts.csv');
      return { ...b, outcome: `contact ${m.contactId} is gone` };
    },
  };
}
