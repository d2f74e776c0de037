import type { Redis } from 'ioredis';
import type { Keyspace } from '../queues/names.js';

/**
 * Mark entities for (re)evaluation: day close, registry change. Idempotent. Marks carry Redis
 * server time, like those of the apply script: drainers compare them with Redis TIME, so a mark
 * stamped by a process clock running ahead (skew, a test or replay clock) would wait that long.
 */
export async function markDirty(redis: Redis, keys: Keyspace, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  const [sec, usec] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  for (let i = 0; i < ids.length; i += 1000) {
    const args: (string | number)[] = [];
    for (const id of ids.slice(i, i + 1000)) args.push(now, id);
    await redis.zadd(keys.dirty, 'NX', ...args);
  }
}
