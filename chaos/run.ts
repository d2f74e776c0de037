// `npm run chaos`: the daemon as a child process on a real redis-server with AOF, killed with
// SIGKILL at random points during ingest, and Redis silenced and killed under load. Prints per
// scenario what was accepted vs stored and the longest request; exits 1 when a target is missed.
// `--short` runs few kills (CI). Everything listens on 127.0.0.1 only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar } from '../src/domain/clock.js';
import { metricCatalogue } from '../src/domain/metric.js';
import { QUEUES } from '../src/queues/names.js';
import { keyspace } from '../src/state/keys.js';
import { freePort } from '../src/redis/embedded.js';
import { SeriesStore } from '../src/state/series-store.js';
import { chaosOrg, killDuringNotify, killInSendWindow, MAX_DEALERS, smscDownAndBack, startPeers } from './notify.js';
import { RedisChild } from './redis-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHORT = process.argv.includes('--short');
/** `--notify`: only scenarios (b), (d) and (e). */
const NOTIFY_ONLY = process.argv.includes('--notify');
/** The documented bound for a request while Redis is away (docs/reliability.md), plus scheduling slack. */
const BOUND_MS = 2500;
const SAMPLES_PER_BATCH = 10;
const DAY_MS = 86_400_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

interface Ledger {
  /** Entity → samples the daemon answered 202 for. */
  readonly accepted: Map<string, number>;
  /** Entities whose POST got no answer (killed mid-request): stored or not, both are fine. */
  readonly inDoubt: Set<string>;
  batches: number;
}

class Daemon {
  private child: ChildProcess | undefined;
  starts = 0;
  constructor(
    private readonly env: Record<string, string>,
    readonly url: string,
    private readonly logFile: string,
  ) {}

  async start(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    // Its own process group, so a SIGKILL takes the daemon and anything it spawned.
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'lookout.js'), 'start'], { env: { ...process.env, ...this.env }, stdio: ['ignore', out, out], detached: true });
    this.starts++;
    await waitUntil('the daemon to be ready', async () => (await request(`${this.url}/readyz`)).status === 200, 60_000);
  }

  kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return Promise.resolve();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(-child.pid, 'SIGKILL');
    return exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly text: string;
}

async function request(url: string, init?: RequestInit): Promise<Answer> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, text };
  } catch {
    return { status: 0, ms: performance.now() - t0, text: '' };
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** One batch of distinct samples for a fresh entity: one per past day, value 1, each with an id. */
function batch(entity: string, now: number) {
  return Array.from({ length: SAMPLES_PER_BATCH }, (_, i) => {
    const ts = new Date(now - (i + 1) * DAY_MS).toISOString();
    return { metric: 'card_opening', entity, value: 1, ts, id: `${entity}/${i}` };
  });
}

async function postBatch(url: string, ledger: Ledger, entity: string): Promise<Answer> {
  ledger.batches++;
  ledger.inDoubt.add(entity);
  const res = await request(`${url}/api/v1/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch(entity, new Date().getTime())) });
  if (res.status === 202) ledger.accepted.set(entity, SAMPLES_PER_BATCH);
  // An answer, whatever it says, settles the doubt: 202 is a promise, 503 says "not stored".
  if (res.status !== 0) ledger.inDoubt.delete(entity);
  return res;
}

interface Row {
  readonly scenario: string;
  readonly figures: Record<string, number | string>;
  readonly failures: string[];
}

/** (a) SIGKILL the daemon at random points while clients post batches; restart each time. */
async function killDuringIngest(daemon: Daemon, ledger: Ledger, kills: number): Promise<Row> {
  let seq = 0;
  let killed = 0;
  for (let k = 0; k < kills; k++) {
    await daemon.start();
    let posting = true;
    const clients = [0, 1, 2].map(async (c) => {
      while (posting) await postBatch(daemon.url, ledger, `A${k}-${c}-${seq++}`);
    });
    await sleep(rand(200, 1500));
    await daemon.kill();
    killed++;
    posting = false;
    await Promise.all(clients);
  }
  return { scenario: 'a. SIGKILL during ingest', figures: { kills: killed }, failures: [] };
}

/** (c) Redis silenced (SIGSTOP) then killed and restarted from its AOF while clients keep asking. */
async function redisOutage(daemon: Daemon, redis: RedisChild, ledger: Ledger, outageMs: number): Promise<Row> {
  await daemon.start();
  const longest: Record<string, number> = { readyz: 0, metrics: 0, samples: 0 };
  const bad: string[] = [];
  let polling = true;
  let seq = 0;
  const poll = async (name: string, call: () => Promise<Answer>, ok: (a: Answer) => boolean) => {
    while (polling) {
      const a = await call();
      longest[name] = Math.max(longest[name]!, a.ms);
      if (!ok(a)) bad.push(`${name} answered ${a.status}`);
      await sleep(50);
    }
  };
  const pollers = [
    poll('readyz', () => request(`${daemon.url}/readyz`), (a) => a.status === 200 || a.status === 503),
    poll('metrics', () => request(`${daemon.url}/metrics`), (a) => a.status === 200),
    poll('samples', () => postBatch(daemon.url, ledger, `C-${seq++}`), (a) => a.status === 202 || a.status === 503),
  ];
  await sleep(500);
  redis.pause();
  await sleep(outageMs);
  redis.resume();
  await sleep(1000);
  await redis.kill();
  await sleep(outageMs);
  await redis.start();
  await waitUntil('readiness after Redis restarted', async () => (await request(`${daemon.url}/readyz`)).status === 200, 30_000);
  await sleep(500);
  polling = false;
  await Promise.all(pollers);
  const metrics = await request(`${daemon.url}/metrics`);
  const outages = /^lookout_redis_outages_total (\S+)$/m.exec(metrics.text)?.[1] ?? '?';
  await daemon.stop();
  const failures = [...new Set(bad)];
  for (const [name, ms] of Object.entries(longest)) if (ms > BOUND_MS) failures.push(`longest ${name} ${Math.round(ms)} ms > ${BOUND_MS} ms`);
  return {
    scenario: 'c. Redis SIGSTOP and SIGKILL',
    figures: { 'outage ms (each)': outageMs, 'longest readyz ms': Math.round(longest.readyz!), 'longest metrics ms': Math.round(longest.metrics!), 'longest samples ms': Math.round(longest.samples!), 'outages counted': outages },
    failures,
  };
}

/** Restart once, let every queued batch be applied, and compare accepted with stored. */
async function reconcile(daemon: Daemon, redis: RedisChild, prefix: string, env: Record<string, string>, ledger: Ledger): Promise<Row> {
  await daemon.start();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.samples, { connection: conn, prefix });
  try {
    await waitUntil(
      'the samples queue to drain',
      async () => Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((n) => n === 0),
      120_000,
    );
    const config = loadConfig(env);
    const series = new SeriesStore(conn, keyspace(prefix), new Calendar(config.timeZone), () => metricCatalogue(), config);
    let acceptedSamples = 0;
    let storedOfAccepted = 0;
    let lost = 0;
    let storedInDoubt = 0;
    for (const [entity, n] of ledger.accepted) {
      const stored = sumDeep(await series.readDaily(entity, ['card_opening']));
      acceptedSamples += n;
      storedOfAccepted += stored;
      if (stored < n) lost += n - stored;
    }
    for (const entity of ledger.inDoubt) storedInDoubt += sumDeep(await series.readDaily(entity, ['card_opening']));
    const failed = await queue.getFailed(0, 100);
    const reasons = [...new Set(failed.map((j) => j.failedReason))].join('; ');
    const failures = lost ? [`${lost} accepted samples not stored`] : [];
    if (failed.length) failures.push(`${failed.length} sample jobs failed: ${reasons}`);
    if (storedOfAccepted > acceptedSamples) failures.push(`${storedOfAccepted - acceptedSamples} samples counted twice`);
    return {
      scenario: 'all: accepted vs stored',
      figures: { batches: ledger.batches, 'accepted samples': acceptedSamples, 'stored of accepted': storedOfAccepted, lost, 'unanswered batches': ledger.inDoubt.size, 'stored of unanswered': storedInDoubt },
      failures,
    };
  } finally {
    await queue.close();
    conn.disconnect();
    await daemon.stop();
  }
}

function sumDeep(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Map) return [...v.values()].reduce((s: number, x) => s + sumDeep(x), 0);
  return 0;
}

function print(rows: readonly Row[]): void {
  for (const r of rows) {
    process.stdout.write(`\n${r.scenario}  ${r.failures.length ? 'FAIL' : 'ok'}\n`);
    for (const [k, v] of Object.entries(r.figures)) process.stdout.write(`  ${k.padEnd(24)} ${v}\n`);
    for (const f of r.failures) process.stdout.write(`  ✗ ${f}\n`);
  }
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-chaos-'));
  const redis = new RedisChild(await freePort(), dir);
  await redis.start();
  const prefix = 'chaos';
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    LOOKOUT_PREFIX: prefix,
    LOOKOUT_HTTP_HOST: '127.0.0.1',
    LOOKOUT_HTTP_PORT: String(await freePort()),
    LOOKOUT_CONFIG_DIR: mkdtempSync(join(dir, 'config-')),
    LOOKOUT_DATA_DIR: mkdtempSync(join(dir, 'data-')),
    LOG_LEVEL: 'warn',
  };
  const daemon = new Daemon(env, `http://127.0.0.1:${env.LOOKOUT_HTTP_PORT}`, join(dir, 'daemon.log'));
  const ledger: Ledger = { accepted: new Map(), inDoubt: new Set(), batches: 0 };
  const rows: Row[] = [];
  const t0 = performance.now();
  try {
    if (!NOTIFY_ONLY) {
      rows.push(await killDuringIngest(daemon, ledger, SHORT ? 4 : 20));
      rows.push(await redisOutage(daemon, redis, ledger, SHORT ? 3000 : 8000));
      rows.push(await reconcile(daemon, redis, prefix, env, ledger));
    }
    const peers = await startPeers();
    let notifier: Daemon | undefined;
    try {
      const org = chaosOrg(ROOT, dir);
      const notifyEnv: Record<string, string> = {
        ...env,
        LOOKOUT_PREFIX: 'chaosn',
        LOOKOUT_CONFIG_DIR: org.configDir,
        LOOKOUT_RULES_DIR: org.rulesDir,
        LOOKOUT_DATA_DIR: mkdtempSync(join(dir, 'data-')),
        // Days in UTC, so a run near local midnight does not move "yesterday" under the dealers.
        LOOKOUT_TZ: 'UTC',
        LOOKOUT_EVAL_DEBOUNCE_MS: '200',
        LOOKOUT_SMS_URL: `${peers.smsc.url}?bind_wait_ms=500`,
        LOOKOUT_SMTP_URL: peers.mail.url,
      };
      notifier = new Daemon(notifyEnv, daemon.url, join(dir, 'daemon.log'));
      rows.push(await killDuringNotify(notifier, peers, SHORT ? 3 : 12, SHORT ? 2 : 3));
      rows.push(await smscDownAndBack(notifier, peers, SHORT ? 3000 : 8000, SHORT ? 3 : 6));
      // (e) uses the dealers just below (d)'s, which take the last ones.
      rows.push(await killInSendWindow(notifier, peers, SHORT ? 1 : 4, MAX_DEALERS - 20));
    } finally {
      await notifier?.kill();
      await peers.smsc.close();
      await peers.mail.close();
    }
  } catch (err) {
    rows.push({ scenario: 'run', figures: {}, failures: [(err as Error).message] });
    await daemon.kill();
  } finally {
    await redis.stop();
  }
  print(rows);
  const failed = rows.some((r) => r.failures.length);
  process.stdout.write(`\n${failed ? 'FAILED' : 'PASSED'} in ${Math.round((performance.now() - t0) / 1000)} s (log: ${join(dir, 'daemon.log')})\n`);
  if (!failed) rmSync(dir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

process.exitCode = await main();
