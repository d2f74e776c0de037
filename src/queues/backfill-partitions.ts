// The backfill queue partitioned by entity shard, each partition served by one worker process at a
// time. With one backfill queue every worker process took every other job, so each held some days
// of every series and wrote each series once per process per backfill (at 100k entities, two
// processes ran slower than one). Now the doors queue a backfill job on the partition of its
// entities (`samples-backfill-p<k>`, k = entity shard mod LOOKOUT_BACKFILL_PARTITIONS), and the
// worker processes share the partitions out between them: a process's rounds hold all the waiting
// days of its partitions' series, and no other process's rounds meet them.
//
// Who serves which partition is a matter of speed only, never of correctness: chunk markers, shard
// leases and the fenced write keep every sample applied once, whoever applies it. So the sharing is
// simple and soft: every process beats a heartbeat into one sorted set, each reads the same live
// members, and partition k belongs to the (k mod N)-th member in id order, which takes it with a
// lease (SET NX PX) once the previous holder has let it go. A process that dies stops beating: its
// heartbeat and its leases lapse (LEASE_MS), the others take its partitions, and their stall checks
// queue its held jobs again. The unpartitioned `samples-backfill` queue (other producers add to it;
// earlier releases queued there) is served by every worker process, as before.

import { randomUUID } from 'node:crypto';
import { Queue, type JobType, type QueueOptions } from 'bullmq';
import { sumCounts, type Counts } from './counts.js';
import { QUEUES } from './names.js';
import { shardOf } from '../state/shard.js';
import type { RedisClient } from '../state/client.js';

/** How often a worker process beats its heartbeat, renews its leases and looks at the members. */
export const OWNERSHIP_TICK_MS = 1_000;

/** A heartbeat or a partition lease not renewed for this long lapses (a process killed, or stuck). */
export const LEASE_MS = 10_000;

/** The queue of backfill partition `k`. */
export function partitionQueueName(k: number): string {
  return `${QUEUES.backfill}-p${k}`;
}

/** The backfill partition of an entity: its shard (LOOKOUT_SHARDS) modulo the partitions. */
export function partitionOf(entity: string, shards: number, partitions: number): number {
  return shardOf(entity, shards) % partitions;
}

type Counted = Pick<Queue, 'getJobCounts' | 'getJobs' | 'close' | 'name'>;

/**
 * The backfill's queues, counted, listed and closed as one: the partitions' and the unpartitioned
 * `samples-backfill`. With no partitions (LOOKOUT_BACKFILL_PARTITIONS=0) every backfill job goes to
 * the unpartitioned queue, as before partitions.
 */
export class BackfillQueues<Q extends Counted = Queue> {
  readonly name = QUEUES.backfill;

  constructor(
    /** `samples-backfill`: served by every worker process. */
    readonly unpartitioned: Q,
    /** `samples-backfill-p<k>`, by k. */
    readonly partitions: readonly Q[],
    private readonly shards: number,
  ) {}

  get all(): readonly Q[] {
    return [this.unpartitioned, ...this.partitions];
  }

  /** The queue a backfill job of this entity's samples goes to. */
  queueOf(entity: string): Q {
    const n = this.partitions.length;
    return n === 0 ? this.unpartitioned : this.partitions[partitionOf(entity, this.shards, n)]!;
  }

  /** Jobs in these states, summed over every backfill queue. */
  getJobCounts(...types: JobType[]): Promise<Counts> {
    return sumCounts(this.all, types);
  }

  /** The jobs of these types of every queue; `start`/`end` bound each queue's (as Queue.getJobs). */
  async getJobs(types: JobType[], start?: number, end?: number): Promise<Awaited<ReturnType<Q['getJobs']>>> {
    const all = await Promise.all(this.all.map((q) => q.getJobs(types, start, end)));
    return all.flat() as Awaited<ReturnType<Q['getJobs']>>;
  }

  async getActiveCount(): Promise<number> {
    return (await this.getJobCounts('active')).active ?? 0;
  }

  async getCompletedCount(): Promise<number> {
    return (await this.getJobCounts('completed')).completed ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((q) => q.close()));
  }

  on(event: 'error', listener: (err: Error) => void): this {
    for (const q of this.all) (q as unknown as Queue).on(event, listener);
    return this;
  }
}

/** The backfill queues of a deployment with `partitions` partitions (LOOKOUT_BACKFILL_PARTITIONS) over `shards` (LOOKOUT_SHARDS). */
export function openBackfillQueues<T>(opts: QueueOptions, partitions: number, shards: number): BackfillQueues<Queue<T>> {
  return new BackfillQueues(
    new Queue<T>(QUEUES.backfill, opts),
    Array.from({ length: partitions }, (_, k) => new Queue<T>(partitionQueueName(k), opts)),
    shards,
  );
}

/**
 * KEYS[1] the members' sorted set; ARGV: this member's id, the lease in ms. Beats this member's
 * heartbeat (score: when it lapses, in Redis's own time, so the processes' clocks do not matter),
 * drops the lapsed ones and answers the live members.
 */
const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], 10 * ttl)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/**
 * KEYS[1] a lease; ARGV: its holder, the lease in ms. Renews it if held by that holder, takes it
 * again if nobody holds it (it lapsed: Redis was away longer than a lease, or restarted from an
 * older AOF): 1; held by another: 0.
 */
const RENEW_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1] a lease; ARGV[1] its holder. Deletes it if held by that holder. */
const LET_GO_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** What serving a partition means to the worker: start consuming its queue, and stop (drained). */
export interface PartitionConsumers {
  /** Start consuming partition k's queue; `share` is how many partitions this process serves now. */
  take(k: number, share: number): void;
  /** Stop consuming partition k's queue; resolves once what it held is applied (or given up). */
  drop(k: number): Promise<void>;
}

export interface OwnershipKeys {
  readonly backfillMembers: string;
  backfillLease(k: number): string;
  backfillHeld(member: string): string;
}

/** What a tick saw: the live members and the partitions this process serves. */
export interface OwnershipView {
  readonly members: number;
  readonly serving: readonly number[];
}

/**
 * One worker process's share of the backfill partitions (see the top of this file). `start` takes
 * this process's share at once; every OWNERSHIP_TICK_MS it beats, renews and looks again: a
 * partition now another member's is dropped (its consumers drained) and then let go, one that became
 * this process's is taken once its lease is free. `stop` drains and lets go of everything.
 */
export class PartitionOwnership {
  readonly id = randomUUID();
  /** Served partitions; `leaving` once being dropped (its lease is renewed until it is let go). */
  private readonly serving = new Map<number, 'serving' | 'leaving'>();
  private readonly dropping = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  private members: readonly string[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: OwnershipKeys,
    private readonly partitions: number,
    private readonly consumers: PartitionConsumers,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly timing: { readonly tickMs: number; readonly leaseMs: number } = { tickMs: OWNERSHIP_TICK_MS, leaseMs: LEASE_MS },
  ) {}

  /** What the last tick saw. */
  view(): OwnershipView {
    return { members: this.members.length, serving: [...this.serving].filter(([, s]) => s === 'serving').map(([k]) => k).sort((a, b) => a - b) };
  }

  /** Take this process's share (one tick, awaited), then keep looking every tick. */
  async start(): Promise<void> {
    await this.tickOnce();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tickOnce().finally(() => this.schedule());
    }, this.timing.tickMs);
  }

  private tickOnce(): Promise<void> {
    this.ticking = this.tick().catch((err: Error) => this.onError(err));
    return this.ticking;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { leaseMs } = this.timing;
    const live = ((await this.redis.eval(HEARTBEAT_LUA, 1, this.keys.backfillMembers, this.id, String(leaseMs))) as string[]).sort();
    if (this.stopped) return;
    // Our own heartbeat is in what it answered, unless Redis lost it between the calls (a failover).
    if (!live.includes(this.id)) return;
    this.members = live;
    // What this process holds of the backfill lapses with its heartbeat (HeldBackfill).
    await this.redis.pexpire(this.keys.backfillHeld(this.id), leaseMs);
    const rank = live.indexOf(this.id);
    const mine = new Set<number>();
    for (let k = rank; k < this.partitions; k += live.length) mine.add(k);
    // Renew what is served (and what is being dropped: its consumers may still apply); a lease
    // found lapsed and free is taken again (an outage longer than a lease changes nothing), one
    // found taken by another (this process was stuck past its lease) is dropped without letting go.
    for (const [k, state] of [...this.serving]) {
      const held = Number(await this.redis.eval(RENEW_LUA, 1, this.keys.backfillLease(k), this.id, String(leaseMs))) === 1;
      if (!held) {
        if (state === 'serving') this.drop(k, false);
      } else if (state === 'serving' && !mine.has(k)) {
        this.drop(k, true);
      }
    }
    for (const k of mine) {
      if (this.serving.has(k) || this.stopped) continue;
      const got = await this.redis.set(this.keys.backfillLease(k), this.id, 'PX', leaseMs, 'NX');
      if (got !== 'OK' || this.stopped) {
        if (got === 'OK') await this.letGo(k);
        continue;
      }
      try {
        this.consumers.take(k, mine.size);
      } catch (err) {
        await this.letGo(k);
        throw err;
      }
      this.serving.set(k, 'serving');
    }
  }

  /** Stop consuming partition k; then, if it is still ours, let its lease go for the next holder. */
  private drop(k: number, letGo: boolean): void {
    this.serving.set(k, 'leaving');
    const done = this.consumers
      .drop(k)
      .catch((err: Error) => this.onError(err))
      .then(() => (letGo ? this.letGo(k) : undefined))
      .catch((err: Error) => this.onError(err))
      .finally(() => {
        this.serving.delete(k);
        this.dropping.delete(done);
      });
    this.dropping.add(done);
  }

  private async letGo(k: number): Promise<void> {
    await this.redis.eval(LET_GO_LUA, 1, this.keys.backfillLease(k), this.id);
  }

  /** Drain every partition served, let their leases go and leave the members. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    for (const [k, state] of [...this.serving]) if (state === 'serving') this.drop(k, true);
    await Promise.all([...this.dropping]);
    await this.redis.zrem(this.keys.backfillMembers, this.id).catch((err: Error) => this.onError(err));
  }

  /** The other live members, as the last tick saw them. */
  others(): readonly string[] {
    return this.members.filter((m) => m !== this.id);
  }
}

/** Entities per SADD, SREM or SMISMEMBER. */
const HELD_PAGE = 10_000;

/**
 * The entities this worker process holds backfill jobs of (its backfill lane's, apply-rounds.ts),
 * mirrored in a set of its own that lapses with its heartbeat, and the question the live lane asks
 * of the others' sets: a live sample of an entity whose backfill another process holds is judged
 * with that backfill, once, as one this process holds is (with the backfill partitioned, most of
 * a live day's entities are held by another process). Best effort: a mirror a moment behind only
 * judges an entity once more, as before.
 */
export class HeldBackfill {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: OwnershipKeys,
    private readonly ownership: PartitionOwnership,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  private get key(): string {
    return this.keys.backfillHeld(this.ownership.id);
  }

  /** Entities now held (their first job came). */
  added(entities: readonly string[]): void {
    if (entities.length === 0) return;
    const p = this.redis.pipeline();
    for (let i = 0; i < entities.length; i += HELD_PAGE) p.sadd(this.key, ...entities.slice(i, i + HELD_PAGE));
    p.pexpire(this.key, LEASE_MS);
    p.exec().catch((err: Error) => this.onError(err));
  }

  /** Entities no longer held (their last job applied). */
  released(entities: readonly string[]): void {
    if (entities.length === 0) return;
    const p = this.redis.pipeline();
    for (let i = 0; i < entities.length; i += HELD_PAGE) p.srem(this.key, ...entities.slice(i, i + HELD_PAGE));
    p.exec().catch((err: Error) => this.onError(err));
  }

  /** Nothing is held now. */
  releasedAll(): void {
    this.redis.del(this.key).catch((err: Error) => this.onError(err));
  }

  /** Which of `entities` another live worker process holds a backfill of (none when Redis does not answer). */
  async elsewhere(entities: readonly string[]): Promise<ReadonlySet<string>> {
    const others = this.ownership.others();
    const out = new Set<string>();
    if (others.length === 0 || entities.length === 0) return out;
    try {
      const p = this.redis.pipeline();
      const pages: (readonly string[])[] = [];
      for (const m of others) {
        for (let i = 0; i < entities.length; i += HELD_PAGE) {
          const page = entities.slice(i, i + HELD_PAGE);
          pages.push(page);
          p.smismember(this.keys.backfillHeld(m), ...page);
        }
      }
      const answers = (await p.exec()) ?? [];
      answers.forEach(([err, flags], j) => {
        if (err) throw err;
        (flags as number[]).forEach((f, i) => {
          if (f === 1) out.add(pages[j]![i]!);
        });
      });
    } catch (err) {
      this.onError(err as Error);
    }
    return out;
  }

  /** Forget what this process held (it stops). */
  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}
