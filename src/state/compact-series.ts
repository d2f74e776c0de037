// The compact layout (LOOKOUT_SERIES_LAYOUT=compact): one string per (entity, metric) holding its
// daily cells and hourly rows, and one id index per (entity, metric) holding only the id window.
// Every key carries the entity's shard tag; a job's samples are applied one script call per
// (chunk, shard), so a call touches one slot. Design: docs/scaling.md "Compact layout".

import { batch, separately, type Batch, type RedisClient } from './client.js';
import { toMilli } from '../domain/bucket.js';
import { MS_PER_DAY, type Calendar } from '../domain/clock.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample, SampleRejection } from '../domain/sample.js';
import { SAMPLE_ERRORS } from '../errors/catalogue.js';
import type { Keyspace } from './keys.js';
import { CompactKeys, CompactSeriesView } from './compact-format.js';
import { CompactDailyCells } from './daily-cells.js';
import { APPLY_COMPACT_LUA, FEED_ONCE_LUA, MARK_DIRTY_LUA } from './compact-lua.js';
import { applyCompactCall } from './compact-apply.js';
import { APPLY_WRITES_LUA, CallRecorder } from './compact-writes.js';
import type { RetentionPolicy } from './series-layout.js';
import {
  seriesOf,
  setHourly,
  type DailyCellsByEntity,
  type DailyRead,
  type DirtyMarks,
  type HourlyRead,
  type LayoutApplyResult,
  type QueuedReads,
  type SeriesLayout,
  type Tx,
} from './series-layout.js';
import { idHash48 } from './shard.js';

/**
 * Samples per job chunk. A chunk is cut from the job's samples in order (so a retry names the same
 * chunks) and then split by shard: one script call per (chunk, shard).
 */
const SAMPLES_PER_CHUNK = 3000;

/**
 * Rounds of read, compute and fenced write a call gets in the worker before it is left to the
 * apply script (atomic in Redis, so it cannot lose a race): a call only goes round again when
 * another worker wrote one of its keys between the read and the write.
 */
const WORKER_ROUNDS = 4;

/**
 * Keys of the calls a worker computes at once. Their values read, working copies and payloads are
 * held together until the window's writes are answered: a job of 100,000 samples (~2,000 calls,
 * 200,000 keys) taken whole held ~100 MB in flight, and the garbage collector's work per sample
 * grew with the job (the apply step at 100,000 samples a job: 35–44 µs of Node CPU per sample
 * whole, 26–32 µs in windows; bench/README.md "Windows"). A default-size job (LOOKOUT_BATCH_SIZE
 * 2,000) is one window.
 */
const WINDOW_KEYS = 8192;

interface Commands {
  lookoutApplyCompact(...a: (string | number)[]): void;
  lookoutApplyWrites(...a: (string | Buffer)[]): void;
  lookoutFeedOnce(...a: string[]): void;
  lookoutMarkDirty(...a: string[]): void;
}

/** One call of the apply script: a chunk's samples of one shard. */
export interface ShardCall {
  readonly chunk: number;
  readonly shard: number;
  /** The chunk marker, then each (entity, metric)'s series string and id index: all under the shard's tag. */
  readonly keys: readonly string[];
  /** As the script takes them; the per-sample numbers as numbers (the client sends them as decimal strings). */
  readonly args: readonly (string | number)[];
}

export interface CompactSettings extends RetentionPolicy {
  readonly shards: number;
  readonly maxFutureMs: number;
  readonly idWindowDays: number;
  /**
   * Where a job's samples are worked into the series (LOOKOUT_APPLY_IN): `worker` (read the keys,
   * compute the writes in the worker, write them with a compare-and-set) or `redis` (the apply
   * script does it all inside Redis). Same stored bytes either way.
   */
  readonly applyIn?: 'worker' | 'redis';
}

/** What one call did: 1 applied now, 0 applied before; and its rejects ('index:code,…'). */
type CallOutcome = readonly [number, string];

export class CompactSeries implements SeriesLayout {
  readonly ck: CompactKeys;
  /** Calls this process computed whose fenced write found a key changed since it was read (they went round again). */
  conflicts = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    private readonly metrics: () => MetricCatalogue,
    private readonly settings: CompactSettings,
  ) {
    this.ck = new CompactKeys(keys.seriesPrefix, settings.shards);
    redis.defineCommand('lookoutApplyCompact', { lua: APPLY_COMPACT_LUA });
    redis.defineCommand('lookoutApplyWrites', { lua: APPLY_WRITES_LUA });
    redis.defineCommand('lookoutFeedOnce', { numberOfKeys: 2, lua: FEED_ONCE_LUA });
    redis.defineCommand('lookoutMarkDirty', { numberOfKeys: 1, lua: MARK_DIRTY_LUA });
  }

  /** Daily cells kept per (entity, metric): the retention, today and the days LOOKOUT_MAX_FUTURE_MS reaches. */
  get dailyRing(): number {
    return this.settings.retentionDays + 1 + Math.ceil(this.settings.maxFutureMs / MS_PER_DAY);
  }

  /**
   * The script calls that apply a job's samples: one per (chunk, shard), each with its keys (all
   * under the shard's hash tag) and arguments. Chunks are cut from the job's samples in order, so
   * a retry names the same calls. An id older than the id window is held a window from its arrival
   * (a backfill), unless `sealOldIds` (lookout migrate): then it seals its hour at once.
   */
  calls(jobId: string, samples: readonly Sample[], now: number, opts: { readonly sealOldIds?: boolean } = {}): ShardCall[] {
    const today = this.calendar.dayOf(now);
    const minHour = (today - this.settings.hourlyRetentionDays) * 24;
    const cutoff = (today - this.settings.idWindowDays) * 24;
    const holdDay = opts.sealOldIds ? -1 : today;
    const head = [String(now), String(this.dailyRing), String(minHour), String(cutoff), String(this.settings.retentionDays), String(holdDay)];
    const out: ShardCall[] = [];
    for (let c = 0; c * SAMPLES_PER_CHUNK < samples.length; c++) {
      // shard → entity-metric → sample indexes, in job order.
      const byShard = new Map<number, Map<string, number[]>>();
      for (let i = c * SAMPLES_PER_CHUNK; i < Math.min(samples.length, (c + 1) * SAMPLES_PER_CHUNK); i++) {
        const s = samples[i]!;
        const shard = this.ck.shard(s.entity);
        let groups = byShard.get(shard);
        if (!groups) byShard.set(shard, (groups = new Map()));
        const em = `${s.metric}\u0000${s.entity}`;
        const g = groups.get(em);
        if (g) g.push(i);
        else groups.set(em, [i]);
      }
      for (const [shard, groups] of byShard) {
        const keys = [this.ck.chunk(shard, jobId, c)];
        const args: (string | number)[] = [...head];
        for (const idx of groups.values()) {
          const first = samples[idx[0]!]!;
          keys.push(this.ck.series(first.entity, first.metric, shard), this.ck.ids(first.entity, first.metric, shard));
          // The series and id index of the metric's siblings: an id new to its own index is looked
          // for in theirs, and moved here when found.
          const siblings = idx.some((i) => samples[i]!.id !== undefined) ? this.siblingsOf(first.metric) : [];
          for (const m of siblings) keys.push(this.ck.series(first.entity, m, shard), this.ck.ids(first.entity, m, shard));
          args.push(idx.length, siblings.length);
          for (const i of idx) {
            const s = samples[i]!;
            args.push(i, this.calendar.hourOf(s.ts), toMilli(s.value), s.id === undefined ? '' : idHash48(s.id));
          }
        }
        out.push({ chunk: c, shard, keys, args });
      }
    }
    return out;
  }

  private readonly siblings = new Map<string, readonly string[]>();

  /**
   * The metrics an id'd sample may have been sent under before: those of the same family in the
   * catalogue (`complaints.billing`, `complaints.tariff`, …: the name up to its first dot). An id
   * counted under one of them moves (as the buckets layout's global ids move it), never counted twice.
   */
  siblingsOf(metric: string): readonly string[] {
    let out = this.siblings.get(metric);
    if (!out) {
      const dot = metric.indexOf('.');
      const family = dot > 0 ? metric.slice(0, dot + 1) : undefined;
      out = family ? [...this.metrics().keys()].filter((m) => m !== metric && m.startsWith(family)).sort() : [];
      this.siblings.set(metric, out);
    }
    return out;
  }

  async apply(jobId: string, samples: readonly Sample[], now: number, dirty: DirtyMarks): Promise<LayoutApplyResult> {
    const chunkCount = Math.ceil(samples.length / SAMPLES_PER_CHUNK);
    const calls = this.calls(jobId, samples, now);
    const results = this.settings.applyIn === 'redis' ? await this.runScripts(calls) : await this.runInWorker(calls);
    const appliedChunks = new Set<number>();
    const refused = new Set<number>();
    const rejected: SampleRejection[] = [];
    results.forEach(([applied, list], k) => {
      if (applied === 1) appliedChunks.add(calls[k]!.chunk);
      for (const item of list ? list.split(',') : []) {
        const colon = item.indexOf(':');
        const index = Number(item.slice(0, colon));
        const code = item.slice(colon + 1) as keyof typeof SAMPLE_ERRORS;
        refused.add(index);
        const s = samples[index]!;
        if (applied === 1) rejected.push({ index, code, message: `${SAMPLE_ERRORS[code]?.message ?? code} (entity ${s.entity}, metric ${s.metric})` });
      }
    });

    // Feed counters (global keys, one per metric): counted once per (chunk, metric) with a marker
    // in the counter's slot, from what the shard calls applied (the same on a retry: a skipped call
    // returns the rejects it recorded). Then the dirty marks: ZADD NX, harmless when repeated.
    const after = batch(this.redis) as unknown as Commands & Batch;
    for (let c = 0; c < chunkCount; c++) {
      const feed = new Map<string, Map<number, number>>();
      for (let i = c * SAMPLES_PER_CHUNK; i < Math.min(samples.length, (c + 1) * SAMPLES_PER_CHUNK); i++) {
        if (refused.has(i)) continue;
        const s = samples[i]!;
        const byDay = feed.get(s.metric) ?? feed.set(s.metric, new Map()).get(s.metric)!;
        const day = this.calendar.dayOf(s.ts);
        byDay.set(day, (byDay.get(day) ?? 0) + 1);
      }
      for (const [metric, byDay] of feed) {
        const feedKey = this.keys.feed(metric);
        const args: string[] = [];
        for (const [day, n] of byDay) args.push(String(day), String(n));
        after.lookoutFeedOnce(feedKey, this.ck.feedMark(feedKey, jobId, c), ...args);
      }
    }
    if (dirty.backfill.size) after.lookoutMarkDirty(this.keys.dirty, '0', ...dirty.backfill);
    if (dirty.live.size) after.lookoutMarkDirty(this.keys.dirty, String(dirty.leadMs), ...dirty.live);
    for (const [err] of (await after.exec()) ?? []) if (err) throw err;
    return { chunks: appliedChunks.size, skippedChunks: chunkCount - appliedChunks.size, rejected };
  }

  /** The calls run by the apply script, inside Redis. */
  private async runScripts(calls: readonly ShardCall[]): Promise<CallOutcome[]> {
    // One pipeline on a standalone Redis; on a cluster each call goes to its shard's master (batch, client.ts).
    const pipeline = batch(this.redis) as unknown as Commands & Batch;
    for (const call of calls) pipeline.lookoutApplyCompact(String(call.keys.length), ...call.keys, ...call.args);
    return ((await pipeline.exec()) ?? []).map(([err, res]) => {
      if (err) throw err;
      return res as CallOutcome;
    });
  }

  /**
   * The calls computed here, a window at a time (WINDOW_KEYS): every key of the window's calls read
   * in one pipeline (an MGET per call), each call's writes computed (applyCompactCall), then written
   * as fenced scripts that write nothing if a key read has changed since. Those calls go round
   * again; after WORKER_ROUNDS the apply script takes what is left.
   */
  private async runInWorker(calls: readonly ShardCall[]): Promise<CallOutcome[]> {
    const out: CallOutcome[] = new Array<CallOutcome>(calls.length);
    for (let from = 0; from < calls.length; ) {
      let to = from;
      let keys = 0;
      while (to < calls.length && (to === from || keys + calls[to]!.keys.length <= WINDOW_KEYS)) keys += calls[to++]!.keys.length;
      await this.runWindow(calls, from, to, out);
      from = to;
    }
    return out;
  }

  /** Calls from..to-1 computed here (runInWorker), their outcomes into `out`. */
  private async runWindow(calls: readonly ShardCall[], from: number, to: number, out: CallOutcome[]): Promise<void> {
    let pending: number[] = [];
    for (let i = from; i < to; i++) pending.push(i);
    for (let round = 0; round < WORKER_ROUNDS && pending.length > 0; round++) {
      // One MGET per call: its keys share a slot.
      const reads = batch(this.redis);
      const keysOf = pending.map((i) => [...new Set(calls[i]!.keys)]);
      for (const keys of keysOf) reads.mgetBuffer(...keys);
      const values = (await reads.exec()) ?? [];
      const writes = separately(this.redis) as unknown as Commands & Batch;
      const sent: number[] = [];
      pending.forEach((i, j) => {
        const [err, got] = values[j]!;
        if (err) throw err;
        const before = new Map<string, Buffer | null>();
        keysOf[j]!.forEach((key, k) => before.set(key, (got as (Buffer | null)[])[k] ?? null));
        const call = calls[i]!;
        const recorder = new CallRecorder(before);
        const result = applyCompactCall(recorder, call.keys, call.args);
        if (!result.applied) {
          out[i] = [0, result.rejects];
          return;
        }
        writes.lookoutApplyWrites(String(call.keys.length), ...call.keys, recorder.payload(call.keys), result.rejects);
        sent.push(i);
      });
      const next: number[] = [];
      ((await writes.exec()) ?? []).forEach(([err, res], j) => {
        if (err) throw err;
        const [code, rejects] = res as [number, string?];
        if (code === -1) {
          this.conflicts++;
          next.push(sent[j]!);
        }
        else out[sent[j]!] = [code, rejects ?? ''];
      });
      pending = next;
    }
    if (pending.length > 0) {
      const left = await this.runScripts(pending.map((i) => calls[i]!));
      pending.forEach((i, j) => (out[i] = left[j]!));
    }
  }

  queueReads(tx: Tx, daily: readonly DailyRead[], hourly: readonly HourlyRead[]): QueuedReads {
    // One GET per (entity, metric), shared by its daily and hourly reads.
    const slot = new Map<string, number>();
    const at = (entity: string, metric: string): number => {
      const key = this.ck.series(entity, metric);
      let k = slot.get(key);
      if (k === undefined) {
        slot.set(key, (k = slot.size));
        tx.getBuffer(key);
      }
      return k;
    };
    const dailyAt = daily.map((r) => r.entities.map((e) => at(e, r.metric)));
    const hourlyAt = hourly.map((r) => r.entities.map((e) => at(e, r.metric)));
    const catalogue = this.metrics();
    const avg = (metric: string) => catalogue.get(metric)?.aggregation === 'avg';
    return {
      length: slot.size,
      parse: (results, first, dailyOut, hourlyOut) => {
        const views = new Map<number, CompactSeriesView | null>();
        const view = (k: number): CompactSeriesView | null => {
          let v = views.get(k);
          if (v === undefined) {
            const buf = results[first + k] as Buffer | null;
            views.set(k, (v = buf && buf.length ? new CompactSeriesView(buf) : null));
          }
          return v;
        };
        daily.forEach((r, i) => {
          const series = seriesOf(dailyOut, r.entities, r.metric);
          const a = avg(r.metric);
          r.entities.forEach((_, j) => view(dailyAt[i]![j]!)?.daily(r.fromDay, r.toDay, a, series[j]!));
        });
        hourly.forEach((r, i) => {
          const series = seriesOf(hourlyOut, r.entities, r.metric);
          const a = avg(r.metric);
          r.entities.forEach((_, j) => {
            const v = view(hourlyAt[i]![j]!);
            // Rows past the hourly retention stay until the string is next rebuilt: not read.
            const from = v ? Math.max(r.fromHour, (v.lastDay - this.settings.hourlyRetentionDays - 2) * HOURS_PER_DAY) : r.fromHour;
            v?.hourly(from, r.toHour, a, (h, x) => setHourly(series[j]!, h, x));
          });
        });
      },
    };
  }

  readDailyCells(daily: readonly DailyRead[]): Promise<DailyCellsByEntity> {
    return new CompactDailyCells(this.redis, this.ck).readDailyCells(daily);
  }
}
