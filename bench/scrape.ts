// npm run bench (second part) — how long GET /metrics takes with a province registered:
// 100k entities and a few thousand open alerts (each firing one is a lookout_alert_firing
// series). The target is < 50 ms; the floor is a static /healthz answer from the same server.
// The client runs in a child process (this file with --client=URL), so decoding the ~1.4 MB bodies
// does not pause the server it times; --same-process keeps it beside the server, as before.
// Not a test: it prints figures. See bench/README.md.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

interface Timings {
  readonly floor: number[];
  readonly cached: number[];
  readonly fresh: number[];
}

/** ROUNDS of /healthz then /metrics; every eighth round also a scrape past the collector's 2 s cache. */
async function timeRounds(url: string): Promise<Timings> {
  const t: Timings = { floor: [], cached: [], fresh: [] };
  for (let i = 0; i < ROUNDS; i++) {
    t.floor.push(await timeGet(`${url}/healthz`));
    t.cached.push(await timeGet(`${url}/metrics`));
    if (i % 8 === 0) {
      // Past the collector's 2 s cache: this scrape starts a re-read of queues and alerts behind it.
      await new Promise((r) => setTimeout(r, 2100));
      t.fresh.push(await timeGet(`${url}/metrics`));
    }
  }
  return t;
}

/** The rounds from a child process (this file as the client): its JSON on stdout. */
function timeRoundsApart(url: string): Promise<Timings> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [fileURLToPath(import.meta.url), `--client=${url}`, `--rounds=${ROUNDS}`], { maxBuffer: 1 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout) as Timings),
    ),
  );
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

    const { floor, cached, fresh } = args.has('same-process') ? await timeRounds(url) : await timeRoundsApart(url);
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(34)} p50 ${quantile(xs, 0.5).toFixed(1).padStart(6)} ms   p95 ${quantile(xs, 0.95).toFixed(1).padStart(6)} ms   max ${Math.max(...xs).toFixed(1).padStart(6)} ms   ` +
          `${(quantile(xs, 0.5) / quantile(floor, 0.5)).toFixed(1).padStart(5)}× floor   ${(quantile(xs, 0.95) / TARGET_MS).toFixed(2)} of the ${TARGET_MS} ms target`,
      );
    console.log(
      `lookout scrape bench — ${ENTITIES.toLocaleString('en')} entities, ${OPEN.toLocaleString('en')} open alerts (${firing} firing series), body ${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB, client ${args.has('same-process') ? 'in the same process' : 'in a child process'}`,
    );
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

if (args.has('client')) {
  process.stdout.write(JSON.stringify(await timeRounds(args.get('client')!)));
} else {
  await main();
}
