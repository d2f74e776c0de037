// Applying the compact layout in the worker (LOOKOUT_APPLY_IN=worker, the default): the same
// stored bytes as the apply script inside Redis (LOOKOUT_APPLY_IN=redis), and workers racing on
// the same series lose nothing and count nothing twice: leased workers take turns on a shard
// (CompactSeries.leaseWindow), and a writer without a lease is kept apart by the fenced write
// (compact-writes.ts).
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Calendar, MS_PER_HOUR } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { Sample } from '../../src/domain/sample.js';
import { mulberry32 } from '../../src/demo/simulate.js';
import { keyspace } from '../../src/state/keys.js';
import { SeriesStore, type ApplyResult } from '../../src/state/series-store.js';
import { ApplyRounds, type RoundObserver } from '../../src/ingest/apply-rounds.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { CompactKeys } from '../../src/state/compact-format.js';
import { DEFAULT_SHARDS } from '../../src/state/shard.js';
import { CompactSeries } from '../../src/state/compact-series.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const cal = new Calendar('Asia/Shanghai');
const NOW = Date.parse('2026-11-22T09:00:00+08:00');
const TODAY = cal.dayOf(NOW);
const at = (day: number, hour: number) => cal.startOfDay(day) + hour * MS_PER_HOUR + 60_000;

const conns: Redis[] = [];
const prefixes: string[] = [];
let admin: Redis;
beforeEach(() => {
  admin = connect();
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await dropPrefix(admin, p);
  for (const c of conns.splice(0)) c.disconnect();
  admin.disconnect();
});

/** A compact store under `prefix` on its own connection (a worker process of its own). */
function store(prefix: string, applyIn: 'worker' | 'redis'): SeriesStore {
  const redis = connect();
  conns.push(redis);
  return new SeriesStore(redis, keyspace(prefix), cal, () => metricCatalogue(), { retentionDays: 35, hourlyRetentionDays: 28, seriesLayout: 'compact', applyIn });
}

function fresh(): string {
  const p = freshPrefix('cwa');
  prefixes.push(p);
  return p;
}

/** Every key under a prefix, its bytes and whether it expires, by name without the prefix. */
async function dump(prefix: string): Promise<Map<string, [string, boolean]>> {
  const out = new Map<string, [string, boolean]>();
  for (const key of await admin.keys(`${prefix}*`)) {
    const type = await admin.type(key);
    // The series, id indexes and markers (strings) and the feed counters (hashes); not the dirty set,
    // whose scores are times.
    if (type !== 'string' && type !== 'hash') continue;
    const value = type === 'string' ? (await admin.getBuffer(key))!.toString('hex') : JSON.stringify(await admin.hgetall(key));
    out.set(key.slice(prefix.length).replaceAll(prefix, 'P'), [value, (await admin.ttl(key)) > 0]);
  }
  return out;
}

/** Jobs of daily and hourly samples with ids, re-sends and corrections, over a few entities. */
function jobs(seed: number, count: number, entities: readonly string[], idsOfTheirOwn = false): Sample[][] {
  const rnd = mulberry32(seed);
  const metrics = ['card_opening', 'air_recharge'];
  const out: Sample[][] = [];
  for (let j = 0; j < count; j++) {
    const job: Sample[] = [];
    for (let k = 0; k < 150; k++) {
      const entity = entities[Math.floor(rnd() * entities.length)]!;
      const metric = metrics[Math.floor(rnd() * metrics.length)]!;
      const day = TODAY - 1 - Math.floor(rnd() * 10);
      const hour = Math.floor(rnd() * 24);
      const id = rnd() < 0.8 ? (idsOfTheirOwn ? `${j}/${k}` : `${entity}/${metric}/${day}/${Math.floor(rnd() * 6)}`) : undefined;
      job.push({ entity, metric, value: Math.floor(rnd() * 50), ts: at(day, hour), ...(id ? { id } : {}) });
    }
    out.push(job);
  }
  return out;
}

describe('compact layout applied in the worker', () => {
  it('stores the same bytes as the apply script inside Redis, job by job', async () => {
    const entities = ['D1', 'D2', 'G1', 'G2', 'G3', 'G4'];
    const [a, b] = [fresh(), fresh()];
    const inWorker = store(a, 'worker');
    const inRedis = store(b, 'redis');
    for (const [j, job] of jobs(5, 40, entities).entries()) {
      const x = await inWorker.apply(`j${j}`, job, NOW + j * 8 * 3_600_000);
      const y = await inRedis.apply(`j${j}`, job, NOW + j * 8 * 3_600_000);
      expect(x.rejected).toEqual(y.rejected);
      expect([x.chunks, x.skippedChunks]).toEqual([y.chunks, y.skippedChunks]);
    }
    const [da, db] = [await dump(a), await dump(b)];
    expect(da.size).toBeGreaterThan(10);
    expect(da).toEqual(db);
  });

  it('a job of many windows (its calls computed a window at a time) stores what the script stores, corrections in later chunks winning', async () => {
    // 5,000 entities, each sent twice under one id: the export, then (in a later chunk, so in a later
    // call and mostly a later window) its correction. 10,000 samples: 4 chunks × 64 shards, ~20,000 keys.
    const n = 5000;
    const day = TODAY - 1;
    const job: Sample[] = [];
    for (const pass of [0, 1]) {
      for (let e = 0; e < n; e++) job.push({ entity: `G${e}`, metric: 'air_recharge', value: pass === 0 ? 10 : 10 + (e % 7) + 1, ts: at(day, 12), id: `G${e}/${day}` });
    }
    const [a, b] = [fresh(), fresh()];
    const x = await store(a, 'worker').apply('big', job, NOW);
    const y = await store(b, 'redis').apply('big', job, NOW);
    expect([x.chunks, x.skippedChunks, x.rejected]).toEqual([4, 0, []]);
    expect([y.chunks, y.skippedChunks, y.rejected]).toEqual([4, 0, []]);
    const [da, db] = [await dump(a), await dump(b)];
    expect(da.size).toBeGreaterThan(2 * n);
    expect(da).toEqual(db);
    const w = store(a, 'worker');
    for (const e of [0, 1, 4999]) {
      const daily = await w.readDailyRange(`G${e}`, ['air_recharge'], { fromDay: day, toDay: day });
      expect(daily.get('air_recharge')?.get(day)).toBe(10 + (e % 7) + 1);
    }
  });

  // One job at a time, and rounds of six jobs applied together (group commit: applyJobs).
  it.each([1, 6])('two workers applying jobs (%i at a time) on the same series at once take turns on each shard, and lose nothing and count nothing twice', async (per) => {
    const entities = ['D1', 'G1', 'G2'];
    // Ids of each job's own, so the stored sums do not depend on the order jobs are applied in.
    const all = jobs(9, 24, entities, true);
    const expected = await sequentially(all, entities);
    // Two stores (two connections, as two worker processes), each applying every job, one from the
    // first job on and the other from the last, at once: they meet on the same series. Each window
    // leases its shards first, so they take turns: no fenced write finds a key changed.
    const a = fresh();
    const [w1, w2] = [store(a, 'worker'), store(a, 'worker')];
    await Promise.all([race(w1, all, per, false), race(w2, all, per, true)]);
    expect(await reads(w1, entities, RACED)).toEqual(expected);
    expect([w1.applyConflicts, w2.applyConflicts]).toEqual([0, 0]);
    // Their leases are released: nothing of them is left.
    expect(await admin.keys(`${a}*applying*`)).toEqual([]);
  });

  it.each([1, 6])('a worker racing the apply script inside Redis (%i jobs at a time) loses its fenced write, computes again, and loses nothing and counts nothing twice', async (per) => {
    // The lease is the fence. The apply script inside Redis (LOOKOUT_APPLY_IN=redis, or a worker's
    // last resort) holds no lease: it deletes the shard's lease in the transaction that writes, so a
    // worker that read the shard before it is refused and computes again.
    const entities = ['D1', 'G1', 'G2'];
    const all = jobs(9, 24, entities, true);
    const expected = await sequentially(all, entities);
    // Whether the script lands between the worker's read and write is timing (a loaded machine can run
    // them one after the other): they race again, on fresh keys, until they have met, and every race
    // must store what the jobs one by one store.
    let raced: SeriesStore | undefined;
    for (let attempt = 0; attempt < 8 && !raced; attempt++) {
      const a = fresh();
      const [worker, script] = [store(a, 'worker'), store(a, 'redis')];
      await Promise.all([race(worker, all, per, false), race(script, all, 1, true)]);
      expect(await reads(worker, entities, RACED)).toEqual(expected);
      if (worker.applyConflicts > 0) raced = worker;
    }
    expect(raced, 'the worker never lost its fenced write in 8 races').toBeDefined();
    const worker = raced!;
    // Each worker process exports its own count (lookout_apply_conflicts_total), read at scrape time.
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.countApplyConflicts(() => worker.applyConflicts);
    const scraped = async () => Number(/^lookout_apply_conflicts_total (\d+)$/m.exec(await metrics.scrape())?.[1]);
    expect(await scraped()).toBe(worker.applyConflicts);
    expect(await scraped()).toBe(worker.applyConflicts); // a second scrape adds nothing
  });

  it('a shard leased by another worker waits for its lease: applied once it is free, as if alone', async () => {
    const entities = ['D1', 'G1', 'G2'];
    const all = jobs(9, 4, entities, true);
    const expected = await sequentially(all, entities);
    const a = fresh();
    const w = store(a, 'worker');
    // Another worker holds the shard of every entity for 400 ms (its lease lapses then).
    const shards = new Set(entities.map((e) => new CompactKeys(keyspace(a).seriesPrefix, DEFAULT_SHARDS).shard(e)));
    for (const s of shards) await admin.set(new CompactKeys(keyspace(a).seriesPrefix, DEFAULT_SHARDS).applying(s), 'another', 'PX', 400);
    const started = performance.now();
    await race(w, all, 2, false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(await reads(w, entities, RACED)).toEqual(expected);
    expect(w.applyConflicts).toBe(0);
  });
});

/** The metrics of the racing jobs (jobs()). */
const RACED = ['card_opening', 'air_recharge'];

/** What the jobs store applied one after the other by the script inside Redis. */
async function sequentially(all: readonly Sample[][], entities: readonly string[]): Promise<string> {
  const sequential = store(fresh(), 'redis');
  for (const [j, job] of all.entries()) await sequential.apply(`j${j}`, job, NOW);
  const expected = await reads(sequential, entities, RACED);
  expect(JSON.stringify(expected)).toContain('card_opening');
  return expected;
}

/** Every job applied by `w`, `per` at a time (applyJobs), from the first job on or (reversed) from the last. */
async function race(w: SeriesStore, all: readonly Sample[][], per: number, reversed: boolean): Promise<void> {
  const order = reversed ? [...all.keys()].reverse() : [...all.keys()];
  for (let k = 0; k < order.length; k += per) {
    const round = order.slice(k, k + per).map((j) => ({ jobId: `j${j}`, samples: all[j]! }));
    const results = per === 1 ? [await w.apply(round[0]!.jobId, round[0]!.samples, NOW)] : await w.applyJobs(round, NOW);
    // The other worker may have applied the chunk first: then this one skips it.
    for (const res of results) expect(res.chunks + res.skippedChunks).toBe(1);
  }
}

/** Every daily and hourly value of these entities' metrics, as readers see them. */
async function reads(s: SeriesStore, entities: readonly string[], metrics: readonly string[]): Promise<string> {
  const out: unknown[] = [];
  for (const e of entities) {
    const daily = await s.readDailyRange(e, metrics, { fromDay: TODAY - 12, toDay: TODAY });
    out.push([e, [...daily].map(([m, d]) => [m, [...d].sort((x, y) => x[0] - y[0])])]);
    for (const m of metrics) out.push([e, m, [...(await s.readHourRange(e, m, (TODAY - 12) * 24, TODAY * 24 + 23))].sort((x, y) => x[0] - y[0])]);
  }
  return JSON.stringify(out);
}

/** What a job's apply reported, without the entity map. */
const reported = (r: ApplyResult) => [r.chunks, r.skippedChunks, r.rejected];

/** A gather's test bed: a worker-applied store, seeded jobs of `entities`, and the rounds observed ('lane:jobs'). */
function gathering(seed: number, entities: readonly string[]): { s: SeriesStore; all: Sample[][]; rounds: string[]; observe: RoundObserver } {
  const rounds: string[] = [];
  return { s: store(fresh(), 'worker'), all: jobs(seed, 12, entities, true), rounds, observe: (n, _samples, lane) => rounds.push(`${lane}:${n}`) };
}

describe('jobs applied together (group commit: a worker applies the jobs it holds in one round)', () => {
  // Complaint categories are siblings: an id re-sent under another category moves there.
  const metrics = ['card_opening', 'air_recharge', 'complaints.billing', 'complaints.tariff'];
  function roundJobs(seed: number, count: number, entities: readonly string[]): Sample[][] {
    const rnd = mulberry32(seed);
    return jobs(seed, count, entities).map((job, j) =>
      job.map((s, k) => {
        if (k % 9 === 0) return { ...s, metric: rnd() < 0.5 ? 'complaints.billing' : 'complaints.tariff', id: `c/${s.entity}/${Math.floor(rnd() * 40)}` };
        // Now and then a value beyond a cell's range: refused with its job's own index.
        if (k === 17 && j % 5 === 0) return { ...s, value: 3e9 };
        return s;
      }),
    );
  }

  const entities = ['D1', 'D2', 'G1', 'G2', 'G3', 'G4', 'G5'];

  /** The jobs applied one by one on a store of their own: what each job reported, and the stored series. */
  async function oneByOne(all: readonly Sample[][]): Promise<{ a: string; expected: unknown[]; want: string }> {
    const a = fresh();
    const s = store(a, 'worker');
    const expected: unknown[] = [];
    for (const [j, job] of all.entries()) expected.push(reported(await s.apply(`j${j}`, job, NOW)));
    expect(JSON.stringify(expected)).toContain('value_out_of_range');
    const want = await reads(s, entities, metrics);
    expect(want).toContain('complaints.tariff');
    return { a, expected, want };
  }

  it('store what the same jobs store applied one by one, each job answered with its own chunks and rejects', async () => {
    const all = roundJobs(21, 30, entities);
    const { a, expected, want } = await oneByOne(all);
    const b = fresh();
    const together = store(b, 'worker');
    const got: unknown[] = [];
    for (let from = 0; from < all.length; from += 10) {
      const round = all.slice(from, from + 10).map((samples, k) => ({ jobId: `j${from + k}`, samples }));
      for (const r of await together.applyJobs(round, NOW)) got.push(reported(r));
    }
    expect(got).toEqual(expected);
    expect(await reads(together, entities, metrics)).toEqual(want);
    // The same keys: each (job chunk, shard) marker with the same rejects, the feed counters equal.
    const [da, db] = [await dump(a), await dump(b)];
    const markersAndFeeds = (d: Map<string, [string, boolean]>) => [...d].filter(([k]) => k.includes(':chunk:') || k.includes('feed')).sort();
    expect(markersAndFeeds(db)).toEqual(markersAndFeeds(da));
    expect([...db.keys()].sort()).toEqual([...da.keys()].sort());
  });

  it('a round drafted as its jobs came (its shards built, then some built again for jobs that came later) stores what the jobs one by one store', async () => {
    const all = roundJobs(23, 10, entities);
    const { a, expected, want } = await oneByOne(all);
    const b = fresh();
    const drafted = store(b, 'worker');
    const round = all.map((samples, j) => ({ jobId: `j${j}`, samples }));
    const draft = drafted.draft()!;
    for (const job of round.slice(0, 6)) draft.add(job, NOW);
    draft.work(Infinity);
    expect([draft.grouped, draft.unbuilt]).toEqual([true, false]);
    // Four more jobs: their shards are built again; half the draft's work is left to the round.
    for (const job of round.slice(6)) draft.add(job, NOW);
    expect(draft.grouped).toBe(false);
    draft.work(0);
    const body = vi.spyOn(CompactSeries.prototype, 'body');
    const got = (await drafted.applyJobs(round, NOW, undefined, 0, draft)).map(reported);
    expect(body.mock.calls.length).toBeGreaterThan(0);
    body.mockRestore();
    expect(got).toEqual(expected);
    expect(await reads(drafted, entities, metrics)).toEqual(want);
    const [da, db] = [await dump(a), await dump(b)];
    expect([...db].sort()).toEqual([...da].sort());
    // The same entities marked to be judged.
    const marked = async (p: string) => (await admin.zrange(keyspace(p).dirty, 0, -1)).sort();
    expect(await marked(b)).toEqual(await marked(a));
  });

  it('a round drafted on an earlier day marks what is live on its own day', async () => {
    const prefix = fresh();
    const s = store(prefix, 'worker');
    const x = (entity: string, day: number) => ({ metric: 'card_opening', entity, value: 5, ts: at(day, 10), id: `${entity}/${day}` });
    // Drafted two days back, X's sample of TODAY - 2 was live (yesterday then); in the round it is not.
    const round = [
      { jobId: 'e0', samples: [x('X', TODAY - 2)] },
      { jobId: 'e1', samples: [x('Y', TODAY - 1)] },
    ];
    const draft = s.draft()!;
    for (const job of round) draft.add(job, NOW - 2 * 86_400_000);
    draft.work(Infinity);
    await s.applyJobs(round, NOW, undefined, 0, draft);
    const scores = new Map((await admin.zrange(keyspace(prefix).dirty, 0, -1, 'WITHSCORES')).flatMap((v, i, all) => (i % 2 === 0 ? [[v, Number(all[i + 1])] as const] : [])));
    // Y: a live mark, due a minute back; X: a backfill mark.
    expect(scores.get('X')!).toBeGreaterThan(scores.get('Y')! + 30_000);
  });

  it('a round drafted whole builds nothing more; a draft of other jobs is not used', async () => {
    const entities = ['D1', 'G1', 'G2'];
    const all = roundJobs(29, 4, entities);
    const s = store(fresh(), 'worker');
    const round = all.map((samples, j) => ({ jobId: `j${j}`, samples }));
    const body = vi.spyOn(CompactSeries.prototype, 'body');
    const whole = s.draft()!;
    for (const job of round) whole.add(job, NOW);
    whole.work(Infinity);
    const built = body.mock.calls.length;
    expect(built).toBeGreaterThan(0);
    await s.applyJobs(round, NOW, undefined, 0, whole);
    expect(body.mock.calls.length).toBe(built);
    // A draft of the first three jobs only: the round of four groups and builds its own.
    const again = round.map((j) => ({ ...j, jobId: `${j.jobId}b` }));
    const partial = s.draft()!;
    for (const job of again.slice(0, 3)) partial.add(job, NOW);
    partial.work(Infinity);
    const before = body.mock.calls.length;
    await s.applyJobs(again, NOW, undefined, 0, partial);
    expect(body.mock.calls.length - before).toBe(built);
    body.mockRestore();
  });

  it("reads a window's keys only after its shard's lease is taken, on the same connection (the read goes along with the lease)", async () => {
    const p = fresh();
    const w = store(p, 'worker');
    // Every command the worker's connection sends, in the order it writes them (a pipeline's too).
    const conn = conns[conns.length - 1]!;
    const seen: string[][] = [];
    const send = conn.sendCommand.bind(conn);
    vi.spyOn(conn, 'sendCommand').mockImplementation((command, ...rest) => {
      seen.push([command.name, ...command.args.map((a) => String(a))]);
      return send(command, ...rest);
    });
    const round = roundJobs(5, 6, ['D1', 'G1', 'G2', 'G3']).map((samples, k) => ({ jobId: `j${k}`, samples }));
    await w.applyJobs(round, NOW);
    const tagOf = (key: string) => /\{s\d+\}/.exec(key)?.[0];
    const reads = seen.filter((args) => args[0]!.toLowerCase() === 'mget' && args.slice(1).some((k) => k.includes(':s:')));
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      const tag = tagOf(read.find((k) => k.includes(':s:'))!);
      const leased = seen.findIndex((args) => args[0]!.toLowerCase() === 'set' && args[1] === `${p}:${tag}:applying` && args.includes('NX'));
      expect(leased, `the lease of ${tag} before its read`).toBeGreaterThanOrEqual(0);
      expect(leased).toBeLessThan(seen.indexOf(read));
    }
  });

  it('a job applied before is skipped in a round, the others applied; a round applied again applies nothing', async () => {
    const entities = ['D1', 'G1', 'G2'];
    const all = roundJobs(33, 4, entities);
    const [a, b] = [fresh(), fresh()];
    const w = store(a, 'worker');
    // (Ids are shared across jobs: the later one sent wins, so the reference applies j1 first too.)
    const first = await w.apply('j1', all[1]!, NOW);
    expect([first.chunks, first.skippedChunks]).toEqual([1, 0]);
    const round = all.map((samples, j) => ({ jobId: `j${j}`, samples }));
    const res = await w.applyJobs(round, NOW);
    expect(res.map((r) => [r.chunks, r.skippedChunks])).toEqual([[1, 0], [0, 1], [1, 0], [1, 0]]);
    // The skipped job reports no rejects again (they were reported when it was applied).
    expect(res[1]!.rejected).toEqual([]);
    const again = await w.applyJobs(round, NOW);
    expect(again.map((r) => [r.chunks, r.skippedChunks])).toEqual([[0, 1], [0, 1], [0, 1], [0, 1]]);
    const sequential = store(b, 'worker');
    for (const j of [1, 0, 2, 3]) await sequential.apply(`j${j}`, all[j]!, NOW);
    expect(await reads(w, entities, metrics)).toEqual(await reads(sequential, entities, metrics));
  });

  it('ApplyRounds: a job alone when idle, the jobs that came meanwhile together next, a job id once a round, a failed round fails its jobs', async () => {
    const s = store(fresh(), 'worker');
    const rounds: number[] = [];
    const r = new ApplyRounds(s, { observe: (jobs) => rounds.push(jobs) });
    const all = jobs(44, 7, ['D1', 'G1', 'G2', 'G3'], true);
    const firstDone = r.apply('j0', all[0]!, NOW);
    // These come while j0 is being applied: one round of five (j3 twice: its second copy waits).
    const next = [1, 2, 3, 4, 3].map((j) => r.apply(`j${j}`, all[j]!, NOW));
    const res = await Promise.all([firstDone, ...next]);
    expect(rounds).toEqual([1, 4, 1]);
    expect(res.map((x) => x.chunks)).toEqual([1, 1, 1, 1, 1, 0]);
    // A round that fails fails each of its jobs (their queue retries them); the next round is not held up.
    const spy = vi.spyOn(s, 'applyJobs').mockRejectedValueOnce(new Error('Redis went away'));
    const failing = r.apply('j5', all[5]!, NOW);
    const later = r.apply('j6', all[6]!, NOW);
    await expect(failing).rejects.toThrow('Redis went away');
    expect((await later).chunks).toBe(1);
    spy.mockRestore();
    expect((await r.apply('j5', all[5]!, NOW)).chunks).toBe(1);
  });

  it("a round marks each entity once, as its jobs one by one would: live when a job it was live in touched what its rules read, else backfill when any did", async () => {
    const prefix = fresh();
    const s = store(prefix, 'worker');
    // The rules read card_opening only.
    const asked: string[] = [];
    const needsEvaluation = (e: string, metrics: ReadonlySet<string>): boolean => {
      asked.push(e);
      return metrics.has('card_opening');
    };
    const x = (entity: string, metric: string, day: number) => ({ metric, entity, value: 5, ts: at(day, 10), id: `${entity}/${metric}/${day}` });
    const jobsOfRound = [
      // A: live in job 0, but only in what its rules do not read; its read metric comes in job 1, a backfill.
      // B: live in job 0, where it also has a read metric (old): that job alone marked it live.
      // C: nothing its rules read. D: backfill in every job, and met twice apart in job 2.
      { jobId: 'r0', samples: [x('A', 'air_recharge', TODAY), x('B', 'air_recharge', TODAY), x('B', 'card_opening', TODAY - 6), x('C', 'air_recharge', TODAY - 5), x('D', 'card_opening', TODAY - 5)], needsEvaluation },
      { jobId: 'r1', samples: [x('A', 'card_opening', TODAY - 4), x('D', 'card_opening', TODAY - 4)], needsEvaluation },
      { jobId: 'r2', samples: [x('D', 'card_opening', TODAY - 3), x('C', 'air_recharge', TODAY - 3), x('D', 'air_recharge', TODAY - 3)], needsEvaluation },
    ];
    const results = await s.applyJobs(jobsOfRound, NOW);
    expect(results.map((r) => r.entities)).toEqual([4, 2, 2]);
    // Asked once per entity of the round (A twice: for its live jobs, then for all), not once per job.
    expect(asked.sort()).toEqual(['A', 'A', 'B', 'C', 'D']);
    const dirty = keyspace(prefix).dirty;
    const marks = new Map((await admin.zrange(dirty, 0, -1, 'WITHSCORES')).flatMap((v, i, all) => (i % 2 === 0 ? [[v, Number(all[i + 1])] as const] : [])));
    expect([...marks.keys()].sort()).toEqual(['A', 'B', 'D']);
    // B: a live mark, due a minute back; A and D: backfill marks, stamped now.
    expect(marks.get('A')!).toBeGreaterThan(marks.get('B')! + 30_000);
    expect(marks.get('D')!).toBeGreaterThan(marks.get('B')! + 30_000);
    expect(Math.abs(marks.get('A')! - marks.get('D')!)).toBeLessThan(30_000);
  });

  it('ApplyRounds: the backfill lane tells its mirror what it holds, and lets go of what a round applied (all at once when nothing waits)', async () => {
    const s = store(fresh(), 'worker');
    const told: string[] = [];
    const mirror = {
      added: (e: readonly string[]) => told.push(`+${[...e].sort().join(',')}`),
      released: (e: readonly string[]) => told.push(`-${[...e].sort().join(',')}`),
      releasedAll: () => told.push('-all'),
      elsewhere: async () => new Set<string>(),
    };
    const r = new ApplyRounds(s, { mirror });
    const sample = (entity: string, day: number) => ({ metric: 'card_opening', entity, value: 5, ts: at(day, 10), id: `${entity}/${day}` });
    // b0 is applied alone at once; b1 and b2 come meanwhile and wait for the round after it.
    const first = r.apply('b0', [sample('X', TODAY - 5), sample('Y', TODAY - 5)], NOW, undefined, 'backfill');
    const next = [r.apply('b1', [sample('Y', TODAY - 4)], NOW, undefined, 'backfill'), r.apply('b2', [sample('Z', TODAY - 4)], NOW, undefined, 'backfill')];
    await Promise.all([first, ...next]);
    // X let go after b0 (Y is still held by b1); then all of it, as nothing waits.
    expect(told).toEqual(['+X,Y', '+', '+Z', '-X', '-all']);
  });

  it('ApplyRounds: a live sample of an entity whose backfill the worker holds is marked to be judged with it, the others at once', async () => {
    const prefix = fresh();
    const s = store(prefix, 'worker');
    const r = new ApplyRounds(s);
    const sample = (entity: string, day: number) => ({ metric: 'card_opening', entity, value: 5, ts: at(day, 10), id: `${entity}/${day}` });
    // The backfill lane's first round waits at a gate, so its job (X) and the one behind it (Y) are held.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const through = s.applyJobs.bind(s);
    const spy = vi.spyOn(s, 'applyJobs').mockImplementationOnce(async (...a) => {
      await gate;
      return through(...a);
    });
    const held = [r.apply('b0', [sample('X', TODAY - 5)], NOW, undefined, 'backfill'), r.apply('b1', [sample('Y', TODAY - 5)], NOW, undefined, 'backfill')];
    await r.apply('l0', [sample('X', TODAY - 1), sample('Y', TODAY - 1), sample('Z', TODAY - 1)], NOW, undefined, 'live');
    const dirty = keyspace(prefix).dirty;
    const score = async (e: string) => Number(await admin.zscore(dirty, e));
    // Z: a live mark, due a minute back (judged at once); X and Y: marked now, judged with their backfill.
    expect(await score('X')).toBeGreaterThan((await score('Z')) + 30_000);
    expect(await score('Y')).toBeGreaterThan((await score('Z')) + 30_000);
    open();
    expect((await Promise.all(held)).map((x) => x.chunks)).toEqual([1, 1]);
    spy.mockRestore();
    // Nothing held any more: a live sample of X is marked live again, as one of W never held.
    // (Scores are Redis's clock: compared with each other only, never with this process's.)
    await admin.del(dirty);
    await r.apply('l1', [sample('X', TODAY), sample('W', TODAY)], NOW, undefined, 'live');
    expect(await admin.zscore(dirty, 'X')).not.toBeNull();
    expect(Math.abs((await score('X')) - (await score('W')))).toBeLessThan(30_000);
  });

  it('ApplyRounds with a gather: the backfill lane waits for a quiet gap, a full hold or its longest wait; the live lane never waits', async () => {
    const { s, all, rounds, observe } = gathering(45, ['D1', 'G1', 'G2', 'G3']);
    // Jobs 10 ms apart, inside a quiet gap of 500 ms: one round of five, not one job then four.
    const quiet = new ApplyRounds(s, { observe, gather: { quietMs: 500, maxMs: 30_000, jobs: 100 } });
    const trickle: Promise<unknown>[] = [];
    for (let j = 0; j < 5; j++) {
      trickle.push(quiet.apply(`q${j}`, all[j]!, NOW, undefined, 'backfill'));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(trickle);
    expect(rounds).toEqual(['backfill:5']);
    // The live lane takes its job at once, however long the backfill lane would wait.
    const patient = new ApplyRounds(s, { observe, gather: { quietMs: 60_000, maxMs: 60_000, jobs: 3 } });
    rounds.length = 0;
    expect((await patient.apply('l0', all[5]!, NOW, undefined, 'live')).chunks).toBe(1);
    // A full hold (3 jobs: its consumer takes no more) starts the round without waiting for quiet.
    const full = [6, 7, 8].map((j) => patient.apply(`f${j}`, all[j]!, NOW, undefined, 'backfill'));
    expect((await Promise.all(full)).map((r) => r.chunks)).toEqual([1, 1, 1]);
    expect(rounds).toEqual(['live:1', 'backfill:3']);
    // Jobs that keep coming wait no longer than maxMs.
    const bounded = new ApplyRounds(s, { observe, gather: { quietMs: 60_000, maxMs: 300, jobs: 100 } });
    rounds.length = 0;
    const started = performance.now();
    expect((await bounded.apply('m9', all[9]!, NOW, undefined, 'backfill')).chunks).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(rounds).toEqual(['backfill:1']);
  });

  it("ApplyRounds with a gather: once the fetchers have nothing more, the wait for the producer's quiet drafts the round, which then builds nothing itself", async () => {
    const { s, all, rounds, observe } = gathering(47, ['D1', 'G1', 'G2', 'G3']);
    const r = new ApplyRounds(s, { observe, gather: { quietMs: 400, fetchQuietMs: 50, maxMs: 30_000, jobs: 100 } });
    const body = vi.spyOn(CompactSeries.prototype, 'body');
    let atRound = -1;
    const through = s.applyJobs.bind(s);
    const spy = vi.spyOn(s, 'applyJobs').mockImplementation(async (...a) => {
      atRound = body.mock.calls.length;
      return through(...a);
    });
    const trickle: Promise<ApplyResult>[] = [];
    for (let j = 0; j < 5; j++) {
      trickle.push(r.apply(`d${j}`, all[j]!, NOW, undefined, 'backfill'));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await Promise.all(trickle)).map((x) => x.chunks)).toEqual([1, 1, 1, 1, 1]);
    expect(rounds).toEqual(['backfill:5']);
    expect(atRound).toBeGreaterThan(0);
    expect(body.mock.calls.length).toBe(atRound);
    spy.mockRestore();
    body.mockRestore();
  });

  it('ApplyRounds with a gather: a round begun on the quiet gaps stamps its backfill marks early by the quiet it saw, up to the debounce; one begun on a full hold or its longest wait, not at all', async () => {
    const prefix = fresh();
    const s = store(prefix, 'worker');
    const sample = (entity: string) => ({ metric: 'card_opening', entity, value: 5, ts: at(TODAY - 5, 10), id: `${entity}/1` });
    // Far longer than the test takes, so the marks' scores tell the rounds apart.
    const debounceMs = 40_000;
    const gaps = { quietMs: 50, fetchQuietMs: 50, maxMs: 30_000, jobs: 100, debounceMs };
    // Q: a lone job queued 2 minutes ago (a backlog): the whole debounce is waited. P: queued 20 s ago.
    expect((await new ApplyRounds(s, { gather: gaps }).apply('q', [sample('Q')], NOW, undefined, 'backfill', 120_000)).chunks).toBe(1);
    await new ApplyRounds(s, { gather: gaps }).apply('p', [sample('P')], NOW, undefined, 'backfill', 20_000);
    // F and G: a full hold of two (more may be coming), queued as long ago as Q.
    const full = new ApplyRounds(s, { gather: { ...gaps, quietMs: 60_000, fetchQuietMs: 60_000, maxMs: 60_000, jobs: 2 } });
    await Promise.all(['F', 'G'].map((e) => full.apply(e, [sample(e)], NOW, undefined, 'backfill', 120_000)));
    // M: its longest wait, the producer never quiet.
    await new ApplyRounds(s, { gather: { ...gaps, quietMs: 60_000, maxMs: 100 } }).apply('m', [sample('M')], NOW, undefined, 'backfill');
    // A live lane never gathers: its marks stay as they were (a live one, a minute early).
    await new ApplyRounds(s, { gather: gaps }).apply('l', [{ ...sample('L'), ts: at(TODAY - 1, 10) }], NOW, undefined, 'live');
    const dirty = keyspace(prefix).dirty;
    const score = async (e: string) => Number(await admin.zscore(dirty, e));
    // (Scores are Redis's clock: compared with each other only; the test's own steps take well under 10 s.)
    const early = async (e: string) => (await score('F')) - (await score(e));
    expect(await early('Q')).toBeGreaterThan(debounceMs - 10_000);
    expect(await early('Q')).toBeLessThan(debounceMs + 10_000);
    expect(await early('P')).toBeGreaterThan(10_000);
    expect(await early('P')).toBeLessThan(30_000);
    for (const e of ['G', 'M']) expect(Math.abs(await early(e))).toBeLessThan(10_000);
    expect((await score('Q')) - (await score('L'))).toBeGreaterThan(10_000);
  });

  it('ApplyRounds with a gather: jobs that had waited in their queue (a backlog) start the round once the fetchers have nothing more, not after the producer\'s quiet gap', async () => {
    const { s, all, rounds, observe } = gathering(3, ['D1', 'G1']);
    const r = new ApplyRounds(s, { observe, gather: { quietMs: 60_000, fetchQuietMs: 100, maxMs: 2_000, jobs: 100 } });
    // Two jobs queued two minutes ago, fetched 10 ms apart: one round, 100 ms after the second.
    const started = performance.now();
    const backlog = [r.apply('a', all[0]!, NOW, undefined, 'backfill', 120_000)];
    await new Promise((resolve) => setTimeout(resolve, 10));
    backlog.push(r.apply('b', all[1]!, NOW, undefined, 'backfill', 120_000));
    await Promise.all(backlog);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(rounds).toEqual(['backfill:2']);
    // A job queued just now: its producer may still be sending, so the gather waits (here, its longest wait).
    rounds.length = 0;
    const fresh2 = performance.now();
    await r.apply('c', all[2]!, NOW, undefined, 'backfill', 0);
    expect(performance.now() - fresh2).toBeGreaterThanOrEqual(1_990);
    expect(rounds).toEqual(['backfill:1']);
  });

  it('ApplyRounds with a gather: a quiet gap the event loop spent busy is not quiet (what was fetched meanwhile joins the round)', async () => {
    const { s, all, rounds, observe } = gathering(2, ['D1', 'G1']);
    const r = new ApplyRounds(s, { observe, gather: { quietMs: 100, maxMs: 30_000, jobs: 100 } });
    const first = r.apply('a', all[0]!, NOW, undefined, 'backfill');
    // The event loop is busy for three quiet gaps in a reply's callback (a live round computing
    // what it read, say), while the next job is fetched: its reply waits in the socket and is read
    // only after the timers have run, in the event loop's next turn.
    const other = admin.duplicate();
    await other.ping();
    let second: Promise<unknown> | undefined;
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        void admin.ping().then(() => {
          void other.ping().then(() => {
            second = r.apply('b', all[1]!, NOW, undefined, 'backfill');
            resolve();
          });
          const until = performance.now() + 300;
          while (performance.now() < until) {
            // busy
          }
        });
      }, 10),
    );
    await Promise.all([first, second]);
    other.disconnect();
    expect(rounds).toEqual(['backfill:2']);
  });
});
