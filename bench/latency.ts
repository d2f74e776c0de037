// node dist/bench/latency.js — how long from a sample's 202 (the queue door's enqueue resolving) to
// its alert being committed, idle and during a backfill, per series layout. Not a test: it prints
// figures. See bench/README.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar, ManualClock } from '../src/domain/clock.js';
import type { Entity } from '../src/domain/entity.js';
import type { Sample } from '../src/domain/sample.js';
import { mulberry32 } from '../src/demo/simulate.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/roles/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { daySamples, entities, layoutEnv } from './shapes.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TZ = 'Asia/Shanghai';
const RULE = 'core_dealer_card_opening_drop';
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const LAYOUTS = (args.get('layout') ?? 'buckets,compact').split(',');
const PROBES = Number(args.get('probes') ?? 30);
/** The backfill the second half of the probes runs beside: 10,000 entities × 30 days × 2 hourly rows = 600,000 samples. */
const BACKFILL_ENTITIES = Number(args.get('entities') ?? 10_000);
const BACKFILL_DAYS = 30;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function run(redisUrl: string, layout: string): Promise<{ idle: number[]; busy: number[]; backfill: number; backfillSeconds: number }> {
  const cal = new Calendar(TZ);
  const today = cal.dayOf(NOW);
  const cfgDir = mkdtempSync(join(tmpdir(), 'lookout-bench-lat-'));
  const config = loadConfig({
    REDIS_URL: redisUrl,
    LOOKOUT_PREFIX: 'lat',
    LOOKOUT_CONFIG_DIR: cfgDir,
    LOOKOUT_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    LOOKOUT_TZ: TZ,
    ...layoutEnv(layout),
    ...(args.get('concurrency') ? { LOOKOUT_WORKER_CONCURRENCY: args.get('concurrency')! } : {}),
    ...(args.get('hold') ? { LOOKOUT_WORKER_HOLD: args.get('hold')! } : {}),
  });
  const lookout = await startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }), clock: new ManualClock(NOW), noNotifier: true });
  // Probe dealers: four weeks at 100 cards a day; a probe sends yesterday's 40 (a critical drop).
  const dealers: Entity[] = Array.from({ length: 2 * PROBES }, (_, i) => ({
    id: `LD${i}`,
    kind: 'core_dealer',
    name: `探针${i}`,
    region: 'R0',
    district: 'X0',
    manager: 'C1',
    attrs: { monthly_fee: 500 },
  }));
  const ents = entities(BACKFILL_ENTITIES);
  await lookout.registry.putMany([...dealers, ...ents]);
  const history: Sample[] = [];
  for (let d = today - 29; d < today - 1; d++) {
    for (const e of dealers) history.push({ metric: 'card_opening', entity: e.id, value: 100, ts: cal.startOfDay(d) + 12 * 3_600_000, id: `${e.id}/${d}` });
  }
  await lookout.sink.enqueue(history, 'bench');
  await waitIdle(lookout, 120_000);

  const probe = async (i: number): Promise<number> => {
    const s: Sample = { metric: 'card_opening', entity: `LD${i}`, value: 40, ts: cal.startOfDay(today - 1) + 12 * 3_600_000, id: `LD${i}/${today - 1}` };
    await lookout.sink.enqueue([s], 'probe');
    const t0 = performance.now();
    for (;;) {
      if ((await lookout.alerts.list({ rule: RULE, entity: `LD${i}` })).some((a) => a.state !== 'resolved')) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const idle: number[] = [];
  for (let i = 0; i < PROBES; i++) idle.push(await probe(i));

  // During a backfill: the producer enqueues day by day while probes go one after another.
  const r = mulberry32(7);
  let done = false;
  let backfill = 0;
  const started = performance.now();
  const producer = (async () => {
    for (let d = today - BACKFILL_DAYS; d < today; d++) {
      const samples = daySamples(ents, d, cal, r, 2);
      for (let i = 0; i < samples.length; i += 20_000) await lookout.sink.enqueue(samples.slice(i, i + 20_000), 'bench');
      backfill += samples.length;
    }
    await waitIdle(lookout, 600_000);
    done = true;
  })();
  const busy: number[] = [];
  for (let i = PROBES; i < 2 * PROBES && !done; i++) busy.push(await probe(i));
  await producer;
  const backfillSeconds = (performance.now() - started) / 1000;
  await lookout.stop();
  const redis = new Redis(redisUrl);
  await redis.flushall();
  redis.disconnect();
  rmSync(cfgDir, { recursive: true, force: true });
  return { idle, busy, backfill, backfillSeconds };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-redis-'));
  const redis = args.get('redis') ? { url: args.get('redis')!, stop: async () => undefined } : await startEmbeddedRedis(dir);
  const ms = (x: number) => `${Math.round(x).toLocaleString('en')} ms`;
  try {
    console.log(`lookout latency bench — 202 to alert committed (${RULE}), ${PROBES} probes idle and up to ${PROBES} during a backfill`);
    for (const layout of LAYOUTS) {
      const res = await run(redis.url, layout);
      console.log(`${layout.padEnd(13)}  idle: p50 ${ms(pct(res.idle, 50))}, p99 ${ms(pct(res.idle, 99))}`);
      console.log(
        `${layout.padEnd(13)}  during a backfill of ${res.backfill.toLocaleString('en')} samples (${res.backfillSeconds.toFixed(1)} s): p50 ${ms(pct(res.busy, 50))}, p99 ${ms(pct(res.busy, 99))} (${res.busy.length} probes)`,
      );
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
