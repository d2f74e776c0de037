import type { Redis } from 'ioredis';
import type { Keyspace } from '../queues/names.js';

/** Mark entities for (re)evaluation: day close, registry change. Idempotent. */
export async function markDirty(redis: Redis, keys: Keyspace, ids: readonly string[], now: number): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const args: (string | number)[] = [];
    for (const id of ids.slice(i, i + 1000)) args.push(now, id);
    if (args.length) await redis.zadd(keys.dirty, 'NX', ...args);
  }
}
