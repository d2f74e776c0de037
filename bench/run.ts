// npm run bench — samples/s through ingest (queue door) → evaluate → alert state, for N entities,
// against a bare one-job-per-sample BullMQ pipeline measured in the same run on the same Redis.
// Not a test: it prints figures. See bench/README.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar, ManualClock } from '../src/domain/clock.js';
import type { Entity } from '../src/domain/entity.js';
import type { Sample } from '../src/domain/sample.js';
import { mulberry32 } from '../src/demo/simulate.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/pipeline/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TZ = 'Asia/Shanghai';
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SIZES = (args.get('sizes') ?? '1000,10000,100000').split(',').map(Number);
const TARGET_SAMPLES = Number(args.get('samples') ?? 600_000);
const BARE_SAMPLES = Number(args.get('bare') ?? 40_000);
/** Extra worker processes beside the in-process one (2 cores: producer+worker here, a worker there). */
const EXTRA_WORKERS = Number(args.get('workers') ?? 1);

/** A province-like mix: every entity is in scope of at least one shipped rule. */
function entities(n: number): Entity[] {
  const out: Entity[] = [];
  for (let i = 0; i < n; i++) {
    const region = `R${i % 6}`;
    const district = `X${i % 31}`;
    if (i % 20 === 0) {
      out.push({ id: `D${i}`, kind: 'core_dealer', name: `核心渠道${i}`, region, district, manager: 'C1', attrs: { monthly_fee: 500 } });
    } else if (i % 20 === 1) {
      out.push({
        id: `M${i}`,
        kind: 'campaign',
        name: `营销案${i}`,
        region,
        district,
        manager: 'C1',
        attrs: { start: '2026-10-01', end: '2026-12-31', target_customers: 200_000, category: 'data', owner: 'C2' },
      });
    } else {
      out.push({ id: `G${i}`, kind: 'grassroots', name: `基层网点${i}`, region, district, manager: 'C1', attrs: { monthly_fee: 60 + (i % 100) } });
    }
  }
  return out;
}

function metricOf(e: Entity): [string, number] {
  if (e.kind === 'core_dealer') return ['card_opening', 120];
  if (e.kind === 'campaign') return ['complaints', 4];
  return ['air_recharge', 12];
}

/** One day of samples: a daily export row per entity, or `perDay` hourly rows per entity. */
function daySamples(ents: readonly Entity[], day: number, cal: Calendar, r: () => number, perDay: number): Sample[] {
  const start = cal.startOfDay(day);
  const iso = Calendar.isoDay(day);
  const out: Sample[] = [];
  for (let h = 0; h < perDay; h++) {
    const ts = start + (perDay === 1 ? 12 : h) * 3_600_000;
    for (const e of ents) {
      const [metric, mean] = metricOf(e);
      const value = Math.max(0, Math.round((mean / perDay) * (0.8 + 0.4 * r())));
      out.push({ metric, entity: e.id, value, ts, id: perDay === 1 ? `${e.id}/${metric}/${iso}` : `${e.id}/${metric}/${iso}T${h}` });
    }
  }
  return out;
}

async function benchLookout(redisUrl: string, n: number): Promise<{ n: number; samples: number; seconds: number; perSec: number; alerts: number; shape: string }> {
  const cal = new Calendar(TZ);
  const today = cal.dayOf(NOW);
  // Daily exports when N is large enough to reach the target; hourly feeds for small N.
  const days = Math.max(2, Math.min(34, Math.ceil(TARGET_SAMPLES / n)));
  const perDay = n * days >= TARGET_SAMPLES ? 1 : Math.min(24, Math.ceil(TARGET_SAMPLES / (n * days)));
  const cfgDir = mkdtempSync(join(tmpdir(), 'lookout-bench-'));
  const config = loadConfig({
    REDIS_URL: redisUrl,
    LOOKOUT_PREFIX: `bench${n}`,
    LOOKOUT_CONFIG_DIR: cfgDir,
    LOOKOUT_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    LOOKOUT_TZ: TZ,
    ...(args.get('batch') ? { LOOKOUT_BATCH_SIZE: args.get('batch')! } : {}),
    ...(args.get('concurrency') ? { LOOKOUT_WORKER_CONCURRENCY: args.get('concurrency')! } : {}),
  });
  const lookout = await startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }), clock: new ManualClock(NOW), noNotifier: true });
  const children = await Promise.all(
    Array.from({ length: EXTRA_WORKERS }, () => {
      const child = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), [redisUrl, `bench${n}`, String(NOW)]);
      return new Promise<ChildProcess>((resolve) => child.once('message', () => resolve(child)));
    }),
  );
  const ents = entities(n);
  await lookout.registry.putMany(ents);
  const r = mulberry32(n);
  // Produce day by day, like the daily exports arrive; build each day just before sending it.
  const started = performance.now();
  let total = 0;
  for (let d = today - days; d < today; d++) {
    const samples = daySamples(ents, d, cal, r, perDay);
    total += samples.length;
    await lookout.sink.enqueue(samples, 'bench');
  }
  await waitIdle(lookout, 600_000);
  const seconds = (performance.now() - started) / 1000;
  const all = (await lookout.alerts.list({})).filter((a) => a.state !== 'resolved');
  const alerts = all.length;
  await Promise.all(children.map((c) => new Promise((resolve) => { c.once('exit', resolve); c.send('stop'); })));
  if (process.env.BENCH_DEBUG) {
    const by = new Map<string, number>();
    for (const a of all) by.set(`${a.rule}/${a.severity}/${a.state}`, (by.get(`${a.rule}/${a.severity}/${a.state}`) ?? 0) + 1);
    console.log(by, all[0]);
  }
  await lookout.stop();
  const redis = new Redis(redisUrl);
  await redis.flushall();
  redis.disconnect();
  rmSync(cfgDir, { recursive: true, force: true });
  return { n, samples: total, seconds, perSec: total / seconds, alerts, shape: perDay === 1 ? `${days} days × daily` : `${days} days × ${perDay} hourly` };
}

/** The ceiling we compare against: one BullMQ job per sample, the worker adding it to a hash. */
async function benchBare(redisUrl: string, count: number): Promise<{ samples: number; seconds: number; perSec: number }> {
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const store = new Redis(redisUrl);
  const workerConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection: conn, prefix: 'bare' });
  let done = 0;
  let resolveDone!: () => void;
  const finished = new Promise<void>((res) => (resolveDone = res));
  const worker = new Worker(
    'bare',
    async (job) => {
      const s = job.data as Sample;
      await store.hincrbyfloat(`bare:d:${s.entity}`, String(s.ts), s.value);
      if (++done === count) resolveDone();
    },
    { connection: workerConn, prefix: 'bare', concurrency: 100, removeOnComplete: { count: 0 } },
  );
  const started = performance.now();
  for (let i = 0; i < count; i += 1000) {
    const jobs = [];
    for (let k = i; k < Math.min(count, i + 1000); k++) {
      jobs.push({ name: 's', data: { metric: 'card_opening', entity: `E${k % 1000}`, value: 1, ts: NOW }, opts: { removeOnComplete: true } });
    }
    await queue.addBulk(jobs);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.close();
  await store.flushall();
  store.disconnect();
  conn.disconnect();
  workerConn.disconnect();
  return { samples: count, seconds, perSec: count / seconds };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-redis-'));
  const redis = args.get('redis') ? { url: args.get('redis')!, stop: async () => undefined } : await startEmbeddedRedis(dir);
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  try {
    console.log(`lookout bench — node ${process.version}, redis ${redis.url}, ${1 + EXTRA_WORKERS} worker process(es), ${new Date().toISOString()}`);
    const bare = await benchBare(redis.url, BARE_SAMPLES);
    console.log(`bare BullMQ, one job per sample: ${fmt(bare.samples)} samples in ${bare.seconds.toFixed(2)} s = ${fmt(bare.perSec)} samples/s`);
    console.log('');
    console.log('entities   samples     seconds   samples/s   × bare     open  shape');
    for (const n of SIZES) {
      const res = await benchLookout(redis.url, n);
      console.log(
        `${String(n).padStart(8)}  ${String(res.samples).padStart(8)}  ${res.seconds.toFixed(2).padStart(9)}  ${fmt(res.perSec).padStart(10)}  ${(res.perSec / bare.perSec).toFixed(1).padStart(6)}×  ${String(res.alerts).padStart(6)}  ${res.shape}`,
      );
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
// Anything still open (a reconnecting client) must not keep a finished benchmark alive.
process.exit(0);
