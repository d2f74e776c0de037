// SPEC §3.6, §3.9: acknowledgement over the API, and a severity upgrade that fires again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestLookout, type AlertBody, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, LAST_DAY } from './fixtures.js';

describe('POST /api/v1/alerts/:id/ack', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00' });
    await lk.registry.putMany([dealer('D0001')]);
  });
  afterEach(async () => lk.cleanup());

  async function lastDay(value: number): Promise<void> {
    expect((await lk.post('/api/v1/samples', dealerSeries('D0001', value, [LAST_DAY]))).status).toBe(202);
    await lk.idle();
  }

  it('acknowledges a firing alert, fires again on an upgrade, and refuses a resolved one', async () => {
    // 65 against a baseline of 100: a 35 % drop → warning.
    expect((await lk.post('/api/v1/samples', dealerSeries('D0001', 65))).status).toBe(202);
    await lk.idle();
    const [warning] = await lk.alertsOf('D0001');
    expect(warning).toMatchObject({ state: 'firing', severity: 'warning', period: LAST_DAY });

    lk.manualClock.advance(10 * 60_000);
    const ackAt = lk.clock.now();
    const acked = await lk.post<AlertBody>(`/api/v1/alerts/${warning!.id}/ack`, { by: '王经理' });
    expect(acked.status).toBe(200);
    expect(acked.body.alert).toMatchObject({ state: 'acknowledged', severity: 'warning', ack: { by: '王经理', via: 'api', at: ackAt } });
    expect((await lk.alerts.get(warning!.id))?.state).toBe('acknowledged');
    // Acknowledging again changes nothing.
    const again = await lk.post<AlertBody>(`/api/v1/alerts/${warning!.id}/ack`, { by: '李主任' });
    expect(again.status).toBe(200);
    expect(again.body.alert.ack).toEqual({ by: '王经理', via: 'api', at: ackAt });
    await lk.idle();
    expect(lk.transitions.map((e) => [e.change, e.from, e.to])).toEqual([
      ['fire', null, 'firing'],
      ['ack', 'firing', 'acknowledged'],
    ]);

    // The day is corrected to 40 (60 % drop): critical, firing again, the ack cleared.
    await lastDay(40);
    const upgraded = await lk.alerts.get(warning!.id);
    expect(upgraded).toMatchObject({ state: 'firing', severity: 'critical', value: 40 });
    expect(upgraded?.ack).toBeUndefined();
    expect(lk.transitions.at(-1)).toMatchObject({ change: 'upgrade', from: 'acknowledged', to: 'firing', previousSeverity: 'warning' });

    // Back to normal: resolved, and a resolved alert cannot be acknowledged.
    await lastDay(100);
    expect((await lk.alerts.get(warning!.id))?.state).toBe('resolved');
    const refused = await lk.post<ErrorJson>(`/api/v1/alerts/${warning!.id}/ack`, { by: '王经理' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('not_ackable');
    expect(lk.transitions.map((e) => e.change)).toEqual(['fire', 'ack', 'upgrade', 'resolve']);
    // Event ids are <fingerprint>-<seq>: one per transition, in order.
    expect(lk.transitions.map((e) => e.id)).toEqual([1, 2, 3, 4].map((seq) => `${warning!.fingerprint}-${seq}`));
  });

  it('404 for an unknown alert, 400 without a usable `by`', async () => {
    expect((await lk.post<ErrorJson>('/api/v1/alerts/0123456789abcdef/ack', { by: 'x' })).body.error.code).toBe('not_found');
    const noBy = await lk.post<ErrorJson>('/api/v1/alerts/0123456789abcdef/ack', { by: '   ' });
    expect([noBy.status, noBy.body.error.code]).toEqual([400, 'bad_request']);
  });
});
