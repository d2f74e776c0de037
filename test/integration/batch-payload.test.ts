// How the doors queue a batch (docs/ingest.md "How a batch is queued"): in columns (v: 2) once
// every worker consuming `samples` says it reads them, as v: 1 while one of an earlier release
// consumes; a v: 2 batch whose columns do not hold together is one coded reject.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import type { SampleBatchJob, SampleBatchJobV1 } from '../../src/queues/names.js';
import { batchSamples } from '../../src/queues/sample-payload.js';
import { testRedisUrl } from '../support/redis.js';
import { dailySamples, metricValue, startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, FOUR_WEEKS, LAST_DAY } from './fixtures.js';

const DEALERS = ['D0001', 'D0002', 'D0003'];
const day = (iso: string) => Calendar.parseIsoDay(iso)!;

describe('batch payload: columns only for workers that read them', () => {
  const started: TestLookout[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const start = async (...args: Parameters<typeof startTestLookout>) => {
    const lk = await startTestLookout(...args);
    started.push(lk);
    return lk;
  };
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    for (const lk of started.splice(0).reverse()) await lk.cleanup();
  });

  it("beside this release's worker, a door queues columns, and every sample (labels too) is applied once", async () => {
    const lk = await start({ env: { LOOKOUT_SERIES_LAYOUT: 'compact' } });
    await lk.registry.putMany(DEALERS.map((id) => dealer(id)));
    const live = DEALERS.flatMap((id) => dealerSeries(id, 100)).filter((s) => s.ts.startsWith(LAST_DAY));
    const complaints = dailySamples('D0001', 'complaints', [LAST_DAY], () => 3).map((s) => ({ ...s, labels: { category: 'network' } }));
    const res = await lk.post<{ accepted: number }>('/api/v1/samples', [...live, ...complaints]);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(live.length + 1);
    await lk.idle();
    const jobs = await lk.queues.samples.getJobs(['completed']);
    expect(jobs.map((j) => j.data.v)).toEqual(jobs.map(() => 2));
    expect(jobs.flatMap((j) => batchSamples(j.data)).length).toBe(live.length + 1);
    for (const id of DEALERS) expect((await lk.daily(id, 'card_opening')).get(day(LAST_DAY))).toBe(100);
    expect((await lk.daily('D0001', 'complaints')).get(day(LAST_DAY))).toBe(3);
    // The labelled complaint is counted under its category too (labels read from the columns).
    expect((await lk.daily('D0001', 'complaints.network')).get(day(LAST_DAY))).toBe(3);
    // Sent again: replaced by id, not counted twice.
    await lk.post('/api/v1/samples', [...live, ...complaints]);
    await lk.idle();
    for (const id of DEALERS) expect((await lk.daily(id, 'card_opening')).get(day(LAST_DAY))).toBe(100);
  });

  it('beside a worker of an earlier release (its consumer unnamed), a door queues v: 1, which that worker reads whole', async () => {
    const door = await start({ roles: ['api'], env: { LOOKOUT_SERIES_LAYOUT: 'compact' } });
    // A worker of a release before v: 2 reads `samples` of each job and nothing else.
    const seen: Job<SampleBatchJob>[] = [];
    const conn = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const old = new Worker<SampleBatchJob>('samples', async (job) => void seen.push(job), { connection: conn, prefix: door.prefix });
    closers.push(async () => {
      await old.close();
      conn.disconnect();
    });
    await old.waitUntilReady();
    await waitFor('the old worker to be listed', async () => (await door.queues.samples.getWorkers()).length > 0);
    const live = DEALERS.flatMap((id) => dealerSeries(id, 100)).filter((s) => s.ts.startsWith(LAST_DAY));
    expect((await door.post('/api/v1/samples', live)).status).toBe(202);
    await waitFor('the old worker to take the job', async () => seen.length > 0);
    expect(seen.map((j) => j.data.v)).toEqual([1]);
    const got = seen[0]!.data as SampleBatchJobV1;
    expect(got.samples.map((s) => String(s.id)).sort()).toEqual(live.map((s) => s.id).sort());
  });

  it("a v: 2 batch whose columns do not hold together is one coded reject (bad_batch); the job completes and the next is applied", async () => {
    const lk = await start({ env: { LOOKOUT_SERIES_LAYOUT: 'compact' } });
    await lk.registry.putMany(DEALERS.map((id) => dealer(id)));
    const conn = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const queue = new Queue('samples', { connection: conn, prefix: lk.prefix });
    closers.push(async () => {
      await queue.close();
      conn.disconnect();
    });
    // Two samples said, one value given.
    const bad = await queue.add('batch', { v: 2, source: 'billing-export', w: ['card_opening'], e: ['D0001'], en: [2], m: [0, 0], x: [1], ts: [Date.parse(`${LAST_DAY}T12:00:00+08:00`)], t: [0, 0], id: [-1, -1] });
    const done = await waitFor('the bad batch to complete', async () => ((await queue.getJob(bad.id!))?.finishedOn ? await queue.getJob(bad.id!) : undefined));
    expect(done!.failedReason).toBeUndefined();
    expect(done!.returnvalue).toMatchObject({ accepted: 0 });
    const text = await lk.metrics.registry.metrics();
    expect(metricValue(text, 'lookout_samples_rejected_total', { source: 'billing-export:worker', code: 'bad_batch' })).toBe(1);
    await queue.add('batch', { v: 1, source: 'billing-export', samples: dailySamples('D0002', 'card_opening', FOUR_WEEKS.slice(-1), () => 42) });
    await lk.idle();
    expect((await lk.daily('D0002', 'card_opening')).get(day(LAST_DAY))).toBe(42);
  });
});
