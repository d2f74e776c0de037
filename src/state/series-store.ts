// Per-entity time buckets in Redis: daily and hourly sums (or sum+count for gauges), aligned in
// LOOKOUT_TZ on event time, with id-replacement and bounded retention (see lua.ts).

import type { Redis } from 'ioredis';
import type { Calendar } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample } from '../domain/sample.js';
import type { EntitySeries } from '../evaluate/types.js';
import type { Keyspace } from '../queues/names.js';
import { APPLY_SAMPLES_LUA } from './lua.js';

export interface RetentionPolicy {
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
}

/** Entities per EVALSHA call: big enough to amortise the call, small enough not to stall Redis. */
const ENTITIES_PER_CALL = 200;
const IDS_CAP = 10_000;
/** Bucket values are stored as integer thousandths: exact sums, no float dust after corrections. */
export const MILLI = 1000;

export interface ApplyResult {
  /** Chunks applied now (0 when a retried job had applied them all already). */
  readonly chunks: number;
  readonly skippedChunks: number;
  /** Entity → metrics touched. */
  readonly touched: ReadonlyMap<string, ReadonlySet<string>>;
}

export class SeriesStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    private readonly metrics: () => MetricCatalogue,
    private readonly retention: RetentionPolicy,
  ) {
    redis.defineCommand('lookoutApply', { numberOfKeys: 0, lua: APPLY_SAMPLES_LUA });
  }

  /**
   * Apply validated samples; `jobId` makes a retried job a no-op per chunk. Entities for which
   * `needsEvaluation(entity, metrics)` is true join the dirty set in the same atomic step.
   */
  async apply(
    jobId: string,
    samples: readonly Sample[],
    now: number,
    needsEvaluation: (entity: string, metrics: ReadonlySet<string>) => boolean = () => true,
  ): Promise<ApplyResult> {
    const byEntity = new Map<string, Sample[]>();
    for (const s of samples) {
      const list = byEntity.get(s.entity);
      if (list) list.push(s);
      else byEntity.set(s.entity, [s]);
    }
    const touched = new Map<string, Set<string>>();
    for (const [e, list] of byEntity) {
      const set = new Set<string>();
      for (const s of list) set.add(s.metric);
      touched.set(e, set);
    }
    const today = this.calendar.dayOf(now);
    const minDay = today - this.retention.retentionDays;
    const minHour = (today - this.retention.hourlyRetentionDays) * 24;
    const dailyCap = (this.retention.retentionDays + 8) * 2;
    const hourlyCap = (this.retention.hourlyRetentionDays + 8) * 24 * 2;
    const catalogue = this.metrics();
    const tail = [String(now), String(minDay), String(minHour), String(dailyCap), String(hourlyCap), String(IDS_CAP)];

    // Chunks are cut deterministically from the job's samples, so a retry names the same chunks.
    const entities = [...byEntity.keys()];
    const pipeline = this.redis.pipeline();
    let chunks = 0;
    for (let c = 0; c < entities.length; c += ENTITIES_PER_CALL) {
      const args = [this.keys.prefix, this.keys.chunk(jobId, chunks++), ...tail];
      for (const e of entities.slice(c, c + ENTITIES_PER_CALL)) {
        const list = byEntity.get(e)!;
        args.push(e, needsEvaluation(e, touched.get(e)!) ? '1' : '0', String(list.length));
        for (const s of list) {
          const agg = catalogue.get(s.metric)?.aggregation === 'avg' ? 'a' : 's';
          args.push(s.metric, agg, String(this.calendar.dayOf(s.ts)), String(this.calendar.hourOf(s.ts)), String(Math.round(s.value * MILLI)), s.id ?? '');
        }
      }
      (pipeline as unknown as { lookoutApply(...a: string[]): void }).lookoutApply(...args);
    }
    const results = (await pipeline.exec()) ?? [];
    let applied = 0;
    for (const [err, res] of results) {
      if (err) throw err;
      if (res === 1) applied++;
    }
    return { chunks: applied, skippedChunks: chunks - applied, touched };
  }

  /** Queue the reads of one entity's daily series into a MULTI/pipeline. */
  queueDailyReads(tx: ReturnType<Redis['multi']>, entity: string, metrics: readonly string[]): void {
    for (const m of metrics) tx.hgetall(this.keys.daily(entity, m));
  }

  /** Parse hashes read by queueDailyReads into an EntitySeries. */
  parseDaily(metrics: readonly string[], hashes: readonly Record<string, string>[]): EntitySeries {
    const catalogue = this.metrics();
    const out = new Map<string, Map<number, number>>();
    metrics.forEach((m, i) => {
      out.set(m, parseDailyHash(hashes[i] ?? {}, catalogue.get(m)?.aggregation === 'avg'));
    });
    return out;
  }

  /** Daily series of one entity (API, CLI, tests). */
  async readDaily(entity: string, metrics: readonly string[]): Promise<EntitySeries> {
    const tx = this.redis.multi();
    this.queueDailyReads(tx, entity, metrics);
    const res = (await tx.exec()) ?? [];
    return this.parseDaily(metrics, res.map(([, v]) => v as Record<string, string>));
  }

  /** Hourly buckets of one entity and metric: hour index → value. */
  async readHourly(entity: string, metric: string): Promise<Map<number, number>> {
    const h = await this.redis.hgetall(this.keys.hourly(entity, metric));
    const avg = this.metrics().get(metric)?.aggregation === 'avg';
    const out = new Map<number, number>();
    for (const [f, v] of Object.entries(h)) {
      if (f.endsWith('n')) continue;
      const n = avg ? Number(h[`${f}n`] ?? 0) : 1;
      if (n > 0) out.set(Number(f), Number(v) / MILLI / n);
    }
    return out;
  }
}

/** Daily hash fields: `<day>` = sum, `<day>n` = samples in it. Days without samples are absent. */
export function parseDailyHash(h: Record<string, string>, avg: boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const f in h) {
    if (f.charCodeAt(f.length - 1) === 110 /* n */) continue;
    const count = Number(h[`${f}n`] ?? 0);
    if (count <= 0) continue;
    const sum = Number(h[f]) / MILLI;
    out.set(Number(f), avg ? sum / count : sum);
  }
  return out;
}

