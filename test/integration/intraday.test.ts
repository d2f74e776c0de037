// The intraday rule end to end (issue 5 item 6): hourly samples through the API into a real test
// Lookout (real Redis, worker, scheduler) on a ManualClock. Four weeks of a morning-heavy hourly
// profile, then a day that collapses at 08:00 — the shipped core_dealer_card_opening_intraday
// fires by 11:00 — next to an ordinary day that stays quiet from midnight to midnight; the
// alert ends with its day at the first evaluation after midnight, when the daily rule takes over.
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import { isoDays, startTestLookout, type TestLookout } from '../support/lookout.js';
import { dealer } from './fixtures.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';

const INTRADAY = 'core_dealer_card_opening_intraday';
const DAILY = 'core_dealer_card_opening_drop';
const TODAY = '2026-11-21'; // a Saturday
const HISTORY = isoDays('2026-10-24', 28); // the four weeks before it

/** Share of a day's card openings by local hour: opens at 08:00, busiest 09:00–12:00. */
const PROFILE = [0, 0, 0, 0, 0, 0, 0, 0, 4, 10, 14, 12, 10, 8, 7, 7, 6, 6, 5, 4, 3, 2, 2, 0];
const PROFILE_SUM = PROFILE.reduce((a, b) => a + b, 0); // 100

/** An ordinary day of a dealer selling ~`perDay` (±8 % from day to day): cards by hour. */
function ordinaryHours(perDay: number, dayIndex: number): number[] {
  const level = perDay * (1 + 0.08 * Math.sin(dayIndex * 2.1));
  return PROFILE.map((w, h) => Math.round((level * w) / PROFILE_SUM + 0.3 * Math.sin(dayIndex * 7 + h)));
}

/** Hourly samples (one per hour with sales) with the export's id `<entity>/card_opening/<day>T<hour>`. */
function hourlySamples(entity: string, day: string, hours: readonly number[], only?: (hour: number) => boolean) {
  return hours.flatMap((value, h) => {
    if (only && !only(h)) return [];
    const hh = String(h).padStart(2, '0');
    return value > 0 || only ? [{ metric: 'card_opening', entity, value, ts: `${day}T${hh}:00:00+08:00`, id: `${entity}/card_opening/${day}T${hh}` }] : [];
  });
}

const COLLAPSING = 'D0001';
const ORDINARY = 'D0002';
/** Today: D0001 sells normally until 08:00, then about a tenth of its usual; D0002 an ordinary day. */
const todayHours = {
  [COLLAPSING]: ordinaryHours(120, 28).map((v, h) => (h >= 8 ? Math.round(v * 0.1) : v)),
  [ORDINARY]: ordinaryHours(120, 28),
};

describe.each(SERIES_LAYOUTS)('intraday rule through a running Lookout (%s series layout)', (layout) => {
  let lk: TestLookout;
  afterEach(async () => lk.cleanup());

  async function send(samples: unknown[]): Promise<void> {
    const res = await lk.post<{ accepted: number; rejected: unknown[] }>('/api/v1/samples', samples);
    expect(res.status).toBe(202);
    expect(res.body.rejected).toEqual([]);
    await lk.idle();
  }

  /** Four weeks of hourly history for both dealers, sent just after midnight of today. */
  async function start(env: Record<string, string> = {}): Promise<void> {
    lk = await startTestLookout({ now: `${TODAY}T00:05:00+08:00`, env: { LOOKOUT_SERIES_LAYOUT: layout, ...env } });
    await lk.registry.putMany([dealer(COLLAPSING), dealer(ORDINARY)]);
    await send(HISTORY.flatMap((day, i) => [COLLAPSING, ORDINARY].flatMap((id) => hourlySamples(id, day, ordinaryHours(120, i)))));
    expect(await lk.alerts.list({})).toEqual([]);
  }

  /** The hourly export of hour `h` of today arrives at (h+1):02; returns the open alerts after it. */
  async function hourArrives(h: number): Promise<AlertRecord[]> {
    const next = Date.parse(`${TODAY}T00:02:00+08:00`) + (h + 1) * 3_600_000;
    lk.manualClock.set(next);
    const only = (hour: number) => hour === h;
    await send([...hourlySamples(COLLAPSING, TODAY, todayHours[COLLAPSING], only), ...hourlySamples(ORDINARY, TODAY, todayHours[ORDINARY], only)]);
    return (await lk.alerts.list({})).filter((a) => a.state !== 'resolved');
  }

  it('fires by 11:00 on a day that collapses at 08:00, stays quiet on an ordinary day, and ends with the day', async () => {
    await start({ LOOKOUT_HOURLY_RETENTION_DAYS: '28' });
    const seen: string[] = [];
    let firstFiring: number | undefined;
    for (let h = 0; h < 23; h++) {
      const open = await hourArrives(h);
      expect(open.filter((a) => a.entity === ORDINARY)).toEqual([]);
      const alert = open.find((a) => a.entity === COLLAPSING && a.rule === INTRADAY);
      if (alert?.state === 'firing' && firstFiring === undefined) firstFiring = h + 1;
      seen.push(`${h + 1}:${alert?.state ?? '-'}`);
      // Nothing but the intraday rule speaks during the day (yesterday was ordinary for both).
      expect(open.filter((a) => a.rule !== INTRADAY).map((a) => [h, a.entity, a.rule, a.severity, a.summary])).toEqual([]);
    }
    // Judged from 10:00 (hours 0–9 counted): fires as soon as it may, and stays open all day.
    expect(firstFiring).toBeDefined();
    expect(firstFiring!).toBeLessThanOrEqual(11);
    expect(seen.slice(7, 12)).toEqual(['8:-', '9:-', '10:firing', '11:firing', '12:firing']);
    expect(seen.at(-1)).toBe('23:firing');

    const [alert] = await lk.alerts.list({ entity: COLLAPSING, rule: INTRADAY });
    expect(alert).toMatchObject({ state: 'firing', severity: 'warning', notify: true, period: TODAY, labels: { team: 'channels' } });
    expect(alert!.summary).toMatch(/^开卡量 今日截至23时累计 \d+，同期同时段 \d+，下降 \d+%$/);
    expect(alert!.p!).toBeLessThanOrEqual(0.001);
    const fired = lk.transitions.filter((e) => e.alert.rule === INTRADAY && e.change === 'fire');
    expect(fired.map((e) => [e.alert.entity, new Date(e.at).toISOString()])).toEqual([[COLLAPSING, '2026-11-21T02:02:00.000Z']]); // 10:02 local

    // The last hour arrives at 00:02: the first evaluation of the new day ends the intraday alert,
    // and the daily rule judges the complete day.
    const open = await hourArrives(23);
    expect((await lk.alerts.get(alert!.id))).toMatchObject({ state: 'resolved', summary: `${TODAY} 的日内预警随当日结束` });
    expect(open.map((a) => [a.entity, a.rule, a.severity, a.period])).toEqual([[COLLAPSING, DAILY, 'critical', TODAY]]);
    // The scheduler's day close judges everyone once more: nothing changes.
    lk.manualClock.set('2026-11-22T00:10:00+08:00');
    await lk.dayCloser!.close(Calendar.parseIsoDay(TODAY)!);
    await lk.idle();
    expect((await lk.alerts.list({})).filter((a) => a.state !== 'resolved').map((a) => [a.entity, a.rule])).toEqual([[COLLAPSING, DAILY]]);
  });

  it('with 8 days of hourly retention it still fires by 11:00 (shape from the days kept, level from the daily buckets)', async () => {
    await start({ LOOKOUT_HOURLY_RETENTION_DAYS: '8' });
    for (let h = 0; h < 9; h++) expect(await hourArrives(h)).toEqual([]);
    const open = await hourArrives(9); // 10:02: hours 0–9 are in
    expect(open.map((a) => [a.entity, a.rule, a.state])).toEqual([[COLLAPSING, INTRADAY, 'firing']]);
    // Too little same-weekday hourly history is kept: the expectation uses the all-days shape (预期).
    expect(open[0]!.summary).toMatch(/^开卡量 今日截至10时累计 \d+，预期 [\d.]+，下降 \d+%$/);
    expect((await hourArrives(10)).map((a) => [a.entity, a.state])).toEqual([[COLLAPSING, 'firing']]);
  });

  it('a dealer whose feed falls silent at 08:00 is still judged: the scheduler’s hourly pass fires it', async () => {
    await start();
    // Today's hours up to 08:00 arrive; after that the dealer's feed sends nothing at all.
    lk.manualClock.set(Date.parse(`${TODAY}T08:05:00+08:00`));
    await send(hourlySamples(COLLAPSING, TODAY, todayHours[ORDINARY], (h) => h < 8));
    lk.manualClock.set(Date.parse(`${TODAY}T11:02:00+08:00`));
    expect((await lk.alertsOf(COLLAPSING)).filter((a) => a.rule === INTRADAY)).toEqual([]);
    expect(await lk.dayCloser!.intradayPass()).toBe(2);
    await lk.idle();
    const fired = (await lk.alertsOf(COLLAPSING)).filter((a) => a.rule === INTRADAY);
    expect(fired.map((a) => [a.state, a.severity])).toEqual([['firing', 'warning']]);
  });
});
