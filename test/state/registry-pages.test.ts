import { describe, expect, it } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { keyspace } from '../../src/state/keys.js';
import { MemoryRegistryStore } from '../../src/state/memory-stores.js';
import { RedisRegistryStore } from '../../src/state/registry-store.js';
import { redisPerTest } from '../support/redis.js';

const entity = (i: number): Entity => ({ id: `G${i}`, kind: 'grassroots', name: `网点${i}`, region: 'R1', district: 'X1', manager: 'C1', attrs: {} });

async function pages(it: AsyncIterable<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe('RegistryStore.idPages', () => {
  const ctx = redisPerTest('regpages');

  it('yields every registered id in pages, without the entries (Redis: HSCAN)', async () => {
    const store = new RedisRegistryStore(ctx.redis, keyspace(ctx.prefix));
    const all = Array.from({ length: 2500 }, (_, i) => entity(i));
    await store.putMany(all);
    const got = await pages(store.idPages(500));
    expect(got.length).toBeGreaterThan(2);
    expect(new Set(got.flat())).toEqual(new Set(all.map((e) => e.id)));
    // COUNT is a hint: a page stays near it, never the whole registry at once.
    for (const p of got) expect(p.length).toBeLessThan(1500);
  });

  it('yields nothing for an empty registry', async () => {
    expect(await pages(new RedisRegistryStore(ctx.redis, keyspace(ctx.prefix)).idPages())).toEqual([]);
    expect(await pages(new MemoryRegistryStore().idPages())).toEqual([]);
  });

  it('the in-memory twin pages the same ids', async () => {
    const store = new MemoryRegistryStore(Array.from({ length: 7 }, (_, i) => entity(i)));
    expect(await pages(store.idPages(3))).toEqual([['G0', 'G1', 'G2'], ['G3', 'G4', 'G5'], ['G6']]);
  });
});
