import { describe, expect, it } from 'vitest';
import type { Sample } from '../../src/domain/sample.js';
import { BadColumns, batchSamples, fromColumns, toColumns } from '../../src/queues/sample-payload.js';

const DAY = Date.parse('2026-11-20T12:00:00+08:00');

/** Through JSON, as a job's data goes through Redis. */
const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('batch payload v: 2 (columns)', () => {
  it('gives back every sample as it was: ids with and without their entity in front, none, labels, several metrics and times', () => {
    const samples: Sample[] = [
      { metric: 'air_recharge', entity: 'G17', value: 12, ts: DAY, id: 'G17/air_recharge/2026-11-20' },
      { metric: 'air_recharge', entity: 'G17', value: 0, ts: DAY + 86_400_000, id: 'G17/air_recharge/2026-11-21' },
      { metric: 'card_opening', entity: 'G17', value: 3.25, ts: DAY },
      { metric: 'air_recharge', entity: 'G18', value: 7, ts: DAY, id: 'G18/air_recharge/2026-11-20' },
      // Begins with the entity but not as `<entity>/`: kept whole.
      { metric: 'air_recharge', entity: 'G1', value: 1, ts: DAY, id: 'G18/air_recharge/x' },
      { metric: 'complaints', entity: '营销案M1', value: 4, ts: DAY, id: 'row-000123', labels: { category: 'network' } },
      { metric: 'complaints', entity: '营销案M1', value: 5, ts: DAY, id: '营销案M1/complaints/2026-11-20', labels: { category: 'billing', 渠道: '线上' } },
      // An entity met again after another: a run of its own.
      { metric: 'air_recharge', entity: 'G17', value: 9, ts: DAY - 86_400_000, id: '\u0000odd' },
    ];
    const cols = viaJson(toColumns(samples));
    expect(fromColumns(cols)).toEqual(samples);
    // Each with its fields in the order the validator gives them, none present as undefined.
    expect(fromColumns(cols).map((s) => Object.keys(s).join())).toEqual(samples.map((s) => ['metric', 'entity', 'value', 'ts', ...(s.id !== undefined ? ['id'] : []), ...(s.labels ? ['labels'] : [])].join()));
    expect(cols.e).toEqual(['G17', 'G18', 'G1', '营销案M1', 'G17']);
    expect(cols.en).toEqual([3, 1, 1, 2, 1]);
    // Written once: two days' id tails of G17 and G18 share one word.
    expect(cols.w.filter((w) => w === '/air_recharge/2026-11-20')).toHaveLength(1);
    expect(cols.ts).toHaveLength(3);
  });

  it('gives back ids whose tails come round more often than the door remembers (24 hours of each entity, then again)', () => {
    const hours: Sample[] = [];
    for (const round of [0, 1]) {
      for (const entity of ['G1', 'G2', 'G10', 'G1/x']) {
        for (let h = 0; h < 24; h++) hours.push({ metric: 'air_recharge', entity, value: round * 100 + h, ts: DAY + h * 3_600_000, id: `${entity}/air_recharge/2026-11-20T${h}` });
      }
    }
    const cols = viaJson(toColumns(hours));
    expect(fromColumns(cols)).toEqual(hours);
    // Each hour's tail written once (G1/x's ids end in them too, after `G1/x`).
    expect(cols.w.filter((w) => w.startsWith('/air_recharge/'))).toHaveLength(24);
  });

  it('has no labels column when no sample has labels', () => {
    const cols = toColumns([{ metric: 'm', entity: 'E', value: 1, ts: DAY }]);
    expect(cols.l).toBeUndefined();
    expect(fromColumns(viaJson(cols))).toEqual([{ metric: 'm', entity: 'E', value: 1, ts: DAY }]);
  });

  it('holds a day of a daily export in a sixth of the bytes of v: 1', () => {
    const day: Sample[] = Array.from({ length: 2000 }, (_, i) => ({ metric: 'air_recharge', entity: `G${i}`, value: 10 + (i % 7), ts: DAY, id: `G${i}/air_recharge/2026-11-20` }));
    const v1 = JSON.stringify({ v: 1, source: 'http', samples: day });
    const v2 = JSON.stringify({ v: 2, source: 'http', ...toColumns(day) });
    expect(v2.length * 5).toBeLessThan(v1.length);
    expect(batchSamples(JSON.parse(v2))).toEqual(day);
  });

  it('reads v: 1 as it always was, and anything else as no samples', () => {
    const samples = [{ metric: 'm', entity: 'E', value: 1 }];
    expect(batchSamples({ v: 1, source: 's', samples })).toBe(samples);
    expect(batchSamples({ source: 's', samples })).toBe(samples);
    expect(batchSamples({ v: 1, source: 's' })).toEqual([]);
    expect(batchSamples(null)).toEqual([]);
    expect(batchSamples('batch')).toEqual([]);
  });

  it('refuses columns that do not hold together, saying which', () => {
    const good = viaJson({ v: 2, source: 's', ...toColumns([{ metric: 'm', entity: 'E', value: 1, ts: DAY, id: 'E/1' }, { metric: 'm', entity: 'E', value: 2, ts: DAY, id: 'E/2' }]) });
    expect(() => batchSamples({ ...good, e: undefined })).toThrow(BadColumns);
    expect(() => batchSamples({ ...good, en: [3] })).toThrow(/m: expected 3 entries/);
    expect(() => batchSamples({ ...good, en: [-1] })).toThrow(/en: expected counts/);
    expect(() => batchSamples({ ...good, en: [1.5] })).toThrow(BadColumns);
    expect(() => batchSamples({ ...good, x: [1] })).toThrow(/x: expected 2 entries/);
    expect(() => batchSamples({ ...good, id: 'E/1' })).toThrow(/id: expected 2 entries/);
  });

  it('reads a word that is not there as a field missing, for validation to reject', () => {
    const cols = viaJson({ v: 2, source: 's', ...toColumns([{ metric: 'm', entity: 'E', value: 1, ts: DAY, id: 'E/1' }]) });
    const [s] = batchSamples({ ...cols, m: [99], t: [7], id: [42] });
    expect(s).toEqual({ metric: undefined, entity: 'E', value: 1, ts: undefined, id: undefined });
  });
});
