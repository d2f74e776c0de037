// npm run bench (second part) — how long GET /metrics takes with a province registered:
// 100k entities and a few thousand open alerts (each firing one is a lookout_alert_firing
// series). The target is < 50 ms; the floor is a static /healthz answer from the same server.
// Not a test: it prints figures. See bench/README.md.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import type { Verdict } from '../src/domain/alert.js';
import { ManualClock } from '../src/domain/clock.js';
import type { Entity } from '../src/domain/entity.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/roles/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { applyVerdict } from '../src/domain/lifecycle.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ENTITIES = Number(args.get('entities') ?? 100_000);
const OPEN = Number(args.get('open') ?? 3000);
const ROUNDS = Number(args.get('rounds') ?? 40);
const TARGET_MS = 50;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function timeGet(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.text();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-scrape-'));
  const redis = args.get('redis') ? { url: args.get('redis')!, stop: async () => undefined } : await startEmbeddedRedis(dir);
  const cfgDir = mkdtempSync(join(tmpdir(), 'lookout-bench-cfg-'));
  try {
    const config = loadConfig({ REDIS_URL: redis.url, LOOKOUT_PREFIX: 'benchscrape', LOOKOUT_CONFIG_DIR: cfgDir, LOOKOUT_HTTP_PORT: '0', LOG_LEVEL: 'silent' });
    const lookout = await startLookout({ config, roles: ['api', 'worker'], logger: createLogger({ level: 'silent' }), clock: new ManualClock(NOW), noNotifier: true });
    const ents: Entity[] = Array.from({ length: ENTITIES }, (_, i) => ({
      id: `G${i}`,
      kind: 'grassroots',
      name: `基层网点${i}`,
      region: `R${i % 6}`,
      district: `X${i % 31}`,
      attrs: { monthly_fee: 80 },
    }));
    for (let i = 0; i < ents.length; i += 5000) await lookout.registry.putMany(ents.slice(i, i + 5000));
    await waitIdle(lookout, 600_000);
    // Open alerts written the way evaluation writes them (one commit per entity).
    for (let i = 0; i < OPEN; i += 500) {
      const ids = Array.from({ length: Math.min(OPEN, i + 500) - i }, (_, k) => `G${i + k}`);
      const versions = await lookout.redis.mget(...ids.map((id) => lookout.keys.version(id)));
      const commits = [];
      for (let k = i; k < Math.min(OPEN, i + 500); k++) {
        const v: Verdict = {
          rule: 'grassroots_air_recharge_drop',
          entity: `G${k}`,
          severity: k % 3 === 0 ? 'critical' : 'warning',
          confirmed: true,
          period: '2026-11-21',
          value: 3,
          baseline: 12,
          measure: 75,
          notify: true,
          summary: '空中充值 3，基线 12，下降 75%',
        };
        commits.push({ entity: v.entity, version: versions[k - i] ?? '0', steps: [applyVerdict(undefined, v, NOW)] });
      }
      const { conflicts } = await lookout.alerts.commit(commits, NOW);
      if (conflicts.length) throw new Error(`${conflicts.length} alert commits conflicted`);
    }
    await waitIdle(lookout, 600_000);
    const url = lookout.url!;
    const body = await (await fetch(`${url}/metrics`)).text();
    const firing = body.split('\n').filter((l) => l.startsWith('lookout_alert_firing{')).length;

    const floor: number[] = [];
    const cached: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      floor.push(await timeGet(`${url}/healthz`));
      cached.push(await timeGet(`${url}/metrics`));
      if (i % 8 === 0) {
        // Past the collector's 2 s cache: this scrape starts a re-read of queues and alerts behind it.
        await new Promise((r) => setTimeout(r, 2100));
        fresh.push(await timeGet(`${url}/metrics`));
      }
    }
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(34)} p50 ${quantile(xs, 0.5).toFixed(1).padStart(6)} ms   p95 ${quantile(xs, 0.95).toFixed(1).padStart(6)} ms   max ${Math.max(...xs).toFixed(1).padStart(6)} ms   ` +
          `${(quantile(xs, 0.5) / quantile(floor, 0.5)).toFixed(1).padStart(5)}× floor   ${(quantile(xs, 0.95) / TARGET_MS).toFixed(2)} of the ${TARGET_MS} ms target`,
      );
    console.log(`lookout scrape bench — ${ENTITIES.toLocaleString('en')} entities, ${OPEN.toLocaleString('en')} open alerts (${firing} firing series), body ${(body.length / 1024).toFixed(0)} KiB`);
    row('GET /healthz (floor)', floor);
    row('GET /metrics (state fresh)', cached);
    row('GET /metrics (state due: re-read starts)', fresh);
    await lookout.stop();
    const r = new Redis(redis.url);
    await r.flushall();
    r.disconnect();
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cfgDir, { recursive: true, force: true });
  }
}

await main();