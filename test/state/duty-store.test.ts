// The duty store against a real Redis: broadcasts, the reminders sent, and the ack code a reminder
// keeps alive, read back raw in the layout existing deployments hold.
import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/state/keys.js';
import { RedisDutyStore } from '../../src/state/duty-store.js';
import { redisPerTest } from '../support/redis.js';

const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-11-21T10:00:00+08:00');

const t = redisPerTest('duty-store');
let redis: Redis;
let p: string;
let store: RedisDutyStore;
beforeEach(() => {
  ({ redis, prefix: p } = t);
  store = new RedisDutyStore(redis, keyspace(p));
});

describe('RedisDutyStore: broadcasts', () => {
  it('a new id is stored and indexed by creation time; a taken id writes nothing', async () => {
    expect(await store.addBroadcast('bc-1', '{"v":1}', T0)).toBe(true);
    expect(await store.addBroadcast('bc-1', '{"v":2}', T0 + 5)).toBe(false);
    expect(await redis.hget(`${p}:bc`, 'bc-1')).toBe('{"v":1}');
    expect(await redis.zrange(`${p}:bc:t`, 0, -1, 'WITHSCORES')).toEqual(['bc-1', String(T0)]);
    await store.putBroadcast('bc-1', '{"v":3}');
    expect(await store.broadcast('bc-1')).toBe('{"v":3}');
    expect(await store.broadcast('bc-2')).toBeUndefined();
  });

  it('newest first, and pruning forgets those created at or before the bound', async () => {
    for (let i = 1; i <= 4; i++) await store.addBroadcast(`bc-${i}`, `{"i":${i}}`, T0 + i * DAY_MS);
    expect(await store.recentBroadcasts(3)).toEqual(['bc-4', 'bc-3', 'bc-2']);
    await store.pruneBroadcasts(T0 + 2 * DAY_MS);
    expect(await store.recentBroadcasts(10)).toEqual(['bc-4', 'bc-3']);
    expect((await redis.hkeys(`${p}:bc`)).sort()).toEqual(['bc-3', 'bc-4']);
  });

  it('notification records in one read, null where there is none', async () => {
    await redis.hset(`${p}:notifications`, { n1: '{"id":"n1"}', n3: '{"id":"n3"}' });
    expect(await store.notificationRecords(['n1', 'n2', 'n3'])).toEqual(['{"id":"n1"}', null, '{"id":"n3"}']);
    expect(await store.notificationRecords([])).toEqual([]);
  });
});

describe('RedisDutyStore: reminders', () => {
  it('the last reminder per alert as `<episode>.<n>`; those of closed alerts are forgotten', async () => {
    expect(await store.lastReminder('fpA')).toEqual({ episode: 0, reminder: 0 });
    await store.setLastReminder('fpA', 2, 3);
    await store.setLastReminder('fpB', 1, 1);
    expect(await redis.hgetall(`${p}:remind`)).toEqual({ fpA: '2.3', fpB: '1.1' });
    expect(await store.lastReminder('fpA')).toEqual({ episode: 2, reminder: 3 });
    await store.forgetReminders(new Set(['fpA']));
    expect(await redis.hkeys(`${p}:remind`)).toEqual(['fpA']);
  });

  it('keepAckCode: a code still owned is renewed for 14 days; the chain state lives 30 days', async () => {
    await redis.hset(`${p}:esc:fpA`, { ackCode: '4321', level: '1' });
    await redis.set(`${p}:ackcode:4321`, 'fpA', 'PX', 1000);
    await redis.hset(`${p}:told:fpA`, 'OP1', '');
    await store.keepAckCode('fpA');
    expect(await redis.pttl(`${p}:ackcode:4321`)).toBeGreaterThan(14 * DAY_MS - 60_000);
    expect(await redis.hget(`${p}:esc:fpA`, 'ackCode')).toBe('4321');
    expect(await redis.pttl(`${p}:esc:fpA`)).toBeGreaterThan(30 * DAY_MS - 60_000);
    expect(await redis.pttl(`${p}:told:fpA`)).toBeGreaterThan(30 * DAY_MS - 60_000);
  });

  it('keepAckCode: a lapsed code is claimed again; a code another alert took is replaced by a fresh one', async () => {
    await redis.hset(`${p}:esc:fpA`, { ackCode: '1111' });
    await store.keepAckCode('fpA');
    expect(await redis.get(`${p}:ackcode:1111`)).toBe('fpA');

    await redis.hset(`${p}:esc:fpB`, { ackCode: '2222' });
    await redis.set(`${p}:ackcode:2222`, 'fpOther');
    await store.keepAckCode('fpB');
    const fresh = await redis.hget(`${p}:esc:fpB`, 'ackCode');
    expect(fresh).toMatch(/^\d{4,6}$/);
    expect(fresh).not.toBe('2222');
    expect(await redis.get(`${p}:ackcode:${fresh}`)).toBe('fpB');
    expect(await redis.get(`${p}:ackcode:2222`)).toBe('fpOther');
  });
});
