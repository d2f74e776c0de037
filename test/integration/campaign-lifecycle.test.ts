// Campaign lifecycle (docs/campaigns.md) from outside: a campaign's rules are silent before `start` and
// after `end` and fire while it is live; the campaigns API shows the phase and headline figures;
// complaint samples are also counted by category (complaints.<category>).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { isoDays, startTestLookout, type AlertsBody, type ErrorJson, type TestLookout } from '../support/lookout.js';
import { ingest } from '../support/notify.js';

const campaign = (id: string, start: string, end: string): Entity => ({
  id,
  kind: 'campaign',
  name: `营销案 ${id}`,
  attrs: { start, end, target_customers: 100_000, category: 'data', owner: 'CO1' },
});

/** One complaint sample per category and day, with the export's ids. */
function complaints(entity: string, days: readonly string[], perDay: (day: string) => Partial<Record<string, number>>) {
  return days.flatMap((d) =>
    Object.entries(perDay(d)).map(([category, value]) => ({ metric: 'complaints', entity, value, ts: `${d}T12:00:00+08:00`, id: `${entity}/complaints/${d}/${category}`, labels: { category } })),
  );
}

const day = (s: string) => Calendar.parseIsoDay(s)!;

describe('campaign lifecycle', () => {
  let lk: TestLookout;
  // Clock: 2026-11-22 09:00 (Asia/Shanghai).
  beforeAll(async () => {
    lk = await startTestLookout();
    const res = await lk.put('/api/v1/entities', [
      campaign('CPREP', '2026-11-25', '2026-12-20'), // preparation: the surge is before it starts
      campaign('CLIVE', '2026-11-01', '2026-11-30'), // live: the surge is inside the window
      campaign('CENDED', '2026-11-01', '2026-11-12'), // post-evaluation: the surge is after it ended
      { id: 'D0001', kind: 'core_dealer', name: '核心渠道', region: 'R-east', district: 'X-hongqi', attrs: {} },
    ]);
    expect(res.status).toBe(200);
    const quiet = isoDays('2026-11-01', 14); // 11-01 … 11-14: 10 a day
    const loud = isoDays('2026-11-15', 7); // 11-15 … 11-21: 250 a day (25 per 10k: critical)
    for (const id of ['CPREP', 'CLIVE', 'CENDED']) {
      await ingest(lk, complaints(id, quiet, () => ({ network: 6, service: 4 })));
      await ingest(lk, complaints(id, loud, (d) => (d === '2026-11-21' ? { billing: 155, network: 60, promotion: 35 } : { network: 150, billing: 100 })));
    }
    await ingest(lk, isoDays('2026-11-15', 7).map((d) => ({ metric: 'enrollments', entity: 'CLIVE', value: 1000, ts: `${d}T12:00:00+08:00`, id: `CLIVE/enrollments/${d}` })));
    await lk.idle();
  });
  afterAll(async () => lk.cleanup());

  const campaignAlerts = async (entity: string) => (await lk.get<AlertsBody>(`/api/v1/alerts?entity=${entity}`)).body.alerts.filter((a) => a.rule.startsWith('campaign_'));

  it('the campaign rules fire only while the campaign is live', async () => {
    const live = await campaignAlerts('CLIVE');
    expect(live.map((a) => [a.rule, a.severity, a.state, a.period])).toEqual([['campaign_complaint_rate', 'critical', 'firing', '2026-11-21']]);
    expect(await campaignAlerts('CPREP')).toEqual([]);
    expect(await campaignAlerts('CENDED')).toEqual([]);
  });

  it('lists campaigns by phase', async () => {
    const ids = async (phase?: string) => (await lk.get<{ campaigns: { id: string; phase: string }[] }>(`/api/v1/campaigns${phase ? `?phase=${phase}` : ''}`)).body.campaigns.map((c) => `${c.id}:${c.phase}`);
    expect(await ids()).toEqual(['CENDED:post_evaluation', 'CLIVE:live', 'CPREP:preparation']);
    expect(await ids('live')).toEqual(['CLIVE:live']);
    expect(await ids('preparation')).toEqual(['CPREP:preparation']);
    expect(await ids('post_evaluation')).toEqual(['CENDED:post_evaluation']);
    const bad = await lk.get<ErrorJson>('/api/v1/campaigns?phase=over');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_request']);
  });

  it('one campaign: entity, phase, headline figures, categories and the lead department', async () => {
    const res = await lk.get<{ campaign: Record<string, unknown> & { figures: Record<string, unknown>; alerts: unknown[] } }>('/api/v1/campaigns/CLIVE');
    expect(res.status).toBe(200);
    const c = res.body.campaign;
    expect(c).toMatchObject({
      id: 'CLIVE',
      phase: 'live',
      timeline: { phase: 'live', start: '2026-11-01', end: '2026-11-30', days: 30, dayOfCampaign: 22 },
      entity: { id: 'CLIVE', kind: 'campaign' },
      evaluated: false,
      lead: { category: 'network', department: 'network', departmentName: '网管中心' },
    });
    expect(c.figures).toMatchObject({
      asOf: '2026-11-22',
      toDate: { days: 22, enrollments: 7000, complaints: 14 * 10 + 6 * 250 + 250, unsubscribes: 0, complaintsPer10k: 189 },
      yesterday: { date: '2026-11-21', complaints: 250, complaintsPer10k: 25, enrollments: 1000, unsubscribes: 0 },
      openAlerts: 1,
    });
    expect(c.alerts).toHaveLength(1);
    // Its alert carries the names the alerts API gives, the rule's title from rules/campaigns.yaml.
    const [alert] = c.alerts as { id: string; name: string; kind: string; rule: string; ruleTitle: string }[];
    const titles: Record<string, string> = { campaign_complaint_rate: '营销案投诉率超标', campaign_complaint_spike: '营销案投诉激增' };
    expect(alert).toMatchObject({ kind: 'campaign', name: (c.entity as { name: string }).name, ruleTitle: titles[alert!.rule] });
    const one = await lk.get<{ alert: { ruleTitle: string; name: string } }>(`/api/v1/alerts/${alert!.id}`);
    expect(one.body.alert).toMatchObject({ ruleTitle: titles[alert!.rule], name: alert!.name });
    expect((await lk.get<ErrorJson>('/api/v1/campaigns/D0001')).status).toBe(404);
    expect((await lk.get<ErrorJson>('/api/v1/campaigns/NOPE')).body.error.code).toBe('not_found');
  });

  it('stores complaints by category beside the total; a corrected export moves a sample to its new category', async () => {
    const d21 = day('2026-11-21');
    expect((await lk.daily('CLIVE', 'complaints')).get(d21)).toBe(250);
    expect((await lk.daily('CLIVE', 'complaints.billing')).get(d21)).toBe(155);
    expect((await lk.daily('CLIVE', 'complaints.network')).get(d21)).toBe(60);
    expect((await lk.daily('CLIVE', 'complaints.promotion')).get(d21)).toBe(35);
    // The billing row of 11-21 is re-sent as tariff (same id): it leaves billing.
    await ingest(lk, [{ metric: 'complaints', entity: 'CLIVE', value: 155, ts: '2026-11-21T12:00:00+08:00', id: 'CLIVE/complaints/2026-11-21/billing', labels: { category: 'tariff' } }]);
    await lk.idle();
    expect((await lk.daily('CLIVE', 'complaints')).get(d21)).toBe(250);
    expect((await lk.daily('CLIVE', 'complaints.billing')).get(d21)).toBeUndefined();
    expect((await lk.daily('CLIVE', 'complaints.tariff')).get(d21)).toBe(155);
  });
});
