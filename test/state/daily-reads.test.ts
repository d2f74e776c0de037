// Daily bucket reads against a real Redis, as the apply script writes the buckets
// (`P:d:<metric>:<day>`, entity → `sum,count` with sum in thousandths; `P:feed:<metric>`, day →
// samples), and the in-memory twin against the same cases.
import { beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import { keyspace } from '../../src/state/keys.js';
import { BucketDailyCells } from '../../src/state/daily-cells.js';
import { RedisDailyReads, type DailyReads } from '../../src/state/daily-reads.js';
import { SERIES_LAYOUTS, type SeriesLayoutName } from '../../src/state/series-layout.js';
import { SeriesStore } from '../../src/state/series-store.js';
import { MemoryDailyReads } from '../../src/state/memory-campaign-store.js';
import { RedisStateProbe } from '../../src/state/state-probe.js';
import { redisPerTest } from '../support/redis.js';

const DAY = 20_413;

const t = redisPerTest('daily-reads');

interface Variant {
  readonly reads: DailyReads;
  /** Samples of one entity, metric and day: Σ in units and how many (the feed counts them too). */
  add(entity: string, metric: string, day: number, sum: number, count: number): Promise<void>;
}

/** RedisDailyReads over a series layout, its cells written by the layout's own apply (one sample with the Σ, the others 0). */
function applied(layout: SeriesLayoutName): Variant {
  const keys = keyspace(t.prefix);
  const cal = new Calendar('Asia/Shanghai');
  const catalogue = metricCatalogue();
  const series = new SeriesStore(t.redis, keys, cal, () => catalogue, { retentionDays: 35, hourlyRetentionDays: 28, seriesLayout: layout, maxFutureMs: 0 });
  const now = cal.startOfDay(DAY + 4);
  let job = 0;
  return {
    reads: new RedisDailyReads(t.redis, keys, series),
    async add(entity, metric, day, sum, count) {
      const ts = cal.startOfDay(day) + 9 * 3_600_000;
      const samples = Array.from({ length: count }, (_, i) => ({ entity, metric, ts, value: i === 0 ? sum : 0 }));
      if (samples.length) await series.apply(`j${job++}`, samples, now);
    },
  };
}

const variants: [string, () => Variant][] = [
  ...SERIES_LAYOUTS.map((layout): [string, () => Variant] => [`RedisDailyReads (${layout} layout)`, () => applied(layout)]),
  [
    'RedisDailyReads (buckets written by hand)',
    () => ({
      reads: new RedisDailyReads(t.redis, keyspace(t.prefix), new BucketDailyCells(t.redis, keyspace(t.prefix))),
      async add(entity, metric, day, sum, count) {
        await t.redis.hset(`${t.prefix}:d:${metric}:${day}`, entity, `${Math.round(sum * 1000)},${count}`);
        await t.redis.hincrby(`${t.prefix}:feed:${metric}`, String(day), count);
      },
    }),
  ],
  [
    'MemoryDailyReads',
    () => {
      const reads = new MemoryDailyReads();
      return { reads, add: async (entity, metric, day, sum, count) => reads.add(entity, metric, day, sum, count) };
    },
  ],
];

describe.each(variants)('%s', (_name, make) => {
  let v: Variant;
  beforeEach(() => {
    v = make();
  });

  it('readDays: every entity and metric present, days without data absent', async () => {
    await v.add('C1', 'complaints', DAY, 3, 3);
    await v.add('C2', 'complaints', DAY, 1.5, 2);
    await v.add('C1', 'complaints', DAY + 1, 0, 0);
    await v.add('C2', 'enrollments', DAY + 1, 250.5, 4);
    const got = await v.reads.readDays(['C1', 'C2', 'C3'], ['complaints', 'enrollments'], DAY, DAY + 1);
    expect(got.get('C1')).toEqual(new Map([['complaints', new Map([[DAY, 3]])], ['enrollments', new Map()]]));
    expect(got.get('C2')).toEqual(new Map([['complaints', new Map([[DAY, 1.5]])], ['enrollments', new Map([[DAY + 1, 250.5]])]]));
    expect(got.get('C3')).toEqual(new Map([['complaints', new Map()], ['enrollments', new Map()]]));
    expect((await v.reads.readDays(['C1'], ['complaints'], DAY + 1, DAY)).get('C1')).toEqual(new Map([['complaints', new Map()]]));
  });

  it('arrived: true once any of the metrics has samples counted for the day', async () => {
    expect(await v.reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(false);
    await v.add('C1', 'complaints', DAY - 1, 9, 9);
    await v.add('C1', 'complaints', DAY, 0, 0);
    expect(await v.reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(false);
    await v.add('C2', 'complaints', DAY, 12, 12);
    expect(await v.reads.arrived(DAY, ['enrollments', 'complaints'])).toBe(true);
    expect(await v.reads.arrived(DAY, ['enrollments'])).toBe(false);
  });

  it('totals: Σ in units, samples and days with samples; entities without any are absent', async () => {
    await v.add('H1', 'satisfaction', DAY, 9.5, 2);
    await v.add('H2', 'satisfaction', DAY, 0, 0);
    await v.add('H1', 'satisfaction', DAY + 2, 8, 1);
    await v.add('H1', 'satisfaction', DAY + 3, 5, 1);
    const got = await v.reads.totals(['H1', 'H2', 'H3'], 'satisfaction', DAY, DAY + 2);
    expect([...got]).toEqual([['H1', { sum: 17.5, count: 3, days: 2 }]]);
  });
});

describe('RedisStateProbe', () => {
  it("escalation levels in order, 0 where an alert's chain has none", async () => {
    await t.redis.hset(`${t.prefix}:esc:fpA`, { level: '2' });
    await t.redis.hset(`${t.prefix}:esc:fpB`, { token: 'x' });
    const probe = new RedisStateProbe(t.redis, keyspace(t.prefix));
    expect(await probe.escalationLevels(['fpA', 'fpB', 'fpC'])).toEqual([2, 0, 0]);
    expect(await probe.escalationLevels([])).toEqual([]);
    expect(await probe.ping()).toBe('PONG');
  });
});
