// While Redis is away the request path answers within a bound (503 for readiness, ingest and API
// reads; /metrics with lookout_redis_up 0; /healthz 200), and once it is back nothing accepted is
// lost and ingest works again without a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisChild } from '../../chaos/redis-server.js';
import { freePort } from '../../src/redis/embedded.js';
import { metricValue, startTestLookout, waitFor, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, FOUR_WEEKS } from './fixtures.js';

interface Timed {
  readonly status: number;
  readonly ms: number;
  readonly text: string;
}

async function timed(url: string, init?: RequestInit): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, text };
}

async function postSamples(lk: TestLookout, body: unknown): Promise<Timed> {
  return timed(`${lk.url}/api/v1/samples`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Every request-path endpoint while Redis is away: the bound and the answer. */
async function expectFailFast(lk: TestLookout, entity: string): Promise<void> {
  const ready = await timed(`${lk.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(ready.ms).toBeLessThan(1500);

  const ingest = await postSamples(lk, dealerSeries(entity, 100));
  expect(ingest.status).toBe(503);
  expect((JSON.parse(ingest.text) as ErrorJson).error.code).toBe('not_ready');
  expect(ingest.ms).toBeLessThan(2500);

  const alerts = await timed(`${lk.url}/api/v1/alerts`);
  expect(alerts.status).toBe(503);
  expect((JSON.parse(alerts.text) as ErrorJson).error.code).toBe('not_ready');
  expect(alerts.ms).toBeLessThan(2500);

  // The duties' routes (broadcasts, the halls' ranking) read through the request connection too.
  for (const path of ['/api/v1/broadcasts', '/api/v1/reports/halls/satisfaction?month=2026-10']) {
    const duty = await timed(`${lk.url}${path}`);
    expect(duty.status, path).toBe(503);
    expect((JSON.parse(duty.text) as ErrorJson).error.code, path).toBe('not_ready');
    expect(duty.ms, path).toBeLessThan(2500);
  }

  const metrics = await timed(`${lk.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metricValue(metrics.text, 'lookout_redis_up')).toBe(0);
  expect(metrics.ms).toBeLessThan(2500);

  const health = await timed(`${lk.url}/healthz`);
  expect(health.status).toBe(200);
}

describe('Redis outage', () => {
  let redis: RedisChild | undefined;
  let lk: TestLookout | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    // Redis must answer for the daemon to stop cleanly.
    redis?.resume();
    await lk?.cleanup().catch(() => undefined);
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    lk = redis = dir = undefined;
  });

  it('answers within bounds while Redis is silent or refusing, and loses nothing it accepted', { timeout: 150_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-outage-'));
    redis = new RedisChild(await freePort(), dir);
    await redis.start();
    lk = await startTestLookout({ env: { REDIS_URL: redis.url } });
    await lk.registry.putMany([dealer('D0001'), dealer('D0002'), dealer('D0009'), dealer('D0010')]);
    expect((await postSamples(lk, dealerSeries('D0001', 100))).status).toBe(202);
    await lk.idle();
    // Before the outage the duties' routes answer (so their 503 below is the outage's, not "no duties").
    expect((await timed(`${lk.url}/api/v1/broadcasts`)).status).toBe(200);
    expect((await timed(`${lk.url}/api/v1/reports/halls/satisfaction?month=2026-10`)).status).toBe(200);

    // Silent: the socket stays open, nothing answers.
    redis.pause();
    await expectFailFast(lk, 'D0009');
    redis.resume();
    await waitFor('readiness after SIGCONT', async () => (await timed(`${lk!.url}/readyz`)).status === 200);

    // Gone: connections refused; started again on the same port from its AOF.
    await redis.kill();
    await expectFailFast(lk, 'D0010');
    await redis.start();
    await waitFor('readiness after restart', async () => (await timed(`${lk!.url}/readyz`)).status === 200, 15_000);

    const after = await postSamples(lk, dealerSeries('D0002', 100));
    expect(after.status).toBe(202);
    // A sample job that was active when Redis was killed keeps its lock (restored from the AOF)
    // until it expires: it is run again within its lock (10 s) + the stall check (5 s), as
    // docs/reliability.md says. The bound is generous (idle returns as soon as all is applied);
    // what matters below is that nothing is lost.
    await lk.idle(95_000);
    for (const id of ['D0001', 'D0002']) {
      const daily = await lk.daily(id, 'card_opening');
      expect([...daily.values()].reduce((a, b) => a + b, 0)).toBe(100 * FOUR_WEEKS.length);
    }
    // A refused batch is not stored; one sent to a silent Redis lands whole or not at all (the
    // 503 tells the client to send again, and sample ids make that safe).
    expect((await lk.daily('D0010', 'card_opening')).size).toBe(0);
    expect([0, FOUR_WEEKS.length]).toContain((await lk.daily('D0009', 'card_opening')).size);

    const metrics = await timed(`${lk.url}/metrics`);
    expect(metricValue(metrics.text, 'lookout_redis_up')).toBe(1);
    expect(metricValue(metrics.text, 'lookout_redis_outages_total')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics.text, 'lookout_redis_outage_seconds_total')).toBeGreaterThan(0);
    expect(metricValue(metrics.text, 'lookout_redis_last_outage_seconds')).toBeGreaterThan(0);
  });

  it('a request larger than the batch size becomes several jobs, all applied', async () => {
    lk = await startTestLookout({ env: { LOOKOUT_BATCH_SIZE: '4' } });
    await lk.registry.putMany([dealer('D0001')]);
    const res = await postSamples(lk, dealerSeries('D0001', 100));
    expect(res.status).toBe(202);
    await lk.idle();
    // Jobs with none of the live days (yesterday, today) went to the backfill queue, the rest to `samples`.
    const live = (await lk.queues.samples.getJobCounts('completed')).completed ?? 0;
    const backfill = (await lk.queues.backfill.getJobCounts('completed')).completed ?? 0;
    expect(live + backfill).toBe(Math.ceil(FOUR_WEEKS.length / 4));
    expect(live).toBeGreaterThan(0);
    expect(backfill).toBeGreaterThan(0);
    const daily = await lk.daily('D0001', 'card_opening');
    expect([...daily.values()].reduce((a, b) => a + b, 0)).toBe(100 * FOUR_WEEKS.length);
  });
});
