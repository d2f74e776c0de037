// The replay's buckets: the same bucketing, id replacement and feed counts as the apply script.
import { describe, expect, it } from 'vitest';
import { IdTable, idHashA, idHashB } from '../../src/backtest/id-table.js';
import { SampleStore } from '../../src/backtest/store.js';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';

const cal = new Calendar('Asia/Shanghai');
const day = (iso: string) => Calendar.parseIsoDay(iso)!;
const at = (local: string) => Date.parse(`${local}+08:00`);

function store(): SampleStore {
  return new SampleStore(cal, metricCatalogue(), { wantsHourly: (e, m) => e === 'D1' && m === 'card_opening' });
}

function sample(entity: string, value: number, ts: string, id?: string, metric = 'card_opening'): Sample {
  return { metric, entity, value, ts: at(ts), ...(id ? { id } : {}) };
}

describe('SampleStore', () => {
  it('buckets by local day in LOOKOUT_TZ (23:30 +08:00 is still that day; 00:30 the next)', () => {
    const s = store();
    s.add(sample('D1', 5, '2026-11-20T23:30:00'));
    s.add(sample('D1', 7, '2026-11-21T00:30:00'));
    s.add({ metric: 'card_opening', entity: 'D1', value: 1, ts: Date.parse('2026-11-20T16:10:00Z') }); // 00:10 local on the 21st
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-20'))).toBe(5);
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBe(8);
    expect(s.stats).toMatchObject({ applied: 3, replaced: 0, firstDay: day('2026-11-20'), lastDay: day('2026-11-21') });
  });

  it('a repeated id replaces the earlier value (a re-sent export counts once, a correction replaces it)', () => {
    const s = store();
    s.add(sample('D1', 40, '2026-11-21T00:00:00', 'D1/card_opening/2026-11-21'));
    s.add(sample('D1', 40, '2026-11-21T00:00:00', 'D1/card_opening/2026-11-21'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBe(40);
    s.add(sample('D1', 98.5, '2026-11-21T00:00:00', 'D1/card_opening/2026-11-21'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBe(98.5);
    // Samples without an id always add.
    s.add(sample('D1', 1.5, '2026-11-21T09:00:00'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBe(100);
    expect(s.stats).toMatchObject({ applied: 4, replaced: 2, movedDays: 0 });
  });

  it('an id corrected onto the day before or after moves (a time-zone slip); further away it is a new sample', () => {
    const s = store();
    s.add(sample('D1', 10, '2026-11-21T00:00:00', 'x'));
    s.add(sample('D1', 12, '2026-11-20T23:00:00', 'x'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBeUndefined(); // no data, not 0
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-20'))).toBe(12);
    expect(s.stats.movedDays).toBe(1);
    // Three days away: the live script looks at the id's day and the days either side only.
    s.add(sample('D1', 3, '2026-11-23T12:00:00', 'x'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-20'))).toBe(12);
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-23'))).toBe(3);
    expect(s.stats.replaced).toBe(1);
  });

  it('an id re-sent for another entity or metric leaves the old bucket', () => {
    const s = store();
    s.add(sample('D1', 10, '2026-11-21T10:00:00', 'y'));
    s.add(sample('D2', 11, '2026-11-21T10:00:00', 'y', 'air_recharge'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBeUndefined();
    expect(s.dailyValue('D2', 'air_recharge', day('2026-11-21'))).toBe(11);
  });

  it('averages gauges per day and keeps thousandths exactly', () => {
    const s = store();
    s.add(sample('H1', 90, '2026-11-21T09:00:00', undefined, 'satisfaction'));
    s.add(sample('H1', 85, '2026-11-21T15:00:00', undefined, 'satisfaction'));
    expect(s.dailyValue('H1', 'satisfaction', day('2026-11-21'))).toBe(87.5);
    s.add(sample('D1', 0.1, '2026-11-21T09:00:00'));
    s.add(sample('D1', 0.2, '2026-11-21T10:00:00'));
    expect(s.dailyValue('D1', 'card_opening', day('2026-11-21'))).toBe(0.3);
  });

  it('counts the feed per metric and day across entities (replacements included, like the live counter)', () => {
    const s = store();
    s.add(sample('G1', 1, '2026-11-21T00:00:00', 'a', 'air_recharge'));
    s.add(sample('G2', 1, '2026-11-21T00:00:00', 'b', 'air_recharge'));
    s.add(sample('G2', 2, '2026-11-21T00:00:00', 'b', 'air_recharge'));
    s.add(sample('X9', 2, '2026-11-22T00:00:00', undefined, 'air_recharge'));
    const snap = s.snapshot();
    const m = snap.metrics.indexOf('air_recharge');
    const feed = (d: string) => snap.feed.columns[day(d) - snap.feed.base]?.counts[m];
    expect([feed('2026-11-21'), feed('2026-11-22')]).toEqual([3, 1]);
  });

  it('keeps hourly buckets only for the series asked for', () => {
    const s = store();
    s.add(sample('D1', 4, '2026-11-21T09:15:00', 'h'));
    s.add(sample('D2', 4, '2026-11-21T09:15:00'));
    const snap = s.snapshot();
    const series = (e: string) => snap.seriesOf[s.indexOf(e)! * snap.metrics.length + snap.metrics.indexOf('card_opening')]!;
    const hs = snap.hourlyOf[series('D1')]!;
    expect(hs).toBeGreaterThanOrEqual(0);
    expect(snap.hourlyOf[series('D2')]).toBe(-1);
    const col = snap.hourly.columns[day('2026-11-21') - snap.hourly.base]!;
    expect(col.sums[hs * 24 + 9]).toBe(4000);
    // The correction moves it out of hour 9.
    s.add(sample('D1', 6, '2026-11-21T11:00:00', 'h'));
    expect([col.counts[hs * 24 + 9], col.sums[hs * 24 + 11]]).toEqual([0, 6000]);
  });
});

describe('IdTable', () => {
  const h = (id: string): [number, number] => [idHashA(id), idHashB(id)];

  it('finds ids it was given and only those, across growth', () => {
    const t = new IdTable();
    for (let i = 0; i < 50_000; i++) {
      const [a, b] = h(`E${i}/card_opening/2026-11-21`);
      expect(t.find(a, b, 100)).toBe(false);
      t.set(a, b, 100, i, i * 2, i * 3);
    }
    expect(t.size).toBe(50_000);
    for (const i of [0, 1, 777, 49_999]) {
      const [a, b] = h(`E${i}/card_opening/2026-11-21`);
      expect(t.find(a, b, 100)).toBe(true);
      expect([t.foundDay, t.foundSeries, t.foundHour, t.foundMilli]).toEqual([100, i, i * 2, i * 3]);
    }
    expect(t.find(...h('E50000/card_opening/2026-11-21'), 100)).toBe(false);
  });

  it('looks on the day, the day before and the day after, and moves a found id to its new day', () => {
    const t = new IdTable();
    const [a, b] = h('x');
    t.set(a, b, 10, 1, 240, 5);
    expect([t.find(a, b, 11), t.foundDay]).toEqual([true, 10]);
    t.set(a, b, 11, 1, 264, 6);
    expect(t.find(a, b, 9)).toBe(false); // it left day 10
    expect([t.find(a, b, 12), t.foundDay, t.foundMilli]).toEqual([true, 11, 6]);
    expect(t.find(a, b, 13)).toBe(false);
    // Not found three days away: a new entry there, the old one stays (as in Redis).
    t.set(a, b, 14, 1, 336, 7);
    expect(t.size).toBe(2);
    expect([t.find(a, b, 12), t.foundDay, t.foundMilli]).toEqual([true, 11, 6]);
    // Moving many ids out and back in keeps the tables consistent (deleted slots are reused).
    for (let i = 0; i < 5000; i++) {
      const [x, y] = h(`m${i}`);
      t.find(x, y, 20);
      t.set(x, y, 20, i, 480, i);
      t.find(x, y, 21);
      t.set(x, y, 21, i, 504, i + 1);
    }
    expect(t.size).toBe(5002);
    expect([t.find(...h('m4999'), 21), t.foundMilli, t.find(...h('m4999'), 19)]).toEqual([true, 5000, false]);
  });
});
