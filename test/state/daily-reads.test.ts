// Daily bucket reads against a real Redis: the buckets as the apply script writes them
// (`P:d:<metric>:<day>`, entity → `sum,count` with sum in thousandths; `P:feed:<metric>`, day → samples).
import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/queues/names.js';
import { RedisDailyReads } from '../../src/state/daily-reads.js';
import { RedisStateProbe } from '../../src/state/state-probe.js';
import { redisPerTest } from '../support/redis.js';

const DAY = 20_413;

const t = redisPerTest('daily-reads');
let redis: Redis;
let p: string;
beforeEach(() => {
  ({ redis, prefix: p } = t);
});

describe('RedisDailyReads', () => {
  it('readDays: every entity and metric present, days without data absent', async () => {
    await redis.hset(`${p}:d:complaints:${DAY}`, { C1: '3000,3', C2: '1500,2' });
    await redis.hset(`${p}:d:complaints:${DAY + 1}`, { C1: '0,0' });
    await redis.hset(`${p}:d:enrollments:${DAY + 1}`, { C2: '250500,4' });
    const reads = new RedisDailyReads(redis, keyspace(p));
    const v = await reads.readDays(['C1', 'C2', 'C3'], ['complaints', 'enrollments'], DAY, DAY + 1);
    expect(v.get('C1')).toEqual(new Map([['complaints', new Map([[DAY, 3]])], ['enrollments', new Map()]]));
    expect(v.get('C2')).toEqual(new Map([['complaints', new Map([[DAY, 1.5]])], ['enrollments', new Map([[DAY + 1, 250.5]])]]));
    expect(v.get('C3')).toEqual(new Map([['complaints', new Map()], ['enrollments', new Map()]]));
    expect((await reads.readDays(['C1'], ['complaints'], DAY + 1, DAY)).get('C1')).toEqual(new Map([['complaints', new Map()]]));
  });

  it('arrived: true once any of the metrics has samples counted for the day', async () => {
    const reads = new RedisDailyReads(redis, keyspace(p));
    expect(await reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(false);
    await redis.hset(`${p}:feed:complaints`, String(DAY - 1), '9', String(DAY), '0');
    expect(await reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(false);
    await redis.hset(`${p}:feed:complaints`, String(DAY), '12');
    expect(await reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(true);
    expect(await reads.arrived(DAY, ['enrollments'])).toBe(false);
  });

  it('totals: Σ in units, samples and days with samples; entities without any are absent', async () => {
    await redis.hset(`${p}:d:satisfaction:${DAY}`, { H1: '9500,2', H2: '0,0' });
    await redis.hset(`${p}:d:satisfaction:${DAY + 2}`, { H1: '8000,1' });
    const t = await new RedisDailyReads(redis, keyspace(p)).totals(['H1', 'H2', 'H3'], 'satisfaction', DAY, DAY + 2);
    expect([...t]).toEqual([['H1', { sum: 17.5, count: 3, days: 2 }]]);
  });
});

describe('RedisStateProbe', () => {
  it("escalation levels in order, 0 where an alert's chain has none", async () => {
    await redis.hset(`${p}:esc:fpA`, { level: '2' });
    await redis.hset(`${p}:esc:fpB`, { token: 'x' });
    const probe = new RedisStateProbe(redis, keyspace(p));
    expect(await probe.escalationLevels(['fpA', 'fpB', 'fpC'])).toEqual([2, 0, 0]);
    expect(await probe.escalationLevels([])).toEqual([]);
    expect(await probe.ping()).toBe('PONG');
  });
});
