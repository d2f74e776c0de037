// Notification records in Redis: a hash id → JSON, an index by time, one of failures, and the
// reconciler's work lists (sending, awaiting receipt); provider message ids map back to records.

import type { RedisClient } from './client.js';
import type { NotificationFilter, NotificationRecord, NotificationRecords } from '../domain/notification.js';
import type { Keyspace } from './keys.js';

export class NotificationStore implements NotificationRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  /** Store a new record; an existing record with the same id wins (a retried dispatch). */
  async create(r: NotificationRecord): Promise<{ record: NotificationRecord; created: boolean }> {
    const created = await this.redis.hsetnx(this.keys.notifications, r.id, JSON.stringify(r));
    if (!created) return { record: (await this.get(r.id)) ?? r, created: false };
    const p = this.redis.pipeline().zadd(this.keys.notificationsByTime, r.createdAt, r.id);
    if (r.state === 'failed') p.zadd(this.keys.notificationsFailed, r.createdAt, r.id);
    await p.exec();
    return { record: r, created: true };
  }

  async get(id: string): Promise<NotificationRecord | undefined> {
    const raw = await this.redis.hget(this.keys.notifications, id);
    return raw ? (JSON.parse(raw) as NotificationRecord) : undefined;
  }

  async update(id: string, patch: Partial<NotificationRecord>, now: number): Promise<NotificationRecord | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const next: NotificationRecord = { ...current, ...patch, updatedAt: now };
    const p = this.redis.pipeline().hset(this.keys.notifications, id, JSON.stringify(next));
    if (next.state === 'failed') p.zadd(this.keys.notificationsFailed, next.createdAt, id);
    else p.zrem(this.keys.notificationsFailed, id);
    // The reconciler's work lists: messages whose fate a crash may have hidden.
    if (next.state === 'sending') p.zadd(this.keys.notificationsSending, next.sendingAt ?? now, id);
    else p.zrem(this.keys.notificationsSending, id);
    if (next.state === 'sent' && next.channel === 'sms' && next.providerIds.length) p.zadd(this.keys.notificationsAwaitingReceipt, next.sentAt ?? now, id);
    else p.zrem(this.keys.notificationsAwaitingReceipt, id);
    for (const pid of next.providerIds) if (!current.providerIds.includes(pid)) p.set(this.keys.providerId(pid), id, 'EX', 7 * 86_400);
    await p.exec();
    return next;
  }

  async byProviderId(providerId: string): Promise<NotificationRecord | undefined> {
    const id = await this.redis.get(this.keys.providerId(providerId));
    return id ? this.get(id) : undefined;
  }

  /** Ids in one of the reconciler's work lists whose score (sendingAt / sentAt) is at most `before`. */
  async olderThan(list: 'sending' | 'awaitingReceipt', before: number, limit = 500): Promise<string[]> {
    const key = list === 'sending' ? this.keys.notificationsSending : this.keys.notificationsAwaitingReceipt;
    return this.redis.zrangebyscore(key, '-inf', before, 'LIMIT', 0, limit);
  }

  /** Newest first. */
  async list(f: NotificationFilter = {}): Promise<NotificationRecord[]> {
    const limit = Math.min(f.limit ?? 500, 5000);
    const index = f.state === 'failed' ? this.keys.notificationsFailed : this.keys.notificationsByTime;
    const out: NotificationRecord[] = [];
    // Scan the index newest first in pages until the filter has filled the limit.
    for (let start = 0; out.length < limit; start += 1000) {
      const ids = await this.redis.zrevrange(index, start, start + 999);
      if (!ids.length) break;
      const raws = await this.redis.hmget(this.keys.notifications, ...ids);
      for (const raw of raws) {
        if (!raw) continue;
        const r = JSON.parse(raw) as NotificationRecord;
        if (f.state && r.state !== f.state) continue;
        if (f.contact && r.contact !== f.contact) continue;
        if (f.channel && r.channel !== f.channel) continue;
        if (f.alert && !r.items.some((i) => i.alert === f.alert)) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /** Forget records older than `before` (retention). */
  async prune(before: number): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.notificationsByTime, '-inf', before, 'LIMIT', 0, 10_000);
    if (!ids.length) return 0;
    await this.redis
      .pipeline()
      .hdel(this.keys.notifications, ...ids)
      .zrem(this.keys.notificationsByTime, ...ids)
      .zrem(this.keys.notificationsFailed, ...ids)
      .zrem(this.keys.notificationsSending, ...ids)
      .zrem(this.keys.notificationsAwaitingReceipt, ...ids)
      .exec();
    return ids.length;
  }

  /** Take a message off the receipt wait list without changing its record (a file never sends receipts). */
  async stopAwaitingReceipt(id: string): Promise<void> {
    await this.redis.zrem(this.keys.notificationsAwaitingReceipt, id);
  }

  /** Keep a delivery receipt (JSON) whose record is not known yet, by provider message id. */
  async keepReceipt(providerId: string, json: string): Promise<void> {
    await this.redis.hset(this.keys.receiptsKept, providerId, json);
  }

  /** Kept receipts (JSON) of these provider ids; null where none is kept. */
  async keptReceipts(providerIds: readonly string[]): Promise<(string | null)[]> {
    return this.redis.hmget(this.keys.receiptsKept, ...providerIds);
  }

  /** Every kept receipt: provider id → JSON. */
  allKeptReceipts(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.receiptsKept);
  }

  async dropKeptReceipts(providerIds: readonly string[]): Promise<void> {
    await this.redis.hdel(this.keys.receiptsKept, ...providerIds);
  }

  /** Whether a finally failed job (`<queue>:<job id>`) was already turned into failed notifications. */
  async failedJobSeen(job: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.failedJobsSeen, job)) === 1;
  }

  /** Mark a failed job as turned into failed notifications; false when it was marked before. */
  async markFailedJobSeen(job: string, at: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.failedJobsSeen, job, String(at))) === 1;
  }
}
