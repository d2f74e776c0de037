// node dist/bench/registry.js [--entities=100000] [--rounds=20] — what a worker's registry refresh
// costs after one entity changes: the change stream (only what changed) against reading the whole
// registry, the way every refresh did before, measured in the same run on an embedded Redis.
// Not a test: it prints figures. See bench/README.md "Registry refresh".

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Entity } from '../src/domain/entity.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { keyspace } from '../src/state/keys.js';
import { RedisRegistryStore, RegistryCache } from '../src/state/registry-store.js';
import { entities } from './shapes.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(args.get('entities') ?? 100_000);
const ROUNDS = Number(args.get('rounds') ?? 20);

const dir = mkdtempSync(join(tmpdir(), 'lookout-regbench-'));
const redisServer = await startEmbeddedRedis(dir);
const redis = new Redis(redisServer.url);
try {
  const keys = keyspace('regbench');
  const store = new RedisRegistryStore(redis, keys);
  const all = entities(N);
  for (let i = 0; i < all.length; i += 10_000) await store.putMany(all.slice(i, i + 10_000));
  const cache = new RegistryCache(redis, keys);
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const first = await timed(() => cache.refresh());
  const changed: number[] = [];
  const whole: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const e: Entity = { ...all[r]!, name: `${all[r]!.name}·${r}` };
    await store.putMany([e]);
    changed.push(await timed(() => cache.refresh()));
    if (cache.get(e.id)?.name !== e.name) throw new Error(`refresh missed ${e.id}`);
    whole.push(await timed(() => cache.refresh(true)));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`lookout registry bench — ${N.toLocaleString('en')} entities, ${ROUNDS} changes of one entity, embedded Redis ${redisServer.url}`);
  console.log(`first load (whole registry):           ${first.toFixed(1)} ms`);
  console.log(`refresh after one change, the stream:  median ${median(changed).toFixed(2)} ms`);
  console.log(`refresh after one change, read whole:  median ${median(whole).toFixed(1)} ms  (${(median(whole) / median(changed)).toFixed(0)}× the stream)`);
} finally {
  redis.disconnect();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
