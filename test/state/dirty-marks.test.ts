import { describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { DirtySet, EVAL_MAX_DELAY_MS } from '../../src/state/dirty.js';
import { keyspace } from '../../src/state/keys.js';
import { SeriesStore, type SeriesLayoutName } from '../../src/state/series-store.js';
import { redisPerTest } from '../support/redis.js';

const cal = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const today = cal.dayOf(NOW);
const at = (day: number, entity: string): Sample => ({ metric: 'card_opening', entity, value: 10, ts: cal.startOfDay(day) + 12 * 3_600_000, id: `${entity}/${day}` });

describe.each(['compact', 'buckets'] as SeriesLayoutName[])('dirty marks of an apply (%s layout)', (layout) => {
  const ctx = redisPerTest(`marks-${layout}`);
  const store = () => new SeriesStore(ctx.redis, keyspace(ctx.prefix), cal, () => metricCatalogue(), { retentionDays: 35, hourlyRetentionDays: 28, seriesLayout: layout });
  const redisNow = async () => {
    const [s, us] = await ctx.redis.time();
    return Number(s) * 1000 + Number(us) / 1000;
  };

  it('stamps an entity with a sample of today or yesterday ahead by the lead (judged at once, backlog or not), and one with only older samples at now', async () => {
    const keys = keyspace(ctx.prefix);
    const before = await redisNow();
    // L: yesterday's export (live); B: a backfill of last week; M: both in one job (live).
    await store().apply('j1', [at(today - 1, 'L'), at(today - 7, 'B'), at(today - 7, 'M'), at(today, 'M')], NOW);
    const after = await redisNow();
    const lead = EVAL_MAX_DELAY_MS;
    for (const e of ['L', 'M']) {
      const score = Number(await ctx.redis.zscore(keys.dirty, e));
      expect(score).toBeGreaterThanOrEqual(Math.floor(before) - lead - 1);
      expect(score).toBeLessThanOrEqual(after - lead + 1);
    }
    const b = Number(await ctx.redis.zscore(keys.dirty, 'B'));
    expect(b).toBeGreaterThanOrEqual(Math.floor(before) - 1);

    // A drainer yielding to a backlog (minimum age EVAL_MAX_DELAY_MS) takes the live ones at once,
    // and leaves the backfill for later.
    const claimed = await new DirtySet(ctx.redis, keys).claim(60_000, 1000, EVAL_MAX_DELAY_MS);
    expect(claimed.sort()).toEqual(['L', 'M']);
    expect(await ctx.redis.zrange(keys.dirty, 0, -1)).toEqual(['B']);
  });

  it('moves a mark only earlier: a live sample pulls a waiting backfill mark forward, a backfill sample never pushes a live one back', async () => {
    const keys = keyspace(ctx.prefix);
    const s = store();
    await s.apply('j1', [at(today - 9, 'X')], NOW);
    const backfilled = Number(await ctx.redis.zscore(keys.dirty, 'X'));
    await s.apply('j2', [at(today - 1, 'X')], NOW);
    const live = Number(await ctx.redis.zscore(keys.dirty, 'X'));
    // Stamped the lead before its own apply, which came after the backfill's: earlier than the
    // backfill mark, by at most the lead.
    expect(live).toBeLessThan(backfilled);
    expect(live).toBeGreaterThanOrEqual(backfilled - EVAL_MAX_DELAY_MS - 1);
    await s.apply('j3', [at(today - 8, 'X')], NOW);
    expect(Number(await ctx.redis.zscore(keys.dirty, 'X'))).toBe(live);
  });
});
