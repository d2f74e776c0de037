// Send: each recorded message goes onto its channel's queue, where the channel's one worker
// sends it (notify/delivery.ts).

import type { MessageStage } from './stage.js';
import type { Outbox } from './stores.js';

export function sendStage(outbox: Outbox): MessageStage {
  return {
    name: 'send',
    async run(m, b) {
      const notes = [...b.notes];
      for (const { about, record } of b.drafts) {
        await outbox.enqueue(m.channel, record.id);
        notes.push(`${record.items.length} ${about} notice(s) → ${m.channel} ${record.id}`);
      }
      return { ...b, notes };
    },
  };
}
