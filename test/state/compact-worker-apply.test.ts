// Applying the compact layout in the worker (LOOKOUT_APPLY_IN=worker, the default): the same
// stored bytes as the apply script inside Redis (LOOKOUT_APPLY_IN=redis), and workers racing on
// the same series lose nothing and count nothing twice (the fenced write: compact-writes.ts).
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar, MS_PER_HOUR } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { mulberry32 } from '../../src/demo/simulate.js';
import { keyspace } from '../../src/state/keys.js';
import { SeriesStore } from '../../src/state/series-store.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const cal = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TODAY = cal.dayOf(NOW);
const at = (day: number, hour: number) => cal.startOfDay(day) + hour * MS_PER_HOUR + 60_000;

const conns: Redis[] = [];
const prefixes: string[] = [];
let admin: Redis;
beforeEach(() => {
  admin = connect();
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await dropPrefix(admin, p);
  for (const c of conns.splice(0)) c.disconnect();
  admin.disconnect();
});

/** A compact store under `prefix` on its own connection (a worker process of its own). */
function store(prefix: string, applyIn: 'worker' | 'redis'): SeriesStore {
  const redis = connect();
  conns.push(redis);
  return new SeriesStore(redis, keyspace(prefix), cal, () => metricCatalogue(), { retentionDays: 35, hourlyRetentionDays: 28, seriesLayout: 'compact', applyIn });
}

function fresh(): string {
  const p = freshPrefix('cwa');
  prefixes.push(p);
  return p;
}

/** Every key under a prefix, its bytes and whether it expires, by name without the prefix. */
async function dump(prefix: string): Promise<Map<string, [string, boolean]>> {
  const out = new Map<string, [string, boolean]>();
  for (const key of await admin.keys(`${prefix}*`)) {
    const type = await admin.type(key);
    // The series, id indexes and markers (strings) and the feed counters (hashes); not the dirty set,
    // whose scores are times.
    if (type !== 'string' && type !== 'hash') continue;
    const value = type === 'string' ? (await admin.getBuffer(key))!.toString('hex') : JSON.stringify(await admin.hgetall(key));
    out.set(key.slice(prefix.length).replaceAll(prefix, 'P'), [value, (await admin.ttl(key)) > 0]);
  }
  return out;
}

/** Jobs of daily and hourly samples with ids, re-sends and corrections, over a few entities. */
function jobs(seed: number, count: number, entities: readonly string[], idsOfTheirOwn = false): Sample[][] {
  const rnd = mulberry32(seed);
  const metrics = ['card_opening', 'air_recharge'];
  const out: Sample[][] = [];
  for (let j = 0; j < count; j++) {
    const job: Sample[] = [];
    for (let k = 0; k < 150; k++) {
      const entity = entities[Math.floor(rnd() * entities.length)]!;
      const metric = metrics[Math.floor(rnd() * metrics.length)]!;
      const day = TODAY - 1 - Math.floor(rnd() * 10);
      const hour = Math.floor(rnd() * 24);
      const id = rnd() < 0.8 ? (idsOfTheirOwn ? `${j}/${k}` : `${entity}/${metric}/${day}/${Math.floor(rnd() * 6)}`) : undefined;
      job.push({ entity, metric, value: Math.floor(rnd() * 50), ts: at(day, hour), ...(id ? { id } : {}) });
    }
    out.push(job);
  }
  return out;
}

describe('compact layout applied in the worker', () => {
  it('stores the same bytes as the apply script inside Redis, job by job', async () => {
    const entities = ['D1', 'D2', 'G1', 'G2', 'G3', 'G4'];
    const [a, b] = [fresh(), fresh()];
    const inWorker = store(a, 'worker');
    const inRedis = store(b, 'redis');
    for (const [j, job] of jobs(5, 40, entities).entries()) {
      const x = await inWorker.apply(`j${j}`, job, NOW + j * 8 * 3_600_000);
      const y = await inRedis.apply(`j${j}`, job, NOW + j * 8 * 3_600_000);
      expect(x.rejected).toEqual(y.rejected);
      expect([x.chunks, x.skippedChunks]).toEqual([y.chunks, y.skippedChunks]);
    }
    const [da, db] = [await dump(a), await dump(b)];
    expect(da.size).toBeGreaterThan(10);
    expect(da).toEqual(db);
  });

  it('a job of many windows (its calls computed a window at a time) stores what the script stores, corrections in later chunks winning', async () => {
    // 5,000 entities, each sent twice under one id: the export, then (in a later chunk, so in a later
    // call and mostly a later window) its correction. 10,000 samples: 4 chunks × 64 shards, ~20,000 keys.
    const n = 5000;
    const day = TODAY - 1;
    const job: Sample[] = [];
    for (const pass of [0, 1]) {
      for (let e = 0; e < n; e++) job.push({ entity: `G${e}`, metric: 'air_recharge', value: pass === 0 ? 10 : 10 + (e % 7) + 1, ts: at(day, 12), id: `G${e}/${day}` });
    }
    const [a, b] = [fresh(), fresh()];
    const x = await store(a, 'worker').apply('big', job, NOW);
    const y = await store(b, 'redis').apply('big', job, NOW);
    expect([x.chunks, x.skippedChunks, x.rejected]).toEqual([4, 0, []]);
    expect([y.chunks, y.skippedChunks, y.rejected]).toEqual([4, 0, []]);
    const [da, db] = [await dump(a), await dump(b)];
    expect(da.size).toBeGreaterThan(2 * n);
    expect(da).toEqual(db);
    const w = store(a, 'worker');
    for (const e of [0, 1, 4999]) {
      const daily = await w.readDailyRange(`G${e}`, ['air_recharge'], { fromDay: day, toDay: day });
      expect(daily.get('air_recharge')?.get(day)).toBe(10 + (e % 7) + 1);
    }
  });

  it('two workers applying jobs on the same series at once lose nothing and count nothing twice', async () => {
    const entities = ['D1', 'G1', 'G2'];
    // Ids of each job's own, so the stored sums do not depend on the order jobs are applied in.
    const all = jobs(9, 24, entities, true);
    const [a, b] = [fresh(), fresh()];
    // Racing: two stores (two connections, as two worker processes), each applying every job, one
    // from the first job on and the other from the last, at once: they meet on the same series.
    const w1 = store(a, 'worker');
    const w2 = store(a, 'worker');
    await Promise.all(
      [w1, w2].map(async (w, i) => {
        const order = i === 0 ? [...all.keys()] : [...all.keys()].reverse();
        for (const j of order) {
          const res = await w.apply(`j${j}`, all[j]!, NOW);
          // The other worker may have applied the chunk first: then this one skips it.
          expect(res.chunks + res.skippedChunks).toBe(1);
        }
      }),
    );
    // They did race: some writes found a key changed since it was read, and were computed again.
    expect(w1.applyConflicts + w2.applyConflicts).toBeGreaterThan(0);
    // One after the other, by the script inside Redis.
    const sequential = store(b, 'redis');
    for (const [j, job] of all.entries()) await sequential.apply(`j${j}`, job, NOW);
    const read = async (s: SeriesStore) => {
      const out: unknown[] = [];
      for (const e of entities) {
        const daily = await s.readDailyRange(e, ['card_opening', 'air_recharge'], { fromDay: TODAY - 12, toDay: TODAY });
        out.push([e, [...daily].map(([m, d]) => [m, [...d].sort((x, y) => x[0] - y[0])])]);
      }
      return out;
    };
    const expected = await read(sequential);
    expect(JSON.stringify(expected)).toContain('card_opening');
    expect(await read(w1)).toEqual(expected);
  });
});
