// Wait until the worker processes on a prefix share its backfill partitions: each beats its
// heartbeat into the members' set and holds its even share of the partition leases. A process
// that has just joined gets its share within a tick or two; until then the first one serves (and
// fetches jobs of) every partition. Used where a test or the bench wants the steady state.

import type { RedisClient } from '../../src/state/client.js';

interface PartitionKeys {
  readonly backfillMembers: string;
  backfillLease(partition: number): string;
}

/** Whether `members` processes shared the `partitions` leases evenly (give or take one) within `timeoutMs`. */
export async function partitionsShared(redis: RedisClient, keys: PartitionKeys, partitions: number, members: number, timeoutMs = 20_000): Promise<boolean> {
  if (partitions === 0) return true;
  const deadline = performance.now() + timeoutMs;
  const even = Math.floor(partitions / members);
  for (;;) {
    const live = await redis.zcard(keys.backfillMembers);
    const holders = await Promise.all(Array.from({ length: partitions }, (_, k) => redis.get(keys.backfillLease(k))));
    const by = new Map<string, number>();
    for (const h of holders) if (h) by.set(h, (by.get(h) ?? 0) + 1);
    if (live === members && holders.every((h) => h) && by.size === Math.min(members, partitions) && [...by.values()].every((n) => n >= even && n <= even + 1)) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
