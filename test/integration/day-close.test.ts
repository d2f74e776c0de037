// The scheduler's day close (src/roles/day-closer.ts) and the rules that need it: absence on
// closed days, agreement-expiry reminders by date, campaign rules inside their live window.
import { afterEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { dailySamples, isoDays, startTestLookout, type TestLookout } from '../support/lookout.js';
import { campaign, dealer, outlet } from './fixtures.js';

const day = (iso: string) => Calendar.parseIsoDay(iso)!;

describe('day close', () => {
  let lk: TestLookout;
  afterEach(async () => lk.cleanup());

  async function send(samples: unknown[]): Promise<void> {
    expect((await lk.post('/api/v1/samples', samples)).status).toBe(202);
    await lk.idle();
  }

  async function closeDay(iso: string, now: string): Promise<void> {
    lk.manualClock.set(now);
    await lk.dayCloser!.close(day(iso));
    await lk.idle();
  }

  const OUTLETS = ['G0001', 'G0002', 'G0003', 'G0004', 'G0005'];

  /** Five outlets reporting 10 air recharges a day up to 11-19; G0003's fee is below 50 (out of scope). */
  async function outletsUpTo1119(): Promise<void> {
    lk = await startTestLookout({ now: '2026-11-20T09:00:00+08:00' });
    await lk.registry.putMany(OUTLETS.map((id) => outlet(id, id === 'G0003' ? 30 : 80)));
    await send(OUTLETS.flatMap((id) => dailySamples(id, 'air_recharge', isoDays('2026-11-01', 19), () => 10)));
    expect(await lk.alerts.list({})).toEqual([]);
  }

  /** The daily export of `day` arrives just after midnight with the given outlets in it. */
  async function exportOf(day: string, now: string, outlets: readonly string[]): Promise<void> {
    lk.manualClock.set(now);
    await send(outlets.flatMap((id) => dailySamples(id, 'air_recharge', [day], () => 10)));
  }

  it('an outlet silent for 2 days while the others reported raises the absence warning at the day close', async () => {
    await outletsUpTo1119();
    // The exports of 11-20 and 11-21 arrive without G0001 and G0003.
    await exportOf('2026-11-20', '2026-11-21T00:05:00+08:00', ['G0002', 'G0004', 'G0005']);
    await closeDay('2026-11-20', '2026-11-21T00:10:00+08:00');
    expect(await lk.alerts.list({})).toEqual([]);
    await exportOf('2026-11-21', '2026-11-22T00:05:00+08:00', ['G0002', 'G0004', 'G0005']);
    // Nothing judges a silent outlet (no samples mark it) until the scheduler does.
    expect(await lk.alerts.list({})).toEqual([]);

    await closeDay('2026-11-21', '2026-11-22T00:10:00+08:00');
    const alerts = await lk.alerts.list({});
    expect(alerts.map((a) => [a.entity, a.rule, a.state, a.severity, a.period, a.value])).toEqual([
      ['G0001', 'grassroots_air_recharge_absent', 'firing', 'warning', '2026-11-21', 2],
    ]);

    // Data again today resolves it.
    await send([{ metric: 'air_recharge', entity: 'G0001', value: 4, ts: '2026-11-22T00:05:00+08:00' }]);
    expect((await lk.alerts.get(alerts[0]!.id))?.state).toBe('resolved');
  });

  it("the scheduler's absence pass judges silent outlets once yesterday's export has arrived", async () => {
    await outletsUpTo1119();
    await exportOf('2026-11-20', '2026-11-21T00:05:00+08:00', ['G0002', 'G0004', 'G0005']);
    await closeDay('2026-11-20', '2026-11-21T00:10:00+08:00');
    // 11-21 is closed at midnight before its export arrives (it comes in the morning).
    await closeDay('2026-11-21', '2026-11-22T00:10:00+08:00');
    expect(await lk.alerts.list({})).toEqual([]);

    await exportOf('2026-11-21', '2026-11-22T07:30:00+08:00', ['G0002', 'G0004', 'G0005']);
    expect(await lk.dayCloser!.absencePass()).toEqual(['air_recharge']);
    await lk.idle();
    expect((await lk.alerts.list({})).map((a) => [a.entity, a.rule, a.state])).toEqual([['G0001', 'grassroots_air_recharge_absent', 'firing']]);
    // Once per metric and day.
    expect(await lk.dayCloser!.absencePass()).toEqual([]);
  });

  it('a stalled feed (every outlet silent) raises no absence warnings, and one feed_stalled alert once the export is due', async () => {
    await outletsUpTo1119();
    await closeDay('2026-11-20', '2026-11-21T00:10:00+08:00');
    await closeDay('2026-11-21', '2026-11-22T00:10:00+08:00');
    expect(await lk.alerts.list({})).toEqual([]);

    // The scheduler's ten-minute check after 06:00 (expected_by), when 11-21's export is due.
    lk.manualClock.set('2026-11-22T06:10:00+08:00');
    await lk.crons.run('lookout-absence-pass');
    await lk.idle();
    const alerts = await lk.alerts.list({});
    expect(alerts.map((a) => [a.entity, a.rule, a.state, a.severity, a.period, a.value, a.baseline])).toEqual([
      ['feed:air_recharge', 'feed_stalled', 'firing', 'critical', '2026-11-21', 0, 5],
    ]);
  });

  it('the agreement-expiry reminder fires (info) once contract_end is within 30 days', async () => {
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00' });
    await lk.put('/api/v1/entities', [dealer('D0001', { contract_end: '2026-12-31' }), dealer('D0002', { contract_end: '2026-12-10' })]);
    await lk.idle();
    // 18 days ahead: reminded at once, on registration.
    expect((await lk.alertsOf('D0002')).map((a) => [a.rule, a.state, a.severity, a.notify])).toEqual([['contract_end_reminder', 'firing', 'info', true]]);
    // 39 days ahead: not yet.
    expect(await lk.alertsOf('D0001')).toEqual([]);

    // Ten days later (29 days ahead) the scheduler's next close judges it again.
    lk.manualClock.set('2026-12-02T00:10:00+08:00');
    expect(await lk.dayCloser!.closeDue()).toBe('2026-12-01');
    await lk.idle();
    expect((await lk.alertsOf('D0001')).map((a) => [a.rule, a.state, a.severity])).toEqual([['contract_end_reminder', 'firing', 'info']]);
    // Closing twice is harmless.
    expect(await lk.dayCloser!.closeDue()).toBeUndefined();
  });

  it('a campaign complaint-rate rule fires only inside the live window', async () => {
    lk = await startTestLookout({ now: '2026-11-09T15:00:00+08:00' });
    await lk.registry.putMany([campaign('K2026-11', { start: '2026-11-10', end: '2026-11-30', target_customers: 100_000 })]);
    // 50 complaints a day (5 per 10k customers) before the campaign starts: not judged.
    await send(dailySamples('K2026-11', 'complaints', isoDays('2026-11-05', 4), () => 50));
    await send([{ metric: 'complaints', entity: 'K2026-11', value: 50, ts: '2026-11-09T10:00:00+08:00' }]);
    expect(await lk.alertsOf('K2026-11')).toEqual([]);

    // The first live day at the same level fires a warning (≥ 3 per 10k).
    await closeDay('2026-11-09', '2026-11-11T09:00:00+08:00');
    await send(dailySamples('K2026-11', 'complaints', ['2026-11-10'], () => 50));
    const rate = (await lk.alertsOf('K2026-11')).filter((a) => a.rule === 'campaign_complaint_rate');
    expect(rate.map((a) => [a.state, a.severity, a.period, a.measure])).toEqual([['firing', 'warning', '2026-11-10', 5]]);

    // Once the campaign has left its window, its alerts resolve.
    await closeDay('2026-12-01', '2026-12-02T00:10:00+08:00');
    expect((await lk.alertsOf('K2026-11')).map((a) => [a.rule, a.state])).toEqual([['campaign_complaint_rate', 'resolved']]);
  });
});
