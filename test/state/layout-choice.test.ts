// Which series layout a deployment runs when LOOKOUT_SERIES_LAYOUT is unset: the one recorded in
// Redis, else buckets for an un-migrated deployment from before the compact layout, else compact.
import { describe, expect, it } from 'vitest';
import { keyspace } from '../../src/state/keys.js';
import { chooseLayout, recordedLayout } from '../../src/state/layout-choice.js';
import { migrateKeys } from '../../src/state/migrate.js';
import { dealer, dealerSeries } from '../integration/fixtures.js';
import { startTestLookout } from '../support/lookout.js';
import { redisPerTest } from '../support/redis.js';

const ctx = redisPerTest('layout');

describe('chooseLayout', () => {
  it('a new deployment runs compact and records it (bucket-shaped keys without a registry are no deployment)', async () => {
    const keys = keyspace(ctx.prefix);
    await ctx.redis.hset(keys.daily('card_opening', 20_000), 'D0001', '100000,1');
    expect(await chooseLayout(ctx.redis, keys)).toEqual({ layout: 'compact', why: 'new deployment' });
    expect(await ctx.redis.get(keys.layout)).toBe('compact');
    expect(await recordedLayout(ctx.redis, keys, 'buckets')).toBe('compact');
  });

  it('a deployment from before (bucket data, nothing recorded, not migrated) stays on buckets; once migrated it runs compact', async () => {
    const keys = keyspace(ctx.prefix);
    await ctx.redis.hset(keys.daily('card_opening', 20_000), 'D0001', '100000,1');
    await ctx.redis.hset(keys.entities, 'D0001', '{}');
    expect(await recordedLayout(ctx.redis, keys, 'compact')).toBe('compact'); // nothing recorded: the fallback
    expect(await chooseLayout(ctx.redis, keys)).toEqual({ layout: 'buckets', why: 'bucket data from before, not migrated' });
    expect(await chooseLayout(ctx.redis, keys)).toEqual({ layout: 'buckets', why: 'recorded in Redis' });
    // `lookout migrate` completing records compact (migrate.ts); a completed migration alone says so too.
    await ctx.redis.del(keys.layout);
    await ctx.redis.set(migrateKeys(keys.prefix).done, '{}');
    expect((await chooseLayout(ctx.redis, keys)).layout).toBe('compact');
  });

  it('LOOKOUT_SERIES_LAYOUT wins, and compact over un-migrated bucket data is refused (migration_needed)', async () => {
    const keys = keyspace(ctx.prefix);
    await ctx.redis.hset(keys.daily('card_opening', 20_000), 'D0001', '100000,1');
    await ctx.redis.hset(keys.entities, 'D0001', '{}');
    await expect(chooseLayout(ctx.redis, keys, 'compact')).rejects.toMatchObject({ code: 'migration_needed' });
    expect(await chooseLayout(ctx.redis, keys, 'buckets')).toEqual({ layout: 'buckets', why: 'LOOKOUT_SERIES_LAYOUT' });
  });
});

describe('an upgraded deployment', () => {
  it('restarted without LOOKOUT_SERIES_LAYOUT keeps reading the series it stored in the buckets layout', async () => {
    const prefix = ctx.prefix;
    const before = await startTestLookout({ prefix, keepKeys: true, env: { LOOKOUT_SERIES_LAYOUT: 'buckets' } });
    expect((await before.put('/api/v1/entities', [dealer('D0001')])).status).toBe(200);
    expect((await before.post('/api/v1/samples', dealerSeries('D0001', 40))).status).toBe(202);
    await before.idle(30_000);
    await before.cleanup();
    // As a deployment from before the layout was recorded.
    await ctx.redis.del(keyspace(prefix).layout);

    const after = await startTestLookout({ prefix, keepKeys: true, env: { LOOKOUT_SERIES_LAYOUT: '' } });
    try {
      expect(after.config.seriesLayout).toBe('buckets');
      expect([...(await after.daily('D0001', 'card_opening')).values()].reduce((a, b) => a + b, 0)).toBe(100 * 28 + 40);
    } finally {
      await after.cleanup();
    }
  }, 60_000);
});
