// Group commit (docs/ingest.md "Queue door"): a worker holding many sample jobs applies them
// together in rounds. From the outside: a backfill posted day by day, each day twice (a re-sent
// export), into a worker that holds 16 jobs: fewer rounds than jobs, every value counted once, and
// the drop contract's alerts as applied one by one.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { partitionOf, partitionQueueName } from '../../src/queues/backfill-partitions.js';
import { metricValue, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, FOUR_WEEKS, LAST_DAY } from './fixtures.js';
import { batchSamples } from '../../src/queues/sample-payload.js';

const DEALERS = Array.from({ length: 24 }, (_, i) => `D${String(i).padStart(4, '0')}`);
/** Critical (40), warning (65) or normal (100) on the last day. */
const lastValue = (i: number) => [40, 65, 100][i % 3]!;
const day = (iso: string) => Calendar.parseIsoDay(iso)!;

/** Every dealer's days before the last, each counted once (the backfill sends 100 a day). */
async function expectBackfillOnce(lk: TestLookout): Promise<void> {
  for (const id of DEALERS) {
    const series = await lk.daily(id, 'card_opening');
    expect(series.size).toBe(FOUR_WEEKS.length - 1);
    expect([...series.values()].every((v) => v === 100)).toBe(true);
  }
}

/**
 * Every dealer's every day counted once (the last at its `lastValue`, the others at 100), and the
 * drop contract's alerts: a critical alert at 40, a warning at 65, nothing at 100.
 */
async function expectEveryDayOnceAndTheDropContract(lk: TestLookout): Promise<void> {
  for (const [i, id] of DEALERS.entries()) {
    const series = await lk.daily(id, 'card_opening');
    expect(series.size).toBe(FOUR_WEEKS.length);
    for (const d of FOUR_WEEKS) expect(series.get(day(d))).toBe(d === LAST_DAY ? lastValue(i) : 100);
  }
  const open = (await lk.alerts.list({})).filter((a) => a.state !== 'resolved' && a.rule.startsWith('core_dealer'));
  const byEntity = new Map(open.map((a) => [a.entity, a.severity]));
  for (const [i, id] of DEALERS.entries()) expect(byEntity.get(id)).toBe(lastValue(i) === 40 ? 'critical' : lastValue(i) === 65 ? 'warning' : undefined);
}

/** Backfill jobs a request of every dealer's samples of one day makes: one per partition the dealers fall in. */
const partitionsHit = (lk: TestLookout) => new Set(DEALERS.map((id) => partitionOf(id, lk.config.shards, lk.config.backfillPartitions))).size;

/** The backfill's samples: every dealer at 100 a day, the last day left out. */
const backfillSamples = () => DEALERS.flatMap((id) => dealerSeries(id, 100)).filter((s) => !s.ts.startsWith(LAST_DAY));

/**
 * An API-only process (no worker of its own takes a job first) with the dealers registered; its
 * keys are dropped when it stops, after `fn`.
 */
async function withDoor(fn: (door: TestLookout) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const door = await startTestLookout({ roles: ['api'], env: { LOOKOUT_SERIES_LAYOUT: 'compact', ...env } });
  try {
    await door.registry.putMany(DEALERS.map((id) => dealer(id)));
    await fn(door);
  } finally {
    await door.cleanup();
  }
}

/** A worker process on the door's keys (kept when it stops, after `fn`). */
async function withWorker(door: TestLookout, fn: (worker: TestLookout) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const worker = await startTestLookout({ prefix: door.prefix, roles: ['worker'], env: { LOOKOUT_SERIES_LAYOUT: 'compact', ...env }, keepKeys: true });
  try {
    await fn(worker);
  } finally {
    await worker.cleanup();
  }
}

describe('group commit: the jobs a worker holds applied together', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ env: { LOOKOUT_SERIES_LAYOUT: 'compact', LOOKOUT_WORKER_CONCURRENCY: '16' } });
    await lk.registry.putMany(DEALERS.map((id) => dealer(id)));
  });
  afterEach(async () => lk.cleanup());

  it('a backfill posted day by day, each day twice, at once: fewer rounds than jobs, each value once, the same alerts', async () => {
    const all = DEALERS.flatMap((id, i) => dealerSeries(id, lastValue(i)));
    const days = FOUR_WEEKS.map((d) => all.filter((s) => s.ts.startsWith(d)));
    // 58 requests in flight together, the live day's one job each, the others' a job per backfill
    // partition: the worker holds up to 16 live jobs and 256 backfill jobs.
    const responses = await Promise.all([...days, ...days].map((b) => lk.post('/api/v1/samples', b)));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 202));
    await lk.idle(30_000);

    const text = await lk.metrics.registry.metrics();
    const rounds = metricValue(text, 'lookout_apply_round_jobs_count') ?? 0;
    const jobs = metricValue(text, 'lookout_apply_round_jobs_sum') ?? 0;
    // Each backfill day's request: a job per partition. Each of the live day's two: a job on
    // `samples`, or (its dealers' backfill still queued) a job on each partition they fall in
    // (docs/ingest.md "A live sample follows its backfill"), or some of each.
    const backfillJobs = 2 * (FOUR_WEEKS.length - 1) * partitionsHit(lk);
    expect(jobs).toBeGreaterThanOrEqual(backfillJobs + 2);
    expect(jobs).toBeLessThanOrEqual(backfillJobs + 2 * (1 + partitionsHit(lk)));
    expect(rounds).toBeGreaterThan(0);
    // Jobs waited for a round in flight and went together: fewer rounds than jobs.
    expect(rounds).toBeLessThan(jobs);

    // Every dealer's every day counted once (the re-sent day replaced by its ids, not added).
    await expectEveryDayOnceAndTheDropContract(lk);
  });

  it('a backfill, then the live day: each on its own queue (the backfill on its partitions), each numbering jobs from 1, and every day applied once', async () => {
    const all = DEALERS.flatMap((id, i) => dealerSeries(id, lastValue(i)));
    const old = all.filter((s) => !s.ts.startsWith(LAST_DAY));
    expect((await lk.post('/api/v1/samples', old)).status).toBe(202);
    await lk.idle(30_000);
    expect((await lk.post('/api/v1/samples', all.filter((s) => s.ts.startsWith(LAST_DAY)))).status).toBe(202);
    await lk.idle(30_000);
    // A backfill job on each partition the dealers fall in (one request's jobs go in one MULTI, with
    // ids of their own), and job 1 of `samples`. The live one was applied, not taken for a backfill
    // job's chunk markers, nor one partition's job for another's.
    const backfill = await lk.queues.backfill.getJobs(['completed']);
    const live = await lk.queues.samples.getJobs(['completed']);
    expect(partitionsHit(lk)).toBeGreaterThan(1);
    expect(new Set(backfill.map((j) => j.queueName)).size).toBe(partitionsHit(lk));
    expect(backfill).toHaveLength(partitionsHit(lk));
    expect(live.map((j) => j.id)).toEqual(['1']);
    expect(backfill.reduce((n, j) => n + batchSamples(j.data).length, 0)).toBe(old.length);
    for (const j of backfill) expect(new Set(batchSamples(j.data).map((s) => partitionOf(String(s.entity), lk.config.shards, lk.config.backfillPartitions))).size).toBe(1);
    for (const [i, id] of DEALERS.entries()) expect((await lk.daily(id, 'card_opening')).get(day(LAST_DAY))).toBe(lastValue(i));
    const open = (await lk.alerts.list({})).filter((a) => a.state !== 'resolved' && a.rule.startsWith('core_dealer'));
    expect(open).toHaveLength(DEALERS.filter((_, i) => lastValue(i) < 100).length);
  });

  it('a backfill, then at once the live day, before a worker runs: the live day follows the backfill into its partitions, is applied with it, each day once, the drop contract\'s alerts', async () => {
    await withDoor(async (door) => {
      const all = DEALERS.flatMap((id, i) => dealerSeries(id, lastValue(i)));
      expect((await door.post('/api/v1/samples', backfillSamples())).status).toBe(202);
      const lastDay = all.filter((s) => s.ts.startsWith(LAST_DAY));
      expect((await door.post('/api/v1/samples', lastDay)).status).toBe(202);
      // Nothing on `samples`: every dealer's live sample is queued behind its backfill.
      expect(await door.queues.samples.getJobCounts('waiting')).toEqual({ waiting: 0 });
      const waiting = await door.queues.backfill.getJobs(['waiting']);
      const liveTimes = new Set(lastDay.map((s) => Date.parse(s.ts)));
      const live = waiting.filter((j) => batchSamples(j.data).some((s) => liveTimes.has(Number(s.ts))));
      expect(live.length).toBeGreaterThan(0);
      expect(live.reduce((n, j) => n + batchSamples(j.data).filter((s) => liveTimes.has(Number(s.ts))).length, 0)).toBe(lastDay.length);
      for (const j of live) expect(new Set(batchSamples(j.data).map((s) => partitionOf(String(s.entity), door.config.shards, door.config.backfillPartitions))).size).toBe(1);
      expect(metricValue(await door.metrics.registry.metrics(), 'lookout_live_samples_followed_total')).toBe(lastDay.length);
      await withWorker(door, async (worker) => {
        await worker.idle(30_000);
        // Applied in the backfill lane, with the backfill: no live round at all.
        const text = await worker.metrics.registry.metrics();
        expect(metricValue(text, 'lookout_apply_round_jobs_sum', { lane: 'live' }) ?? 0).toBe(0);
        expect(metricValue(text, 'lookout_apply_round_jobs_sum', { lane: 'backfill' })).toBe(waiting.length);
        await expectEveryDayOnceAndTheDropContract(worker);
      });
    });
  });

  it('a correction of a live value that followed its backfill follows it too, past a backlog that would keep a first one on `samples`: applied after it, the correction stands', async () => {
    // One sample a job: a backlog of jobs is quick to make.
    await withDoor(
      async (door) => {
        const id = DEALERS[0]!;
        const history = dealerSeries(id, 100).filter((s) => !s.ts.startsWith(LAST_DAY));
        expect((await door.post('/api/v1/samples', history)).status).toBe(202);
        const [last] = dealerSeries(id, 40).filter((s) => s.ts.startsWith(LAST_DAY));
        expect((await door.post('/api/v1/samples', [last])).status).toBe(202);
        // The history re-sent three times (84 jobs on the partition: past the bound), then the correction.
        for (let i = 0; i < 3; i++) expect((await door.post('/api/v1/samples', history)).status).toBe(202);
        expect((await door.post('/api/v1/samples', [{ ...last!, value: 100 }])).status).toBe(202);
        expect(await door.queues.samples.getJobCounts('waiting')).toEqual({ waiting: 0 });
        expect(metricValue(await door.metrics.registry.metrics(), 'lookout_live_samples_followed_total')).toBe(2);
        await withWorker(door, async (worker) => {
          await worker.idle(30_000);
          expect((await worker.daily(id, 'card_opening')).get(day(LAST_DAY))).toBe(100);
          expect((await worker.alerts.list({ entity: id })).filter((a) => a.state !== 'resolved' && a.rule.startsWith('core_dealer'))).toEqual([]);
        });
      },
      { LOOKOUT_BATCH_SIZE: '1' },
    );
  });

  it('a backfill job whose worker died is found stalled by the next, counted in lookout_sample_jobs_stalled_total, and applied once', async () => {
    // One partition: the backfill is one job, on `samples-backfill-p0`.
    const one = { LOOKOUT_BACKFILL_PARTITIONS: '1' };
    await withDoor(async (door) => {
      expect((await door.post('/api/v1/samples', backfillSamples())).status).toBe(202);
      // A worker takes the job and dies holding it: its lock (1 s) lapses, never renewed.
      const conn = new Redis(door.redisUrl, { maxRetriesPerRequest: null });
      const dead = new Worker(partitionQueueName(0), null, { connection: conn, prefix: door.config.prefix, lockDuration: 1_000 });
      const job = await dead.getNextJob('dead-token', { block: false });
      expect(job?.id).toBe('1');
      await dead.close();
      conn.disconnect();
      await withWorker(door, async (next) => {
        // Its stall check (every 5 s) marks the active job, then finds it unlocked: up to 10 s.
        await waitFor('the stalled job applied', async () => (await next.queues.backfill.getCompletedCount()) === 1, 40_000);
        const text = await next.metrics.registry.metrics();
        expect(metricValue(text, 'lookout_sample_jobs_stalled_total', { queue: 'backfill' })).toBe(1);
        await expectBackfillOnce(next);
      }, one);
    }, one);
  }, 60_000);

  it('a worker stopped while it holds a backfill (SIGTERM runs this stop) finishes what it holds: nothing stalled, the next worker applies the rest, each day once', async () => {
    await withDoor(async (door) => {
      const old = backfillSamples();
      // A day per request: a job per day and backfill partition the dealers fall in.
      const days = FOUR_WEEKS.filter((d) => d !== LAST_DAY);
      const jobs = days.length * partitionsHit(door);
      for (const d of days) expect((await door.post('/api/v1/samples', old.filter((s) => s.ts.startsWith(d)))).status).toBe(202);
      // It holds four jobs at most (split over its partitions: one each), so it leaves the rest
      // waiting for the next worker.
      const first = await startTestLookout({ prefix: door.prefix, roles: ['worker'], env: { LOOKOUT_SERIES_LAYOUT: 'compact', LOOKOUT_WORKER_HOLD: '4' }, keepKeys: true });
      // Stopped as soon as it holds jobs: in its gather, before or during its first round.
      await waitFor('the first worker holds backfill jobs', async () => (await door.queues.backfill.getActiveCount()) > 0, 20_000);
      const started = performance.now();
      await first.cleanup();
      expect(performance.now() - started).toBeLessThan(15_000);
      // What it held, it finished: no job left active for a stall check to find.
      expect(await door.queues.backfill.getActiveCount()).toBe(0);
      const done = await door.queues.backfill.getCompletedCount();
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(jobs);
      await withWorker(door, async (next) => {
        await waitFor('every backfill job applied', async () => (await next.queues.backfill.getCompletedCount()) === jobs, 40_000);
        await next.idle(30_000);
        const text = await next.metrics.registry.metrics();
        expect(metricValue(text, 'lookout_sample_jobs_stalled_total', { queue: 'backfill' }) ?? 0).toBe(0);
        await expectBackfillOnce(next);
      });
    });
  }, 90_000);

  it('two worker processes share the backfill partitions: each serves half, each job applied by one of them, every day once', async () => {
    await withDoor(async (door) => {
      await withWorker(door, async (a) => {
        await withWorker(door, async (b) => {
          const served = async (w: TestLookout) => metricValue(await w.metrics.registry.metrics(), 'lookout_backfill_partitions_served') ?? 0;
          await waitFor('the partitions shared out', async () => (await served(a)) === 4 && (await served(b)) === 4, 10_000);
          expect(metricValue(await a.metrics.registry.metrics(), 'lookout_backfill_members')).toBe(2);
          const old = backfillSamples();
          const days = FOUR_WEEKS.filter((d) => d !== LAST_DAY);
          for (const d of days) expect((await door.post('/api/v1/samples', old.filter((s) => s.ts.startsWith(d)))).status).toBe(202);
          const jobs = days.length * partitionsHit(door);
          await waitFor('every backfill job applied', async () => (await door.queues.backfill.getCompletedCount()) === jobs, 40_000);
          await a.idle(30_000);
          // Each job applied once, by the worker serving its partition; both had partitions to apply.
          const applied = async (w: TestLookout) => metricValue(await w.metrics.registry.metrics(), 'lookout_apply_round_jobs_sum', { lane: 'backfill' }) ?? 0;
          const [byA, byB] = [await applied(a), await applied(b)];
          expect(byA + byB).toBe(jobs);
          expect(byA).toBeGreaterThan(0);
          expect(byB).toBeGreaterThan(0);
          await expectBackfillOnce(a);
        });
        // b stopped: a serves every partition within a second or two.
        await waitFor('the stopped worker\'s partitions taken up', async () => metricValue(await a.metrics.registry.metrics(), 'lookout_backfill_partitions_served') === 8, 10_000);
      });
    });
  }, 90_000);
});
