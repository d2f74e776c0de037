// The backfill partitions shared out between worker processes (src/queues/backfill-partitions.ts),
// against a real Redis with short ticks and leases: every partition served by exactly one member once
// the sharing settles, handed over drained when a member leaves, taken up when one dies silently.
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { HeldBackfill, PartitionOwnership, partitionOf } from '../../src/queues/backfill-partitions.js';
import { connect, redisPerTest } from '../support/redis.js';
import { waitFor } from '../support/lookout.js';

const PARTITIONS = 8;
const TIMING = { tickMs: 50, leaseMs: 400 };

/** A member whose consumers record what they serve, and the order things happened in. */
function member(redis: Redis, prefix: string, log: string[], name: string, dropMs = 0, handedOver = true) {
  const serving = new Set<number>();
  const keys = { backfillMembers: `${prefix}:bf:members`, backfillLease: (k: number) => `${prefix}:bf:lease:${k}`, backfillHeld: (m: string) => `${prefix}:bf:held:${m}` };
  const ownership = new PartitionOwnership(
    redis,
    keys,
    PARTITIONS,
    {
      take: (k) => {
        // Never two members consuming one partition: the previous one has drained and let go (unless it died).
        if (handedOver) expect(log.filter((l) => l.endsWith(`+${k}`)).length - log.filter((l) => l.endsWith(`-${k}`)).length).toBe(0);
        serving.add(k);
        log.push(`${name}+${k}`);
      },
      drop: async (k) => {
        await new Promise((r) => setTimeout(r, dropMs));
        serving.delete(k);
        log.push(`${name}-${k}`);
      },
    },
    (err) => log.push(`${name}!${err.message}`),
    TIMING,
  );
  return { ownership, serving, held: new HeldBackfill(redis, keys, ownership, (err) => log.push(`${name}!${err.message}`)) };
}

const settled = (...ms: { serving: Set<number> }[]) => {
  const all = ms.flatMap((m) => [...m.serving]);
  return all.length === PARTITIONS && new Set(all).size === PARTITIONS;
};

describe('PartitionOwnership', () => {
  const ctx = redisPerTest('parts');
  const closing: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  it('one member serves every partition from its start; a second takes half, handed over drained; a third gets its share', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a', 30);
    closing.push(() => a.ownership.stop());
    await a.ownership.start();
    expect([...a.serving].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(a.ownership.view()).toEqual({ members: 1, serving: [0, 1, 2, 3, 4, 5, 6, 7] });

    const b = member(ctx.redis, ctx.prefix, log, 'b', 30);
    closing.push(() => b.ownership.stop());
    await b.ownership.start();
    await waitFor('two members share the partitions', async () => settled(a, b) && a.serving.size === 4 && b.serving.size === 4, 5_000);
    // Each partition b took, a had dropped first (the take asserts it; here, the order in the log).
    for (const k of b.serving) expect(log.indexOf(`a-${k}`)).toBeLessThan(log.indexOf(`b+${k}`));

    const c = member(ctx.redis, ctx.prefix, log, 'c');
    closing.push(() => c.ownership.stop());
    await c.ownership.start();
    await waitFor('three members share the partitions', async () => settled(a, b, c) && [a, b, c].every((m) => m.serving.size >= 2), 5_000);
    expect([a, b, c].map((m) => m.serving.size).sort()).toEqual([2, 3, 3]);
    expect(log.filter((l) => l.includes('!'))).toEqual([]);
  });

  it('a member that stops drains and lets go at once: the other takes its partitions within ticks, not a lease', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a');
    const b = member(ctx.redis, ctx.prefix, log, 'b');
    closing.push(() => a.ownership.stop());
    await a.ownership.start();
    await b.ownership.start();
    await waitFor('two members share the partitions', async () => settled(a, b) && b.serving.size === 4, 5_000);
    const stopped = performance.now();
    await b.ownership.stop();
    expect(b.serving.size).toBe(0);
    await waitFor('the other serves every partition', async () => a.serving.size === PARTITIONS, 5_000);
    // A lease (400 ms) would have lapsed only later; the stop let go of them.
    expect(performance.now() - stopped).toBeLessThan(TIMING.leaseMs);
    expect(await ctx.redis.zrange(`${ctx.prefix}:bf:members`, 0, -1)).toEqual([a.ownership.id]);
  });

  it('a member that dies (no stop, its connection gone) loses its partitions once its heartbeat and leases lapse', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a', 0, false);
    const lost = connect();
    const b = member(lost, ctx.prefix, log, 'b');
    closing.push(() => a.ownership.stop());
    await a.ownership.start();
    await b.ownership.start();
    await waitFor('two members share the partitions', async () => settled(a, b) && b.serving.size === 4, 5_000);
    // Killed: it beats and renews no more (its ticks fail), and lets nothing go.
    lost.disconnect();
    const died = performance.now();
    await waitFor('the survivor serves every partition', async () => a.serving.size === PARTITIONS, 5_000);
    expect(performance.now() - died).toBeGreaterThanOrEqual(TIMING.leaseMs - 2 * TIMING.tickMs);
    closing.push(() => b.ownership.stop());
  });

  it('leases lapsed while Redis was away (nobody took them) are taken again: no partition dropped', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a');
    closing.push(() => a.ownership.stop());
    await a.ownership.start();
    expect(a.serving.size).toBe(PARTITIONS);
    // As after an outage longer than a lease: the heartbeat and every lease gone.
    await ctx.redis.del(`${ctx.prefix}:bf:members`, ...Array.from({ length: PARTITIONS }, (_, k) => `${ctx.prefix}:bf:lease:${k}`));
    await waitFor('the leases held again', async () => (await ctx.redis.mget(...Array.from({ length: PARTITIONS }, (_, k) => `${ctx.prefix}:bf:lease:${k}`))).every((v) => v === a.ownership.id), 5_000);
    expect(log.filter((l) => l.includes('-'))).toEqual([]);
    expect(a.serving.size).toBe(PARTITIONS);
  });

  it('a lease another member took meanwhile (this one was stuck past it) is dropped, not let go', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a', 0, false);
    closing.push(() => a.ownership.stop());
    await a.ownership.start();
    await ctx.redis.set(`${ctx.prefix}:bf:lease:3`, 'someone-else', 'PX', 60_000);
    await waitFor('partition 3 dropped', async () => !a.serving.has(3), 5_000);
    expect(await ctx.redis.get(`${ctx.prefix}:bf:lease:3`)).toBe('someone-else');
    // Still this member's by the sharing: taken again once the other lets go.
    await ctx.redis.del(`${ctx.prefix}:bf:lease:3`);
    await waitFor('partition 3 taken again', async () => a.serving.has(3), 5_000);
  });

  it('what one member\'s backfill lane holds, the others see (a live sample of it is judged with that backfill), until it is applied', async () => {
    const log: string[] = [];
    const a = member(ctx.redis, ctx.prefix, log, 'a');
    const b = member(ctx.redis, ctx.prefix, log, 'b');
    closing.push(() => a.ownership.stop(), () => b.ownership.stop());
    await a.ownership.start();
    await b.ownership.start();
    await waitFor('both see two members', async () => a.ownership.view().members === 2 && b.ownership.view().members === 2, 5_000);
    a.held.added(['E1', 'E2']);
    await waitFor('b sees what a holds', async () => (await b.held.elsewhere(['E1', 'E3'])).has('E1'), 5_000);
    expect([...(await b.held.elsewhere(['E1', 'E2', 'E3']))].sort()).toEqual(['E1', 'E2']);
    // Not its own: a asks the others only.
    expect((await a.held.elsewhere(['E1', 'E2'])).size).toBe(0);
    a.held.released(['E1']);
    await waitFor('b sees E1 applied', async () => !(await b.held.elsewhere(['E1'])).has('E1'), 5_000);
    expect([...(await b.held.elsewhere(['E1', 'E2']))]).toEqual(['E2']);
    // It lapses with the heartbeat (a process that died holds nothing), and goes with a stop.
    expect(await ctx.redis.pttl(`${ctx.prefix}:bf:held:${a.ownership.id}`)).toBeGreaterThan(0);
    await a.held.clear();
    expect((await b.held.elsewhere(['E2'])).size).toBe(0);
    // A round that applied all a held lets it all go at once.
    a.held.added(['E4', 'E5']);
    await waitFor('b sees E4 and E5', async () => (await b.held.elsewhere(['E4', 'E5'])).size === 2, 5_000);
    a.held.releasedAll();
    await waitFor('b sees nothing held', async () => (await b.held.elsewhere(['E4', 'E5'])).size === 0, 5_000);
    expect(log.filter((l) => l.includes('!'))).toEqual([]);
  });

  it('partitionOf: an entity shard modulo the partitions, the same in every process', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `C${i}`);
    const counts = new Array<number>(PARTITIONS).fill(0);
    for (const id of ids) counts[partitionOf(id, 64, PARTITIONS)]!++;
    // Spread: no partition holds less than half or more than twice its share.
    for (const n of counts) expect(n).toBeGreaterThan(2000 / PARTITIONS / 2);
    for (const n of counts) expect(n).toBeLessThan((2 * 2000) / PARTITIONS);
    expect(partitionOf('C42', 64, PARTITIONS)).toBe(partitionOf('C42', 64, PARTITIONS));
  });
});
