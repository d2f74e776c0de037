// SPEC §3.1: a retried job counts once (ids or not); a sample whose id was seen before replaces it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { metricCatalogue } from '../../src/domain/metric.js';
import type { RawSample } from '../../src/domain/sample.js';
import { SampleBatchProcessor } from '../../src/ingest/apply-batch.js';
import { RegistryCache } from '../../src/state/registry-store.js';
import { startTestLookout, type IngestBody, type TestLookout, type UnknownEntitiesBody } from '../support/lookout.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';

const day = (iso: string) => Calendar.parseIsoDay(iso)!;

describe.each(SERIES_LAYOUTS)('idempotent retries and replacing ids (%s series layout)', (layout) => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ env: { LOOKOUT_SERIES_LAYOUT: layout } });
  });
  afterEach(async () => lk.cleanup());

  function processor(): SampleBatchProcessor {
    return new SampleBatchProcessor({
      clock: lk.clock,
      calendar: lk.calendar,
      metrics: () => metricCatalogue(lk.ruleSet().metrics),
      retentionDays: lk.config.retentionDays,
      maxFutureMs: lk.config.maxFutureMs,
      series: lk.series,
      registry: new RegistryCache(lk.redis, lk.keys),
      registryStore: lk.registry,
      evaluator: lk.evaluator!,
      observer: lk.metrics.observer,
    });
  }

  it('a job processed twice (worker retry) counts its samples once, with and without ids', async () => {
    const samples: RawSample[] = [
      { metric: 'card_opening', entity: 'D0001', value: 10, ts: '2026-11-20T09:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0001', value: 20, ts: '2026-11-20T15:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0001', value: 5, ts: '2026-11-20T18:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0001', value: 7, ts: '2026-11-19T12:00:00+08:00', id: 'D0001/card_opening/2026-11-19' },
    ];
    const p = processor();
    const first = await p.process('job-1', { v: 1, source: 'test', samples });
    expect(first).toMatchObject({ accepted: 4, rejected: [], chunks: 1, skippedChunks: 0 });
    const retry = await p.process('job-1', { v: 1, source: 'test', samples });
    expect(retry).toMatchObject({ accepted: 4, chunks: 0, skippedChunks: 1 });

    const series = await lk.daily('D0001', 'card_opening');
    expect(series.get(day('2026-11-20'))).toBe(35);
    expect(series.get(day('2026-11-19'))).toBe(7);
    // The unknown-entity tally is counted once per applied job, not again on the retry.
    expect((await lk.get<UnknownEntitiesBody>('/api/v1/entities/unknown')).body.unknown).toEqual([{ id: 'D0001', samples: 4 }]);

    // A different job with the same id-less samples is new data: it adds (the job id is the key).
    await p.process('job-2', { v: 1, source: 'test', samples: samples.slice(0, 3) });
    expect((await lk.daily('D0001', 'card_opening')).get(day('2026-11-20'))).toBe(70);
  });

  it('a job that crashed between chunks applies only the missing chunks when retried', async () => {
    // 7,000 samples without ids, one per entity: several apply chunks however they are cut.
    const entities = Array.from({ length: 7000 }, (_, i) => `E${String(i).padStart(4, '0')}`);
    const samples = entities.map((entity) => ({ metric: 'air_recharge', entity, value: 3, ts: Date.parse('2026-11-21T10:00:00+08:00') }));
    // The worker died after applying the chunks cut from the first 6,000 samples (chunks are cut
    // from the job's samples in order, and 6,000 is a whole number of chunks for any chunk size
    // that divides it).
    const applied = await lk.series.apply('job-big', samples.slice(0, 6000), lk.clock.now());
    expect(applied.chunks).toBeGreaterThanOrEqual(2);

    const retry = await processor().process('job-big', { v: 1, source: 'test', samples: samples.map((s) => ({ ...s })) });
    expect(retry).toMatchObject({ accepted: 7000, skippedChunks: applied.chunks });
    expect(retry.chunks).toBeGreaterThan(0);
    for (const e of [entities[0]!, entities[2999]!, entities[5999]!, entities[6000]!, entities[6999]!]) {
      const s = await lk.daily(e, 'air_recharge');
      expect([e, s.get(day('2026-11-21'))]).toEqual([e, 3]);
    }
  });

  it('over HTTP: a re-sent export counts once, a corrected one replaces it, an id moved to another day moves its value', async () => {
    const read = async () => lk.daily('G0001', 'air_recharge');
    const send = async (value: number, ts: string, id = 'G0001/air_recharge/export-7') => {
      const res = await lk.post<IngestBody>('/api/v1/samples', [{ metric: 'air_recharge', entity: 'G0001', value, ts, id }]);
      expect(res).toEqual({ status: 202, body: { accepted: 1, rejected: [], rejected_total: 0, rejected_by_code: {} } });
      await lk.idle();
    };
    // Another sample on the same day without an id: it must survive every replacement below.
    await lk.post('/api/v1/samples', [{ metric: 'air_recharge', entity: 'G0001', value: 2, ts: '2026-11-20T08:00:00+08:00' }]);

    await send(6, '2026-11-20T12:00:00+08:00');
    expect((await read()).get(day('2026-11-20'))).toBe(8);
    await send(6, '2026-11-20T12:00:00+08:00');
    expect((await read()).get(day('2026-11-20'))).toBe(8);
    await send(9, '2026-11-20T12:00:00+08:00');
    expect((await read()).get(day('2026-11-20'))).toBe(11);

    await send(7, '2026-11-21T12:00:00+08:00');
    const moved = await read();
    expect(moved.get(day('2026-11-20'))).toBe(2);
    expect(moved.get(day('2026-11-21'))).toBe(7);
    const hourly = await lk.series.readHourly('G0001', 'air_recharge');
    const hour = (ts: string) => lk.calendar.hourOf(Date.parse(ts));
    expect(hourly.get(hour('2026-11-21T12:00:00+08:00'))).toBe(7);
    expect(hourly.get(hour('2026-11-20T12:00:00+08:00')) ?? 0).toBe(0);
    expect(hourly.get(hour('2026-11-20T08:00:00+08:00'))).toBe(2);

    // Moving the only sample of a day away leaves that day without data (absent, not 0).
    await send(4, '2026-11-19T12:00:00+08:00', 'G0001/air_recharge/lonely');
    await send(4, '2026-11-18T12:00:00+08:00', 'G0001/air_recharge/lonely');
    const after = await read();
    expect(after.has(day('2026-11-19'))).toBe(false);
    expect(after.get(day('2026-11-18'))).toBe(4);
  });
});
