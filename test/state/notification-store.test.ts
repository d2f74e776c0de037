// Notification records on a real Redis: created once (a retried dispatch finds the first),
// failures indexed for `?state=failed`, receipts found by provider id, old records pruned; receipts
// kept for records not known yet, and failed jobs marked once.
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationRecord } from '../../src/domain/notification.js';
import { keyspace } from '../../src/state/keys.js';
import { NotificationStore } from '../../src/state/notification-store.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

function record(id: string, over: Partial<NotificationRecord> = {}): NotificationRecord {
  return {
    id,
    channel: 'sms',
    contact: 'CM01',
    kind: 'alert',
    items: [{ alert: 'fp1', episode: 1, step: 0, severity: 'warning', rule: 'r', entity: 'D0001' }],
    state: 'queued',
    attempts: 0,
    text: '【渠道预警·警告】D0001',
    providerIds: [],
    receipts: [],
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

describe('NotificationStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: NotificationStore;
  beforeEach(() => {
    redis = connect();
    prefix = freshPrefix('nrec');
    store = new NotificationStore(redis, keyspace(prefix));
  });
  afterEach(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('keeps the reconciler’s work lists: SMS being sent, and SMS waiting for their receipt', async () => {
    await store.create(record('s'));
    await store.update('s', { state: 'sending', sendingAt: 2000 }, 2000);
    expect(await store.olderThan('sending', 1999)).toEqual([]);
    expect(await store.olderThan('sending', 2000)).toEqual(['s']);
    await store.update('s', { state: 'sent', sentAt: 3000, providerIds: ['M1'] }, 3000);
    expect(await store.olderThan('sending', 10_000)).toEqual([]);
    expect(await store.olderThan('awaitingReceipt', 3000)).toEqual(['s']);
    await store.update('s', { state: 'delivered' }, 4000);
    expect(await store.olderThan('awaitingReceipt', 10_000)).toEqual([]);
  });

  it('creates a record once; a second create returns the first untouched', async () => {
    expect((await store.create(record('a'))).created).toBe(true);
    const again = await store.create(record('a', { text: 'other', state: 'failed' }));
    expect(again.created).toBe(false);
    expect(again.record).toMatchObject({ text: '【渠道预警·警告】D0001', state: 'queued' });
  });

  it('indexes failures, and un-indexes a record that is sent after all', async () => {
    await store.create(record('a'));
    await store.create(record('b', { createdAt: 2000 }));
    await store.update('a', { state: 'failed', error: { code: 'send_failed', message: 'smpp_0x0000000b' } }, 3000);
    expect((await store.list({ state: 'failed' })).map((r) => r.id)).toEqual(['a']);
    await store.update('a', { state: 'sent' }, 4000);
    expect(await store.list({ state: 'failed' })).toEqual([]);
    expect((await store.list()).map((r) => r.id)).toEqual(['b', 'a']);
  });

  it('filters by alert, contact and channel, newest first, with a limit', async () => {
    await store.create(record('a', { createdAt: 1 }));
    await store.create(record('b', { createdAt: 2, contact: 'DH01', channel: 'email' }));
    await store.create(record('c', { createdAt: 3, items: [{ alert: 'fp2', episode: 1, step: 1, severity: 'critical', rule: 'r', entity: 'D0002' }] }));
    expect((await store.list({ alert: 'fp1' })).map((r) => r.id)).toEqual(['b', 'a']);
    expect((await store.list({ contact: 'DH01' })).map((r) => r.id)).toEqual(['b']);
    expect((await store.list({ channel: 'sms' })).map((r) => r.id)).toEqual(['c', 'a']);
    expect((await store.list({ limit: 1 })).map((r) => r.id)).toEqual(['c']);
  });

  it('finds a record by a provider message id (delivery receipts)', async () => {
    await store.create(record('a'));
    await store.update('a', { state: 'sent', providerIds: ['M1', 'M2'] }, 2000);
    expect((await store.byProviderId('M2'))?.id).toBe('a');
    expect(await store.byProviderId('M9')).toBeUndefined();
  });

  it('prunes records older than the horizon', async () => {
    await store.create(record('old', { createdAt: 100 }));
    await store.create(record('new', { createdAt: 5000 }));
    await store.update('old', { state: 'failed' }, 200);
    expect(await store.prune(1000)).toBe(1);
    expect(await store.get('old')).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(['new']);
    expect(await store.list({ state: 'failed' })).toEqual([]);
  });

  it('keeps receipts by provider id until they are dropped', async () => {
    await store.keepReceipt('p1', '{"a":1}');
    await store.keepReceipt('p2', '{"a":2}');
    expect(await redis.hgetall(`${prefix}:receipts:kept`)).toEqual({ p1: '{"a":1}', p2: '{"a":2}' });
    expect(await store.keptReceipts(['p2', 'p3'])).toEqual(['{"a":2}', null]);
    await store.dropKeptReceipts(['p1']);
    expect(await store.allKeptReceipts()).toEqual({ p2: '{"a":2}' });
  });

  it('marks a failed job once', async () => {
    expect(await store.failedJobSeen('notify-sms:7')).toBe(false);
    expect(await store.markFailedJobSeen('notify-sms:7', 5000)).toBe(true);
    expect(await store.markFailedJobSeen('notify-sms:7', 6000)).toBe(false);
    expect(await store.failedJobSeen('notify-sms:7')).toBe(true);
    expect(await redis.hget(`${prefix}:jobs:failed-seen`, 'notify-sms:7')).toBe('5000');
  });

  it('takes a message off the receipt wait list without touching its record', async () => {
    await store.create(record('r'));
    await store.update('r', { state: 'sent', sentAt: 3000, providerIds: ['p9'] }, 3000);
    expect(await store.olderThan('awaitingReceipt', 3000)).toEqual(['r']);
    await store.stopAwaitingReceipt('r');
    expect(await store.olderThan('awaitingReceipt', 3000)).toEqual([]);
    expect((await store.get('r'))?.state).toBe('sent');
  });
});
