// The replay's stand-in for the Redis buckets: validated samples → daily (and, for the series
// intraday rules read, hourly) buckets per entity and metric, aligned in LOOKOUT_TZ on event
// time, with the same id replacement as the apply script (src/state/lua.ts):
//
// - a sample whose id was seen on its own local day or the day before or after replaces the
//   earlier sample (its value leaves the earlier bucket, even of another day, entity or metric);
// - an id seen only further away is not found (the live script looks at three days), so the new
//   sample counts as new;
// - within one batch validateSamples keeps only the last sample of an id (duplicate_id).
//
// It also counts samples per metric and local day across all entities: the feed volume the
// absence rules' feedDelivered guard reads. Entities, metrics and (entity, metric) series are
// interned to small integers; nothing is allocated per sample.

import type { Calendar } from '../domain/clock.js';
import { MS_PER_HOUR } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample } from '../domain/sample.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import { bucketValue, toMilli } from '../domain/bucket.js';
import { Columns, type ColumnsSnapshot } from './columns.js';
import { IdTable, idHashA, idHashB } from './id-table.js';

export interface StoreStats {
  /** Samples applied (replacements included). */
  readonly applied: number;
  /** Samples that replaced an earlier sample with the same id. */
  readonly replaced: number;
  /** …of which the earlier sample sat on another local day (a time-zone slip corrected). */
  readonly movedDays: number;
  /** Earliest and latest local day a sample landed on (undefined when none). */
  readonly firstDay?: number;
  readonly lastDay?: number;
}

/** Everything the judging needs to read the buckets (structured-cloneable; memory is shared). */
export interface StoreSnapshot {
  readonly metrics: readonly string[];
  /** Per metric: a gauge (averaged) rather than a count (summed). */
  readonly avg: readonly boolean[];
  /** entity index × metric count + metric index → series index (−1: never reported). */
  readonly seriesOf: Int32Array;
  /** series index → hourly series index (−1: no hourly buckets kept). */
  readonly hourlyOf: Int32Array;
  readonly daily: ColumnsSnapshot;
  readonly hourly: ColumnsSnapshot;
  /** Samples per metric (as the series index) and day. */
  readonly feed: ColumnsSnapshot;
}

export class SampleStore {
  private readonly entityIndex = new Map<string, number>();
  private readonly entityIds: string[] = [];
  private readonly metricIndex = new Map<string, number>();
  private readonly metricNames: string[] = [];
  private readonly metricAvg: boolean[] = [];
  private readonly metricCount: number;
  private seriesOf: Int32Array;
  private hourlyOf = new Int32Array(1024).fill(-1);
  private seriesCount = 0;
  private hourlyCount = 0;
  private samplesPerEntity = new Float64Array(1024);
  private readonly daily = new Columns(1);
  private readonly hourly = new Columns(HOURS_PER_DAY, 64);
  private readonly feedCounts: Columns;
  private readonly ids = new IdTable();
  private applied = 0;
  private replaced = 0;
  private movedDays = 0;
  private firstDay = Infinity;
  private lastDay = -Infinity;
  private lastEntity: string | undefined;
  private lastEntityIndex = -1;

  private readonly wantsHourly: (entity: string, metric: string) => boolean;

  constructor(
    private readonly calendar: Calendar,
    catalogue: MetricCatalogue,
    opts: {
      /**
       * Keep hourly buckets for this series (the metrics intraday rules read, for the entities in
       * their scope): a year of hourly buckets for everything would not fit in memory.
       */
      readonly wantsHourly?: (entity: string, metric: string) => boolean;
    } = {},
  ) {
    this.wantsHourly = opts.wantsHourly ?? (() => false);
    for (const def of catalogue.values()) {
      this.metricIndex.set(def.name, this.metricNames.length);
      this.metricNames.push(def.name);
      this.metricAvg.push(def.aggregation === 'avg');
    }
    this.metricCount = this.metricNames.length;
    this.seriesOf = new Int32Array(1024 * this.metricCount).fill(-1);
    this.feedCounts = new Columns(1, this.metricCount);
  }

  /** Intern an entity id (register the registry first, so its indexes are 0…n−1). */
  intern(entity: string): number {
    if (entity === this.lastEntity) return this.lastEntityIndex;
    let e = this.entityIndex.get(entity);
    if (e === undefined) {
      e = this.entityIds.length;
      this.entityIndex.set(entity, e);
      this.entityIds.push(entity);
      if (e >= this.samplesPerEntity.length) {
        const grown = new Float64Array(this.samplesPerEntity.length * 2);
        grown.set(this.samplesPerEntity);
        this.samplesPerEntity = grown;
        const seriesOf = new Int32Array(grown.length * this.metricCount).fill(-1);
        seriesOf.set(this.seriesOf);
        this.seriesOf = seriesOf;
      }
    }
    this.lastEntity = entity;
    this.lastEntityIndex = e;
    return e;
  }

  indexOf(entity: string): number | undefined {
    return this.entityIndex.get(entity);
  }

  entityOf(index: number): string {
    return this.entityIds[index]!;
  }

  get entityCount(): number {
    return this.entityIds.length;
  }

  /** Samples applied for an entity (replacements included), by interned index. */
  samplesOf(index: number): number {
    return this.samplesPerEntity[index] ?? 0;
  }

  private series(e: number, m: number): number {
    const k = e * this.metricCount + m;
    let s = this.seriesOf[k]!;
    if (s < 0) {
      s = this.seriesCount++;
      this.seriesOf[k] = s;
      this.daily.ensure(this.seriesCount);
      if (s >= this.hourlyOf.length) {
        const grown = new Int32Array(this.hourlyOf.length * 2).fill(-1);
        grown.set(this.hourlyOf);
        this.hourlyOf = grown;
      }
      if (this.wantsHourly(this.entityIds[e]!, this.metricNames[m]!)) {
        this.hourlyOf[s] = this.hourlyCount++;
        this.hourly.ensure(this.hourlyCount);
      }
    }
    return s;
  }

  /** Apply one validated sample (the metric must be in the catalogue the store was built with). */
  add(sample: Sample): void {
    const m = this.metricIndex.get(sample.metric);
    if (m === undefined) throw new Error(`metric ${sample.metric} is not in the catalogue`);
    const local = sample.ts + this.calendar.offsetAt(sample.ts);
    // The same fixed point as the apply script: integer thousandths.
    const milli = toMilli(sample.value);
    const id = sample.id;
    this.addEncoded(this.intern(sample.entity), m, Math.floor(local / MS_PER_HOUR), milli, id !== undefined, id === undefined ? 0 : idHashA(id), id === undefined ? 0 : idHashB(id));
  }

  /** Index of a metric in the catalogue order (what addEncoded takes). */
  metricOf(metric: string): number | undefined {
    return this.metricIndex.get(metric);
  }

  /**
   * Apply one sample already reduced to numbers (by a reading thread, see encode.ts): interned
   * entity, metric index, local hour index, value in thousandths, and its id's two hashes.
   */
  addEncoded(e: number, m: number, hour: number, milli: number, hasId: boolean, a: number, b: number): void {
    const s = this.series(e, m);
    const day = Math.floor(hour / HOURS_PER_DAY);
    if (hasId) {
      const ids = this.ids;
      if (ids.find(a, b, day)) {
        const oldDay = ids.foundDay;
        this.put(ids.foundSeries, oldDay, ids.foundHour, -ids.foundMilli, -1);
        this.replaced++;
        if (oldDay !== day) this.movedDays++;
      }
      ids.set(a, b, day, s, hour, milli);
    }
    this.put(s, day, hour, milli, 1);
    this.feedCounts.add(day, m, 0, 0, 1);
    this.samplesPerEntity[e]!++;
    this.applied++;
    if (day < this.firstDay) this.firstDay = day;
    if (day > this.lastDay) this.lastDay = day;
  }

  private put(s: number, day: number, hour: number, milli: number, count: number): void {
    this.daily.add(day, s, 0, milli, count);
    const hs = this.hourlyOf[s]!;
    if (hs >= 0) this.hourly.add(day, hs, hour - day * HOURS_PER_DAY, milli, count);
  }

  /** The value of one daily bucket as the live reader would return it (undefined: no data). */
  dailyValue(entity: string, metric: string, day: number): number | undefined {
    const snap = this.snapshot();
    const e = this.entityIndex.get(entity);
    const m = this.metricIndex.get(metric);
    if (e === undefined || m === undefined) return undefined;
    const s = snap.seriesOf[e * this.metricCount + m]!;
    const col = s < 0 ? undefined : snap.daily.columns[day - snap.daily.base];
    if (!col) return undefined;
    return bucketValue(col.sums[s]!, col.counts[s]!, this.metricAvg[m]!);
  }

  snapshot(): StoreSnapshot {
    return {
      metrics: this.metricNames,
      avg: this.metricAvg,
      seriesOf: this.seriesOf,
      hourlyOf: this.hourlyOf,
      daily: this.daily.snapshot(),
      hourly: this.hourly.snapshot(),
      feed: this.feedCounts.snapshot(),
    };
  }

  get stats(): StoreStats {
    const has = this.applied > 0;
    return {
      applied: this.applied,
      replaced: this.replaced,
      movedDays: this.movedDays,
      firstDay: has ? this.firstDay : undefined,
      lastDay: has ? this.lastDay : undefined,
    };
  }
}
