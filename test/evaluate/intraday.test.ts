// intraday (src/evaluate/kinds/intraday.ts): today's cumulative count up to the current hour vs
// the entity's own expected cumulative at that hour — table-driven evaluator tests.

import { describe, expect, it } from 'vitest';
import { expandSeriesValues } from '../../src/backtest/rule-tests.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Rule, Severity } from '../../src/domain/rule.js';
import { ruleHourlyLookbackDays, ruleLookbackDays } from '../../src/domain/rule.js';
import { cumulative, evaluateEntity, expectedCumulative, profileDays, shapeDispersion } from '../../src/evaluate/index.js';
import type { EntityHourly, EntitySeries } from '../../src/evaluate/index.js';
import { evaluateRule } from '../../src/evaluate/index.js';
import { countLowerTail } from '../../src/evaluate/stats.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';
import { calendar, day, entity, rule } from './fixtures.js';

// A dealer selling 100 cards a day from 08:00: 10 20 20 15 10 then 5 an hour until 18:00.
// Cumulative before 10:00 = 30, before 11:00 = 50, before 12:00 = 65.
const DAY = '0x8 10 20 20 15 10 5x5 0x6';
const COLLAPSE_AT_8 = '0x8 2 4 4 3 2 1x5 0x6'; // −80 % from 08:00
const TODAY = '2026-11-21'; // a Saturday; the four weeks before start on 2026-10-24
const START = '2026-10-24';

const dealer = entity({ id: 'D1', kind: 'core_dealer' });

const intraday = (over: Record<string, unknown> = {}) =>
  rule({
    id: 'intraday',
    kind: 'intraday',
    metric: 'card_opening',
    scope: { kind: 'core_dealer' },
    direction: 'drop',
    from_hour: 10,
    baseline: { weeks: 4, min: 10 },
    levels: [{ severity: 'warning', at: 50 }],
    evidence: { max_p: 0.001, info_p: 0.01 },
    hysteresis: 10,
    ...over,
  });

/** Hourly values from local midnight of `start` (rule-test syntax): the hourly series and its daily sums. */
function hourly(start: string, values: string): { daily: Map<number, number>; rows: Map<number, Float64Array> } {
  const rows = new Map<number, Float64Array>();
  const daily = new Map<number, number>();
  expandSeriesValues(values).forEach((v, k) => {
    if (v === undefined) return;
    const d = day(start) + Math.floor(k / 24);
    let row = rows.get(d);
    if (!row) rows.set(d, (row = new Float64Array(24).fill(NaN)));
    row[k % 24] = v;
    daily.set(d, (daily.get(d) ?? 0) + v);
  });
  return { daily, rows };
}

/** What the worker reads: daily buckets and hourly rows of card_opening. */
function data(values: string, start = START): { series: EntitySeries; hourly: EntityHourly } {
  const h = hourly(start, values);
  return { series: new Map([['card_opening', h.daily]]), hourly: new Map([['card_opening', h.rows]]) };
}

/** Four weeks of `history` days, then `today`. */
const weeksThen = (today: string, history = DAY) => data(`(${history})x28 ${today}`);

function at(hour: number, iso = TODAY) {
  const today = day(iso);
  return { now: calendar.startOfDay(today) + hour * 3_600_000, today, calendar };
}

function judge(r: Rule, d: { series: EntitySeries; hourly: EntityHourly }, hour: number, prior?: AlertRecord, iso = TODAY) {
  return evaluateRule(r, dealer, d.series, prior, at(hour, iso), d.hourly);
}

/** An open alert of rule `r` raised today (intraday alerts from earlier days resolve). */
function openToday(r: Rule, severity: Severity, iso = TODAY, confirmed = true): AlertRecord {
  return applyVerdict(undefined, { rule: r.id, entity: dealer.id, severity, confirmed, period: iso, notify: true, summary: '' }, 0).record!;
}

describe('intraday: judging today at the current hour', () => {
  it.each([
    // name, today's hours, hour, severity (undefined: no verdict)
    ['an ordinary day is quiet', DAY, 11, null],
    ['a collapse at 08:00 is a warning by 10:00', COLLAPSE_AT_8, 10, 'warning'],
    ['… and by 11:00', COLLAPSE_AT_8, 11, 'warning'],
    ['nothing is judged before from_hour', COLLAPSE_AT_8, 9, undefined],
    ['a rise is not a drop', '0x8 30 30 30 0x13', 11, null],
    ['a 40 % shortfall is below the level', '0x8 6 12 12 9 6 3x5 0x6', 11, null],
    ['no data today before the hour: no verdict (no data is not zero)', '_x24', 11, undefined],
    ['zeros are data: sold nothing since opening', '0x24', 11, 'warning'],
  ] as const)('%s', (_name, today, hour, severity) => {
    const v = judge(intraday(), weeksThen(today), hour);
    if (severity === undefined) expect(v).toBeUndefined();
    else expect(v?.severity).toBe(severity);
  });

  it('says what it compared, at the hour judged', () => {
    expect(judge(intraday(), weeksThen(COLLAPSE_AT_8), 11)).toMatchObject({
      severity: 'warning',
      confirmed: true,
      notify: true,
      period: TODAY,
      value: 10,
      baseline: 50,
      measure: 80,
      summary: '开卡量 今日截至11时累计 10，同期同时段 50，下降 80%',
    });
  });

  it('counts only complete hours: the current hour is not part of the cumulative', () => {
    // At 11:59 the hour 11:00–12:00 is still running: hours 0–10 are judged.
    const v = evaluateRule(intraday(), dealer, weeksThen(COLLAPSE_AT_8).series, undefined, { ...at(11), now: at(11).now + 59 * 60_000 }, weeksThen(COLLAPSE_AT_8).hourly);
    expect(v).toMatchObject({ value: 10, baseline: 50 });
  });

  it('minimum-baseline guard: no verdict while the expected cumulative is below min; an open alert resolves', () => {
    const small = weeksThen('0x8 1 0x15', '0x8 1 2 2 2 1 1x5 0x6'); // 13 a day: 3 expected by 10:00, 5 by 11:00, 10 by 15:00
    expect(judge(intraday(), small, 11)).toBeUndefined();
    expect(judge(intraday(), small, 11, openToday(intraday(), 'warning'))).toMatchObject({ severity: null, summary: '预期累计低于最小基线，不再判断' });
    // The same day judged once 10 are expected: 1 instead of 10 by 15:00.
    expect(judge(intraday(), small, 14)).toBeUndefined();
    expect(judge(intraday(), small, 15)).toMatchObject({ severity: 'warning', value: 1, baseline: 10 });
  });

  it.each([
    ['no history at all', data(`_x672 ${COLLAPSE_AT_8}`)],
    ['two days of history (no level: the same weekday has fewer than min_points days)', data(`(${DAY})x2 ${COLLAPSE_AT_8}`, '2026-11-19')],
  ])('no baseline: %s', (_name, d) => {
    expect(judge(intraday(), d, 11)).toBeUndefined();
  });
});

describe('intraday: the expected cumulative (shape × level)', () => {
  it('same weekday: the median share before H of the same weekdays × their daily median', () => {
    // Saturdays sell 200 with a late start; other days 100 from 08:00.
    const sat = '0x10 40 40 40 40 20 20 0x8';
    const weeks = Array.from({ length: 4 }, () => `(${DAY})x6 ${sat}`).join(' ');
    const d = hourly('2026-10-25', weeks); // Sunday 10-25 … Saturday 11-21 (judged as today)
    const rows = profileDays(d.rows, day(TODAY) + 7, 4); // the Saturday after
    const r = intraday() as Extract<Rule, { kind: 'intraday' }>;
    const exp = expectedCumulative(r, d.daily, rows, day(TODAY) + 7, 12);
    expect(exp).toMatchObject({ source: 'same_weekday', level: 200, share: 0.4, expected: 80, profileDays: 4 });
    // A Friday: the Fridays' shape and level.
    expect(expectedCumulative(r, d.daily, profileDays(d.rows, day(TODAY) + 6, 4), day(TODAY) + 6, 12)).toMatchObject({ expected: 65, level: 100 });
  });

  it('falls back to all days of hourly history, scaled by the weekday’s own daily level, when same-weekday hourly history is short', () => {
    // Daily buckets for four weeks (Saturdays 200, other days 100) but hourly rows only for the last 8 days (8-day retention).
    const r = intraday() as Extract<Rule, { kind: 'intraday' }>;
    const h = hourly('2026-11-13', `(${DAY})x8`);
    const daily = new Map<number, number>();
    for (let d = day(START); d < day(TODAY); d++) daily.set(d, Calendar.weekday(d) === 6 ? 200 : 100);
    const exp = expectedCumulative(r, daily, profileDays(h.rows, day(TODAY), 4), day(TODAY), 11);
    expect(exp).toMatchObject({ source: 'all_days', level: 200, share: 0.5, expected: 100, profileDays: 8 });
  });

  it('the summary names a fallback expectation plainly (预期)', () => {
    const d = data(`${Array.from({ length: 20 }, () => '_x24').join(' ')} (${DAY})x8 ${COLLAPSE_AT_8}`);
    // Daily buckets only from the hourly rows: the level needs the same weekday 3 times → none.
    expect(judge(intraday(), d, 11)).toBeUndefined();
    const daily = new Map(d.series.get('card_opening')!);
    for (let k = 1; k <= 4; k++) daily.set(day(TODAY) - 7 * k, 100);
    expect(evaluateRule(intraday(), dealer, new Map([['card_opening', daily]]), undefined, at(11), d.hourly)?.summary).toBe(
      '开卡量 今日截至11时累计 10，预期 50，下降 80%',
    );
  });

  it('cumulative sums hours with data; a day without any is no data', () => {
    const row = Float64Array.from([NaN, 2, NaN, 3, ...new Array(20).fill(NaN)]);
    expect(Array.from(cumulative(row)!.slice(0, 5))).toEqual([0, 0, 2, 2, 5]);
    expect(cumulative(new Float64Array(24).fill(NaN))).toBeUndefined();
  });

  it('shape dispersion ψ is 1 for a steady hour-of-day split and grows when the split wanders', () => {
    const steady = hourly(START, `(${DAY})x28`);
    expect(shapeDispersion(profileDays(steady.rows, day(TODAY), 4), 11, 'same_weekday')).toBe(1);
    // Days start an hour early, on time or an hour late: the share sold before 11:00 is 0.65, 0.5 or 0.3.
    const variants = ['0x7 10 20 20 15 10 5x5 0x7', DAY, '0x9 10 20 20 15 10 5x5 0x5'];
    const wandering = hourly(START, Array.from({ length: 28 }, (_, i) => variants[i % 3]).join(' '));
    expect(shapeDispersion(profileDays(wandering.rows, day(TODAY), 4), 11, 'all_days')).toBeGreaterThan(5);
  });
});

describe('intraday: evidence from the entity’s own variability', () => {
  it.each([
    // A perfectly regular dealer (φ = ψ = 1): the tail is Poisson around 30 expected by 10:00.
    ['12 of 30 by 10:00 (−60 %): p = P(X ≤ 12 | 30) ≈ 0.0002 pages', '0x8 4 8 0x14', 10, 'warning', true],
    ['14 of 30 (−53 %): p ≈ 0.0009 ≤ max_p 0.001 pages', '0x8 4 10 0x14', 10, 'warning', true],
    ['15 of 30 (−50 %): p ≈ 0.002 is recorded as info, pages nobody', '0x8 5 10 0x14', 10, 'info', false],
  ] as const)('%s', (_name, today, hour, severity, notify) => {
    const v = judge(intraday(), weeksThen(today), hour);
    expect(v).toMatchObject({ severity, notify });
    expect(v!.p).toBeCloseTo(countLowerTail(v!.value!, 30, 1), 12);
  });

  it('a dealer whose days swing needs a deeper shortfall than a steady one', () => {
    // Same 100-a-day average, but daily totals alternate 60 / 140 (same split): φ_day ≫ 1.
    const swing = Array.from({ length: 28 }, (_, i) => (i % 2 ? '0x8 6 12 12 9 6 3x5 0x6' : '0x8 14 28 28 21 14 7x5 0x6')).join(' ');
    const steady = judge(intraday(), weeksThen('0x8 4 8 0x14'), 10)!;
    const noisy = judge(intraday(), data(`${swing} 0x8 4 8 0x14`), 10)!;
    expect(noisy.p!).toBeGreaterThan(steady.p! * 10);
  });

  it('without evidence, the percentage alone decides', () => {
    const r = intraday({ evidence: undefined });
    expect(judge(r, weeksThen('0x8 5 10 0x14'), 10)).toMatchObject({ severity: 'warning', p: undefined });
  });
});

describe('intraday: lifecycle over the day', () => {
  const r = intraday();

  it.each([
    // open severity, today's hours, hour → severity
    ['hysteresis keeps an open warning at a 45 % shortfall (50 − 10)', '0x8 6 11 11 0x13', 11, 'warning'],
    ['a 35 % shortfall resolves it as the day recovers', '0x8 6 13 13 0x13', 11, null],
  ] as const)('%s', (_name, today, hour, severity) => {
    expect(judge(r, weeksThen(today), hour, openToday(r, 'warning'))?.severity).toBe(severity);
  });

  it('an alert raised on an earlier day resolves at the first evaluation of a new day', () => {
    const prior = openToday(r, 'warning', '2026-11-20');
    for (const hour of [0, 9, 11]) {
      expect(judge(r, weeksThen(COLLAPSE_AT_8), hour, prior)).toMatchObject({ severity: null, period: TODAY, summary: '2026-11-20 的日内预警随当日结束' });
    }
    // Before from_hour nothing else is judged: no verdict, and no alert of today is touched.
    expect(judge(r, weeksThen(COLLAPSE_AT_8), 9, openToday(r, 'warning'))).toBeUndefined();
  });

  it('for: 2 asks that the condition hold at this hour and the one before', () => {
    const r2 = intraday({ for: 2 });
    expect(judge(r2, weeksThen(COLLAPSE_AT_8), 10)).toMatchObject({ severity: 'warning', confirmed: false }); // 09:00 is before from_hour
    expect(judge(r2, weeksThen(COLLAPSE_AT_8), 11)).toMatchObject({ severity: 'warning', confirmed: true });
    // Fine until 10:00, collapsed in the 10:00 hour: holds at 11:00 only.
    expect(judge(r2, weeksThen('0x8 10 15 0 0x13'), 11)).toMatchObject({ severity: 'warning', confirmed: false });
  });

  it('a dealer collapsing at 08:00 fires at 10:00, stays open all day and resolves after midnight', () => {
    const d = data(`(${DAY})x28 ${COLLAPSE_AT_8} ${DAY}`);
    let prior: AlertRecord | undefined;
    const states: string[] = [];
    for (let h = 0; h < 24; h++) {
      const v = judge(r, d, h, prior);
      if (v) prior = applyVerdict(prior, v, at(h).now).record ?? prior;
      states.push(`${h}:${prior?.state ?? '-'}`);
    }
    expect(states.slice(8, 13)).toEqual(['8:-', '9:-', '10:firing', '11:firing', '12:firing']);
    expect(states[23]).toBe('23:firing');
    const next = judge(r, d, 0, prior, '2026-11-22');
    expect(next).toMatchObject({ severity: null });
    prior = applyVerdict(prior, next!, at(0, '2026-11-22').now).record;
    expect(prior?.state).toBe('resolved');
    // The next (ordinary) day stays quiet.
    expect(judge(r, d, 11, prior, '2026-11-22')?.severity).toBeNull();
  });
});

describe('intraday: other directions and measures', () => {
  it('spike: a running count far above the expected cumulative', () => {
    const r = intraday({ direction: 'spike', levels: [{ severity: 'warning', at: 100 }] });
    const v = judge(r, weeksThen('0x8 40 60 0x14'), 10);
    expect(v).toMatchObject({ severity: 'warning', summary: '开卡量 今日截至10时累计 100，同期同时段 30，上升 233%' });
    expect(v!.measure).toBeCloseTo(233.33, 1);
  });

  it('ratio: today at most a fraction of the expected cumulative', () => {
    const r = intraday({ measure: 'ratio', levels: [{ severity: 'warning', at: 0.3 }], evidence: undefined });
    expect(judge(r, weeksThen(COLLAPSE_AT_8), 11)).toMatchObject({ severity: 'warning', measure: 0.2, summary: '开卡量 今日截至11时累计 10，同期同时段 50，为预期的 0.2 倍' });
    expect(judge(r, weeksThen('0x8 6 12 12 0x13'), 11)?.severity).toBeNull();
  });

  it('live campaigns: judged only inside the live window', () => {
    const r = intraday({ scope: { kind: 'campaign', live: true } });
    const c = entity({ id: 'C1', kind: 'campaign', attrs: { start: '2026-11-22', end: '2026-12-31' } });
    const d = weeksThen(COLLAPSE_AT_8);
    expect(evaluateRule(r, c, d.series, undefined, at(11), d.hourly)).toBeUndefined();
    expect(evaluateRule(r, { ...c, attrs: { start: '2026-11-01', end: '2026-12-31' } }, d.series, undefined, at(11), d.hourly)?.severity).toBe('warning');
  });
});

describe('intraday: schema, lookback and evaluateEntity', () => {
  it('parses the YAML fields with their defaults', () => {
    const r = rule({ kind: 'intraday', metric: 'card_opening', direction: 'drop', levels: [{ severity: 'warning', at: 50 }] });
    expect(r).toMatchObject({ kind: 'intraday', measure: 'percent', fromHour: 10, baseline: { weeks: 4, min: 0, minPoints: 3 }, hysteresis: 0, for: 1 });
    expect(r).not.toHaveProperty('evidence');
    expect(ruleHourlyLookbackDays(r)).toBe(28);
    expect(ruleLookbackDays(r)).toBe(29);
    const daily = rule({ kind: 'change', metric: 'card_opening', direction: 'drop', baseline: { method: 'trailing_median' }, levels: [{ severity: 'warning', at: 50 }] });
    expect(ruleHourlyLookbackDays(daily)).toBe(0);
  });

  it.each([
    [{ from_hour: 24 }, 'from_hour'],
    [{ from_hour: 9.5 }, 'from_hour'],
    [{ measure: 'robust_z' }, 'measure'],
    [{ evidence: { max_p: 0.01, info_p: 0.005 } }, 'info_p'],
    [{ evidence: { accumulate_days: 2 } }, 'accumulate_days'],
    [{ baseline: { method: 'same_weekday_median' } }, 'method'],
    [{ direction: 'above' }, 'direction'],
  ])('rejects %j', (over, field) => {
    expect(() => intraday(over)).toThrow(new RegExp(field));
  });

  it('evaluateEntity passes the hourly series to intraday rules; without it they cannot judge', () => {
    const d = weeksThen(COLLAPSE_AT_8);
    const rules = [intraday()];
    expect(evaluateEntity(rules, dealer, d.series, new Map(), at(11), d.hourly).map((v) => v.severity)).toEqual(['warning']);
    expect(evaluateEntity(rules, dealer, d.series, new Map(), at(11))).toEqual([]);
  });
});
