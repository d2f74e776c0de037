import { describe, expect, it } from 'vitest';
import { DirtySet, markDirty } from '../../src/state/dirty.js';
import { keyspace } from '../../src/state/keys.js';
import { redisPerTest } from '../support/redis.js';

describe('DirtySet.claim', () => {
  const ctx = redisPerTest('dirty');

  it('claims up to a chunk under a lease, across several slices of the script, and takes expired leases back first', async () => {
    const keys = keyspace(ctx.prefix);
    const dirty = new DirtySet(ctx.redis, keys);
    const ids = Array.from({ length: 1234 }, (_, i) => `E${i}`);
    await markDirty(ctx.redis, keys, ids);

    const first = await dirty.claim(60_000, 1000, 0);
    expect(new Set(first).size).toBe(1000);
    expect(await ctx.redis.zcard(keys.dirty)).toBe(234);
    expect(await ctx.redis.zcard(keys.evaluating)).toBe(1000);
    const [sec] = await ctx.redis.time();
    const lease = Number(await ctx.redis.zscore(keys.evaluating, first[999]!));
    expect(lease).toBeGreaterThan(Number(sec) * 1000 + 50_000);

    // A lease already over (a worker that died): the next claim puts these back and takes them again.
    const second = await dirty.claim(-1, 1000, 0);
    expect(second.sort()).toEqual(ids.filter((id) => !first.includes(id)).sort());
    expect(await ctx.redis.zcard(keys.dirty)).toBe(0);
    const third = await dirty.claim(60_000, 1000, 0);
    expect(third.sort()).toEqual(second);
    expect(await ctx.redis.zcard(keys.evaluating)).toBe(1234);

    // Nothing dirty and no lease over: nothing to claim; release drops the leases.
    expect(await dirty.claim(60_000, 1000, 0)).toEqual([]);
    await dirty.release([...first, ...third]);
    expect(await ctx.redis.zcard(keys.evaluating)).toBe(0);
  });

  it('leaves entities marked more recently than the debounce', async () => {
    const keys = keyspace(ctx.prefix);
    const dirty = new DirtySet(ctx.redis, keys);
    await markDirty(ctx.redis, keys, ['A', 'B']);
    expect(await dirty.claim(60_000, 1000, 60_000)).toEqual([]);
    expect(await ctx.redis.zcard(keys.dirty)).toBe(2);
  });
});
