// The campaign store against a real Redis: what it writes is the layout existing deployments hold
// (key names and values are read back raw), and what it reads back from that layout.
import type { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../../src/state/keys.js';
import { RedisCampaignStore } from '../../src/state/campaign-store.js';
import { redisPerTest } from '../support/redis.js';

const DAY_MS = 86_400_000;
const DAY = 20_413;

const t = redisPerTest('campaign-store');
let redis: Redis;
let p: string;
let store: RedisCampaignStore;
beforeEach(() => {
  ({ redis, prefix: p } = t);
  store = new RedisCampaignStore(redis, keyspace(p));
});

describe('RedisCampaignStore', () => {
  it('last run: undefined until set, then the day as a decimal string', async () => {
    expect(await store.lastRun()).toBeUndefined();
    await store.setLastRun(DAY);
    expect(await redis.get(`${p}:campaign:last-run`)).toBe(String(DAY));
    expect(await store.lastRun()).toBe(DAY);
  });

  it('deferred work: JSON tuples in one set; an entry as stored is removed exactly', async () => {
    await store.defer({ what: 'report', campaign: 'C1', day: DAY });
    await store.defer({ what: 'evaluation', campaign: 'C2' });
    await redis.sadd(`${p}:campaign:deferred`, '["report","C3"]');
    expect((await redis.smembers(`${p}:campaign:deferred`)).sort()).toEqual(['["evaluation","C2"]', '["report","C1",20413]', '["report","C3"]']);
    const entries = (await store.deferred()).sort((a, b) => a.campaign.localeCompare(b.campaign));
    expect(entries).toEqual([
      { what: 'report', campaign: 'C1', day: DAY, member: '["report","C1",20413]' },
      { what: 'evaluation', campaign: 'C2', member: '["evaluation","C2"]' },
      { what: 'report', campaign: 'C3', member: '["report","C3"]' },
    ]);
    await store.undefer(entries[2]!);
    await store.undefer({ what: 'evaluation', campaign: 'C2' });
    expect(await redis.smembers(`${p}:campaign:deferred`)).toEqual(['["report","C1",20413]']);
  });

  it('a report made: kept 40 days under its day, and its waiting entry goes in the same step', async () => {
    await store.defer({ what: 'report', campaign: 'C1', day: DAY });
    expect(await store.report(DAY, 'C1')).toBeUndefined();
    await store.recordReport(DAY, 'C1', '{"campaign":"C1"}');
    expect(await redis.hget(`${p}:campaign:reported:${DAY}`, 'C1')).toBe('{"campaign":"C1"}');
    const ttl = await redis.pttl(`${p}:campaign:reported:${DAY}`);
    expect(ttl).toBeGreaterThan(40 * DAY_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(40 * DAY_MS);
    expect(await store.report(DAY, 'C1')).toBe('{"campaign":"C1"}');
    expect(await redis.scard(`${p}:campaign:deferred`)).toBe(0);
  });

  it('post-evaluations: the first record stored wins, never expires', async () => {
    expect(await store.addEvaluation('C1', '{"v":1}')).toBe(true);
    expect(await store.addEvaluation('C1', '{"v":2}')).toBe(false);
    await store.addEvaluation('C2', '{"v":3}');
    expect(await redis.hget(`${p}:campaign:evaluations`, 'C1')).toBe('{"v":1}');
    expect(await redis.pttl(`${p}:campaign:evaluations`)).toBe(-1);
    expect(await store.evaluation('C1')).toBe('{"v":1}');
    expect(await store.evaluation('C9')).toBeUndefined();
    expect((await store.evaluated()).sort()).toEqual(['C1', 'C2']);
    expect((await store.evaluations()).sort()).toEqual(['{"v":1}', '{"v":3}']);
    expect(await store.isEvaluated('C2')).toBe(true);
    expect(await store.isEvaluated('C9')).toBe(false);
  });

  it("the ledger: the escalation level counts only for the alert's own episode; entries live 400 days under the campaign", async () => {
    await redis.hset(`${p}:esc:fpA`, { episode: '2', level: '3' });
    await redis.hset(`${p}:esc:fpB`, { episode: '1', level: '2' });
    await redis.hset(`${p}:campaign:alerts:C1`, 'fpA.2', '{"old":true}');
    const alerts = [
      { fingerprint: 'fpA', episode: 2, entity: 'C1' },
      { fingerprint: 'fpB', episode: 2, entity: 'C1' },
      { fingerprint: 'fpC', episode: 1, entity: 'C2' },
    ];
    expect(await store.ledgerState(alerts)).toEqual([{ level: 3, stored: '{"old":true}' }, { level: 0 }, { level: 0 }]);
    await store.putLedger([
      { campaign: 'C1', fingerprint: 'fpA', episode: 2, json: '{"a":1}' },
      { campaign: 'C2', fingerprint: 'fpC', episode: 1, json: '{"c":1}' },
    ]);
    expect(await redis.hgetall(`${p}:campaign:alerts:C1`)).toEqual({ 'fpA.2': '{"a":1}' });
    expect(await redis.ttl(`${p}:campaign:alerts:C2`)).toBeGreaterThan(400 * 86_400 - 60);
    expect(await store.ledger('C2')).toEqual(['{"c":1}']);
    expect(await store.ledger('C9')).toEqual([]);
  });
});
