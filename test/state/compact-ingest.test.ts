// The compact layout through a running Lookout: its settings, and a refusal found by the worker
// after the 202 (id_window_passed) counted once under the worker's source, never applied.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { Calendar } from '../../src/domain/clock.js';
import { metricValue, startTestLookout, type IngestBody, type TestLookout } from '../support/lookout.js';

describe('LOOKOUT_SERIES_LAYOUT, LOOKOUT_SHARDS, LOOKOUT_ID_WINDOW_DAYS', () => {
  it('default to compact (unset: chosen at start, test/state/layout-choice.test.ts), 64 shards and a 7-day id window; refuse what they cannot be', () => {
    expect(loadConfig({})).toMatchObject({ seriesLayout: 'compact', seriesLayoutSet: false, shards: 64, idWindowDays: 7 });
    expect(loadConfig({ LOOKOUT_SERIES_LAYOUT: 'buckets', LOOKOUT_SHARDS: '256', LOOKOUT_ID_WINDOW_DAYS: '35' })).toMatchObject({
      seriesLayout: 'buckets',
      seriesLayoutSet: true,
      shards: 256,
      idWindowDays: 35,
    });
    expect(() => loadConfig({ LOOKOUT_SERIES_LAYOUT: 'rows' })).toThrow(/LOOKOUT_SERIES_LAYOUT/);
    expect(() => loadConfig({ LOOKOUT_ID_WINDOW_DAYS: '6' })).toThrow(/LOOKOUT_ID_WINDOW_DAYS/);
    expect(() => loadConfig({ LOOKOUT_ID_WINDOW_DAYS: '36' })).toThrow(/LOOKOUT_ID_WINDOW_DAYS/);
  });
});

describe('compact layout over HTTP', () => {
  let lk: TestLookout;
  afterEach(async () => lk.cleanup());

  it('a re-sent export older than the id window replaces within a window of its arrival; after that it is refused by the worker (id_window_passed) and counted once, not added', async () => {
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00', env: { LOOKOUT_SERIES_LAYOUT: 'compact' } });
    const sample = { metric: 'air_recharge', entity: 'G0001', value: 6, ts: '2026-11-10T12:00:00+08:00', id: 'G0001/air_recharge/2026-11-10' };
    for (const wait of [0, 2, 8]) {
      lk.manualClock.advance(wait * 86_400_000);
      const res = await lk.post<IngestBody>('/api/v1/samples', [sample]);
      // The HTTP answer cannot know: the id window is the worker's to judge.
      expect(res.body).toMatchObject({ accepted: 1, rejected: [] });
      await lk.idle();
    }
    expect((await lk.daily('G0001', 'air_recharge')).get(Calendar.parseIsoDay('2026-11-10')!)).toBe(6);
    const metrics = (await lk.get<string>('/metrics')).body;
    expect(metricValue(metrics, 'lookout_samples_rejected_total', { source: 'http:worker', code: 'id_window_passed' })).toBe(1);
  });
});
