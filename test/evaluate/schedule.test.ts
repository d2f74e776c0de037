import { describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { JudgementSchedule } from '../../src/evaluate/schedule.js';

const cal = new Calendar('Asia/Shanghai');
const day = (iso: string) => Calendar.parseIsoDay(iso)!;
const local = (ms: number | undefined) => (ms === undefined ? undefined : cal.formatLocal(ms));

describe('the judgement schedule follows the scheduler’s crons', () => {
  it('by default closes a day at 00:05 the next morning and passes each hour at :02', () => {
    const s = new JudgementSchedule(cal);
    expect(local(s.closeAt(day('2026-11-21')))).toBe('2026-11-22T00:05:00+08:00');
    expect(local(s.hourPassAt(day('2026-11-21'), 13))).toBe('2026-11-21T13:02:00+08:00');
    expect(local(s.hourPassAt(day('2026-12-31'), 23))).toBe('2026-12-31T23:02:00+08:00');
    s.close();
  });

  it('follows LOOKOUT_DAY_CLOSE_CRON: a later close, and no close on days the cron skips', () => {
    const s = new JudgementSchedule(cal, { dayCloseCron: '30 6 * * 1-5' });
    // Thursday 11-19 closes on Friday morning; Friday's and Saturday's closes would run on the
    // weekend, which the cron skips; Sunday's runs on Monday.
    expect(local(s.closeAt(day('2026-11-19')))).toBe('2026-11-20T06:30:00+08:00');
    expect(s.closeAt(day('2026-11-20'))).toBeUndefined();
    expect(s.closeAt(day('2026-11-21'))).toBeUndefined();
    expect(local(s.closeAt(day('2026-11-22')))).toBe('2026-11-23T06:30:00+08:00');
    s.close();
  });

  it('an hourly pass that skips hours leaves those hours unjudged; several runs an hour: the first', () => {
    const s = new JudgementSchedule(cal, { intradayCron: '10,40 8-20 * * *' });
    expect(s.hourPassAt(day('2026-11-21'), 7)).toBeUndefined();
    expect(local(s.hourPassAt(day('2026-11-21'), 8))).toBe('2026-11-21T08:10:00+08:00');
    expect(s.hourPassAt(day('2026-11-21'), 21)).toBeUndefined();
    s.close();
  });

  it('works in a zone with summer time (the close is at local 00:05 on both sides of the change)', () => {
    const berlin = new Calendar('Europe/Berlin');
    const s = new JudgementSchedule(berlin);
    expect(berlin.formatLocal(s.closeAt(day('2026-03-28'))!)).toBe('2026-03-29T00:05:00+01:00');
    expect(berlin.formatLocal(s.closeAt(day('2026-03-29'))!)).toBe('2026-03-30T00:05:00+02:00');
    // 02:00–03:00 does not exist on 2026-03-29: no pass in that hour.
    expect(s.hourPassAt(day('2026-03-29'), 2)).toBeUndefined();
    expect(berlin.formatLocal(s.hourPassAt(day('2026-03-29'), 3)!)).toBe('2026-03-29T03:02:00+02:00');
    s.close();
  });
});
