// npm run bench — samples/s through ingest (queue door) → evaluate → alert state, for N entities,
// against a bare one-job-per-sample BullMQ pipeline measured in the same run on the same Redis.
// Not a test: it prints figures. See bench/README.md.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.js';
import { Calendar, ManualClock } from '../src/domain/clock.js';
import type { Sample } from '../src/domain/sample.js';
import { mulberry32 } from '../src/demo/simulate.js';
import { startLookout } from '../src/main.js';
import { waitIdle } from '../src/roles/idle.js';
import { createLogger } from '../src/observability/logger.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { groupedByEntity } from '../src/ingest/queue-sink.js';
import { readFileSync } from 'node:fs';
import { startRedisCluster, type RedisCluster } from '../test/support/redis-cluster.js';
import { partitionsShared } from '../test/support/partitions.js';
import { commandStats, cpuPerSample, redisCpu, type RedisCpu } from './redis-info.js';
import { childHeap, formatHeap, startHeapSampling, stopHeapSampling } from './heap.js';
import { childCounts, counts, minus, none } from './judgements.js';
import { daySamples, entities, layoutEnv } from './shapes.js';

const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TZ = 'Asia/Shanghai';
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SIZES = (args.get('sizes') ?? '1000,10000,100000').split(',').map(Number);
const TARGET_SAMPLES = Number(args.get('samples') ?? 600_000);
const BARE_SAMPLES = Number(args.get('bare') ?? 40_000);
/** Series layouts to measure (LOOKOUT_SERIES_LAYOUT), each at every size. */
const LAYOUTS = (args.get('layout') ?? 'buckets,compact').split(',');
/** Samples per enqueue call: a day of 100k entities in one call (one MULTI) could outlast the queue door's 2 s bound on a loaded machine. */
const ENQUEUE_SLICE = 20_000;
/** Extra worker processes beside the in-process one (2 cores: producer+worker here, a worker there). */
const EXTRA_WORKERS = Number(args.get('workers') ?? 1);
/**
 * What-if, not a production shape: every day of a size is made first and enqueued entity by entity
 * (each entity's days together), so a job applies several days of each series in one call — the
 * ceiling of a queue that applies a shard's waiting days together (bench/README.md "Days together").
 */
const DAYS_TOGETHER = args.has('days-together');
/**
 * Workers (re)started on a backlog: every day is queued first, with no worker running, then the
 * worker processes start and the clock runs from there (a restart after an outage, or workers added
 * to a backfill). Where a deep hold is fetched while the workers are busy.
 */
const BACKLOG = args.has('backlog');
/** Also run the compact layout on a real 3-master Redis Cluster (`--cluster`, or `--cluster=1000,10000`: its sizes). */
const CLUSTER_SIZES = args.has('cluster') ? (args.get('cluster') ? args.get('cluster')!.split(',').map(Number) : SIZES) : [];

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function processCpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Where a run's Redis is: one server, or the masters of a cluster (CPU summed, keys per master). */
interface Target {
  readonly url: string;
  readonly nodes: readonly string[];
}

async function benchLookout(target: Target, n: number, layout: string): Promise<{ n: number; samples: number; seconds: number; perSec: number; alerts: number; judged: number; stalled: number; rounds: string; shape: string; cpu: RedisCpu; nodeCpu: number; keyShare: number[]; cpuShare: number[]; controlNode: number }> {
  const redisUrl = target.url;
  const cal = new Calendar(TZ);
  const today = cal.dayOf(NOW);
  // Daily exports when N is large enough to reach the target; hourly feeds for small N.
  const days = Math.max(2, Math.min(34, Math.ceil(TARGET_SAMPLES / n)));
  const perDay = n * days >= TARGET_SAMPLES ? 1 : Math.min(24, Math.ceil(TARGET_SAMPLES / (n * days)));
  const cfgDir = mkdtempSync(join(tmpdir(), 'lookout-bench-'));
  // --batch, --concurrency and --hold hold for every worker process, the extra ones too.
  const tuning = {
    ...(args.get('batch') ? { LOOKOUT_BATCH_SIZE: args.get('batch')! } : {}),
    ...(args.get('concurrency') ? { LOOKOUT_WORKER_CONCURRENCY: args.get('concurrency')! } : {}),
    ...(args.get('hold') ? { LOOKOUT_WORKER_HOLD: args.get('hold')! } : {}),
    ...(args.get('debounce') ? { LOOKOUT_EVAL_DEBOUNCE_MS: args.get('debounce')! } : {}),
  };
  const config = loadConfig({
    REDIS_URL: redisUrl,
    LOOKOUT_PREFIX: `bench${n}`,
    LOOKOUT_CONFIG_DIR: cfgDir,
    LOOKOUT_HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    LOOKOUT_TZ: TZ,
    ...layoutEnv(layout),
    ...tuning,
  });
  const open = (roles: 'worker'[]) => startLookout({ config, roles, logger: createLogger({ level: 'silent' }), clock: new ManualClock(NOW), noNotifier: true });
  const forkWorkers = () =>
    Promise.all(
      Array.from({ length: EXTRA_WORKERS }, () => {
        const child = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), [redisUrl, `bench${n}`, String(NOW), layout, JSON.stringify(tuning)]);
        return new Promise<ChildProcess>((resolve) => child.once('message', () => resolve(child)));
      }),
    );
  // The door queues the samples; the in-process worker is the same Lookout, or (--backlog) one
  // started once everything is queued.
  const door = await open(BACKLOG ? [] : ['worker']);
  const ents = entities(n);
  await door.registry.putMany(ents);
  const r = mulberry32(n);
  // Produce day by day, like the daily exports arrive; build each day just before sending it
  // (--days-together: all days first, each entity's together).
  const produce = async (): Promise<number> => {
    let total = 0;
    if (DAYS_TOGETHER) {
      const all: Sample[] = [];
      for (let d = today - days; d < today; d++) all.push(...daySamples(ents, d, cal, r, perDay));
      const samples = groupedByEntity(all);
      total = samples.length;
      for (let i = 0; i < samples.length; i += ENQUEUE_SLICE) await door.sink.enqueue(samples.slice(i, i + ENQUEUE_SLICE), 'bench');
    } else {
      for (let d = today - days; d < today; d++) {
        const samples = daySamples(ents, d, cal, r, perDay);
        total += samples.length;
        for (let i = 0; i < samples.length; i += ENQUEUE_SLICE) await door.sink.enqueue(samples.slice(i, i + ENQUEUE_SLICE), 'bench');
      }
    }
    return total;
  };
  const infos = target.nodes.map((u) => new Redis(u));
  const sum = (xs: RedisCpu[]) => xs.reduce((a, b) => ({ total: a.total + b.total, main: a.main + b.main, children: a.children + b.children }));
  // The stopwatch and the CPU counters start here: on a backlog before its workers open (their
  // start, fetching and sharing of the partitions is the restart's work), otherwise once they share
  // the partitions and have judged the entities just registered (below).
  let started = 0;
  let windowStart = 0n;
  let perNodeBefore: RedisCpu[] = [];
  let nodeCpuBefore = 0;
  let children: ChildProcess[] = [];
  const nodeCpuOf = () => processCpu(process.pid) + children.reduce((a, c) => a + processCpu(c.pid!), 0);
  // --heap: what each worker process allocates while the stopwatch runs, by function (bench/heap.ts).
  const HEAP = args.has('heap');
  const startClock = async (): Promise<void> => {
    if (args.has('stats')) await Promise.all(infos.map((r) => r.config('RESETSTAT')));
    if (HEAP) await Promise.all([startHeapSampling(), ...children.map((c) => childHeap(c, 'heap-start'))]);
    perNodeBefore = await Promise.all(infos.map(redisCpu));
    nodeCpuBefore = nodeCpuOf();
    started = performance.now();
    windowStart = process.hrtime.bigint() / 1000n;
  };
  let total = 0;
  if (BACKLOG) {
    total = await produce();
    await startClock();
  }
  const lookout = BACKLOG ? await open(['worker']) : door;
  children = await forkWorkers();
  // Measured as in a deployment whose workers run before a backfill comes: a process that has just
  // joined gets its share of the backfill partitions within a tick or two, and until then the first
  // one serves (and holds jobs of) all.
  if (!(await partitionsShared(lookout.redis, lookout.keys, config.backfillPartitions, 1 + children.length))) {
    console.log(`  (the ${1 + children.length} worker processes did not share the backfill partitions within 20 s: measured as they were)`);
  }
  // And once the registered entities are judged (with no data yet: nothing fires), as they are
  // long before a deployment's first export; on a backlog that judgement joins the backfill's.
  if (!BACKLOG) await waitIdle(lookout, 120_000);
  // A process opened on a backlog counted nothing before the clock started.
  const before = BACKLOG ? [lookout, ...children].map(() => none) : [await counts(lookout), ...(await Promise.all(children.map(childCounts)))];
  if (!BACKLOG) {
    await startClock();
    total = await produce();
  }
  await waitIdle(lookout, 600_000);
  const seconds = (performance.now() - started) / 1000;
  // --window=FILE: the stopwatch's window on the monotonic clock, in µs, the time base of a
  // `node --cpu-prof` profile, so a profile of each process can be cut to it (bench/README.md).
  if (args.get('window')) writeFileSync(args.get('window')!, JSON.stringify({ start: Number(windowStart), end: Number(process.hrtime.bigint() / 1000n) }));
  const perNodeAfter = await Promise.all(infos.map(redisCpu));
  if (args.has('stats')) console.log(await commandStats(infos, total));
  if (HEAP) console.log(formatHeap(await Promise.all([stopHeapSampling(), ...children.map((c) => childHeap(c, 'heap-stop'))]), total));
  const cpu = cpuPerSample(sum(perNodeBefore), sum(perNodeAfter), total);
  // The share of the Redis CPU each node spent (on a cluster: is the control plane's master the hot one?).
  const spent = perNodeAfter.map((a, i) => a.total - perNodeBefore[i]!.total);
  const cpuShare = spent.map((x) => x / spent.reduce((a, b) => a + b, 0));
  const controlNode = target.nodes.length > 1 ? await masterOf(infos[0]!, target.nodes, `{bench${n}}`) : 0;
  const nodeCpu = ((nodeCpuOf() - nodeCpuBefore) * 1e6) / total;
  const sizes = await Promise.all(infos.map((r) => r.dbsize()));
  const keyShare = sizes.map((k) => k / sizes.reduce((a, b) => a + b, 0));
  const all = (await lookout.alerts.list({})).filter((a) => a.state !== 'resolved');
  const alerts = all.length;
  // What each process counted while the clock ran.
  const tallies = [await counts(lookout), ...(await Promise.all(children.map(childCounts)))].map((t, i) => minus(t, before[i]!));
  const judged = tallies.reduce((a, c) => a + c.evaluations, 0) / n;
  const stalled = tallies.reduce((a, c) => a + c.stalled, 0);
  // Each process's rounds by lane: how deep its group commits were, and how the backlog was split.
  const rounds = (['backfill', 'live'] as const)
    .map((lane) => `${lane} ${tallies.map((t) => `${t.rounds[lane]?.rounds ?? 0} (${t.rounds[lane]?.jobs ?? 0} jobs)`).join(' / ')}`)
    .join('; ')
    .concat(`; conflicts ${tallies.map((t) => t.conflicts).join(' / ')}`);
  // The payload the door queued (v: 2 once it saw every worker read columns; docs/ingest.md "How a batch is queued").
  const payload = ((await lookout.queues.samples.getJobs(['completed'], 0, 0))[0] ?? (await lookout.queues.backfill.getJobs(['completed'], 0, 0))[0])?.data.v;
  await Promise.all(children.map((c) => new Promise((resolve) => { c.once('exit', resolve); c.send('stop'); })));
  if (process.env.BENCH_DEBUG) {
    const by = new Map<string, number>();
    for (const a of all) by.set(`${a.rule}/${a.severity}/${a.state}`, (by.get(`${a.rule}/${a.severity}/${a.state}`) ?? 0) + 1);
    console.log(by, all[0]);
  }
  await lookout.stop();
  if (door !== lookout) await door.stop();
  await Promise.all(infos.map((r) => r.flushall()));
  for (const r of infos) r.disconnect();
  rmSync(cfgDir, { recursive: true, force: true });
  return {
    n,
    samples: total,
    seconds,
    perSec: total / seconds,
    alerts,
    judged,
    stalled,
    rounds: `${rounds}; jobs queued as v: ${payload ?? '?'}`,
    shape: `${perDay === 1 ? `${days} days × daily` : `${days} days × ${perDay} hourly`}${DAYS_TOGETHER ? ', days together' : ''}${BACKLOG ? ', on a backlog' : ''}`,
    cpu,
    nodeCpu,
    keyShare,
    cpuShare,
    controlNode,
  };
}

/** Which of `nodes` (by port) serves the slot of `key` on a cluster (CLUSTER KEYSLOT / SLOTS). */
async function masterOf(redis: Redis, nodes: readonly string[], key: string): Promise<number> {
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
  return nodes.findIndex((u) => Number(new URL(u).port) === port);
}

/** The ceiling we compare against: one BullMQ job per sample, the worker adding it to a hash. */
async function benchBare(redisUrl: string, count: number): Promise<{ samples: number; seconds: number; perSec: number; cpu: RedisCpu }> {
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
  const cpuBefore = await redisCpu(store);
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
  const cpu = cpuPerSample(cpuBefore, await redisCpu(store), count);
  await worker.close();
  await queue.close();
  await store.flushall();
  store.disconnect();
  conn.disconnect();
  workerConn.disconnect();
  return { samples: count, seconds, perSec: count / seconds, cpu };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-redis-'));
  const redis = args.get('redis') ? { url: args.get('redis')!, stop: async () => undefined } : await startEmbeddedRedis(dir);
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const us = (x: number) => x.toFixed(1);
  let cluster: RedisCluster | undefined;
  try {
    console.log(`lookout bench — node ${process.version}, redis ${redis.url}, ${1 + EXTRA_WORKERS} worker process(es), ${new Date().toISOString()}`);
    const bare = await benchBare(redis.url, BARE_SAMPLES);
    console.log(
      `bare BullMQ, one job per sample: ${fmt(bare.samples)} samples in ${bare.seconds.toFixed(2)} s = ${fmt(bare.perSec)} samples/s, Redis CPU ${us(bare.cpu.total)} µs/sample (main thread ${us(bare.cpu.main)})`,
    );
    console.log('');
    console.log('layout         entities   samples     seconds   samples/s   × bare     open  judged  stalled  Redis CPU µs/sample (main thread)  Node CPU µs/sample  shape');
    const row = (layout: string, n: number, res: Awaited<ReturnType<typeof benchLookout>>) =>
      console.log(
        `${layout.padEnd(13)}  ${String(n).padStart(8)}  ${String(res.samples).padStart(8)}  ${res.seconds.toFixed(2).padStart(9)}  ${fmt(res.perSec).padStart(10)}  ${(res.perSec / bare.perSec).toFixed(1).padStart(6)}×  ${String(res.alerts).padStart(6)}  ${res.judged.toFixed(1).padStart(6)}  ${String(res.stalled).padStart(7)}  ${`${us(res.cpu.total)} (${us(res.cpu.main)})`.padEnd(33)}  ${us(res.nodeCpu).padStart(17)}  ${res.shape}\n${''.padEnd(15)}rounds per worker process${BACKLOG ? '' : ' (the first one also produces)'}: ${res.rounds}\n${''.padEnd(15)}Redis's forked children (AOF rewrites): ${us(res.cpu.children)} µs/sample`,
      );
    for (const layout of LAYOUTS) for (const n of SIZES) row(layout, n, await benchLookout({ url: redis.url, nodes: [redis.url] }, n, layout));
    if (CLUSTER_SIZES.length) {
      console.log('');
      console.log('compact on a real 3-master Redis Cluster (same machine: the masters share its 2 cores with Lookout); Redis CPU summed over the masters');
      cluster = await startRedisCluster();
      const target = { url: cluster.nodes[0]!.url, nodes: cluster.nodes.map((c) => c.url) };
      for (const n of CLUSTER_SIZES) {
        const res = await benchLookout(target, n, 'compact');
        row('cluster', n, res);
        console.log(`         keys per master: ${res.keyShare.map((x) => `${(x * 100).toFixed(0)} %`).join(' / ')}; Redis CPU per master: ${res.cpuShare.map((x) => `${(x * 100).toFixed(0)} %`).join(' / ')}, the control plane's master ${res.controlNode + 1}`);
      }
    }
  } finally {
    await cluster?.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
// Anything still open (a reconnecting client) must not keep a finished benchmark alive.
process.exit(0);
