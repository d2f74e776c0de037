// The compact series layout against the buckets layout on the same samples, and what only the
// compact layout has: the id window (id_window_passed), the cell range (value_out_of_range), the
// ring that drops days past the retention, and keys that all carry the entity's shard tag.
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar, MS_PER_DAY, MS_PER_HOUR } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { mulberry32 } from '../../src/demo/simulate.js';
import { keyspace } from '../../src/state/keys.js';
import { SeriesStore, type SeriesSettings } from '../../src/state/series-store.js';
import { CompactKeys } from '../../src/state/compact-format.js';
import { shardOf } from '../../src/state/shard.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const cal = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TODAY = cal.dayOf(NOW);
const at = (day: number, hour: number, minute = 30) => cal.startOfDay(day) + hour * MS_PER_HOUR + minute * 60_000;

let redis: Redis;
const prefixes: string[] = [];
beforeEach(() => {
  redis = connect();
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await dropPrefix(redis, p);
  redis.disconnect();
});

function store(layout: 'buckets' | 'compact', settings: Partial<SeriesSettings> = {}): SeriesStore {
  const prefix = freshPrefix('cs');
  prefixes.push(prefix);
  return new SeriesStore(redis, keyspace(prefix), cal, () => metricCatalogue(), {
    retentionDays: 35,
    hourlyRetentionDays: 28,
    seriesLayout: layout,
    ...settings,
  });
}

async function everything(s: SeriesStore, entities: readonly string[], metrics: readonly string[]) {
  const out: unknown[] = [];
  for (const e of entities) {
    const daily = await s.readDailyRange(e, metrics, { fromDay: TODAY - 40, toDay: TODAY + 1 });
    out.push([e, [...daily].map(([m, d]) => [m, [...d].sort((a, b) => a[0] - b[0])])]);
    for (const m of metrics) out.push([e, m, [...(await s.readHourRange(e, m, (TODAY - 30) * 24, TODAY * 24 + 23))]]);
  }
  return out;
}

describe('compact layout = buckets layout', () => {
  it('on random samples with ids, re-sends, corrections that move a sample to another day or hour, gauges and several jobs', async () => {
    const rnd = mulberry32(11);
    const entities = ['D0001', 'D0002', 'G0001', 'G0002', 'G0003'];
    const metrics = ['card_opening', 'air_recharge', 'satisfaction'];
    const jobs: Sample[][] = [];
    const ids: { id: string; entity: string; metric: string; day: number }[] = [];
    for (let j = 0; j < 6; j++) {
      const job: Sample[] = [];
      const used = new Set<string>();
      for (let k = 0; k < 400; k++) {
        const entity = entities[Math.floor(rnd() * entities.length)]!;
        const metric = metrics[Math.floor(rnd() * metrics.length)]!;
        // Days within the id window (7) mostly, some older (first sends only: ids not re-sent there).
        const recent = rnd() < 0.8;
        const day = recent ? TODAY - 1 - Math.floor(rnd() * 6) : TODAY - 8 - Math.floor(rnd() * 20);
        const ts = at(day, Math.floor(rnd() * 24), Math.floor(rnd() * 60));
        const value = Math.round(rnd() * 100_000) / 1000;
        let id: string | undefined;
        const r = rnd();
        if (recent && r < 0.3 && ids.length) {
          // A re-send or correction of an earlier id: same entity and metric, maybe another hour or
          // the day before or after (the buckets layout looks an id up there; compact anywhere in its window).
          const prev = ids[Math.floor(rnd() * ids.length)]!;
          if (used.has(prev.id)) continue;
          id = prev.id;
          used.add(id);
          const moved = Math.min(TODAY - 1, prev.day + Math.floor(rnd() * 3) - 1);
          prev.day = moved;
          job.push({ entity: prev.entity, metric: prev.metric, value, ts: at(moved, Math.floor(rnd() * 24)), id });
          continue;
        }
        if (recent && r < 0.7) {
          id = `${entity}/${metric}/${j}/${k}`;
          ids.push({ id, entity, metric, day });
          used.add(id);
        }
        job.push({ entity, metric, value, ts, ...(id ? { id } : {}) });
      }
      jobs.push(job);
    }
    const buckets = store('buckets');
    const compact = store('compact');
    for (const [j, job] of jobs.entries()) {
      const b = await buckets.apply(`job-${j}`, job, NOW);
      const c = await compact.apply(`job-${j}`, job, NOW);
      expect(c.rejected).toEqual([]);
      expect([c.chunks, c.skippedChunks]).toEqual([1, 0]);
      expect(b.chunks).toBeGreaterThan(0);
      // A retried job changes nothing in either layout.
      expect((await compact.apply(`job-${j}`, job, NOW)).chunks).toBe(0);
      await buckets.apply(`job-${j}`, job, NOW);
    }
    const expected = await everything(buckets, entities, metrics);
    expect(JSON.stringify(expected).length).toBeGreaterThan(5000);
    const got = await everything(compact, entities, metrics);
    expect(got).toEqual(expected);
    // The feed counters (absence rules) agree too.
    for (const m of metrics) {
      expect(await redis.hgetall(keyspace(compactPrefix(compact)).feed(m))).toEqual(await redis.hgetall(keyspace(compactPrefix(buckets)).feed(m)));
    }
  });

  it('an export hour by hour and a daily export read the same through the evaluator read (queueReads)', async () => {
    const samples: Sample[] = [];
    for (let d = TODAY - 29; d < TODAY; d++) {
      for (let h = 0; h < 24; h++) samples.push({ entity: 'H0001', metric: 'card_opening', value: h + d % 7, ts: at(d, h), id: `H0001/${d}T${h}` });
      samples.push({ entity: 'X0001', metric: 'card_opening', value: 100 + (d % 5), ts: at(d, 12), id: `X0001/${d}` });
    }
    const daily = [{ metric: 'card_opening', entities: ['H0001', 'X0001', 'NONE'], fromDay: TODAY - 34, toDay: TODAY }];
    const hourly = [{ metric: 'card_opening', entities: ['H0001', 'X0001', 'NONE'], fromHour: (TODAY - 28) * 24, toHour: TODAY * 24 + 9 }];
    const read = async (s: SeriesStore) => {
      // One job per day, oldest first (as a backfill arrives), so later jobs rewrite stored rows.
      const byDay = new Map<number, Sample[]>();
      for (const x of samples) (byDay.get(cal.dayOf(x.ts)) ?? byDay.set(cal.dayOf(x.ts), []).get(cal.dayOf(x.ts))!).push(x);
      for (const [d, job] of byDay) await s.apply(`job-${d}`, job, NOW);
      const r = await s.read(daily, hourly);
      return JSON.stringify([...r.daily].map(([e, m]) => [e, [...m].map(([k, v]) => [k, [...v].sort((x, y) => x[0] - y[0])])])) + JSON.stringify([...r.hourly].map(([e, m]) => [e, [...m].map(([k, v]) => [k, [...v].sort((x, y) => x[0] - y[0]).map(([d, row]) => [d, [...row]])])]));
    };
    const b = await read(store('buckets'));
    expect(b).toContain('"X0001"');
    const c = await read(store('compact'));
    expect(c).toBe(b);
  });
});

/** The hourly rows of a stored series string (oldest first) and the padding after them. */
function storedRows(buf: Buffer): { rows: Buffer[]; days: number[]; padding: Buffer } {
  const rows: Buffer[] = [];
  const days: number[] = [];
  let p = 10 + buf.readUInt16LE(4) * 11;
  while (p + 6 <= buf.length) {
    const dd = buf.readUIntLE(p, 3);
    const mask = buf.readUIntLE(p + 3, 3);
    if (dd === 0 && mask === 0) break;
    let cells = 0;
    for (let m = mask; m; m >>>= 1) cells += m & 1;
    const len = 6 + (dd & 0x800000 ? 0 : cells * 6);
    rows.push(buf.subarray(p, p + len));
    days.push(dd & 0x7fffff);
    p += len;
  }
  return { rows, days, padding: buf.subarray(p) };
}

function compactKeys(s: SeriesStore): CompactKeys {
  return new CompactKeys(compactPrefix(s), 64);
}

function compactPrefix(s: SeriesStore): string {
  return (s as unknown as { keys: { prefix: string } }).keys.prefix;
}

describe('compact layout = buckets layout, fed in time order (the writes that patch bytes in place)', () => {
  it('one job per hour with skipped hours, re-sends of the last day and a half, corrections into older rows, gauges', async () => {
    const rnd = mulberry32(23);
    const entities = ['D0001', 'G0001', 'G0002'];
    const metrics = ['card_opening', 'satisfaction'];
    const buckets = store('buckets');
    const compact = store('compact', { idWindowDays: 14 });
    const sent: { id: string; entity: string; metric: string; hour: number }[] = [];
    let j = 0;
    for (let d = TODAY - 12; d < TODAY; d++) {
      for (let h = 0; h < 24; h++) {
        const job: Sample[] = [];
        for (const entity of entities) {
          for (const metric of metrics) {
            if (rnd() < 0.3) continue; // a sparse hour: the row grows by fewer cells
            const id = `${entity}/${metric}/${d}T${h}`;
            job.push({ entity, metric, value: Math.round(rnd() * 50_000) / 1000, ts: at(d, h), id });
            sent.push({ id, entity, metric, hour: d * 24 + h });
          }
        }
        // Re-sends: mostly of the last 36 hours (the newest row, in place, or the row before:
        // the whole string), sometimes moved to an earlier hour or onto the current one.
        for (let k = 0; k < 2 && sent.length > job.length; k++) {
          const prev = sent[Math.max(0, sent.length - job.length - 1 - Math.floor(rnd() * 36 * 4))]!;
          if (job.some((x) => x.id === prev.id)) continue;
          // Back by up to 30 hours, or forward onto this hour (the newest row loses a cell: it shrinks in place).
          const u = rnd();
          // (Forward within the day only: the buckets layout looks an id up on the day before and after.)
          const move = u < 0.3 ? -Math.floor(rnd() * 30) : u < 0.6 && prev.hour >= d * 24 ? d * 24 + h - prev.hour : 0;
          const hour = Math.max((TODAY - 12) * 24, prev.hour + move);
          prev.hour = hour;
          const day = Math.floor(hour / 24);
          job.push({ entity: prev.entity, metric: prev.metric, value: Math.round(rnd() * 50_000) / 1000, ts: at(day, hour - day * 24), id: prev.id });
        }
        const b = await buckets.apply(`job-${j}`, job, NOW);
        const c = await compact.apply(`job-${j}`, job, NOW);
        expect(c.rejected).toEqual(b.rejected);
        j++;
      }
    }
    const expected = await everything(buckets, entities, metrics);
    expect(JSON.stringify(expected).length).toBeGreaterThan(15_000);
    expect(await everything(compact, entities, metrics)).toEqual(expected);
    // Stored rows are the days fed, oldest first, the newest at the header's offset, then zeros only.
    const ck = new CompactKeys(compactPrefix(compact), 64);
    for (const e of entities) {
      for (const m of metrics) {
        const buf = (await redis.getBuffer(ck.series(e, m)))!;
        const { rows, days, padding } = storedRows(buf);
        expect(days).toEqual([...days].sort((x, y) => x - y));
        expect(days[0]).toBeGreaterThanOrEqual(TODAY - 12);
        expect(days.at(-1)).toBe(TODAY - 1);
        expect((buf.readInt32LE(6) - 2 ** 30) % 2 ** 29).toBe(rows.at(-1)!.byteOffset - buf.byteOffset);
        expect(padding.every((b) => b === 0)).toBe(true);
      }
    }
  });
});

describe('a series string in the first version of the format (rows newest first, no padding)', () => {
  it('is read whole and rewritten in the current one on its next write, losing nothing', async () => {
    const buckets = store('buckets');
    const compact = store('compact');
    const job = (d: number, hours: number[], v: number): Sample[] =>
      hours.map((h) => ({ entity: 'H0001', metric: 'card_opening', value: v + h, ts: at(d, h), id: `H0001/${d}T${h}` }));
    let j = 0;
    for (let d = TODAY - 5; d < TODAY - 1; d++) {
      for (const s of [buckets, compact]) await s.apply(`job-${j}`, job(d, d % 2 ? [3, 9] : [12], 10), NOW);
      j++;
    }
    // Rewrite the stored string as the first version wrote it.
    const key = new CompactKeys(compactPrefix(compact), 64).series('H0001', 'card_opening');
    const cur = (await redis.getBuffer(key))!;
    const ring = cur.readUInt16LE(4);
    const { rows } = storedRows(cur);
    expect(rows.length).toBe(4);
    expect(cur.readInt32LE(6)).toBeGreaterThanOrEqual(2 ** 30);
    const old = Buffer.concat([cur.subarray(0, 10 + ring * 11), ...rows.reverse()]);
    old.writeInt32LE(TODAY - 5, 6);
    await redis.set(key, old, 'KEEPTTL');
    // A new day (which alone would be written in place), then a correction of an older row.
    for (const s of [buckets, compact]) await s.apply(`job-${j++}`, job(TODAY - 1, [2, 5], 20), NOW);
    expect((await redis.getBuffer(key))!.readInt32LE(6)).toBeGreaterThanOrEqual(2 ** 30);
    expect(await everything(compact, ['H0001'], ['card_opening'])).toEqual(await everything(buckets, ['H0001'], ['card_opening']));
    for (const s of [buckets, compact]) await s.apply(`job-${j++}`, [{ ...job(TODAY - 4, [3], 0)[0]!, value: 99 }], NOW);
    expect(await everything(compact, ['H0001'], ['card_opening'])).toEqual(await everything(buckets, ['H0001'], ['card_opening']));
  });
});

describe('the id window (LOOKOUT_ID_WINDOW_DAYS, 7 by default)', () => {
  it('replaces within the window — a window from the sample’s day or its arrival, whichever is later — and refuses a re-send once its id has left it: never counted twice', async () => {
    const s = store('compact');
    const old = TODAY - 10;
    const recent = TODAY - 3;
    const sample = (day: number, value: number, id?: string): Sample => ({ entity: 'D0001', metric: 'card_opening', value, ts: at(day, 12), ...(id ? { id } : {}) });
    // First sends, old and recent: both stored (the old day had no ids yet).
    expect((await s.apply('a', [sample(old, 5, 'old'), sample(recent, 7, 'recent')], NOW)).rejected).toEqual([]);
    // Re-sent two days later: both replace (the old id is held a window from its arrival).
    expect((await s.apply('b', [sample(old, 6, 'old'), sample(recent, 8, 'recent')], NOW + 2 * MS_PER_DAY)).rejected).toEqual([]);
    // A window after the last arrival (the re-send, two days later), every id has left: a re-send
    // and a new id on those days are refused (they cannot be told from forgotten ones); a sample
    // without an id adds.
    const late = NOW + 10 * MS_PER_DAY;
    const more = await s.apply('c', [sample(old, 9, 'old'), sample(recent, 9, 'recent'), sample(old, 1, 'another'), sample(old, 2)], late);
    expect(more.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'id_window_passed'],
      [1, 'id_window_passed'],
      [2, 'id_window_passed'],
    ]);
    const series = (await s.readDailyRange('D0001', ['card_opening'], { fromDay: TODAY - 20, toDay: TODAY + 10 })).get('card_opening')!;
    expect(series.get(old)).toBe(8);
    expect(series.get(recent)).toBe(8);
    // Nothing older than the window is held any more: the index is gone.
    expect(await redis.exists(compactKeys(s).ids('D0001', 'card_opening'))).toBe(0);
    // A retry of the refusing job refuses nothing twice and reports nothing new.
    expect(await s.apply('c', [sample(old, 9, 'old'), sample(recent, 9, 'recent'), sample(old, 1, 'another'), sample(old, 2)], late)).toMatchObject({ chunks: 0, rejected: [] });
    // Refused samples are not in the feed counter: the first send, its re-send and the sample without an id.
    expect(await redis.hget(keyspace(compactPrefix(s)).feed('card_opening'), String(old))).toBe('3');
  });

  it('a backfill of 30-day-old data with several ids per hour stores every sample (as the buckets layout does); a retried job counts nothing twice, a re-send within the window replaces, one after it is refused', async () => {
    const compact = store('compact');
    const buckets = store('buckets');
    const entities = ['C0001', 'C0002'];
    // 30 days × 24 hours × 3 complaints, each with its own id: 4,320 samples, two chunks of the job.
    const backfill = (value: (k: number) => number): Sample[] => {
      const out: Sample[] = [];
      for (const entity of entities)
        for (let d = TODAY - 30; d < TODAY; d++)
          for (let h = 0; h < 24; h++) for (let k = 0; k < 3; k++) out.push({ entity, metric: 'complaints', value: value(k), ts: at(d, h, 10 + k), id: `${entity}/${d}/${h}/${k}` });
      return out;
    };
    const first = backfill((k) => k + 1);
    expect(first).toHaveLength(4320);
    const applied = await compact.apply('bf', first, NOW);
    expect(applied).toMatchObject({ chunks: 2, rejected: [] });
    await buckets.apply('bf', first, NOW);
    const daily = async () => (await compact.readDailyRange('C0001', ['complaints'], { fromDay: TODAY - 40, toDay: TODAY + 10 })).get('complaints')!;
    expect((await daily()).get(TODAY - 30)).toBe(24 * 6);
    expect(await everything(compact, entities, ['complaints'])).toEqual(await everything(buckets, entities, ['complaints']));
    // The same job retried (a worker killed after applying): both chunks are skipped.
    expect(await compact.apply('bf', first, NOW)).toMatchObject({ chunks: 0, skippedChunks: 2, rejected: [] });
    // Sent again as another job six days later, corrected: every sample replaces, none adds.
    const corrected = backfill((k) => 10 * (k + 1));
    expect((await compact.apply('bf2', corrected, NOW + 6 * MS_PER_DAY)).rejected).toEqual([]);
    await buckets.apply('bf2', corrected, NOW + 6 * MS_PER_DAY);
    expect((await daily()).get(TODAY - 30)).toBe(24 * 60);
    // Equal to the buckets layout within the hourly retention of that day (older hours are not rewritten by either).
    const within = async (st: SeriesStore) =>
      Promise.all(entities.map(async (e) => [[...(await st.readDailyRange(e, ['complaints'], { fromDay: TODAY - 40, toDay: TODAY + 10 })).get('complaints')!], [...(await st.readHourRange(e, 'complaints', (TODAY - 22) * 24, TODAY * 24))]]));
    expect(await within(compact)).toEqual(await within(buckets));
    // A window after that re-send its ids have left: sent again, every sample is refused, none counted.
    const later = NOW + 14 * MS_PER_DAY;
    const again = await compact.apply('bf3', corrected.slice(0, 2160), later);
    expect(again.rejected.map((r) => r.code)).toEqual(Array(2160).fill('id_window_passed'));
    expect((await daily()).get(TODAY - 10)).toBe(24 * 60);
  });

  it('an id on the window’s last day keeps replacing after midnight, and further ids of that hour are stored (the window counts from their arrival)', async () => {
    const s = store('compact');
    const edge = TODAY - 7;
    const sample = (value: number, id: string): Sample => ({ entity: 'D0001', metric: 'complaints', value, ts: at(edge, 9), id });
    expect((await s.apply('a', [sample(1, 'x')], NOW)).rejected).toEqual([]);
    // The next day the hour is older than the window: a new id there is still stored, the re-send replaces.
    expect((await s.apply('b', [sample(2, 'y'), sample(5, 'x')], NOW + MS_PER_DAY)).rejected).toEqual([]);
    expect((await s.readDaily('D0001', ['complaints'])).get('complaints')!.get(edge)).toBe(7);
  });

  it('a backfill of old days sent hour by hour, one job per hour, is stored whole; sent again within a window it replaces, after it is refused, never added', async () => {
    const s = store('compact');
    const days = [TODAY - 30, TODAY - 20, TODAY - 12]; // the first past the hourly retention (28)
    const job = (day: number, h: number, v = h + 1): Sample[] => [{ entity: 'H0001', metric: 'card_opening', value: v, ts: at(day, h), id: `H0001/${day}T${h}` }];
    for (const day of days) for (let h = 0; h < 24; h++) expect((await s.apply(`a-${day}-${h}`, job(day, h), NOW)).rejected).toEqual([]);
    for (const day of days) for (let h = 0; h < 24; h++) expect((await s.apply(`b-${day}-${h}`, job(day, h, 2 * (h + 1)), NOW + MS_PER_DAY)).rejected).toEqual([]);
    const read = async () => (await s.readDailyRange('H0001', ['card_opening'], { fromDay: TODAY - 40, toDay: TODAY + 10 })).get('card_opening')!;
    expect(await Promise.all(days.map(async (d) => (await read()).get(d)))).toEqual([600, 600, 600]);
    const later = NOW + 9 * MS_PER_DAY;
    for (const day of days.slice(1)) for (let h = 0; h < 24; h++) expect((await s.apply(`c-${day}-${h}`, job(day, h), later)).rejected.map((r) => r.code)).toEqual(['id_window_passed']);
    expect(await Promise.all(days.slice(1).map(async (d) => (await read()).get(d)))).toEqual([600, 600]);
  });

  it('an id index in the first version of its format (no hold) is read and rewritten in the current one on its next change', async () => {
    const s = store('compact');
    const sample = (day: number, value: number, id: string): Sample => ({ entity: 'D0001', metric: 'card_opening', value, ts: at(day, 12), id });
    await s.apply('a', [sample(TODAY - 2, 5, 'x'), sample(TODAY - 1, 7, 'y')], NOW);
    const key = compactKeys(s).ids('D0001', 'card_opening');
    const cur = (await redis.getBuffer(key))!;
    const base = cur.readInt32LE(0) - 2 ** 30;
    expect(base).toBe((TODAY - 7) * 24);
    expect(cur.readInt32LE(8)).toBe(-1); // no hold: nothing older than the window arrived
    // As the first version wrote it: '<i4i4' (base, lowest), the entries, no padding.
    const entries = cur.subarray(12, 12 + 2 * 12);
    const header = Buffer.alloc(8);
    header.writeInt32LE(base, 0);
    header.writeInt32LE(cur.readInt32LE(4), 4);
    await redis.set(key, Buffer.concat([header, entries]), 'KEEPTTL');
    expect((await s.apply('b', [sample(TODAY - 2, 6, 'x'), sample(TODAY - 1, 8, 'z')], NOW)).rejected).toEqual([]);
    const series = (await s.readDaily('D0001', ['card_opening'])).get('card_opening')!;
    expect([series.get(TODAY - 2), series.get(TODAY - 1)]).toEqual([6, 15]);
    const now = (await redis.getBuffer(key))!;
    expect(now.readInt32LE(0)).toBe(base + 2 ** 30);
    expect(await s.apply('c', [sample(TODAY - 1, 1, 'y')], NOW)).toMatchObject({ rejected: [] });
    expect((await s.readDaily('D0001', ['card_opening'])).get('card_opening')!.get(TODAY - 1)).toBe(9);
  });

  it('an id re-sent under another metric of its family (a complaint whose category changed) moves there, as in the buckets layout: never counted under both', async () => {
    const compact = store('compact');
    const buckets = store('buckets');
    const c = (metric: string, id: string, day = TODAY - 2, hour = 10): Sample => ({ entity: 'D0001', metric, value: 1, ts: at(day, hour), id });
    const both = async (job: string, samples: Sample[]) => {
      expect((await compact.apply(job, samples, NOW)).rejected).toEqual([]);
      await buckets.apply(job, samples, NOW);
    };
    const metrics = ['complaints.billing', 'complaints.tariff', 'complaints.network', 'card_opening'];
    await both('a', [c('complaints.billing', 'X'), c('complaints.billing', 'Y'), c('complaints.network', 'B', TODAY - 20, 3)]);
    // X moves to tariff in a later job (another hour too); B, a backfilled id older than the window,
    // moves to tariff and then back to network within one job; W is new.
    await both('b', [c('complaints.tariff', 'X', TODAY - 2, 15), c('complaints.tariff', 'B', TODAY - 20, 3), c('complaints.network', 'B', TODAY - 20, 4), c('complaints.tariff', 'W')]);
    const read = async (s: SeriesStore, m: string) => (await s.readDailyRange('D0001', [m], { fromDay: TODAY - 30, toDay: TODAY })).get(m) ?? new Map();
    expect([(await read(compact, 'complaints.billing')).get(TODAY - 2), (await read(compact, 'complaints.tariff')).get(TODAY - 2)]).toEqual([1, 2]);
    expect([(await read(compact, 'complaints.tariff')).get(TODAY - 20), (await read(compact, 'complaints.network')).get(TODAY - 20)]).toEqual([undefined, 1]);
    expect(await everything(compact, ['D0001'], metrics)).toEqual(await everything(buckets, ['D0001'], metrics));
    // Back to billing, and a re-send where it is: replaced, not added. A metric of no family (no dot)
    // keeps its own ids: the same id there is another sample.
    await both('c', [c('complaints.billing', 'X'), c('complaints.billing', 'Y')]);
    expect((await compact.apply('d', [c('card_opening', 'X')], NOW)).rejected).toEqual([]);
    expect([(await read(compact, 'complaints.billing')).get(TODAY - 2), (await read(compact, 'complaints.tariff')).get(TODAY - 2)]).toEqual([2, 1]);
    expect(await everything(compact, ['D0001'], metrics.slice(0, 3))).toEqual(await everything(buckets, ['D0001'], metrics.slice(0, 3)));
  });

  it('a longer window (35 days) replaces a correction four weeks back', async () => {
    const s = store('compact', { idWindowDays: 35 });
    const day = TODAY - 28;
    const sample = (value: number): Sample => ({ entity: 'D0001', metric: 'card_opening', value, ts: at(day, 12), id: 'x' });
    await s.apply('a', [sample(50)], NOW);
    expect((await s.apply('b', [sample(100)], NOW)).rejected).toEqual([]);
    expect((await s.readDaily('D0001', ['card_opening'])).get('card_opening')!.get(day)).toBe(100);
  });

  it('the buckets layout has no window: the same re-send replaces', async () => {
    const s = store('buckets');
    const day = TODAY - 10;
    const sample = (value: number): Sample => ({ entity: 'D0001', metric: 'card_opening', value, ts: at(day, 12), id: 'x' });
    await s.apply('a', [sample(5)], NOW);
    expect((await s.apply('b', [sample(6)], NOW)).rejected).toEqual([]);
    expect((await s.readDaily('D0001', ['card_opening'])).get('card_opening')!.get(day)).toBe(6);
  });
});

describe('cell range', () => {
  it('refuses a value or an hour’s sum beyond ±2,147,483.647 (value_out_of_range) instead of wrapping it', async () => {
    const s = store('compact');
    const day = TODAY - 1;
    const res = await s.apply(
      'a',
      [
        { entity: 'D0001', metric: 'air_recharge', value: 2_147_483.648, ts: at(day, 10) },
        { entity: 'D0001', metric: 'air_recharge', value: 2_000_000, ts: at(day, 11) },
        { entity: 'D0001', metric: 'air_recharge', value: 200_000, ts: at(day, 11, 40) },
        { entity: 'D0001', metric: 'air_recharge', value: 147_483.647, ts: at(day, 11, 50) },
      ],
      NOW,
    );
    expect(res.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'value_out_of_range'],
      [2, 'value_out_of_range'],
    ]);
    expect(res.rejected[0]!.message).toContain('entity D0001');
    expect((await s.readDaily('D0001', ['air_recharge'])).get('air_recharge')!.get(day)).toBe(2_147_483.647);
    expect([...(await s.readHourRange('D0001', 'air_recharge', day * 24, day * 24 + 23))]).toEqual([[day * 24 + 11, 2_147_483.647]]);
  });
});

describe('retention and keys', () => {
  it('keeps the retention as days go by (the ring overwrites older days) and sets a TTL by the deployment clock', async () => {
    const s = store('compact', { retentionDays: 8, hourlyRetentionDays: 3 });
    let now = NOW;
    for (let i = 0; i < 20; i++, now += MS_PER_DAY) {
      const day = cal.dayOf(now);
      await s.apply(`d${i}`, [{ entity: 'G0001', metric: 'air_recharge', value: i + 1, ts: now - 2 * MS_PER_HOUR, id: `G/${day}` }], now);
    }
    const today = cal.dayOf(now - MS_PER_DAY);
    const series = (await s.readDailyRange('G0001', ['air_recharge'], { fromDay: today - 30, toDay: today })).get('air_recharge')!;
    // Ring of 8 + 1 + 1 days: today and the 9 days before.
    expect([...series.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, k) => today - 9 + k));
    expect(series.get(today)).toBe(20);
    // Hourly rows past the hourly retention are trimmed (at most 2 days late: trimming rewrites the string).
    const hours = await s.readHourRange('G0001', 'air_recharge', (today - 30) * 24, today * 24 + 23);
    const hourDays = [...hours.keys()].map((h) => Math.floor(h / 24));
    expect(hourDays.slice(-4)).toEqual([today - 3, today - 2, today - 1, today]);
    expect(Math.min(...hourDays)).toBeGreaterThanOrEqual(today - 3 - 2);
    const keys = await redis.keys(`${compactPrefix(s)}:*:s:*`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    // Expiry counts from the deployment's clock (20 days ahead of Redis here): retention + 2 days
    // after the last day, rounded up to a whole week (so a new day moves it once a week).
    expect(ttl).toBeGreaterThan((8 + 2 - 1) * 86_400);
    expect(ttl).toBeLessThanOrEqual((8 + 2 + 1 + 6) * 86_400);
  });

  it('expires a key on a whole week (retention + 2 days after its last day, rounded up), so a new day within the week sets no new expiry', async () => {
    const s = store('compact');
    const keys = compactKeys(s);
    const send = (day: number, now: number) => s.apply(`w${day}`, [{ entity: 'G0001', metric: 'air_recharge', value: 1, ts: at(day, 9), id: `G/${day}` }], now);
    // Seconds past the week boundary of (deployment now + TTL): 0, less the second or two the test takes.
    const offWeek = async (key: string, now: number) => {
      const r = (Math.round(now / 1000) + (await redis.ttl(key))) % (7 * 86_400);
      return r === 0 ? 0 : r - 7 * 86_400;
    };
    let now = NOW;
    await send(TODAY - 1, now);
    for (const key of [keys.series('G0001', 'air_recharge'), keys.ids('G0001', 'air_recharge')]) {
      expect(await offWeek(key, now)).toBeGreaterThanOrEqual(-3);
      expect(await offWeek(key, now)).toBeLessThanOrEqual(0);
    }
    // The next days: the expiry is set again only when the last day's deadline crosses into another week.
    const deadline = (day: number) => Math.ceil((day + 35 + 2) / 7) * 7;
    let ttl = await redis.ttl(keys.series('G0001', 'air_recharge'));
    let moved = 0;
    for (let d = 0; d < 8; d++) {
      now += MS_PER_DAY;
      await send(TODAY + d, now);
      const next = await redis.ttl(keys.series('G0001', 'air_recharge'));
      if (deadline(TODAY + d) === deadline(TODAY + d - 1)) expect(ttl - next).toBeLessThanOrEqual(3);
      else {
        moved++;
        expect(Math.abs(next - (deadline(TODAY + d) * 86_400 - Math.round(now / 1000)))).toBeLessThanOrEqual(3);
      }
      ttl = next;
    }
    expect(moved).toBe(1);
  });

  it('puts every key of an entity under the hash tag of its shard', async () => {
    const s = store('compact', { shards: 16 });
    const entities = ['D0001', 'D0002', 'G0001', 'G0002', 'C1', 'C2', 'C3'];
    await s.apply(
      'job',
      entities.map((entity, i) => ({ entity, metric: 'air_recharge', value: 1, ts: at(TODAY - 1, 9), id: `i${i}` })),
      NOW,
    );
    const prefix = compactPrefix(s);
    const keys = await redis.keys(`${prefix}:{*`);
    // series + ids per entity, one chunk marker per shard touched.
    const shards = new Set(entities.map((e) => shardOf(e, 16)));
    expect(keys).toHaveLength(entities.length * 2 + shards.size);
    for (const e of entities) {
      const tag = `{s${shardOf(e, 16)}}`;
      expect(keys).toContain(`${prefix}:${tag}:s:air_recharge:${e}`);
      expect(keys).toContain(`${prefix}:${tag}:i:air_recharge:${e}`);
    }
  });
});
