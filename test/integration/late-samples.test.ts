// SPEC §4 Time: a daily rule judges a day once it is complete; late samples for a complete day
// re-judge it, and so do late samples for older days that move the baseline.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { dailySamples, startTestLookout, type TestLookout } from '../support/lookout.js';
import { dealer, dealerSeries, FOUR_WEEKS, LAST_DAY } from './fixtures.js';
import { SERIES_LAYOUTS } from '../../src/state/series-layout.js';

const RULE = 'core_dealer_card_opening_drop';

describe.each(SERIES_LAYOUTS)('late samples re-judge complete days (%s series layout)', (layout) => {
  let lk: TestLookout;
  beforeEach(async () => {
    // The corrections below reach 4 weeks back: the compact layout remembers ids that far only
    // with an id window that long (its default, 7 days, answers id_window_passed: test/state/).
    lk = await startTestLookout({ now: '2026-11-22T09:00:00+08:00', env: { LOOKOUT_SERIES_LAYOUT: layout, LOOKOUT_ID_WINDOW_DAYS: '35' } });
    await lk.registry.putMany([dealer('D0001')]);
  });
  afterEach(async () => lk.cleanup());

  async function send(samples: unknown[]): Promise<void> {
    expect((await lk.post('/api/v1/samples', samples)).status).toBe(202);
    await lk.idle();
  }

  it('a late corrected export lowering the latest complete day fires', async () => {
    await send(dealerSeries('D0001', 97));
    expect(await lk.alertsOf('D0001')).toEqual([]);

    // The export for 11-21 is corrected the next morning (same id): 97 → 40.
    await send(dealerSeries('D0001', 40, [LAST_DAY]));
    const [alert] = await lk.alertsOf('D0001');
    expect(alert).toMatchObject({ rule: RULE, state: 'firing', severity: 'critical', period: LAST_DAY, value: 40, baseline: 100 });
  });

  it('late samples for older days that move the baseline re-judge the latest day', async () => {
    // The same weekday as 11-21 in the 4 weeks before: 10-24, 10-31, 11-07, 11-14.
    const weekdays = FOUR_WEEKS.filter((d) => Calendar.weekday(Calendar.parseIsoDay(d)!) === Calendar.weekday(Calendar.parseIsoDay(LAST_DAY)!) && d !== LAST_DAY);
    expect(weekdays).toEqual(['2026-10-24', '2026-10-31', '2026-11-07', '2026-11-14']);
    // Those four days were exported low (50): 11-21 at 50 is no drop against them.
    await send(dailySamples('D0001', 'card_opening', FOUR_WEEKS, (d) => (weekdays.includes(d) || d === LAST_DAY ? 50 : 100)));
    expect(await lk.alertsOf('D0001')).toEqual([]);

    // Corrected exports for three of those older days (100): the baseline is 100 now, 11-21 is a 50 % drop.
    await send(dailySamples('D0001', 'card_opening', weekdays.slice(1), () => 100));
    const [alert] = await lk.alertsOf('D0001');
    expect(alert).toMatchObject({ rule: RULE, state: 'firing', severity: 'critical', period: LAST_DAY, value: 50, baseline: 100 });
  });
});
