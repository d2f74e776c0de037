// `lookout migrate`: copy the buckets layout (daily and hourly buckets, the sample ids of the
// retained days) into the compact layout, through the compact layout's own apply script, so the
// stored bytes are those an ingest of the same samples would write. Entities are migrated in
// sorted batches; the progress is kept in a Redis key, so a killed run resumes at its batch.
// A batch first deletes its entities' compact keys, so a batch redone after a crash (or a whole
// run redone) writes the same bytes again. Design: docs/scaling.md "Upgrade path".

import { randomUUID } from 'node:crypto';
import type { Batch, RedisClient } from './client.js';
import { MILLI } from '../domain/bucket.js';
import { MS_PER_DAY, MS_PER_HOUR, type Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample } from '../domain/sample.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import { ConfigError } from '../errors/catalogue.js';
import type { Keyspace } from './keys.js';
import { CompactSeries, type CompactSettings } from './compact-series.js';
import { bucketCell } from './daily-cells.js';
import type { DailyCell } from './series-layout.js';
import { fnv1a32 } from './shard.js';

/** Entities per batch: one pipeline of reads, one of applies, one progress write. */
export const MIGRATE_BATCH = 200;

/** Keys the migration keeps: its progress (a hash) and the marker of a completed migration. */
export function migrateKeys(prefix: string) {
  return { progress: `${prefix}:migrate:progress`, done: `${prefix}:migrate:done` };
}

export interface MigrateSummary {
  /** True when a completed migration was found: nothing was copied this time. */
  readonly alreadyDone: boolean;
  readonly entities: number;
  /** (entity, metric) series written. */
  readonly series: number;
  /** Samples applied to the compact layout (a bucket of n samples is n samples). */
  readonly samples: number;
  /** Entities this run skipped because an earlier, killed run had migrated them. */
  readonly resumedFrom: number;
  /** Old bucket keys deleted (--delete-old). */
  readonly deleted: number;
  readonly dryRun: boolean;
}

export interface MigrateOptions {
  readonly redis: RedisClient;
  readonly keys: Keyspace;
  readonly calendar: Calendar;
  readonly metrics: () => MetricCatalogue;
  readonly settings: CompactSettings;
  readonly now: number;
  readonly dryRun?: boolean;
  readonly deleteOld?: boolean;
  readonly batchSize?: number;
  /** Called after each batch with the entities done and the total. */
  readonly progress?: (done: number, total: number) => void;
  /** Tests: fail (as a killed run would stop) once this many entities are migrated. */
  readonly failAfterEntities?: number;
}

/** A migration that cannot go on: `code` is in CONFIG_ERRORS. */
export class MigrateError extends ConfigError {}

interface IdSample {
  readonly metric: string;
  readonly hour: number;
  readonly milli: number;
  readonly id: string;
}

/** The bucket keys found: metric → days, metric → hours, id days. */
interface BucketKeys {
  readonly daily: Map<string, number[]>;
  readonly hourly: Map<string, number[]>;
  readonly idDays: number[];
  readonly all: string[];
}

/** A literal for a SCAN MATCH pattern. */
export const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

async function scanKeys(redis: RedisClient, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** `P:d:<metric>:<day>` → [metric, day]; undefined when the last part is not an integer. */
export function metricAndIndex(key: string, head: string): [string, number] | undefined {
  const rest = key.slice(head.length);
  const colon = rest.lastIndexOf(':');
  const n = Number(rest.slice(colon + 1));
  return colon > 0 && Number.isInteger(n) ? [rest.slice(0, colon), n] : undefined;
}

async function findBucketKeys(redis: RedisClient, keys: Keyspace): Promise<BucketKeys> {
  const p = escapeGlob(keys.prefix);
  const out: BucketKeys = { daily: new Map(), hourly: new Map(), idDays: [], all: [] };
  for (const [kind, into] of [['d', out.daily], ['h', out.hourly]] as const) {
    const head = `${keys.prefix}:${kind}:`;
    for (const key of await scanKeys(redis, `${p}:${kind}:*`)) {
      const parsed = metricAndIndex(key, head);
      if (!parsed) continue;
      out.all.push(key);
      const list = into.get(parsed[0]) ?? into.set(parsed[0], []).get(parsed[0])!;
      list.push(parsed[1]);
    }
  }
  for (const key of await scanKeys(redis, `${p}:ids:*`)) {
    const day = Number(key.slice(`${keys.prefix}:ids:`.length));
    if (!Number.isInteger(day)) continue;
    out.all.push(key);
    out.idDays.push(day);
  }
  for (const list of [...out.daily.values(), ...out.hourly.values(), out.idDays]) list.sort((a, b) => a - b);
  out.all.sort();
  return out;
}

/** The UTC instant of the start of local hour index `hour`. */
function startOfHour(calendar: Calendar, hour: number): number {
  const day = Math.floor(hour / HOURS_PER_DAY);
  const ts = calendar.startOfDay(day) + (hour - day * HOURS_PER_DAY) * MS_PER_HOUR;
  if (calendar.hourOf(ts) !== hour) throw new MigrateError('bad_env', `local hour ${hour} does not exist in ${calendar.timeZone} (a clock change): cannot place its bucket`);
  return ts;
}

/** Samples that add up to `cell`: one carrying the Σ, the others 0 (the count is what a cell keeps). */
function cellSamples(entity: string, metric: string, ts: number, cell: DailyCell): Sample[] {
  return Array.from({ length: cell.count }, (_, i) => ({ entity, metric, ts, value: i === 0 ? cell.sumMilli / MILLI : 0 }));
}

export async function migrate(o: MigrateOptions): Promise<MigrateSummary> {
  const { redis, keys, calendar, settings, now } = o;
  const mk = migrateKeys(keys.prefix);
  const base = { entities: 0, series: 0, samples: 0, resumedFrom: 0, deleted: 0, dryRun: !!o.dryRun };
  const found = await findBucketKeys(redis, keys);
  if (await redis.exists(mk.done)) {
    const deleted = o.deleteOld && !o.dryRun ? await deleteKeys(redis, found.all) : 0;
    return { ...base, alreadyDone: true, deleted: o.dryRun ? 0 : deleted };
  }

  const today = calendar.dayOf(now);
  const compact = new CompactSeries(redis, keys, calendar, o.metrics, settings);
  const maxDay = today + Math.ceil(settings.maxFutureMs / MS_PER_DAY);
  const fromDay = maxDay - compact.dailyRing + 1;
  const hourlyFromDay = today - settings.hourlyRetentionDays;
  const cutoffHour = (today - settings.idWindowDays) * HOURS_PER_DAY;
  const inRange = (d: number) => d >= fromDay && d <= maxDay;
  const metrics = [...new Set([...found.daily.keys(), ...found.hourly.keys()])].sort();
  const dailyDays = new Map(metrics.map((m) => [m, (found.daily.get(m) ?? []).filter(inRange)]));
  const hourlyHours = new Map(metrics.map((m) => [m, (found.hourly.get(m) ?? []).filter((h) => Math.floor(h / HOURS_PER_DAY) >= hourlyFromDay && inRange(Math.floor(h / HOURS_PER_DAY)))]));

  // Every entity with a bucket in range, in one stable order (the progress counts along it).
  const entitySet = new Set<string>();
  for (const m of metrics) {
    const p = redis.pipeline();
    for (const d of dailyDays.get(m)!) p.hkeys(keys.daily(m, d));
    for (const h of hourlyHours.get(m)!) p.hkeys(keys.hourly(m, h));
    for (const [err, list] of (await p.exec()) ?? []) {
      if (err) throw err;
      for (const e of list as string[]) entitySet.add(e);
    }
  }
  const entities = [...entitySet].sort();

  // The sample ids of the retained days, by entity: within the id window they keep replacing.
  const ids = new Map<string, IdSample[]>();
  for (const day of found.idDays.filter(inRange)) {
    for (const [id, packed] of Object.entries(await redis.hgetall(keys.ids(day)))) {
      const m = /^(-?\d+)\|(\d+)\|\w\|([^|]*)\|(.*)$/.exec(packed);
      if (!m) continue;
      const list = ids.get(m[4]!) ?? ids.set(m[4]!, []).get(m[4]!)!;
      list.push({ metric: m[3]!, hour: Number(m[2]), milli: Number(m[1]), id });
    }
  }

  // The progress counts along this list: a list that changed since the killed run (buckets were
  // written meanwhile) starts over, which is safe since every batch is rewritten whole.
  const listHash = fnv1a32(entities.join('\u0000')).toString(16);
  const progress = await redis.hgetall(mk.progress);
  const resumedFrom = o.dryRun || progress.list !== listHash ? 0 : Math.min(Number(progress.done ?? 0) || 0, entities.length);
  const size = o.batchSize ?? MIGRATE_BATCH;
  let series = 0;
  let samples = 0;
  for (let at = resumedFrom; at < entities.length; at += size) {
    const batch = entities.slice(at, at + size);
    const built = await batchSamples(o, batch, metrics, dailyDays, hourlyHours, ids, cutoffHour);
    series += built.series.length;
    samples += built.samples.length;
    if (o.dryRun) continue;
    // Redo the batch from nothing: a batch cut short by a kill is written again whole.
    const del = redis.pipeline();
    for (const [e, m] of built.series) del.del(compact.ck.series(e, m), compact.ck.ids(e, m));
    for (const [err] of (await del.exec()) ?? []) if (err) throw err;
    const calls = compact.calls(`migrate:${randomUUID()}`, built.samples, now, { sealOldIds: true });
    const p = redis.pipeline() as unknown as { lookoutApplyCompact(...a: (string | number)[]): void } & Batch;
    for (const call of calls) p.lookoutApplyCompact(String(call.keys.length), ...call.keys, ...call.args);
    const res = (await p.exec()) ?? [];
    const markers = redis.pipeline();
    res.forEach(([err, r], k) => {
      if (err) throw err;
      const list = (r as [number, string])[1];
      if (list) {
        const [index, code] = list.split(',')[0]!.split(':') as [string, string];
        const s = built.samples[Number(index)]!;
        throw new MigrateError('migrate_refused', `the compact layout refused a sample of entity ${s.entity}, metric ${s.metric} (local hour ${calendar.hourOf(s.ts)}): ${code} [migrate_refused]`);
      }
      markers.del(calls[k]!.keys[0]!);
    });
    markers.hset(mk.progress, 'done', String(at + batch.length), 'total', String(entities.length), 'list', listHash);
    for (const [err] of (await markers.exec()) ?? []) if (err) throw err;
    o.progress?.(at + batch.length, entities.length);
    if (o.failAfterEntities !== undefined && at + batch.length >= o.failAfterEntities) throw new Error(`migration stopped after ${at + batch.length} entities (test hook)`);
  }
  const summary: MigrateSummary = { ...base, alreadyDone: false, entities: entities.length, series, samples, resumedFrom };
  if (o.dryRun) return summary;
  // The next start without LOOKOUT_SERIES_LAYOUT runs compact (chooseLayout).
  await redis.multi().set(mk.done, JSON.stringify({ at: new Date(now).toISOString(), entities: entities.length, samples })).del(mk.progress).set(keys.layout, 'compact').exec();
  return { ...summary, deleted: o.deleteOld ? await deleteKeys(redis, found.all) : 0 };
}

async function deleteKeys(redis: RedisClient, all: readonly string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < all.length; i += 500) n += await redis.unlink(...all.slice(i, i + 500));
  return n;
}

/** One batch's samples, per entity, metric (sorted) and hour: what replaying them would store. */
async function batchSamples(
  o: MigrateOptions,
  batch: readonly string[],
  metrics: readonly string[],
  dailyDays: ReadonlyMap<string, readonly number[]>,
  hourlyHours: ReadonlyMap<string, readonly number[]>,
  ids: ReadonlyMap<string, readonly IdSample[]>,
  cutoffHour: number,
): Promise<{ series: [string, string][]; samples: Sample[] }> {
  const { redis, keys, calendar } = o;
  const p = redis.pipeline();
  for (const m of metrics) {
    for (const d of dailyDays.get(m)!) p.hmget(keys.daily(m, d), ...batch);
    for (const h of hourlyHours.get(m)!) p.hmget(keys.hourly(m, h), ...batch);
  }
  const res = (await p.exec()) ?? [];
  let k = 0;
  // metric → entity index → day → cell, and → hour → cell.
  const daily = new Map<string, Map<number, DailyCell>[]>();
  const hourly = new Map<string, Map<number, DailyCell>[]>();
  const take = (into: Map<number, DailyCell>[], at: number) => {
    const [err, vals] = res[k++] ?? [null, []];
    if (err) throw err;
    (vals as (string | null)[]).forEach((raw, j) => {
      const c = bucketCell(raw);
      if (c) into[j]!.set(at, c);
    });
  };
  for (const m of metrics) {
    const d = batch.map(() => new Map<number, DailyCell>());
    const h = batch.map(() => new Map<number, DailyCell>());
    for (const day of dailyDays.get(m)!) take(d, day);
    for (const hour of hourlyHours.get(m)!) take(h, hour);
    daily.set(m, d);
    hourly.set(m, h);
  }

  const series: [string, string][] = [];
  const samples: Sample[] = [];
  const hourlyFromDay = calendar.dayOf(o.now) - o.settings.hourlyRetentionDays;
  batch.forEach((entity, j) => {
    for (const metric of metrics) {
      const days = daily.get(metric)![j]!;
      const hours = hourly.get(metric)![j]!;
      if (!days.size && !hours.size) continue;
      series.push([entity, metric]);
      // The ids of this series by cell (hour within the hourly retention, else day).
      const idsByCell = new Map<number, IdSample[]>();
      const cellOf = (hour: number) => (Math.floor(hour / HOURS_PER_DAY) >= hourlyFromDay ? hour : -1 - Math.floor(hour / HOURS_PER_DAY));
      for (const s of [...(ids.get(entity) ?? [])].sort((a, b) => a.hour - b.hour || (a.id < b.id ? -1 : 1))) {
        if (s.metric !== metric) continue;
        const list = idsByCell.get(cellOf(s.hour)) ?? idsByCell.set(cellOf(s.hour), []).get(cellOf(s.hour))!;
        list.push(s);
      }
      const sealed = new Set<number>();
      // The samples of one cell: its ids (when they add up within it), then the rest as one Σ and zeros.
      const emit = (cell: DailyCell, cellIds: readonly IdSample[], ts: number) => {
        const idCount = cellIds.length;
        const idMilli = cellIds.reduce((a, s) => a + s.milli, 0);
        const usable = idCount <= cell.count && (idCount < cell.count || idMilli === cell.sumMilli);
        const rest = usable ? { sumMilli: cell.sumMilli - idMilli, count: cell.count - idCount } : cell;
        if (usable) {
          for (const s of cellIds) {
            // Older than the id window: the first id of an hour seals it (a re-send is refused
            // with id_window_passed); a second id there would be refused, so it goes without.
            const keepId = s.hour >= cutoffHour || !sealed.has(s.hour);
            if (s.hour < cutoffHour) sealed.add(s.hour);
            samples.push({ entity, metric, ts: startOfHour(calendar, s.hour), value: s.milli / MILLI, ...(keepId ? { id: s.id } : {}) });
          }
        }
        samples.push(...cellSamples(entity, metric, ts, rest));
      };
      for (const [day, cell] of [...days].sort((a, b) => a[0] - b[0])) {
        if (day < hourlyFromDay) {
          emit(cell, idsByCell.get(-1 - day) ?? [], startOfHour(calendar, day * HOURS_PER_DAY));
          continue;
        }
        let sumMilli = 0;
        let count = 0;
        for (let h = day * HOURS_PER_DAY; h < (day + 1) * HOURS_PER_DAY; h++) {
          const c = hours.get(h);
          if (!c) continue;
          sumMilli += c.sumMilli;
          count += c.count;
          emit(c, idsByCell.get(h) ?? [], startOfHour(calendar, h));
        }
        // What the day holds beyond its hours (none when the buckets agree): at its first hour.
        if (cell.count > count) emit({ sumMilli: cell.sumMilli - sumMilli, count: cell.count - count }, [], startOfHour(calendar, day * HOURS_PER_DAY));
      }
    }
  });
  return { series, samples };
}
