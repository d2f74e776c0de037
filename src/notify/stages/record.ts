// Record: every message is stored before it is queued (a stable id: a retried batch finds it).

import type { NotificationRecords } from '../../domain/notification.js';
import type { MessageStage } from './stage.js';

export function recordStage(records: Pick<NotificationRecords, 'create'>): MessageStage {
  return {
    name: 'record',
    async run(_m, b) {
      for (const { record } of b.drafts) await records.create(record);
      return b;
    },
  };
}
