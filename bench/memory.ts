// npm run bench:memory — Redis bytes per entity-metric for the two retention shapes, filled through
// Lookout's real ingest path (queue door → worker → series store → evaluation), against the raw
// floor of 8 bytes per sample measured in the same run. Not a test: it prints figures.
// See bench/README.md "What bench/memory.ts measures".

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar, ManualClock } from '../src/domain/clock.js';
import { mulberry32 } from '../src/demo/simulate.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/roles/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { usedMemory } from './redis-info.js';
import { daySamples, entities } from './shapes.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TZ = 'Asia/Shanghai';
const PREFIX = 'mem';
const RAW_BYTES_PER_SAMPLE = 8;
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
/** Entities, each fed one metric: one entity-metric each. */
const N = Number(args.get('entities') ?? 2000);

interface Shape {
  readonly name: string;
  readonly days: number;
  readonly perDay: number;
  /** Issue 11's target for this shape (bytes per entity-metric). */
  readonly target: number;
}

const SHAPES: Record<string, Shape> = {
  daily: { name: '35 days × daily, with ids', days: 35, perDay: 1, target: 1024 },
  hourly: { name: '28 days × 24 hourly, with ids', days: 28, perDay: 24, target: 8192 },
};
const chosen = (args.get('shapes') ?? 'daily,hourly').split(',').map((s) => {
  const shape = SHAPES[s];
  if (!shape) throw new Error(`unknown shape ${s} (known: ${Object.keys(SHAPES).join(', ')})`);
  return shape;
});

/**
 * live (default): each day's samples arrive the next morning at 09:00, the clock moving with them:
 * the steady state, where the id window has moved on. fixed: every day arrives at one instant, a
 * backfill of the whole period: the compact layout holds its ids a window from their arrival.
 */
const LIVE = (args.get('clock') ?? 'live') === 'live';

const LAYOUTS = (args.get('layout') ?? 'buckets,compact').split(',').map((l) => {
  if (l !== 'buckets' && l !== 'compact') throw new Error(`unknown layout ${l} (known: buckets, compact)`);
  return l;
});

/** The class a key of Lookout's keyspace belongs to, for the breakdown. */
function keyClass(key: string): string {
  const rest = key.slice(PREFIX.length + 1);
  let head = rest.split(':')[0]!;
  // Compact layout: P:{s<shard>}:<kind>:…
  if (/^\{s\d+\}$/.test(head)) head = `compact-${rest.split(':')[1]}`;
  switch (head) {
    case 'compact-s':
      return 'series strings (compact)';
    case 'compact-i':
      return 'id index (compact)';
    case 'compact-chunk':
    case 'fmark':
      return 'chunk markers';
    case 'd':
      return 'daily buckets';
    case 'h':
      return 'hourly buckets';
    case 'ids':
      return 'sample ids';
    case 'feed':
      return 'feed counters';
    case 'chunk':
      return 'chunk markers';
    case 'samples':
      return 'samples queue (BullMQ)';
    case 'alert-events':
      return 'alert-events queue (BullMQ)';
    case 'alerts':
    case 'events':
    case 'v':
    case 'dirty':
    case 'evaluating':
      return 'alert state';
    default:
      return 'other';
  }
}

/** MEMORY USAGE (exact: SAMPLES 0) of every key, summed by class, with key counts; `metrics` collects the metrics of daily buckets. */
async function usageByClass(redis: Redis, metrics = new Set<string>()): Promise<Map<string, { bytes: number; keys: number }>> {
  const out = new Map<string, { bytes: number; keys: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', 0);
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(res[i]?.[1] ?? 0);
      const c = keyClass(k);
      if (c === 'daily buckets') metrics.add(k.split(':')[2]!);
      if (c === 'series strings (compact)') metrics.add(k.split(':')[3]!);
      const cur = out.get(c) ?? { bytes: 0, keys: 0 };
      out.set(c, { bytes: cur.bytes + bytes, keys: cur.keys + 1 });
    });
  } while (cursor !== '0');
  return out;
}

/** The floor: each entity-metric's values as one string of float64s (8 B a sample), in this Redis. */
async function measureFloor(redis: Redis, values: ReadonlyMap<string, number[]>): Promise<{ usedPerEm: number; usagePerEm: number }> {
  const before = await usedMemory(redis);
  const pipe = redis.pipeline();
  for (const [em, vs] of values) pipe.set(`floor:${em}`, Buffer.from(new Float64Array(vs).buffer));
  await pipe.exec();
  const after = await usedMemory(redis);
  const usage = await usageByClass(redis);
  let bytes = 0;
  for (const u of usage.values()) bytes += u.bytes;
  await redis.flushall();
  return { usedPerEm: (after - before) / values.size, usagePerEm: bytes / values.size };
}

interface ShapeResult {
  readonly shape: Shape;
  readonly layout: string;
  readonly samplesPerEm: number;
  readonly floor: { usedPerEm: number; usagePerEm: number };
  readonly usedPerEm: number;
  readonly classes: Map<string, { bytes: number; keys: number }>;
  /** Metrics with daily buckets after the fill (fed ones and any the worker derives). */
  readonly metrics: readonly string[];
}

async function measure(shape: Shape, layout: string): Promise<ShapeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-mem-'));
  const redisServer = await startEmbeddedRedis(dir);
  const redis = new Redis(redisServer.url);
  try {
    const cal = new Calendar(TZ);
    const today = cal.dayOf(NOW);
    const ents = entities(N);
    const r = mulberry32(N);
    // The same samples feed the floor and Lookout: built once, day by day, oldest first.
    const byDay = [];
    const values = new Map<string, number[]>();
    for (let d = today - shape.days; d < today; d++) {
      const samples = daySamples(ents, d, cal, r, shape.perDay);
      for (const s of samples) {
        const em = `${s.entity}/${s.metric}`;
        const vs = values.get(em);
        if (vs) vs.push(s.value);
        else values.set(em, [s.value]);
      }
      byDay.push(samples);
    }
    if (values.size !== N) throw new Error(`expected ${N} entity-metrics, built ${values.size}`);
    const floor = await measureFloor(redis, values);

    const config = loadConfig({
      REDIS_URL: redisServer.url,
      LOOKOUT_PREFIX: PREFIX,
      LOOKOUT_CONFIG_DIR: dir,
      LOOKOUT_HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      LOOKOUT_TZ: TZ,
      LOOKOUT_SERIES_LAYOUT: layout,
    });
    const clock = new ManualClock(NOW);
    const lookout = await startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }), clock, noNotifier: true });
    try {
      await lookout.registry.putMany(ents);
      const before = await usageByClass(redis);
      const usedBefore = await usedMemory(redis);
      for (const [k, samples] of byDay.entries()) {
        if (LIVE) clock.set(cal.startOfDay(today - shape.days + k + 1) + 9 * 3_600_000);
        await lookout.sink.enqueue(samples, 'bench-memory');
        if (LIVE) await waitIdle(lookout, 900_000);
      }
      await waitIdle(lookout, 900_000);
      const usedAfter = await usedMemory(redis);
      const metrics = new Set<string>();
      const after = await usageByClass(redis, metrics);
      const classes = new Map<string, { bytes: number; keys: number }>();
      for (const [c, u] of after) {
        const b = before.get(c) ?? { bytes: 0, keys: 0 };
        if (u.bytes !== b.bytes || u.keys !== b.keys) classes.set(c, { bytes: u.bytes - b.bytes, keys: u.keys - b.keys });
      }
      return { shape, layout, samplesPerEm: shape.days * shape.perDay, floor, usedPerEm: (usedAfter - usedBefore) / N, classes, metrics: [...metrics].sort() };
    } finally {
      await lookout.stop();
    }
  } finally {
    redis.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');

function report(res: ShapeResult): void {
  const raw = res.samplesPerEm * RAW_BYTES_PER_SAMPLE;
  const seriesClasses = ['daily buckets', 'hourly buckets', 'sample ids', 'series strings (compact)', 'id index (compact)', 'feed counters'];
  let series = 0;
  for (const c of seriesClasses) series += res.classes.get(c)?.bytes ?? 0;
  console.log(`${res.shape.name}, LOOKOUT_SERIES_LAYOUT=${res.layout}: ${res.samplesPerEm} samples per entity-metric; metrics stored: ${res.metrics.join(', ')}`);
  console.log(`  raw floor, arithmetic (8 B/sample)          ${fmt(raw).padStart(10)} B per entity-metric`);
  console.log(`  raw floor, measured (one float64 string)    ${fmt(res.floor.usedPerEm).padStart(10)} B used_memory Δ, ${fmt(res.floor.usagePerEm)} B MEMORY USAGE`);
  console.log(
    `  Lookout, used_memory Δ                      ${fmt(res.usedPerEm).padStart(10)} B per entity-metric = ${(res.usedPerEm / raw).toFixed(1)}× raw, ${(res.usedPerEm / res.floor.usedPerEm).toFixed(1)}× measured floor (issue 11 target ≤ ${fmt(res.shape.target)} B)`,
  );
  console.log(
    `  Lookout, series keys (MEMORY USAGE)         ${fmt(series / N).padStart(10)} B per entity-metric = ${(series / N / raw).toFixed(1)}× raw (with ids and feed counters; issue 11 target ≤ ${fmt(res.shape.target)} B: ${series / N <= res.shape.target ? 'met' : 'NOT met'})`,
  );
  // What does not grow with the entities: chunk markers expire after 2 days, completed sample jobs after 1 h (at most 100 kept a queue).
  let transient = 0;
  for (const c of ['chunk markers', 'samples queue (BullMQ)']) transient += res.classes.get(c)?.bytes ?? 0;
  console.log(`  of used_memory Δ, transient (chunk markers, completed jobs) ${fmt(transient / N).padStart(6)} B per entity-metric: they scale with the samples of the last hours, not with the entities`);
  console.log('  by key class (MEMORY USAGE, keys added by the fill):');
  const rows = [...res.classes].sort((a, b) => b[1].bytes - a[1].bytes);
  for (const [c, u] of rows) {
    console.log(`    ${c.padEnd(30)} ${fmt(u.bytes / N).padStart(10)} B per entity-metric  ${String(u.keys).padStart(6)} keys`);
  }
}

async function main(): Promise<void> {
  console.log(`lookout memory bench — ${fmt(N)} entity-metrics (one metric per entity), node ${process.version}, ${new Date().toISOString()}`);
  console.log('fresh embedded redis-server per shape; filled through the queue door, applied and judged by a worker with the shipped rules');
  console.log(LIVE ? 'each day arrives the next morning, the clock moving with it (--clock=live: the steady state)' : 'every day arrives at one instant (--clock=fixed: a backfill of the whole period)');
  console.log('');
  for (const shape of chosen) {
    for (const layout of LAYOUTS) {
      report(await measure(shape, layout));
      console.log('');
    }
  }
}

await main();
process.exit(0);
