// Mute: intents a silence or an inhibition covers are recorded (visible as `muted`), never sent.

import type { MuteReason } from '../../route/types.js';
import type { NotifyObserver } from '../context.js';
import type { NotificationRecords } from '../../domain/notification.js';
import { recordId, unsent, type IntakeStage } from './stage.js';

export interface MuteDeps {
  readonly records: Pick<NotificationRecords, 'create'>;
  readonly observer: NotifyObserver;
}

/** The reason a muted record carries. */
export function muteReason(m: MuteReason): string {
  return m.by === 'silence' ? `silence:${m.id}` : `inhibited_by:${m.source}`;
}

export function muteStage(deps: MuteDeps): IntakeStage {
  return {
    name: 'mute',
    async run({ now }, b) {
      if (b.muted === undefined) return b;
      for (const i of b.intents) {
        const { created } = await deps.records.create({
          id: recordId('muted', i.key),
          channel: i.channel,
          contact: i.contact,
          kind: i.kind,
          items: [i.item],
          state: 'muted',
          reason: b.muted,
          ...unsent(now),
        });
        if (created) deps.observer.notification(i.channel, 'muted');
      }
      return { ...b, outcome: 'muted' };
    },
  };
}
