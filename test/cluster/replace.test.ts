// Replace-by-id on a real 3-master Redis Cluster (docs/ingest.md "Replace-by-id and the id window"):
// a re-sent id replaces its value (also when moved to another hour), and after the id window has
// passed a new id on a sealed hour is refused with id_window_passed, never counted.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { clusterPerFile } from '../support/cluster-per-file.js';
import { metricValue, startTestLookout, type TestLookout } from '../support/lookout.js';

const cluster = clusterPerFile();
const day = (iso: string) => Calendar.parseIsoDay(iso)!;
const DAY_MS = 86_400_000;

describe('replace-by-id on a Redis Cluster', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ env: { REDIS_URL: cluster().urls }, keepKeys: true });
    expect(lk.keys.cluster).toBe(true);
  });
  afterEach(async () => lk.cleanup());

  const send = async (value: number, ts: string, id: string, entity = 'G0001') =>
    lk.post('/api/v1/samples', [{ metric: 'air_recharge', entity, value, ts, id }]);

  it('a re-sent id replaces its value, also when it moves to another day', async () => {
    // Several entities, so the series land on more than one master.
    for (const entity of ['G0001', 'G0002', 'G0003', 'G0004']) {
      expect((await send(10, '2026-11-21T10:00:00+08:00', `${entity}/x`, entity)).status).toBe(202);
    }
    await lk.idle(30_000);
    expect((await lk.daily('G0003', 'air_recharge')).get(day('2026-11-21'))).toBe(10);

    await send(10, '2026-11-21T10:00:00+08:00', 'G0001/x'); // the same export again: counted once
    await send(25, '2026-11-21T10:00:00+08:00', 'G0002/x', 'G0002'); // corrected: replaced
    await send(7, '2026-11-20T10:00:00+08:00', 'G0003/x', 'G0003'); // moved a day back
    await lk.idle(30_000);
    expect((await lk.daily('G0001', 'air_recharge')).get(day('2026-11-21'))).toBe(10);
    expect((await lk.daily('G0002', 'air_recharge')).get(day('2026-11-21'))).toBe(25);
    const moved = await lk.daily('G0003', 'air_recharge');
    expect(moved.get(day('2026-11-20'))).toBe(7);
    expect(moved.get(day('2026-11-21')) ?? 0).toBe(0);
  }, 90_000);

  it('after the id window a new id on a sealed hour gets id_window_passed and is not counted', async () => {
    expect((await send(10, '2026-11-15T10:00:00+08:00', 'G0001/old-a')).status).toBe(202);
    await lk.idle(30_000);
    expect((await lk.daily('G0001', 'air_recharge')).get(day('2026-11-15'))).toBe(10);

    // Past the window (7 days) and the small index's grace (3 days): the hour's ids are dropped.
    lk.manualClock.advance(14 * DAY_MS);
    await send(1, '2026-12-06T10:00:00+08:00', 'G0001/today'); // a call that drops the old entries
    await lk.idle(30_000);
    const res = await send(5, '2026-11-15T10:00:00+08:00', 'G0001/old-b');
    expect(res.status).toBe(202);
    await lk.idle(30_000);
    const m = await lk.get<string>('/metrics');
    expect(metricValue(String(m.body), 'lookout_samples_rejected_total', { code: 'id_window_passed' })).toBe(1);
    expect((await lk.daily('G0001', 'air_recharge')).get(day('2026-11-15'))).toBe(10);
  }, 90_000);
});
