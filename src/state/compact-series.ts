// The compact layout (LOOKOUT_SERIES_LAYOUT=compact): one string per (entity, metric) holding its
// daily cells and hourly rows, and one id index per (entity, metric) holding only the id window.
// Every key carries the entity's shard tag; a job's samples are applied one script call per
// (chunk, shard), so a call touches one slot. Design: docs/scaling.md "Compact layout".

import { randomUUID } from 'node:crypto';
import { batch, isCluster, type Batch, type RedisClient } from './client.js';
import { ScriptCall, ScriptCalls } from './script-call.js';
import { mgetBuffers } from './flat-command.js';
import { toMilli } from '../domain/bucket.js';
import { MS_PER_DAY, type Calendar } from '../domain/clock.js';
import { HOURS_PER_DAY } from '../domain/series.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { Sample, SampleRejection } from '../domain/sample.js';
import { SAMPLE_ERRORS } from '../errors/catalogue.js';
import type { Keyspace } from './keys.js';
import { CompactKeys, CompactSeriesView } from './compact-format.js';
import { CompactDailyCells } from './daily-cells.js';
import { APPLY_COMPACT_LUA, FEED_ONCE_LUA, MARK_DIRTY_LUA, RELEASE_LEASE_LUA } from './compact-lua.js';
import { applyCompactCall, MARK_TTL } from './compact-apply.js';
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
import { idHash48, idKey48 } from './shard.js';

/**
 * Samples per job chunk. A chunk is cut from the job's samples in order (so a retry names the same
 * chunks) and then split by shard: one script call per (chunk, shard).
 */
const SAMPLES_PER_CHUNK = 3000;

/** The fenced write of a call computed in the worker; its payload goes to the socket uncopied (script-call.ts). */
const APPLY_WRITES = new ScriptCall(APPLY_WRITES_LUA);
/**
 * A window's reads sent with its leases (leaseWindow): each picked call's keys read in the same
 * pipeline, right after the leases, on the one connection to a standalone Redis (which runs them in
 * that order, so the values are read under the lease). A call whose lease was refused drops its read.
 */
interface ReadAlong<C> {
  keys(call: C): string[];
  read(call: C, keys: string[], values: (Buffer | null)[]): void;
}

/** The fenced write's ARGV[4]: give the shard's lease back once written (the window's last use of it). */
const RELEASE_AFTER = '1';

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

/**
 * Windows of a round (applyJobs) in flight at once: while one is computed, Redis reads or writes
 * the others. One at a time left Redis idle while the worker computed and the worker idle while
 * Redis wrote.
 */
const ROUND_LANES = 3;

/** Samples a round's calls are built for between two turns of the event loop. */
const YIELD_SAMPLES = 20_000;

/**
 * How long a shard's apply lease lasts unless released: a window is read, computed and written in
 * well under a second, and a worker killed mid-window holds its shards no longer than this (the
 * fence, not the lease, keeps what is written right).
 */
const SHARD_LEASE_MS = 10_000;

/** How long a round waits before asking again when every shard it has left is leased by another worker or round. */
const LEASE_RETRY_MS = 10;

const NONE: readonly string[] = [];

/** Entities per dirty-marking script call. */
const DIRTY_PAGE = 10_000;

/**
 * Samples a round takes at most per entity shard (CompactSeries.roundSamples): a round is one call
 * per shard, and a call's keys are read, fenced and written at once. With the default 64 shards
 * this allows ROUND_SAMPLES; with few shards it keeps each call near a window (WINDOW_KEYS).
 */
const ROUND_SAMPLES_PER_SHARD = 10_000;

interface Commands {
  // Long lists go as arrays (ioredis flattens them): spread, a call of 100,000 arguments overflows the stack.
  lookoutApplyCompact(numKeys: string, keys: readonly string[], args: readonly (string | number)[]): void;
  lookoutFeedOnce(...a: string[]): void;
  lookoutMarkDirty(key: string, leadMs: string, ids: readonly string[]): void;
  lookoutReleaseLease(key: string, token: string): void;
}

/** One shard's samples of a round as they are grouped (CompactSeries.roundCalls). */
interface ShardOfRound {
  /** Groups of metrics without siblings: metric → entity → the round's sample indexes. */
  readonly plain: Map<string, Map<string, number[]>>;
  /** Groups of metrics with siblings, one per (job, metric, entity), in the order they came. */
  readonly family: Map<string, number[]>;
  readonly markers: Map<number, { part: number; chunk: number; key: string }>;
  /** The (part, chunk) whose marker was noted last: a part's samples come chunk after chunk. */
  lastMarker: number;
  /** The plain metric met last in this shard and its groups (a run of one metric looks it up once). */
  lastMetric: string | undefined;
  lastByEntity: Map<string, number[]> | undefined;
}

/**
 * The keys a round call reads, each once. Only the keys of its groups of metrics with siblings may
 * be declared twice (a group per job, and the siblings' keys beside it): only those are made unique,
 * not the call's thousands of other keys.
 */
function readKeys(call: RoundCall): string[] {
  const { keys, family } = call.built!;
  if (family === undefined) return keys;
  const seen = new Set<string>();
  const out = keys.slice(0, family[0]);
  for (let k = family[0]; k < family[1]; k++) {
    const key = keys[k]!;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(key);
  }
  for (let k = family[1]; k < keys.length; k++) out.push(keys[k]!);
  return out;
}

/** A round call's keys and arguments (RoundCall.built), or their part after the first marker and the head (RoundDraft). */
interface Body {
  readonly keys: string[];
  readonly args: readonly (string | number)[];
  /** [from, to) of `keys`: the keys of the groups of metrics with siblings, which may repeat (readKeys); undefined when it has none. */
  readonly family?: readonly [number, number];
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
   * Where a job's samples are worked into the series (LOOKOUT_APPLY_IN): `worker` (lease the shard,
   * read the keys, compute the writes in the worker, write them fenced by the lease) or `redis` (the
   * apply script does it all inside Redis, taking the lease from any holder as it writes). Same
   * stored bytes either way.
   */
  readonly applyIn?: 'worker' | 'redis';
}

/** What one call did: 1 applied now, 0 applied before; and its rejects ('index:code,…'). */
type CallOutcome = readonly [number, string];

/** One job's samples in a round of jobs applied together (CompactSeries.applyJobs). */
export interface JobSamples {
  readonly jobId: string;
  readonly samples: readonly Sample[];
}

/** What one (job chunk, shard) marker recorded: applied now (1) or before (0), and the chunk's rejects there. */
interface ChunkOutcome {
  readonly chunk: number;
  readonly applied: number;
  /** 'index:code,…', the indexes into the job's samples. */
  readonly rejects: string;
}

/**
 * A call of a round: one shard's samples of every job in the round, each (entity, metric) once
 * with its samples in job order. `args` index the round's samples (0…) across its jobs. KEYS[1] is
 * the first (job, chunk) marker, the other markers follow the groups' keys: each is checked absent
 * and set in the same fenced write, so the call is one job's chunk or the round's, whole or not.
 */
interface RoundCall {
  readonly shard: number;
  /** Its (entity, metric) groups: the round's sample indexes of each, in job order. */
  readonly groups: readonly (readonly number[])[];
  readonly markers: readonly { readonly part: number; readonly chunk: number; readonly key: string }[];
  /** How many keys it declares (markers, series and id indexes), known before they are built. */
  readonly keyCount: number;
  /** How many of `groups` (the first ones) are of metrics without siblings: their keys are declared once each. */
  readonly plainGroups: number;
  /**
   * Its keys and arguments, built when its window runs and dropped once it is written. Built for
   * every call of a deep round at once, they were hundreds of thousands of strings the garbage
   * collector copied young and then promoted, though each window needs only its own.
   */
  built?: Body;
  /** Its keys (readKeys) and their values, read with its shard's lease (leaseWindow's read-along) and not yet used. */
  preread?: { readonly keys: string[]; readonly values: (Buffer | null)[] };
}

export class CompactSeries implements SeriesLayout {
  readonly ck: CompactKeys;
  /** Calls this process computed whose fenced write found a key changed since it was read (they went round again). */
  conflicts = 0;
  /** This process's token on the shard leases it holds. */
  private readonly token = randomUUID();
  /** Shards a round window of this process is computing now (its own rounds, live and backfill, take turns on a shard as other workers do). */
  private readonly applying = new Set<number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
    private readonly calendar: Calendar,
    private readonly metrics: () => MetricCatalogue,
    private readonly settings: CompactSettings,
  ) {
    this.ck = new CompactKeys(keys.seriesPrefix, settings.shards);
    redis.defineCommand('lookoutApplyCompact', { lua: APPLY_COMPACT_LUA });
    redis.defineCommand('lookoutFeedOnce', { numberOfKeys: 2, lua: FEED_ONCE_LUA });
    redis.defineCommand('lookoutMarkDirty', { numberOfKeys: 1, lua: MARK_DIRTY_LUA });
    redis.defineCommand('lookoutReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE_LUA });
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
    const head = this.head(now, opts.sealOldIds === true);
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
        this.pushGroups(shard, groups.values(), (i) => samples[i]!, keys, args);
        out.push({ chunk: c, shard, keys, args });
      }
    }
    return out;
  }

  /** The script's first arguments: the clock, the ring, the hourly retention, the id window's cutoff and hold. */
  private head(now: number, sealOldIds: boolean): (string | number)[] {
    const today = this.calendar.dayOf(now);
    const minHour = (today - this.settings.hourlyRetentionDays) * 24;
    const cutoff = (today - this.settings.idWindowDays) * 24;
    const holdDay = sealOldIds ? -1 : today;
    return [String(now), String(this.dailyRing), String(minHour), String(cutoff), String(this.settings.retentionDays), String(holdDay)];
  }

  /** Each (entity, metric) group's keys and arguments, its samples by their index (reported with a reject). */
  private pushGroups(shard: number, groups: Iterable<readonly number[]>, sample: (i: number) => Sample, keys: string[], args: (string | number)[], idOf: (id: string) => string = idHash48, plain = false): void {
    for (const idx of groups) {
      const first = sample(idx[0]!);
      keys.push(this.ck.series(first.entity, first.metric, shard), this.ck.ids(first.entity, first.metric, shard));
      // The series and id index of the metric's siblings: an id new to its own index is looked
      // for in theirs, and moved here when found (none for a plain group: its metric has no siblings).
      const siblings = plain ? NONE : this.siblingsRead(idx, sample);
      for (const m of siblings) keys.push(this.ck.series(first.entity, m, shard), this.ck.ids(first.entity, m, shard));
      args.push(idx.length, siblings.length);
      for (const i of idx) {
        const s = sample(i);
        args.push(i, this.calendar.hourOf(s.ts), toMilli(s.value), s.id === undefined ? '' : idOf(s.id));
      }
    }
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
    const calls = this.calls(jobId, samples, now);
    const results = this.settings.applyIn === 'redis' ? await this.runScripts(calls) : await this.runInWorker(calls);
    const outcomes = results.map(([applied, rejects], k) => ({ chunk: calls[k]!.chunk, applied, rejects }));
    return (await this.finish([{ jobId, samples }], [outcomes], dirty))[0]!;
  }

  /** Whether applyJobs joins jobs (the apply computed in the worker); with the script it applies them one by one. */
  get joinsJobs(): boolean {
    return this.settings.applyIn !== 'redis';
  }

  /** Samples a round of applyJobs should hold at most: ROUND_SAMPLES_PER_SHARD per entity shard. */
  get roundSamples(): number {
    return this.settings.shards * ROUND_SAMPLES_PER_SHARD;
  }

  /**
   * Apply several jobs at once (a worker's group commit: the jobs it holds, apply-rounds.ts): one
   * call per shard for all of them, so each (entity, metric) is read, fenced and written once for
   * all its samples in the round, however many jobs and days they came in. Each job's chunks keep
   * their markers (set in the same fenced write), so a job retried alone, or in a later round, skips
   * what a round applied. A call that finds a marker already set, or keeps losing its race, is
   * applied job by job instead (the path `apply` takes). Job ids must differ.
   */
  async applyJobs(parts: readonly JobSamples[], now: number, dirty: DirtyMarks, draft?: RoundDraft): Promise<LayoutApplyResult[]> {
    if (!this.joinsJobs || parts.length === 1) {
      const out: LayoutApplyResult[] = [];
      for (const p of parts) out.push(await this.apply(p.jobId, p.samples, now, dirty));
      return out;
    }
    const outcomes: ChunkOutcome[][] = parts.map(() => []);
    await this.runRound(parts, now, outcomes, draft);
    return this.finish(parts, outcomes, dirty);
  }

  /**
   * Each job's result from what its (chunk, shard) markers recorded; its feed counters added once per
   * (chunk, metric) with their own marker, in the counter's slot, from what the shard calls applied
   * (the same on a retry: a skipped call answers the rejects it recorded). Then the dirty marks: ZADD
   * NX, harmless when repeated.
   */
  private async finish(parts: readonly JobSamples[], outcomes: readonly (readonly ChunkOutcome[])[], dirty: DirtyMarks): Promise<LayoutApplyResult[]> {
    const after = batch(this.redis) as unknown as Commands & Batch;
    const out = parts.map(({ jobId, samples }, p) => {
      const chunkCount = Math.ceil(samples.length / SAMPLES_PER_CHUNK);
      const appliedChunks = new Set<number>();
      const refused = new Set<number>();
      const rejected: SampleRejection[] = [];
      for (const { chunk, applied, rejects } of outcomes[p]!) {
        if (applied === 1) appliedChunks.add(chunk);
        for (const item of rejects ? rejects.split(',') : []) {
          const colon = item.indexOf(':');
          const index = Number(item.slice(0, colon));
          const code = item.slice(colon + 1) as keyof typeof SAMPLE_ERRORS;
          refused.add(index);
          const s = samples[index]!;
          if (applied === 1) rejected.push({ index, code, message: `${SAMPLE_ERRORS[code]?.message ?? code} (entity ${s.entity}, metric ${s.metric})` });
        }
      }
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
      return { chunks: appliedChunks.size, skippedChunks: chunkCount - appliedChunks.size, rejected };
    });
    // In pages: a deep round marks every entity of a backfill (one script call per page keeps each short).
    for (const [ids, lead] of [[[...dirty.backfill], String(dirty.backfillLeadMs ?? 0)], [[...dirty.live], String(dirty.leadMs)]] as const) {
      for (let i = 0; i < ids.length; i += DIRTY_PAGE) after.lookoutMarkDirty(this.keys.dirty, lead, ids.slice(i, i + DIRTY_PAGE));
    }
    for (const [err] of (await after.exec()) ?? []) if (err) throw err;
    return out;
  }

  /**
   * A round's calls drafted as its jobs come (RoundDraft): the backfill lane's gather adds each job
   * as it is fetched and has the draft work while it waits for the producer's quiet gap, when the
   * worker has nothing else to do. A round of exactly the draft's jobs starts from it.
   */
  draft(): RoundDraft {
    return new RoundDraft(this);
  }

  /** A round's calls: one per shard, over the samples of all its jobs (RoundCall), and how to build a call's keys and arguments. */
  private async roundCalls(parts: readonly JobSamples[], now: number, drafted?: RoundDraft): Promise<{ calls: RoundCall[]; partOf: Int32Array; offsets: number[]; build: (call: RoundCall) => void }> {
    const draft = drafted?.of(this) && drafted.isOf(parts) ? drafted : new RoundDraft(this);
    if (draft !== drafted) for (const p of parts) draft.add(p);
    // A deep round holds hundreds of thousands of samples: the live lane, lock renewals and the
    // drainer get the event loop every YIELD_SAMPLES samples of it.
    while (!draft.group(YIELD_SAMPLES)) await new Promise<void>((resolve) => setImmediate(resolve));
    return draft.calls(this.head(now, false));
  }

  /** @internal (RoundDraft) */
  groupsOfShard(shard: number, sh: ShardOfRound, sample: (i: number) => Sample): { groups: (readonly number[])[]; keyCount: number; plainGroups: number } {
    const groups: (readonly number[])[] = [];
    for (const byEntity of sh.plain.values()) for (const idx of byEntity.values()) groups.push(idx);
    const plainGroups = groups.length;
    for (const idx of sh.family.values()) groups.push(idx);
    // A plain group reads its own two keys (its metric has no siblings); a family group its siblings' too.
    let keyCount = sh.markers.size + 2 * plainGroups;
    for (let g = plainGroups; g < groups.length; g++) keyCount += 2 * (1 + this.siblingsRead(groups[g]!, sample).length);
    return { groups, keyCount, plainGroups };
  }

  /** @internal (RoundDraft) A round call's keys and arguments after its first marker and its head: each group's. */
  body(shard: number, groups: readonly (readonly number[])[], plainGroups: number, sample: (i: number) => Sample): Body {
    // Places kept for the first marker and the head, filled when the call is built (RoundDraft.calls).
    const keys: string[] = [''];
    const args: (string | number)[] = ['', '', '', '', '', ''];
    // Computed here only (never sent to the script): the id hashes in the index's own 6 bytes.
    if (plainGroups === groups.length) {
      this.pushGroups(shard, groups, sample, keys, args, idKey48, true);
      return { keys, args };
    }
    this.pushGroups(shard, groups.slice(0, plainGroups), sample, keys, args, idKey48, true);
    const from = keys.length;
    this.pushGroups(shard, groups.slice(plainGroups), sample, keys, args, idKey48);
    return { keys, args, family: [from, keys.length] };
  }

  /** The metrics whose series and id index a group reads beside its own: its siblings, when one of its samples has an id. */
  private siblingsRead(idx: readonly number[], sample: (i: number) => Sample): readonly string[] {
    return idx.some((i) => sample(i).id !== undefined) ? this.siblingsOf(sample(idx[0]!).metric) : [];
  }

  /**
   * A round's calls computed here, a window at a time, as runWindow does; a call that finds one of
   * its markers set, lost its shard's lease, or is still losing its race after WORKER_ROUNDS, goes
   * job by job (runInWorker).
   * Each window first leases its shards (leaseWindow): two workers' rounds over the same series
   * (a backfill's days are split between the workers) take turns on a shard instead of both
   * reading it and one computing it again after losing the fence.
   */
  private async runRound(parts: readonly JobSamples[], now: number, outcomes: ChunkOutcome[][], draft?: RoundDraft): Promise<void> {
    const { calls, partOf, offsets, build } = await this.roundCalls(parts, now, draft);
    calls.sort((a, b) => a.shard - b.shard);
    // From a shard picked at random: two workers' rounds start apart.
    const start = Math.floor(Math.random() * calls.length);
    const queue = [...calls.slice(start), ...calls.slice(0, start)];
    // A few windows in flight at once (their shards differ): one is computed here while Redis
    // answers another's reads or writes, as separate jobs overlapped when each was applied alone.
    const alone: RoundCall[] = [];
    const byKeyCount = (c: RoundCall): number => c.keyCount;
    // On a standalone Redis a window's reads go with its leases: a round trip less a window. (On a
    // cluster a redirected command could overtake its lease: there the reads wait for the leases.)
    const along: ReadAlong<RoundCall> | undefined = isCluster(this.redis)
      ? undefined
      : {
          keys: (c) => {
            build(c);
            return readKeys(c);
          },
          read: (c, keys, values) => (c.preread = { keys, values }),
        };
    const lane = async (): Promise<void> => {
      for (let window = await this.leaseWindow(queue, byKeyCount, along); window; window = await this.leaseWindow(queue, byKeyCount, along)) {
        let pending: readonly RoundCall[] = window;
        /** Shards whose lease a written call gave back in its fenced write. */
        const released = new Set<number>();
        try {
          for (let round = 0; round < WORKER_ROUNDS && pending.length > 0; round++) pending = await this.roundWindow(pending, build, partOf, offsets, outcomes, alone, released);
        } finally {
          await this.releaseShards(window.map((c) => c.shard), released);
        }
        for (const c of pending) c.built = undefined;
        alone.push(...pending);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ROUND_LANES, calls.length) }, lane));
    if (alone.length === 0) return;
    // Job by job, in job order: the calls each job alone would make on those shards, one job after
    // the other (two jobs' calls in one window would race each other on the series they share).
    const shards = new Set(alone.map((c) => c.shard));
    for (const [p, { jobId, samples }] of parts.entries()) {
      const single = this.calls(jobId, samples, now).filter((c) => shards.has(c.shard));
      const results = await this.runInWorker(single);
      results.forEach(([applied, rejects], k) => outcomes[p]!.push({ chunk: single[k]!.chunk, applied, rejects }));
    }
  }

  /**
   * The next window of `queue` (taken out of it): calls in queue order, up to WINDOW_KEYS keys (a
   * larger call alone), one per shard, whose shards no window of this process is computing and
   * whose leases it got (SET NX PX, SHARD_LEASE_MS). A call whose shard another worker holds keeps
   * its place, and its shard is asked for again after LEASE_RETRY_MS; so does every later call of
   * that shard (the calls of one shard go in queue order: a job's chunks in order). Undefined once
   * the queue is empty. A lease only saves work: the fenced write is what keeps two workers' writes
   * apart, so a lapsed lease (a worker killed mid-window) costs at most a call computed twice.
   */
  private async leaseWindow<C extends { readonly shard: number }>(queue: C[], keyCount: (call: C) => number, along?: ReadAlong<C>): Promise<C[] | undefined> {
    const refusedAt = new Map<number, number>();
    for (;;) {
      if (queue.length === 0) return undefined;
      const picked: C[] = [];
      const seen = new Set<number>();
      const now = performance.now();
      let keys = 0;
      for (const c of queue) {
        if (seen.has(c.shard)) continue;
        seen.add(c.shard);
        if (this.applying.has(c.shard) || now - (refusedAt.get(c.shard) ?? -Infinity) < LEASE_RETRY_MS) continue;
        if (picked.length > 0 && keys + keyCount(c) > WINDOW_KEYS) break;
        picked.push(c);
        keys += keyCount(c);
      }
      if (picked.length > 0) {
        for (const c of picked) this.applying.add(c.shard);
        // Read along only the calls whose shard was not refused in this search (a shard another
        // holds would make its read wasted again at every retry).
        const reading = along ? picked.flatMap((c, i) => (refusedAt.has(c.shard) ? [] : [{ i, keys: along.keys(c) }])) : [];
        let got: boolean[];
        try {
          const answer = await this.lease(
            picked.map((c) => c.shard),
            reading.map((r) => r.keys),
          );
          got = answer.got;
          reading.forEach(({ i, keys }, k) => {
            if (got[i]) along!.read(picked[i]!, keys, answer.values[k]!);
          });
        } catch (err) {
          for (const c of picked) this.applying.delete(c.shard);
          throw err;
        }
        const window = picked.filter((_, i) => got[i]);
        picked.forEach((c, i) => {
          if (got[i]) return;
          this.applying.delete(c.shard);
          refusedAt.set(c.shard, performance.now());
        });
        if (window.length > 0) {
          const taken = new Set<C>(window);
          const rest = queue.filter((c) => !taken.has(c));
          queue.length = 0;
          queue.push(...rest);
          return window;
        }
      }
      await new Promise<void>((resolve) => setTimeout(resolve, LEASE_RETRY_MS));
    }
  }

  /**
   * Try to lease `shards` (SET NX PX): whether each was had; and, sent after them in the same
   * pipeline (a standalone Redis only: ReadAlong), the values of `reads`' keys.
   */
  private async lease(shards: readonly number[], reads: readonly (readonly string[])[] = []): Promise<{ got: boolean[]; values: (Buffer | null)[][] }> {
    const leases = batch(this.redis);
    for (const s of shards) leases.set(this.ck.applying(s), this.token, 'PX', SHARD_LEASE_MS, 'NX');
    for (const keys of reads) mgetBuffers(leases, keys);
    const res = (await leases.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    return {
      got: res.slice(0, shards.length).map(([, r]) => r === 'OK'),
      values: res.slice(shards.length).map(([, v]) => v as (Buffer | null)[]),
    };
  }

  /**
   * Release the leases of `shards` (only this process's: one that lapsed and was taken is left) and
   * let this process's other rounds have them. Those in `released` were given back already, by the
   * fenced write of their call (a round trip less a window).
   */
  private async releaseShards(shards: readonly number[], released: ReadonlySet<number> = new Set()): Promise<void> {
    const left = shards.filter((s) => !released.has(s));
    try {
      if (left.length > 0) {
        const release = batch(this.redis) as unknown as Commands & Batch;
        for (const s of left) release.lookoutReleaseLease(this.ck.applying(s), this.token);
        await release.exec();
      }
    } finally {
      for (const s of shards) this.applying.delete(s);
    }
  }

  /** One read, compute and fenced write of round calls; returns those to go round again. Those finding a marker set go to `alone`. */
  private async roundWindow(pending: readonly RoundCall[], build: (call: RoundCall) => void, partOf: Int32Array, offsets: readonly number[], outcomes: ChunkOutcome[][], alone: RoundCall[], released: Set<number>): Promise<RoundCall[]> {
    const reads = batch(this.redis);
    for (const c of pending) build(c);
    // Read now unless read along with the lease (the window's first round).
    const keysOf = pending.map((c) => c.preread?.keys ?? readKeys(c));
    let toRead = 0;
    pending.forEach((c, j) => {
      if (c.preread) return;
      toRead++;
      mgetBuffers(reads, keysOf[j]!);
    });
    const fresh = toRead > 0 ? ((await reads.exec()) ?? []) : [];
    let f = 0;
    const values = pending.map((c): [Error | null, unknown] => {
      const pre = c.preread;
      c.preread = undefined;
      return pre ? [null, pre.values] : fresh[f++]!;
    });
    const writes = new ScriptCalls(this.redis, APPLY_WRITES);
    const sent: { call: RoundCall; rejects: Map<string, string[]> }[] = [];
    pending.forEach((call, j) => {
      const [err, got] = values[j]!;
      if (err) throw err;
      const before = new Map<string, Buffer | null>();
      keysOf[j]!.forEach((key, k) => before.set(key, (got as (Buffer | null)[])[k] ?? null));
      if (call.markers.some((m) => before.get(m.key) !== null)) {
        call.built = undefined;
        alone.push(call);
        return;
      }
      const { keys, args } = call.built!;
      const recorder = new CallRecorder(before);
      const result = applyCompactCall(recorder, keys, args);
      // The round's rejects, by the marker of their job's chunk, with the job's own indexes.
      const rejects = new Map<string, string[]>();
      for (const item of result.rejects ? result.rejects.split(',') : []) {
        const colon = item.indexOf(':');
        const g = Number(item.slice(0, colon));
        const p = partOf[g]!;
        const local = g - offsets[p]!;
        const marker = call.markers.find((m) => m.part === p && m.chunk === Math.floor(local / SAMPLES_PER_CHUNK))!;
        const list = rejects.get(marker.key) ?? rejects.set(marker.key, []).get(marker.key)!;
        list.push(`${local}${item.slice(colon)}`);
      }
      for (const m of call.markers.slice(1)) {
        recorder.get(m.key); // absent, and kept so by the lease until written
        recorder.set(m.key, Buffer.from((rejects.get(m.key) ?? []).join(',')), MARK_TTL);
      }
      writes.run([...keys, this.ck.applying(call.shard)], [recorder.payload(keys), (rejects.get(call.markers[0]!.key) ?? []).join(','), this.token, RELEASE_AFTER]);
      sent.push({ call, rejects });
    });
    const next: RoundCall[] = [];
    ((await writes.exec()) ?? []).forEach(([err, res], j) => {
      if (err) throw err;
      const [code] = res as [number, string?];
      const { call, rejects } = sent[j]!;
      if (code === 1) {
        released.add(call.shard);
        call.built = undefined;
        for (const m of call.markers) outcomes[m.part]!.push({ chunk: m.chunk, applied: 1, rejects: (rejects.get(m.key) ?? []).join(',') });
      } else if (code === -2) {
        // The lease was lost (lapsed, or the script inside Redis took it): reading again under it
        // would fail again, so the call goes alone, which leases its shard afresh.
        this.conflicts++;
        call.built = undefined;
        alone.push(call);
      } else {
        // -1: a key read has gone since; 0: its first marker was set meanwhile (read again: it goes alone).
        if (code === -1) this.conflicts++;
        next.push(call);
      }
    });
    return next;
  }

  /**
   * The calls run by the apply script, inside Redis. Each goes in a MULTI that first deletes its
   * shard's lease: a worker holding it (this one, when a call lost its fenced write WORKER_ROUNDS
   * times) has read the shard before this write, so its fenced write must fail and read again.
   * (Single-slot: the lease carries the shard's hash tag, as the call's keys do.)
   */
  private async runScripts(calls: readonly ShardCall[]): Promise<CallOutcome[]> {
    const answers = await Promise.all(
      calls.map((call) => {
        const tx = this.redis.multi().del(this.ck.applying(call.shard)) as unknown as Commands & Batch;
        tx.lookoutApplyCompact(String(call.keys.length), call.keys, call.args);
        return tx.exec();
      }),
    );
    return answers.map((replies) => {
      if (!replies) throw new Error('compact apply: transaction discarded');
      const [[delErr], [err, res]] = replies as [[Error | null, unknown], [Error | null, unknown]];
      if (delErr ?? err) throw delErr ?? err;
      return res as CallOutcome;
    });
  }

  /**
   * The calls computed here, a window at a time (WINDOW_KEYS): every key of the window's calls read
   * in one pipeline (an MGET per call), each call's writes computed (applyCompactCall), then written
   * as fenced scripts that write nothing if the shard's lease was lost or a key read has gone
   * since. Those of a gone key go round again; after WORKER_ROUNDS, and at once for those whose
   * lease was lost, the apply script (which takes the lease) applies what is left.
   */
  private async runInWorker(calls: readonly ShardCall[]): Promise<CallOutcome[]> {
    const out: CallOutcome[] = new Array<CallOutcome>(calls.length);
    // Windows as leaseWindow gives them (one call per shard, its lease held), one at a time.
    const queue = calls.map((call, i) => ({ shard: call.shard, i }));
    const keyCount = (c: { readonly i: number }): number => calls[c.i]!.keys.length;
    for (let window = await this.leaseWindow(queue, keyCount); window; window = await this.leaseWindow(queue, keyCount)) {
      const released = new Set<number>();
      try {
        await this.runWindow(calls, window.map((c) => c.i), out, released);
      } finally {
        await this.releaseShards(window.map((c) => c.shard), released);
      }
    }
    return out;
  }

  /** The calls `indexes` computed here (runInWorker), their outcomes into `out`; the shards whose lease a written call gave back into `released`. */
  private async runWindow(calls: readonly ShardCall[], indexes: readonly number[], out: CallOutcome[], released: Set<number>): Promise<void> {
    let pending: readonly number[] = indexes;
    /** Calls whose fenced write found the lease lost: the script below, which takes it, applies them. */
    const lost: number[] = [];
    for (let round = 0; round < WORKER_ROUNDS && pending.length > 0; round++) {
      // One MGET per call: its keys share a slot.
      const reads = batch(this.redis);
      const keysOf = pending.map((i) => [...new Set(calls[i]!.keys)]);
      for (const keys of keysOf) mgetBuffers(reads, keys);
      const values = (await reads.exec()) ?? [];
      const writes = new ScriptCalls(this.redis, APPLY_WRITES);
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
        writes.run([...call.keys, this.ck.applying(call.shard)], [recorder.payload(call.keys), result.rejects, this.token, RELEASE_AFTER]);
        sent.push(i);
      });
      const next: number[] = [];
      ((await writes.exec()) ?? []).forEach(([err, res], j) => {
        if (err) throw err;
        const [code, rejects] = res as [number, string?];
        if (code === -1 || code === -2) {
          this.conflicts++;
          (code === -1 ? next : lost).push(sent[j]!);
        } else {
          if (code === 1) released.add(calls[sent[j]!]!.shard);
          out[sent[j]!] = [code, rejects ?? ''];
        }
      });
      pending = next;
    }
    pending = [...pending, ...lost];
    if (pending.length > 0) {
      const left = await this.runScripts(pending.map((i) => calls[i]!));
      pending.forEach((i, j) => (out[i] = left[j]!));
    }
  }

  queueReads(tx: Tx, daily: readonly DailyRead[], hourly: readonly HourlyRead[]): QueuedReads {
    // Each (entity, metric) read once, shared by its daily and hourly reads: one MGET per shard (its
    // keys share a slot), not a GET per key (a judgement of 500 entities queued ~1,000 commands).
    const slot = new Map<string, number>();
    const byShard = new Map<number, string[]>();
    /** Key number → [its shard's MGET (in queue order), its place in it]. */
    const where: [mget: number, at: number][] = [];
    const mgets = new Map<number, number>();
    const at = (entity: string, metric: string): number => {
      const shard = this.ck.shard(entity);
      const key = this.ck.series(entity, metric, shard);
      let k = slot.get(key);
      if (k === undefined) {
        slot.set(key, (k = slot.size));
        let keys = byShard.get(shard);
        if (!keys) byShard.set(shard, (keys = []));
        let m = mgets.get(shard);
        if (m === undefined) mgets.set(shard, (m = mgets.size));
        where.push([m, keys.length]);
        keys.push(key);
      }
      return k;
    };
    const dailyAt = daily.map((r) => r.entities.map((e) => at(e, r.metric)));
    const hourlyAt = hourly.map((r) => r.entities.map((e) => at(e, r.metric)));
    const catalogue = this.metrics();
    const avg = (metric: string) => catalogue.get(metric)?.aggregation === 'avg';
    for (const keys of byShard.values()) mgetBuffers(tx, keys);
    return {
      length: byShard.size,
      parse: (results, first, dailyOut, hourlyOut) => {
        const views = new Map<number, CompactSeriesView | null>();
        const view = (k: number): CompactSeriesView | null => {
          let v = views.get(k);
          if (v === undefined) {
            const [m, i] = where[k]!;
            const buf = (results[first + m] as (Buffer | null)[])[i] ?? null;
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

/** A shard's call drafted: its groups, key count and, once built, its body. */
interface DraftedShard {
  readonly groups: (readonly number[])[];
  readonly keyCount: number;
  readonly plainGroups: number;
  readonly body: Body;
}

/** Samples a draft's work groups between two looks at the clock. */
const DRAFT_GROUP_SAMPLES = 2_000;

/**
 * A round's calls drafted as its jobs come (CompactSeries.draft): each job's samples grouped by
 * shard and (entity, metric) as a round groups them, and then each shard's keys and arguments
 * built. The backfill lane's gather (src/ingest/apply-rounds.ts) adds each job as it comes and has
 * the draft work while it waits for the producer's quiet gap: done then, that work is done while
 * the worker waits, not in the round, where both worker processes and Redis share the cores. A
 * round of exactly the draft's jobs, in the draft's order, starts from it (CompactSeries.roundCalls);
 * any other round groups its jobs itself. A job added after a shard was built makes it built again.
 */
export class RoundDraft {
  private readonly parts: JobSamples[] = [];
  private readonly all: Sample[] = [];
  private readonly offsets: number[] = [];
  private partOf = new Int32Array(0);
  /** Each shard's samples grouped, by shard number (found by index, not hashed, once per sample). */
  private readonly byShard: (ShardOfRound | undefined)[] = [];
  /** The job being grouped (its index) and its next sample. */
  private part = 0;
  private next = 0;
  /** The metric of the last sample grouped, and whether it has siblings (a run of one metric looks once). */
  private metric: string | undefined;
  private family = false;
  /** Shards whose samples changed since they were built, or were never built. */
  private readonly stale = new Set<number>();
  /** Shards built and not changed since (never one in `stale`). */
  private readonly built = new Map<number, DraftedShard>();
  private readonly sample = (i: number): Sample => this.all[i]!;

  constructor(private readonly cs: CompactSeries) {}

  /** Whether this is a draft of exactly these jobs, in this order. */
  isOf(parts: readonly JobSamples[]): boolean {
    return parts.length === this.parts.length && parts.every((p, i) => p === this.parts[i]);
  }

  /** Whether this is a draft of `series`. */
  of(series: CompactSeries): boolean {
    return series === this.cs;
  }

  add(part: JobSamples): void {
    this.parts.push(part);
  }

  /** The jobs added, in order. */
  get jobs(): readonly JobSamples[] {
    return this.parts;
  }

  /** Whether every job added is grouped. */
  get grouped(): boolean {
    return this.part >= this.parts.length;
  }

  /** Whether a shard is left to build (every job added grouped first). */
  get unbuilt(): boolean {
    return this.stale.size > 0;
  }

  /** Group up to `budget` samples; true once every job added is grouped. */
  group(budget: number): boolean {
    while (this.part < this.parts.length && budget > 0) {
      const p = this.part;
      const { jobId, samples } = this.parts[p]!;
      if (this.next === 0) {
        const base = this.all.length;
        this.offsets.push(base);
        for (const s of samples) this.all.push(s);
        if (this.partOf.length < this.all.length) {
          const grown = new Int32Array(Math.max(this.all.length, 2 * this.partOf.length));
          grown.set(this.partOf);
          this.partOf = grown;
        }
        this.partOf.fill(p, base, this.all.length);
        this.metric = undefined;
      }
      const base = this.offsets[p]!;
      const end = Math.min(samples.length, this.next + budget);
      for (let i = this.next; i < end; i++) {
        const s = samples[i]!;
        const shard = this.cs.ck.shard(s.entity);
        let sh = this.byShard[shard];
        if (!sh) this.byShard[shard] = sh = { plain: new Map(), family: new Map(), markers: new Map(), lastMarker: -1, lastMetric: undefined, lastByEntity: undefined };
        const chunk = Math.floor(i / SAMPLES_PER_CHUNK);
        const mk = base + chunk; // unique per (part, chunk): a part's chunks number fewer than its samples
        if (sh.lastMarker !== mk) {
          // A shard's first sample of a chunk: what was built of it is built again.
          if (!sh.markers.has(mk)) sh.markers.set(mk, { part: p, chunk, key: this.cs.ck.chunk(shard, jobId, chunk) });
          sh.lastMarker = mk;
          if (!this.stale.has(shard)) {
            this.stale.add(shard);
            this.built.delete(shard);
          }
        }
        if (s.metric !== this.metric) {
          this.metric = s.metric;
          this.family = this.cs.siblingsOf(s.metric).length > 0;
        }
        let g: number[] | undefined;
        if (this.family) {
          // A metric with siblings keeps a group per job: an id moved between siblings moves in job
          // order (each group's moves are applied right after it), as the jobs one by one would.
          const em = `${p}\u0001${s.metric}\u0000${s.entity}`;
          g = sh.family.get(em);
          if (!g) sh.family.set(em, (g = []));
        } else {
          // The others by metric, then entity (no key string made per sample): their groups touch
          // keys of their own, so their order does not matter.
          let byEntity = sh.lastMetric === s.metric ? sh.lastByEntity : sh.plain.get(s.metric);
          if (!byEntity) sh.plain.set(s.metric, (byEntity = new Map()));
          sh.lastMetric = s.metric;
          sh.lastByEntity = byEntity;
          g = byEntity.get(s.entity);
          if (!g) byEntity.set(s.entity, (g = []));
        }
        g.push(base + i);
      }
      budget -= end - this.next;
      this.next = end;
      if (end < samples.length) return false;
      this.part++;
      this.next = 0;
    }
    return this.part >= this.parts.length;
  }

  /** Build one shard left to build, every job added being grouped; false when none is left. */
  buildOne(): boolean {
    if (!this.grouped) return false;
    for (const shard of this.stale) {
      this.stale.delete(shard);
      const sh = this.byShard[shard]!;
      const { groups, keyCount, plainGroups } = this.cs.groupsOfShard(shard, sh, this.sample);
      this.built.set(shard, { groups, keyCount, plainGroups, body: this.cs.body(shard, groups, plainGroups, this.sample) });
      return true;
    }
    return false;
  }

  /** Work until `deadline` (performance.now()): group what came, then build the shards. */
  work(deadline: number): void {
    do {
      if (!this.group(DRAFT_GROUP_SAMPLES)) continue;
      if (!this.buildOne()) return;
    } while (performance.now() < deadline);
  }

  /** The round's calls (every job added grouped), with `head` their arguments' first; how to build each call's keys and arguments. */
  calls(head: readonly (string | number)[]): { calls: RoundCall[]; partOf: Int32Array; offsets: number[]; build: (call: RoundCall) => void } {
    if (!this.grouped) throw new Error('RoundDraft.calls: jobs not grouped yet');
    const calls: RoundCall[] = [];
    // (forEach passes over the shards no sample fell in.)
    this.byShard.forEach((sh, shard) => {
      const { groups, keyCount, plainGroups } = this.built.get(shard) ?? this.cs.groupsOfShard(shard, sh!, this.sample);
      calls.push({ shard, groups, markers: [...sh!.markers.values()], keyCount, plainGroups });
    });
    const build = (call: RoundCall): void => {
      if (call.built) return;
      // A body built beforehand is used once (and then let go, as a built call is once written).
      const ready = this.built.get(call.shard)?.body;
      this.built.delete(call.shard);
      const { keys, args, family } = ready ?? this.cs.body(call.shard, call.groups, call.plainGroups, this.sample);
      keys[0] = call.markers[0]!.key;
      for (let j = 1; j < call.markers.length; j++) keys.push(call.markers[j]!.key);
      const fill = args as (string | number)[];
      for (let k = 0; k < head.length; k++) fill[k] = head[k]!;
      call.built = family ? { keys, args, family } : { keys, args };
    };
    return { calls, partOf: this.partOf, offsets: this.offsets, build };
  }
}
