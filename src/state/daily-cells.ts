// Each layout's stored daily cells (sum in thousandths and sample count) for many entities and a
// range of days: what RedisDailyReads (campaign figures, the halls' ranking) sums, and what the
// migration copies. One pipeline per call; the layout in use decides the keys.

import { batch, type RedisClient } from './client.js';
import type { Keyspace } from './keys.js';
import { CompactKeys, CompactSeriesView } from './compact-format.js';
import type { DailyCellsByEntity, DailyRead } from './series-layout.js';
import { seriesOf } from './series-layout.js';
import { DEFAULT_SHARDS } from './shard.js';

/** Reads stored daily cells: entity → metric → local day → cell (days without samples absent). */
export interface DailyCellSource {
  readDailyCells(reads: readonly DailyRead[]): Promise<DailyCellsByEntity>;
}

/** A stored bucket `sumMilli,count` as a cell; undefined when empty. */
export function bucketCell(raw: string | null | undefined): { sumMilli: number; count: number } | undefined {
  if (!raw) return undefined;
  const comma = raw.indexOf(',');
  const count = Number(raw.slice(comma + 1));
  if (!(count > 0)) return undefined;
  return { sumMilli: Number(raw.slice(0, comma)), count };
}

/** The buckets layout: one HMGET per (metric, day). */
export class BucketDailyCells implements DailyCellSource {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {}

  async readDailyCells(reads: readonly DailyRead[]): Promise<DailyCellsByEntity> {
    const out: DailyCellsByEntity = new Map();
    const p = this.redis.pipeline();
    for (const r of reads) if (r.entities.length) for (let d = r.fromDay; d <= r.toDay; d++) p.hmget(this.keys.daily(r.metric, d), ...r.entities);
    const res = (await p.exec()) ?? [];
    let k = 0;
    for (const r of reads) {
      const series = seriesOf(out, r.entities, r.metric);
      if (!r.entities.length) continue;
      for (let d = r.fromDay; d <= r.toDay; d++) {
        const [err, vals] = res[k++] ?? [null, []];
        if (err) throw err;
        (vals as (string | null)[]).forEach((raw, j) => {
          const c = bucketCell(raw);
          if (c) series[j]!.set(d, c);
        });
      }
    }
    return out;
  }
}

/** The compact layout: one GET per (entity, metric) series string. */
export class CompactDailyCells implements DailyCellSource {
  constructor(
    private readonly redis: RedisClient,
    private readonly ck: CompactKeys,
  ) {}

  async readDailyCells(reads: readonly DailyRead[]): Promise<DailyCellsByEntity> {
    const out: DailyCellsByEntity = new Map();
    const p = batch(this.redis);
    for (const r of reads) for (const e of r.entities) p.getBuffer(this.ck.series(e, r.metric));
    const res = (await p.exec()) ?? [];
    let k = 0;
    for (const r of reads) {
      const series = seriesOf(out, r.entities, r.metric);
      for (let j = 0; j < r.entities.length; j++) {
        const [err, buf] = res[k++] ?? [null, null];
        if (err) throw err;
        if (!buf || !(buf as Buffer).length) continue;
        const view = new CompactSeriesView(buf as Buffer);
        for (let d = r.fromDay; d <= r.toDay; d++) {
          const c = view.dailyCell(d);
          if (c) series[j]!.set(d, c);
        }
      }
    }
    return out;
  }
}

/** The daily cells of the layout a deployment uses (LOOKOUT_SERIES_LAYOUT, LOOKOUT_SHARDS). */
export function dailyCellsFor(redis: RedisClient, keys: Keyspace, settings: { readonly seriesLayout?: 'buckets' | 'compact'; readonly shards?: number }): DailyCellSource {
  return settings.seriesLayout === 'compact'
    ? new CompactDailyCells(redis, new CompactKeys(keys.seriesPrefix, settings.shards ?? DEFAULT_SHARDS))
    : new BucketDailyCells(redis, keys);
}
