// docs/ingest.md "Queue door": another Node service adds `batch` jobs straight onto the queue.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { testRedisUrl } from '../support/redis.js';
import { metricValue, startTestLookout, type AlertsBody, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, LAST_DAY } from './fixtures.js';

describe('queue door', () => {
  let lk: TestLookout;
  let producerConn: Redis;
  let producer: Queue;
  beforeEach(async () => {
    lk = await startTestLookout();
    producerConn = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    // What a producer writes, per docs/ingest.md: queue `samples`, prefix = LOOKOUT_PREFIX.
    producer = new Queue('samples', { connection: producerConn, prefix: lk.config.prefix });
  });
  afterEach(async () => {
    await producer.close();
    producerConn.disconnect();
    await lk.cleanup();
  });

  it('validates raw samples in the worker: bad ones are counted by code, good ones applied and judged', async () => {
    await lk.registry.putMany([dealer('D0001')]);
    const good = dealerSeries('D0001', 40);
    const bad = [
      { metric: 'card_opening', entity: 'D0001', value: 'lots', ts: '2026-11-21T12:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0001', value: -3, ts: '2026-11-21T12:00:00+08:00' },
      { metric: 'card_openings', entity: 'D0001', value: 3 },
      { metric: 'card_opening', entity: 'D0001', value: 1, ts: '2027-01-01T00:00:00+08:00' },
      'not a sample',
    ];
    // Bad samples interleaved with good ones, in two jobs.
    const job1 = await producer.add('batch', { v: 1, source: 'billing', samples: [...good.slice(0, 15), bad[0], bad[1]] });
    const job2 = await producer.add('batch', { v: 1, source: 'billing', samples: [bad[2], ...good.slice(15), bad[3], bad[4]] });
    await lk.idle();

    expect((await producer.getJob(job1.id!))?.returnvalue).toMatchObject({ accepted: 15 });
    expect((await producer.getJob(job2.id!))?.returnvalue).toMatchObject({ accepted: good.length - 15 });

    const metrics = (await lk.get<string>('/metrics')).body;
    const rejected = (code: string) => metricValue(metrics, 'lookout_samples_rejected_total', { source: 'billing:worker', code });
    expect({
      bad_value: rejected('bad_value'),
      negative_value: rejected('negative_value'),
      unknown_metric: rejected('unknown_metric'),
      ts_future: rejected('ts_future'),
      not_an_object: rejected('not_an_object'),
    }).toEqual({ bad_value: 1, negative_value: 1, unknown_metric: 1, ts_future: 1, not_an_object: 1 });
    // The queue door is counted where its samples are first seen: in the worker.
    expect(metricValue(metrics, 'lookout_samples_received_total', { source: 'billing' })).toBe(good.length + bad.length);
    expect(metricValue(metrics, 'lookout_samples_accepted_total', { source: 'billing' })).toBe(good.length);

    const series = await lk.daily('D0001', 'card_opening');
    expect(series.size).toBe(good.length);
    expect(series.get(Calendar.parseIsoDay(LAST_DAY)!)).toBe(40);

    const alerts = (await lk.get<AlertsBody>('/api/v1/alerts?entity=D0001&state=firing')).body.alerts;
    expect(alerts.map((a) => [a.rule, a.severity, a.period])).toEqual([['core_dealer_card_opening_drop', 'critical', LAST_DAY]]);
  });

  it('a job without a samples array applies nothing and does not fail', async () => {
    const job = await producer.add('batch', { v: 1, source: 'broken' });
    await lk.idle();
    const stored = await producer.getJob(job.id!);
    expect(await stored?.getState()).toBe('completed');
    expect(stored?.returnvalue).toMatchObject({ accepted: 0 });
  });
});
