// Retention (LOOKOUT_RETENTION_DAYS): samples older than it are rejected, and buckets that fall
// out of it are pruned as new days arrive, so per-entity hashes stay bounded.
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MS_PER_DAY } from '../../src/domain/clock.js';
import { metricValue, startTestLookout, type IngestBody, type TestLookout } from '../support/lookout.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';

const RETENTION_DAYS = 8;

/**
 * What a deployment keeps in Redis apart from its queues: the number of entries (hash fields,
 * set/zset members, stream entries, strings) in keys without a TTL, and the longest TTL (ms).
 */
async function storage(lk: TestLookout): Promise<{ persistent: number; longestTtl: number }> {
  const queues = [`${lk.prefix}:samples:`, `${lk.prefix}:alert-events:`];
  let persistent = 0;
  let longestTtl = 0;
  let cursor = '0';
  do {
    const [next, keys] = await lk.redis.scan(cursor, 'MATCH', `${lk.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (queues.some((q) => key.startsWith(q))) continue;
      const ttl = await lk.redis.pttl(key);
      if (ttl >= 0) {
        longestTtl = Math.max(longestTtl, ttl);
        continue;
      }
      const type = await lk.redis.type(key);
      if (type === 'hash') persistent += await lk.redis.hlen(key);
      else if (type === 'zset') persistent += await lk.redis.zcard(key);
      else if (type === 'set') persistent += await lk.redis.scard(key);
      else if (type === 'stream') persistent += await lk.redis.xlen(key);
      else if (type === 'list') persistent += await lk.redis.llen(key);
      else persistent += 1;
    }
  } while (cursor !== '0');
  return { persistent, longestTtl };
}

describe.each(SERIES_LAYOUTS)('retention (%s series layout)', (layout) => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00', env: { LOOKOUT_RETENTION_DAYS: String(RETENTION_DAYS), LOOKOUT_SERIES_LAYOUT: layout } });
  });
  afterEach(async () => lk.cleanup());

  it('rejects samples from before local midnight LOOKOUT_RETENTION_DAYS days ago (ts_too_old), over HTTP and the queue', async () => {
    // 2026-11-22 minus 8 days: the window starts at 2026-11-14T00:00 local time.
    const res = await lk.post<IngestBody>('/api/v1/samples', [
      { metric: 'air_recharge', entity: 'G0001', value: 1, ts: '2026-11-13T23:59:59+08:00' },
      { metric: 'air_recharge', entity: 'G0001', value: 2, ts: '2026-11-14T00:00:00+08:00' },
      { metric: 'air_recharge', entity: 'G0001', value: 3, ts: Date.parse('2026-11-01T12:00:00+08:00') },
    ]);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'ts_too_old'],
      [2, 'ts_too_old'],
    ]);

    const conn = lk.redis.duplicate();
    const queue = new Queue('samples', { connection: conn, prefix: lk.prefix });
    await queue.add('batch', { v: 1, source: 'billing', samples: [{ metric: 'air_recharge', entity: 'G0001', value: 5, ts: '2026-11-10T12:00:00+08:00' }] });
    await lk.idle();
    await queue.close();
    conn.disconnect();
    const metrics = (await lk.get<string>('/metrics')).body;
    expect(metricValue(metrics, 'lookout_samples_rejected_total', { source: 'billing:worker', code: 'ts_too_old' })).toBe(1);
    expect([...(await lk.daily('G0001', 'air_recharge')).values()]).toEqual([2]);
  });

  it('keeps stored data bounded as days go by: what outlives the retention is pruned or expires', async () => {
    const days = 45;
    const footprints: number[] = [];
    for (let i = 0; i < days; i++) {
      if (i > 0) lk.manualClock.advance(MS_PER_DAY);
      const ts = lk.clock.now() - 3_600_000;
      const res = await lk.post<IngestBody>('/api/v1/samples', [
        { metric: 'air_recharge', entity: 'G0001', value: 6, ts, id: `G0001/air_recharge/${lk.calendar.dayOf(ts)}` },
        { metric: 'air_recharge', entity: 'G0002', value: 2, ts },
      ]);
      expect(res.body.accepted).toBe(2);
      await lk.dayCloser!.closeDue(); // the scheduler closes every day
      await lk.idle();
      footprints.push((await storage(lk)).persistent);
    }
    const { persistent, longestTtl } = await storage(lk);
    // Data without a TTL stays in proportion to the retention, however long the history…
    const bound = 4 * RETENTION_DAYS + 16;
    expect(Math.max(...footprints), `persistent fields per day: ${footprints.join(' ')}`).toBeLessThanOrEqual(bound);
    expect(persistent).toBeLessThanOrEqual(bound);
    // …and what has a TTL is gone within the retention. (The clock here runs 45 days ahead of
    // Redis's: expiry must follow the deployment's clock, not Redis time.) The compact layout's
    // keys expire on whole weeks (an EXPIRE once a week, not daily): up to 6 days later.
    expect(longestTtl / MS_PER_DAY).toBeLessThanOrEqual(RETENTION_DAYS + 3 + (layout === 'compact' ? 6 : 0));
    // Nothing inside the retention window is lost.
    const today = lk.calendar.dayOf(lk.clock.now());
    const stored = await lk.daily('G0001', 'air_recharge');
    for (let d = today - RETENTION_DAYS + 1; d <= today; d++) expect([d, stored.get(d)]).toEqual([d, 6]);
  });

  it('a Lookout whose clock is behind Redis time (a replay, a test) keeps the samples it accepted', async () => {
    await lk.cleanup();
    lk = await startTestLookout({ now: '2026-08-22T09:00:00+08:00', env: { LOOKOUT_RETENTION_DAYS: String(RETENTION_DAYS), LOOKOUT_SERIES_LAYOUT: layout } });
    const res = await lk.post<IngestBody>('/api/v1/samples', [
      { metric: 'air_recharge', entity: 'G0001', value: 6, ts: '2026-08-20T12:00:00+08:00', id: 'G0001/air_recharge/2026-08-20' },
      { metric: 'air_recharge', entity: 'G0001', value: 7, ts: '2026-08-21T12:00:00+08:00' },
    ]);
    expect(res.body).toEqual({ accepted: 2, rejected: [], rejected_total: 0, rejected_by_code: {} });
    await lk.idle();
    const day = (iso: string) => lk.calendar.dayOf(Date.parse(`${iso}T12:00:00+08:00`));
    const stored = await lk.daily('G0001', 'air_recharge');
    expect([stored.get(day('2026-08-20')), stored.get(day('2026-08-21'))]).toEqual([6, 7]);
  });
});
