// node dist/bench/import.js — the CSV door end to end: `lookout import` of an hourly export sorted
// by time (as exports are written), from the command's start until a running worker has applied
// and judged every row. Not a test: it prints figures. See bench/README.md "The CSV door".

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar, ManualClock } from '../src/domain/clock.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/roles/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { mulberry32 } from '../src/demo/simulate.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { cpuPerSample, redisCpu } from './redis-info.js';
import { daySamples, entities, layoutEnv } from './shapes.js';

const NOW_ISO = '2026-11-22T09:00:00+08:00';
const NOW = Date.parse(NOW_ISO);
const TZ = 'Asia/Shanghai';
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(args.get('entities') ?? 1000);
const DAYS = Number(args.get('days') ?? 30);
const LAYOUTS = (args.get('layout') ?? 'compact,buckets').split(',');
/** The `lookout` to run (another checkout's bin/lookout.js, for an A/B). */
const LOOKOUT = args.get('lookout') ?? fileURLToPath(new URL('../../bin/lookout.js', import.meta.url));

/** N entities × DAYS days × 24 hours, hour by hour: the rows of an hourly export, with ids. */
async function writeCsv(file: string, cal: Calendar): Promise<number> {
  const out = createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('metric,entity,value,ts,id\n');
  const ents = entities(N);
  const today = cal.dayOf(NOW);
  const r = mulberry32(N);
  let rows = 0;
  for (let d = today - DAYS; d < today; d++) {
    // The province's hourly rows of one day (bench/shapes.ts), hour by hour as daySamples makes them.
    const day = daySamples(ents, d, cal, r, 24);
    rows += day.length;
    await write(day.map((s) => `${s.metric},${s.entity},${s.value},${new Date(s.ts).toISOString()},${s.id}\n`).join(''));
  }
  await new Promise<void>((r) => out.end(r));
  return rows;
}

function runImport(file: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LOOKOUT, 'import', file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-import-'));
  const redisServer = await startEmbeddedRedis(dir);
  const info = new Redis(redisServer.url);
  const cal = new Calendar(TZ);
  try {
    const file = join(dir, 'hourly.csv');
    const rows = await writeCsv(file, cal);
    console.log(`lookout import — ${N} entities × ${DAYS} days × 24 hourly rows = ${rows.toLocaleString('en')} rows, sorted by time; ${LOOKOUT}`);
    for (const layout of LAYOUTS) {
      const prefix = `imp${layout.replace(/\W/g, '')}`;
      const config = loadConfig({ REDIS_URL: redisServer.url, LOOKOUT_PREFIX: prefix, LOOKOUT_CONFIG_DIR: dir, LOOKOUT_HTTP_PORT: '0', LOG_LEVEL: 'silent', LOOKOUT_TZ: TZ, ...layoutEnv(layout) });
      const lookout = await startLookout({ config, roles: ['worker'], logger: createLogger({ level: 'silent' }), clock: new ManualClock(NOW), noNotifier: true });
      await lookout.registry.putMany(entities(N));
      const before = await redisCpu(info);
      const started = performance.now();
      const res = await runImport(file, { REDIS_URL: redisServer.url, LOOKOUT_PREFIX: prefix, LOOKOUT_NOW: NOW_ISO, LOOKOUT_TZ: TZ, LOG_LEVEL: 'silent' });
      const queued = (performance.now() - started) / 1000;
      if (res.code !== 0) throw new Error(`lookout import exited ${res.code}: ${res.stderr}`);
      await waitIdle(lookout, 900_000);
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuPerSample(before, await redisCpu(info), rows);
      console.log(
        `${layout.padEnd(8)} queued in ${queued.toFixed(1)} s, applied and judged in ${seconds.toFixed(1)} s: ${Math.round(rows / seconds).toLocaleString('en')} rows/s, Redis CPU ${cpu.total.toFixed(1)} µs/row (${res.stdout.trim().replace(/^imported /, '')})`,
      );
      await lookout.stop();
      await info.flushall();
    }
  } finally {
    info.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
