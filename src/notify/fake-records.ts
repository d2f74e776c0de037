// In-memory twin of NotificationStore for unit tests: the same first-one-wins create and
// merge-on-update, without Redis.

import type { NotificationRecord, NotificationRecords } from '../domain/notification.js';

export class FakeNotificationRecords implements NotificationRecords {
  private readonly byId = new Map<string, NotificationRecord>();

  async create(r: NotificationRecord): Promise<{ record: NotificationRecord; created: boolean }> {
    const had = this.byId.get(r.id);
    if (had) return { record: had, created: false };
    this.byId.set(r.id, r);
    return { record: r, created: true };
  }

  async get(id: string): Promise<NotificationRecord | undefined> {
    return this.byId.get(id);
  }

  async update(id: string, patch: Partial<NotificationRecord>, now: number): Promise<NotificationRecord | undefined> {
    const current = this.byId.get(id);
    if (!current) return undefined;
    const next: NotificationRecord = { ...current, ...patch, updatedAt: now };
    this.byId.set(id, next);
    return next;
  }

  /** Every record, in the order they were created. */
  all(): NotificationRecord[] {
    return [...this.byId.values()];
  }
}
