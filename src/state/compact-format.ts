// The compact layout's stored format, read side (written by compact-lua.ts). One string per
// (entity, metric): a ring of daily cells and the hourly rows of the days in the hourly retention.
// Pure: decodes bytes; the store decides which keys to read.

import { bucketValue } from '../domain/bucket.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import { shardOf, shardTag } from './shard.js';

/**
 * Header: last day written (int32), ring size (uint16), and the byte offset of the newest hourly row
 * + 2³⁰, + 2²⁹ once the key expires on whole weeks (int32; the writer's, compact-lua.ts). Rows are stored oldest first and may be followed by
 * padding (zero rows: day 0, no hours), which the reader passes over as rows without cells.
 */
const HEADER = 10;
/** Daily cell: sum in thousandths (int40), count (uint24) and the mask of its sealed hours (uint24). */
const DAILY_CELL = 11;
/** Hourly row header: its day (uint24, +0x800000: implicit) and the mask of hours with data (uint24). */
const ROW_HEADER = 6;
const IMPLICIT = 0x800000;
/** Hourly cell: sum in thousandths (int32) and count (uint16). */
const HOURLY_CELL = 6;

/** Default id window (LOOKOUT_ID_WINDOW_DAYS): ids are remembered 7 days from their sample's local day or their arrival, whichever is later. */
export const ID_WINDOW_DAYS = 7;

/** Largest value (in units) a sample may carry in the compact layout: an hourly cell's int32 thousandths. */
export const MAX_CELL_VALUE = 2_147_483.647;

/** Metrics whose key heads CompactKeys keeps at most (a catalogue has tens). */
const MAX_HEAD_METRICS = 1024;

/** Key names of the compact layout: every key of an entity carries its shard's hash tag. */
export class CompactKeys {
  constructor(
    readonly prefix: string,
    readonly shards: number,
  ) {}
  shard(entity: string): number {
    return shardOf(entity, this.shards);
  }
  /** The series string of one (entity, metric). */
  series(entity: string, metric: string, shard = this.shard(entity)): string {
    return this.head('s', metric, shard) + entity;
  }
  /** The id index of one (entity, metric). */
  ids(entity: string, metric: string, shard = this.shard(entity)): string {
    return this.head('i', metric, shard) + entity;
  }

  /** Kind → metric → shard → the key's part before the entity (`P:{s<shard>}:<kind>:<metric>:`), made once. */
  private readonly heads = { s: new Map<string, string[]>(), i: new Map<string, string[]>() };

  private head(kind: 's' | 'i', metric: string, shard: number): string {
    const heads = this.heads[kind];
    let byShard = heads.get(metric);
    if (!byShard) {
      // (Bounded: a read may name a metric the catalogue does not have.)
      if (heads.size >= MAX_HEAD_METRICS) heads.clear();
      heads.set(metric, (byShard = []));
    }
    return (byShard[shard] ??= `${this.prefix}:${shardTag(shard)}:${kind}:${metric}:`);
  }
  /** A shard's apply lease: which worker process computes a window of it now (CompactSeries.leaseWindow). */
  applying(shard: number): string {
    return `${this.prefix}:${shardTag(shard)}:applying`;
  }
  /** Marker of one job chunk applied to one shard (idempotent retries). */
  chunk(shard: number, jobId: string, chunk: number): string {
    return `${this.prefix}:${shardTag(shard)}:chunk:${jobId}:${chunk}`;
  }
  /** Marker of one job chunk counted in a metric's feed counter: hashes to the slot of `feedKey`. */
  feedMark(feedKey: string, jobId: string, chunk: number): string {
    // A tagged counter (`{P}:feed:m`, on a cluster) lends its tag to a key that begins with it.
    if (feedKey.includes('{')) return `${feedKey}:mark:${jobId}:${chunk}`;
    return `${this.prefix}:fmark:{${feedKey}}:${jobId}:${chunk}`;
  }
}

/** Days, local hour index and value of every stored cell of one series string. */
export class CompactSeriesView {
  private readonly last: number;
  private readonly ring: number;

  constructor(private readonly buf: Buffer) {
    this.last = buf.readInt32LE(0);
    this.ring = buf.readUInt16LE(4);
  }

  /** The last day written (local day index). */
  get lastDay(): number {
    return this.last;
  }

  /** The daily cell of `day`: sum in thousandths and count; undefined when outside the ring or empty. */
  dailyCell(day: number): { sumMilli: number; count: number } | undefined {
    if (day > this.last || day <= this.last - this.ring) return undefined;
    const at = HEADER + (((day % this.ring) + this.ring) % this.ring) * DAILY_CELL;
    const count = this.buf.readUIntLE(at + 5, 3);
    if (count === 0) return undefined;
    return { sumMilli: this.buf.readIntLE(at, 5), count };
  }

  /** Daily values over [fromDay, toDay] into `out` (day → value). */
  daily(fromDay: number, toDay: number, avg: boolean, out: Map<number, number>): void {
    const from = Math.max(fromDay, this.last - this.ring + 1);
    for (let d = from; d <= Math.min(toDay, this.last); d++) {
      const c = this.dailyCell(d);
      if (c) out.set(d, bucketValue(c.sumMilli, c.count, avg)!);
    }
  }

  /** Every stored hourly cell with fromHour ≤ hour index ≤ toHour: calls `each(hourIndex, value)`. */
  hourly(fromHour: number, toHour: number, avg: boolean, each: (hour: number, value: number) => void): void {
    const buf = this.buf;
    let p = HEADER + this.ring * DAILY_CELL;
    while (p < buf.length) {
      const dd = buf.readUIntLE(p, 3);
      let mask = buf.readUIntLE(p + 3, 3);
      p += ROW_HEADER;
      const day = dd & (IMPLICIT - 1);
      const implicit = (dd & IMPLICIT) !== 0;
      for (let h = 0; h < HOURS_PER_DAY && mask; h++, mask >>>= 1) {
        if (!(mask & 1)) continue;
        let sum: number;
        let count: number;
        if (implicit) {
          const c = this.dailyCell(day);
          if (!c) continue;
          sum = c.sumMilli;
          count = c.count;
        } else {
          sum = buf.readInt32LE(p);
          count = buf.readUInt16LE(p + 4);
          p += HOURLY_CELL;
        }
        const hour = day * HOURS_PER_DAY + h;
        if (hour >= fromHour && hour <= toHour && count > 0) each(hour, bucketValue(sum, count, avg)!);
      }
    }
  }
}
