// Issue 11's footing: a real 3-master Redis Cluster starts from the test support, answers as a
// cluster, and spreads keys over all three masters.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Entity } from '../../src/domain/entity.js';
import { clusterPrefix, keyspace } from '../../src/state/keys.js';
import { RedisRegistryStore, RegistryCache } from '../../src/state/registry-store.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** Each master's port and how many slots it serves, from CLUSTER NODES. */
function mastersOf(nodesText: string): { port: number; slots: number }[] {
  return nodesText
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[2]!.split(',').includes('master'))
    .map((f) => ({
      port: Number(/:(\d+)@/.exec(f[1]!)![1]),
      slots: f.slice(8).reduce((sum, range) => {
        const [a, b] = range.split('-').map(Number) as [number, number | undefined];
        return sum + (b === undefined ? 1 : b - a + 1);
      }, 0),
    }));
}

describe('startRedisCluster', () => {
  it('starts three masters, each in its own directory, that agree the cluster is ok and share all 16384 slots', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.nodes.map((n) => n.dir)).size).toBe(3);
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
    for (const node of cluster.nodes) {
      expect(existsSync(join(node.dir, 'nodes.conf'))).toBe(true);
      const r = new Redis(node.url, { maxRetriesPerRequest: 0 });
      try {
        const info = (await r.cluster('INFO')) as string;
        expect(info).toMatch(/cluster_state:ok/);
        expect(info).toMatch(/cluster_size:3\b/);
        expect(info).toMatch(/cluster_slots_assigned:16384\b/);
        const masters = mastersOf((await r.cluster('NODES')) as string);
        expect(masters.map((m) => m.port).sort()).toEqual(cluster.nodes.map((n) => n.port).sort());
        expect(masters.reduce((s, m) => s + m.slots, 0)).toBe(16384);
        for (const m of masters) expect(m.slots).toBeGreaterThan(5000);
      } finally {
        r.disconnect();
      }
    }
    expect(cluster.urls.split(',')).toEqual(cluster.nodes.map((n) => n.url));
  });

  it('spreads keys over all three masters', async () => {
    const total = 3000;
    for (let i = 0; i < total; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => client.set(`footing:k:${i + k}`, String(i + k))));
    }
    expect(await client.get('footing:k:1234')).toBe('1234');
    const counts = await Promise.all(client.nodes('master').map((n) => n.dbsize()));
    expect(counts).toHaveLength(3);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    // CRC16 over 3000 distinct keys: each master holds about a third.
    for (const c of counts) {
      expect(c / total).toBeGreaterThan(0.25);
      expect(c / total).toBeLessThan(0.42);
    }
  });

  it('is a real cluster: keys of different slots in one command are refused, one hash tag is one slot', async () => {
    await expect(client.mset('footing:a', '1', 'footing:b', '2')).rejects.toThrow(/CROSSSLOT/);
    await client.mset('footing:{e1}:a', '1', 'footing:{e1}:b', '2');
    expect(await client.mget('footing:{e1}:a', 'footing:{e1}:b')).toEqual(['1', '2']);
  });

  it('a worker’s registry copy follows the change stream in the control slot (XINFO, XRANGE, HMGET), not whole reads', async () => {
    const keys = keyspace(clusterPrefix('footing-reg'));
    const store = new RedisRegistryStore(client, keys);
    const cache = new RegistryCache(client, keys);
    const entity = (id: string, name: string): Entity => ({ id, kind: 'grassroots', name, region: 'R1', district: 'X1', manager: 'C1', attrs: {} });
    await store.putMany(Array.from({ length: 50 }, (_, i) => entity(`G${i}`, `网点${i}`)));
    const hgetall = vi.spyOn(client, 'hgetall');
    await cache.refresh();
    await store.putMany([entity('G3', '改名'), entity('G99', '新网点')]);
    expect(await cache.refresh()).toBe(true);
    expect(hgetall).toHaveBeenCalledTimes(1);
    expect(cache.get('G3')?.name).toBe('改名');
    expect(cache.get('G99')?.name).toBe('新网点');
    expect(cache.size).toBe(51);
    hgetall.mockRestore();
  });

  it('stop() ends every node and removes its directory', async () => {
    const { nodes } = cluster;
    client.disconnect();
    await cluster.stop();
    for (const node of nodes) {
      expect(existsSync(node.dir)).toBe(false);
      const r = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => undefined);
      await expect(r.connect().then(() => r.ping())).rejects.toThrow();
      r.disconnect();
    }
  });
});
