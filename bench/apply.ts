// node dist/bench/apply.js — Redis and Node CPU per sample of the apply step alone (SeriesStore.apply),
// per series layout (`buckets`, `compact`: applied in the worker, `compact/redis`: by the script),
// in the shape of a live feed: one job per day (daily exports) or per hour (hourly feeds) holding
// one sample per entity, so no call can amortise an entity's series over many
// samples. Each job is applied at the time it would arrive (--clock=live, the default: a daily
// export at 09:00 the next day, an hourly job 5 minutes after its hour), so the id window moves as
// in production; --clock=fixed applies every job at one instant (a backfill of the whole period).
// --days-per-job=K puts K days of every entity in one daily job (what applying several days together costs).
// Not a test: it prints figures. See bench/README.md and docs/scaling.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Calendar } from '../src/domain/clock.js';
import { metricCatalogue } from '../src/domain/metric.js';
import type { Sample } from '../src/domain/sample.js';
import { keyspace } from '../src/state/keys.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { SeriesStore } from '../src/state/series-store.js';
import { commandStats, cpuPerSample, redisCpu } from './redis-info.js';
import { parseLayout } from './shapes.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const cal = new Calendar('Asia/Shanghai');
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(args.get('entities') ?? 2000);
const LAYOUTS = (args.get('layout') ?? 'buckets,compact').split(',');
const SHAPES = (args.get('shapes') ?? 'daily,hourly,hourly-noid').split(',');
const LIVE = (args.get('clock') ?? 'live') === 'live';
/**
 * Days of a daily shape per job (default 1, a daily export). K > 1 puts K consecutive days of every
 * entity in one job, so a call meets each series K times: what applying several days' jobs of one
 * shard together would cost (the ceiling of a queue partitioned by shard, bench/README.md).
 */
const DAYS_PER_JOB = Number(args.get('days-per-job') ?? 1);

/**
 * The jobs of one shape, in order: each a list of samples, one per entity, and when it arrives.
 * Made one at a time as they are applied: holding a whole shape (3.5 million samples at 100,000
 * entities) would make the garbage collector's work, and so the Node CPU measured, grow with it.
 */
function* jobs(shape: string): Generator<{ at: number; samples: Sample[] }> {
  const today = cal.dayOf(NOW);
  const hourly = shape.startsWith('hourly');
  const withIds = !shape.endsWith('noid');
  const days = hourly ? 10 : 35;
  const step = hourly ? 1 : DAYS_PER_JOB;
  for (let d = today - days; d < today; d += step) {
    const span = Math.min(step, today - d);
    for (let h = 0; h < (hourly ? 24 : 1); h++) {
      const job: Sample[] = [];
      for (let e = 0; e < N; e++) {
        for (let k = 0; k < span; k++) {
          const ts = cal.startOfDay(d + k) + (hourly ? h : 12) * 3_600_000;
          const id = withIds ? `G${e}/air_recharge/${d + k}T${h}` : undefined;
          job.push({ metric: 'air_recharge', entity: `G${e}`, value: (e % 97) + h, ts, ...(id ? { id } : {}) });
        }
      }
      const ts = cal.startOfDay(d + span - 1) + (hourly ? h : 12) * 3_600_000;
      const arrives = hourly ? ts + 65 * 60_000 : cal.startOfDay(d + span) + 9 * 3_600_000;
      yield { at: LIVE ? arrives : NOW, samples: job };
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-apply-'));
  const server = args.get('redis') ? { url: args.get('redis')!, stop: async () => undefined } : await startEmbeddedRedis(dir);
  const redis = new Redis(server.url);
  try {
    console.log(`apply probe — ${N} entities, ${DAYS_PER_JOB > 1 ? `${DAYS_PER_JOB} daily samples per entity per daily job` : 'one sample per entity per job'}, ${LIVE ? 'each job applied when it arrives' : 'every job applied at one instant'}, Redis CPU per sample (main thread), Node CPU per sample`);
    for (const shape of SHAPES) {
      const line: string[] = [];
      let samples = 0; // what the shape holds: counted as its jobs are applied
      for (const layout of LAYOUTS) {
        await redis.flushall();
        await redis.config('RESETSTAT');
        const { name, applyIn } = parseLayout(layout);
        const store = new SeriesStore(redis, keyspace(`ap${name}`), cal, () => metricCatalogue(), {
          retentionDays: 35,
          hourlyRetentionDays: 28,
          seriesLayout: name,
          ...(applyIn ? { applyIn } : {}),
        });
        const before = await redisCpu(redis);
        const nodeBefore = process.cpuUsage();
        const started = performance.now();
        let k = 0;
        samples = 0;
        // Making a job is not the apply step: its time and CPU are taken out of the figures.
        let makeMs = 0;
        let makeCpu = 0;
        for (const gen = jobs(shape); ; ) {
          const t = performance.now();
          const c = process.cpuUsage();
          const next = gen.next();
          const used = process.cpuUsage(c);
          makeCpu += used.user + used.system;
          makeMs += performance.now() - t;
          if (next.done) break;
          samples += next.value.samples.length;
          await store.apply(`j${k++}`, next.value.samples, next.value.at);
        }
        const seconds = (performance.now() - started - makeMs) / 1000;
        const used = process.cpuUsage(nodeBefore);
        const nodeCpu = used.user + used.system - makeCpu;
        const cpu = cpuPerSample(before, await redisCpu(redis), samples);
        if (args.has('stats')) console.log(`${layout}\n${await commandStats([redis], samples)}`);
        line.push(`${layout} ${cpu.total.toFixed(1)} µs (${cpu.main.toFixed(1)}) + Node ${(nodeCpu / samples).toFixed(1)} µs, ${Math.round(samples / seconds).toLocaleString('en')}/s`);
      }
      console.log([`${shape.padEnd(12)} ${String(samples).padStart(8)} samples`, ...line].join('   '));
    }
  } finally {
    await redis.flushall();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
