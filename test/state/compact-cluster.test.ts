// The compact layout's apply script on a real 3-master Redis Cluster: each (chunk, shard) call
// declares its keys and they all hash to one slot, so Redis Cluster runs it (a cross-slot or
// undeclared key would fail here with CROSSSLOT / "non local key"), and the shards land on
// several masters. The whole daemon on a cluster: test/cluster/.
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Calendar, MS_PER_HOUR } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { keyspace } from '../../src/state/keys.js';
import { CompactSeriesView } from '../../src/state/compact-format.js';
import { APPLY_COMPACT_LUA } from '../../src/state/compact-lua.js';
import { CompactSeries } from '../../src/state/compact-series.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** A compact store on the cluster under `prefix`, `n` entities and one id'd sample each for yesterday. */
function fixture(prefix: string, n: number, name: string, applyIn: 'worker' | 'redis' = 'worker') {
  const cal = new Calendar('Asia/Shanghai');
  const now = Date.parse('2026-11-22T09:00:00+08:00');
  const day = cal.dayOf(now) - 1;
  const series = new CompactSeries(client as unknown as Redis, keyspace(prefix), cal, () => metricCatalogue(), {
    retentionDays: 35,
    hourlyRetentionDays: 28,
    shards: 64,
    maxFutureMs: 300_000,
    idWindowDays: 7,
    applyIn,
  });
  const entities = Array.from({ length: n }, (_, i) => `${name}${i}`);
  const samples = (value: number): Sample[] =>
    entities.map((entity) => ({ entity, metric: 'air_recharge', value, ts: cal.startOfDay(day) + 12 * MS_PER_HOUR, id: `${entity}/${day}` }));
  return { now, day, series, entities, samples };
}

/** Nothing to mark dirty. */
const NO_MARKS = { live: new Set<string>(), backfill: new Set<string>(), leadMs: 0 };

describe('compact apply on a Redis Cluster', () => {
  it('applies every (chunk, shard) call, replaces by id, and spreads the entities over the masters', async () => {
    const { now, day, series, entities, samples } = fixture('cl', 40, 'G');
    for (const [job, value] of [
      ['a', 5],
      ['b', 9],
    ] as const) {
      const calls = series.calls(job, samples(value), now);
      expect(calls.length).toBeGreaterThan(1);
      for (const c of calls) {
        const [applied, rejects] = (await client.eval(APPLY_COMPACT_LUA, c.keys.length, ...c.keys, ...c.args)) as [number, string];
        expect([applied, rejects]).toEqual([1, '']);
      }
    }
    const masters = new Set<string>();
    for (const e of entities) {
      const key = series.ck.series(e, 'air_recharge');
      const buf = await client.getBuffer(key);
      const out = new Map<number, number>();
      new CompactSeriesView(buf!).daily(day, day, false, out);
      expect([e, out.get(day)]).toEqual([e, 9]);
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const node = client.slots[slot]?.[0];
      if (node) masters.add(node);
    }
    expect(masters.size).toBe(3);
  });

  it('refuses a re-sent id once the id window has passed (id_window_passed), through the batch that spreads the shards', async () => {
    const { now, day, series, entities, samples } = fixture('clw', 20, 'W');
    expect((await series.apply('w1', samples(5), now, NO_MARKS)).rejected).toEqual([]);
    // Within the window a re-send replaces.
    expect((await series.apply('w2', samples(7), now + 86_400_000, NO_MARKS)).rejected).toEqual([]);
    // Three weeks on the ids have left the window (a daily feed's index drops them within 4 days
    // after): the same ids are refused, never counted twice.
    const later = await series.apply('w3', samples(9), now + 21 * 86_400_000, NO_MARKS);
    expect(later.rejected.map((r) => r.code)).toEqual(Array(entities.length).fill('id_window_passed'));
    for (const e of entities) {
      const out = new Map<number, number>();
      new CompactSeriesView((await client.getBuffer(series.ck.series(e, 'air_recharge')))!).daily(day, day, false, out);
      expect([e, out.get(day)]).toEqual([e, 7]);
    }
  });

  it('applies in Redis (LOOKOUT_APPLY_IN=redis) shard by shard, each call in one MULTI with its shard\'s lease, which it takes from a holder', async () => {
    const { now, day, series, entities, samples } = fixture('clr', 30, 'R', 'redis');
    // A worker holds the lease of the first entity's shard: it has read that shard, so the write
    // here must leave it a lease that is no longer its own.
    const held = series.ck.applying(series.ck.shard(entities[0]!));
    await client.set(held, 'a-worker', 'PX', 60_000);
    expect((await series.apply('r1', samples(4), now, NO_MARKS)).rejected).toEqual([]);
    expect(await client.get(held)).toBeNull();
    for (const e of entities) {
      const out = new Map<number, number>();
      new CompactSeriesView((await client.getBuffer(series.ck.series(e, 'air_recharge')))!).daily(day, day, false, out);
      expect([e, out.get(day)]).toEqual([e, 4]);
    }
  });
});
