// SPEC §4 from outside, as cases any deployment must pass: samples over HTTP → worker → shipped
// rules → alert state in Redis. Run on a standalone Redis under both series layouts
// (contract.test.ts) and on a real Redis Cluster (test/cluster/contract.test.ts).
import { expect, it } from 'vitest';
import { isoDays, type AlertBody, type AlertsBody, type TestLookout } from '../support/lookout.js';

export const CONTRACT_NOW = '2026-11-22T09:00:00+08:00';

export const DEALER = {
  id: 'D0001',
  kind: 'core_dealer',
  name: '新乡红旗区核心渠道',
  region: 'R-east',
  district: 'X-hongqi',
  manager: 'C001',
  attrs: { monthly_fee: 120, contract_end: '2027-06-30' },
};

function dealerSeries(days: string[], value: (day: string, i: number) => number) {
  return days.map((d, i) => ({
    metric: 'card_opening',
    entity: 'D0001',
    value: value(d, i),
    ts: `${d}T12:00:00+08:00`,
    id: `D0001/card_opening/${d}`,
  }));
}

/** The contract's cases, against the Lookout `lk()` returns (started before each case by the caller). */
export function contractCases(lk: () => TestLookout): void {
  it('raises a critical alert through the shipped rule, and a corrected export resolves it', async () => {
    expect((await lk().put('/api/v1/entities', [DEALER])).status).toBe(200);
    const days = isoDays('2026-10-24', 29); // 2026-10-24 … 2026-11-21
    const res = await lk().post('/api/v1/samples', dealerSeries(days, (d) => (d === '2026-11-21' ? 40 : 100)));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 29, rejected: [], rejected_total: 0, rejected_by_code: {} });
    await lk().idle();

    const firing = await lk().get<AlertsBody>('/api/v1/alerts?entity=D0001&state=firing');
    expect(firing.status).toBe(200);
    expect(firing.body.alerts).toHaveLength(1);
    const alert = firing.body.alerts[0]!;
    expect(alert).toMatchObject({ rule: 'core_dealer_card_opening_drop', entity: 'D0001', severity: 'critical', state: 'firing', period: '2026-11-21' });
    expect(alert.baseline).toBe(100);
    expect(alert.value).toBe(40);

    // The same export sent again changes nothing (counted once).
    await lk().post('/api/v1/samples', dealerSeries(['2026-11-21'], () => 40));
    await lk().idle();
    expect((await lk().get<AlertBody>(`/api/v1/alerts/${alert.id}`)).body.alert).toMatchObject({ state: 'firing', severity: 'critical', value: 40 });

    // A corrected export for the same id replaces the value and resolves the alert.
    await lk().post('/api/v1/samples', dealerSeries(['2026-11-21'], () => 98));
    await lk().idle();
    const after = await lk().get<AlertBody>(`/api/v1/alerts/${alert.id}`);
    expect(after.body.alert).toMatchObject({ state: 'resolved', value: 98 });
    expect(lk().transitions.map((e) => e.change)).toEqual(['fire', 'resolve']);
  });
}
