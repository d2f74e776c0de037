import { describe, expect, it, vi } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { keyspace } from '../../src/state/keys.js';
import { LOG_MAX_ENTRIES, RedisRegistryStore, RegistryCache } from '../../src/state/registry-store.js';
import { redisPerTest } from '../support/redis.js';

const entity = (i: number, name = `网点${i}`): Entity => ({ id: `G${i}`, kind: 'grassroots', name, region: 'R1', district: 'X1', manager: 'C1', attrs: {} });

describe('RegistryCache', () => {
  const ctx = redisPerTest('regcache');

  function setup() {
    const keys = keyspace(ctx.prefix);
    const store = new RedisRegistryStore(ctx.redis, keys);
    const cache = new RegistryCache(ctx.redis, keys);
    const hgetall = vi.spyOn(ctx.redis, 'hgetall');
    const hmget = vi.spyOn(ctx.redis, 'hmget');
    return { keys, store, cache, hgetall, hmget };
  }

  it('reads the registry whole once, then only the entries each change wrote', async () => {
    const { store, cache, hgetall, hmget } = setup();
    await store.putMany(Array.from({ length: 2500 }, (_, i) => entity(i)));
    expect(await cache.refresh()).toBe(true);
    expect(cache.size).toBe(2500);
    expect(hgetall).toHaveBeenCalledTimes(1);

    expect(await cache.refresh()).toBe(false); // nothing changed: one GET of the version
    await store.putMany([entity(7, '改名网点'), entity(9000)]);
    await store.putMany([entity(8)]);
    expect(await cache.refresh()).toBe(true);
    expect(hgetall).toHaveBeenCalledTimes(1);
    expect(hmget).toHaveBeenCalledTimes(1);
    expect(new Set(hmget.mock.calls[0]!.slice(1))).toEqual(new Set(['G7', 'G9000', 'G8']));
    expect(cache.get('G7')?.name).toBe('改名网点');
    expect(cache.get('G9000')?.id).toBe('G9000');
    expect(cache.size).toBe(2501);
    // A change of many entries (several stream entries) is read in pages, still without the whole hash.
    await store.putMany(Array.from({ length: 2500 }, (_, i) => entity(i, `新${i}`)));
    expect(await cache.refresh()).toBe(true);
    expect(hgetall).toHaveBeenCalledTimes(1);
    expect(cache.get('G2499')?.name).toBe('新2499');
    expect(cache.get('G9000')?.name).toBe('网点9000');
  });

  it('a change written while the copy is read whole is read again at the next refresh', async () => {
    const { store, cache, keys } = setup();
    await store.putMany([entity(1)]);
    // The write lands between the stream's position and the hash being read.
    const call = ctx.redis.call.bind(ctx.redis) as (...a: unknown[]) => Promise<unknown>;
    const once = vi.spyOn(ctx.redis, 'call').mockImplementationOnce((async (...a: unknown[]) => {
      const out = await call(...a); // XINFO STREAM: the position the copy will hold
      await store.putMany([entity(1, '写入中')]);
      return out;
    }) as never);
    await cache.refresh();
    once.mockRestore();
    expect(cache.get('G1')?.name).toBe('写入中');
    await store.putMany([entity(2)]);
    expect(await cache.refresh()).toBe(true);
    expect(cache.get('G1')?.name).toBe('写入中');
    expect(cache.get('G2')).toBeDefined();
    expect(await ctx.redis.exists(keys.entitiesLog)).toBe(1);
  });

  it('reloads whole when the stream was trimmed past its last refresh', async () => {
    const { store, cache, keys, hgetall } = setup();
    await store.putMany([entity(1)]);
    await cache.refresh();
    await store.putMany([entity(2)]);
    await store.putMany([entity(3, '第三')]);
    await ctx.redis.xtrim(keys.entitiesLog, 'MAXLEN', 1); // G2's entry is gone
    expect(await cache.refresh()).toBe(true);
    expect(hgetall).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(3);
    expect(cache.get('G3')?.name).toBe('第三');
  });

  it('reloads whole when the registry was written without the stream (an earlier Lookout)', async () => {
    const { keys, cache, hgetall } = setup();
    await ctx.redis.hset(keys.entities, 'G1', JSON.stringify(entity(1)));
    await ctx.redis.incr(keys.entitiesVersion);
    await cache.refresh();
    await ctx.redis.hset(keys.entities, 'G2', JSON.stringify(entity(2)));
    await ctx.redis.incr(keys.entitiesVersion);
    expect(await cache.refresh()).toBe(true);
    expect(hgetall).toHaveBeenCalledTimes(2);
    expect(cache.get('G2')?.id).toBe('G2');
  });

  it('keeps the change stream capped', async () => {
    const { store, keys } = setup();
    for (let i = 0; i < LOG_MAX_ENTRIES + 300; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => store.putMany([entity(i + k)])));
    // MAXLEN ~ trims whole nodes: at most one node (100 entries by default) over the cap.
    expect(await ctx.redis.xlen(keys.entitiesLog)).toBeLessThanOrEqual(LOG_MAX_ENTRIES + 100);
  });
  it('many refreshes at once read a change once, and one asked during a refresh sees what was written before it', async () => {
    const { store, cache, hgetall, hmget } = setup();
    await store.putMany(Array.from({ length: 300 }, (_, i) => entity(i)));
    await cache.refresh();
    expect(hgetall).toHaveBeenCalledTimes(1);
    await store.putMany([entity(1, '改名1')]);
    // A worker holding 32 jobs: each refreshes before it applies.
    const answers = await Promise.all(Array.from({ length: 32 }, () => cache.refresh()));
    expect(answers[0]).toBe(true);
    expect(hmget).toHaveBeenCalledTimes(1);
    expect(hgetall).toHaveBeenCalledTimes(1);
    expect(cache.get('G1')?.name).toBe('改名1');

    // A refresh is running; a change is written; a refresh asked now must see it (it waits for the
    // running one and then reads again), and the callers meanwhile share that second read.
    await store.putMany([entity(2, '改名2')]);
    const first = cache.refresh();
    await store.putMany([entity(3, '改名3')]);
    const later = [cache.refresh(), cache.refresh(), cache.refresh()];
    await first;
    await Promise.all(later);
    expect(cache.get('G2')?.name).toBe('改名2');
    expect(cache.get('G3')?.name).toBe('改名3');
    expect(hmget.mock.calls.length).toBeLessThanOrEqual(3);
    // A failed refresh does not wedge the ones after it.
    const get = vi.spyOn(ctx.redis, 'get').mockRejectedValueOnce(new Error('connection lost'));
    const failing = expect(cache.refresh()).rejects.toThrow('connection lost');
    await store.putMany([entity(4, '改名4')]);
    const after = cache.refresh();
    await failing;
    expect(await after).toBe(true);
    get.mockRestore();
    expect(cache.get('G4')?.name).toBe('改名4');
  });
});
