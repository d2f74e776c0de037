import type { RedisClient } from './client.js';
import type { Keyspace } from './keys.js';
import { CLAIM_DIRTY_LUA } from './lua.js';

/**
 * While sample jobs wait, drainers judge only entities marked at least this long ago, so a backlog
 * is applied first and judged in a few coalesced passes (EvaluationDrainer's maxDelayMs). Marks of
 * live samples are stamped this much earlier, so they are judged at once (DirtyMarks, series-layout.ts).
 * 60 s: at 15 s a 600k-sample backfill of 100k daily-fed entities judged each 1.6–1.9 times, at 60 s
 * once, which saved the workers 3–20 µs of CPU a sample (bench/README.md).
 */
export const EVAL_MAX_DELAY_MS = 60_000;

/**
 * Mark entities for (re)evaluation: day close, registry change. Idempotent. Marks carry Redis
 * server time, like those of the apply script: drainers compare them with Redis TIME, so a mark
 * stamped by a process clock running ahead (skew, a test or replay clock) would wait that long.
 */
export async function markDirty(redis: RedisClient, keys: Keyspace, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  const [sec, usec] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  for (let i = 0; i < ids.length; i += 1000) {
    const args: (string | number)[] = [];
    for (const id of ids.slice(i, i + 1000)) args.push(now, id);
    await redis.zadd(keys.dirty, 'NX', ...args);
  }
}

/**
 * The dirty set drainers work from: entities marked for judgement (score: RedisClient time of the
 * mark) and the ones claimed under a lease (`evaluating`), so a worker that dies mid-judgement
 * only delays them.
 */
export class DirtySet {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keyspace,
  ) {
    redis.defineCommand('lookoutClaimDirty', { numberOfKeys: 2, lua: CLAIM_DIRTY_LUA });
  }

  mark(ids: readonly string[]): Promise<void> {
    return markDirty(this.redis, this.keys, ids);
  }

  /** Claim up to `chunk` entities marked at least `minAgeMs` ago (or whose lease ran out), under a lease. */
  async claim(leaseMs: number, chunk: number, minAgeMs: number): Promise<string[]> {
    const raw =
      (await (this.redis as unknown as { lookoutClaimDirty(...a: (string | number)[]): Promise<string[]> }).lookoutClaimDirty(
        this.keys.dirty,
        this.keys.evaluating,
        leaseMs,
        chunk,
        minAgeMs,
      )) ?? [];
    const ids: string[] = [];
    for (let i = 0; i < raw.length; i += 2) ids.push(raw[i]!);
    return ids;
  }

  /** Judged: drop the leases. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length) await this.redis.zrem(this.keys.evaluating, ...ids);
  }
}
