import { describe, expect, it } from 'vitest';
import { entity, judge, openAlert, rule, series } from './fixtures.js';

// Judged at 2026-11-10 09:00: complete days end 2026-11-09 (J); 2026-11-10 is today's partial day.
const AT = '2026-11-10';
const above = (over: Record<string, unknown> = {}) =>
  rule({
    kind: 'threshold',
    metric: 'complaints',
    levels: [
      { severity: 'warning', at: 10 },
      { severity: 'critical', at: 20 },
    ],
    ...over,
  });
const e = entity({ kind: 'campaign' });

describe('threshold: above', () => {
  it.each([
    ['J reaches warning', '1x8 12', 'warning', '2026-11-09', 12],
    ['J reaches critical', '1x8 25', 'critical', '2026-11-09', 25],
    ['J below every level', '1x8 5', null, '2026-11-09', 5],
    ["today's partial day crosses a level", '1x8 5 11', 'warning', '2026-11-10', 11],
    ['the more severe of J and today wins', '1x8 25 11', 'critical', '2026-11-09', 25],
    ['J is the latest complete day with data', '1x7 30 _', 'critical', '2026-11-08', 30],
    ['a key with value 0 is data', '30x8 0', null, '2026-11-09', 0],
  ])('%s', (_name, values, severity, period, value) => {
    const v = judge(above(), e, series('complaints', '2026-11-01', values), AT);
    expect(v).toMatchObject({ severity, period, value, rule: 'r', entity: 'E1', notify: true });
  });

  it('no data at all: no verdict', () => {
    expect(judge(above(), e, new Map(), AT)).toBeUndefined();
    expect(judge(above(), e, series('other', '2026-11-01', '50x9'), AT)).toBeUndefined();
  });

  it('never reads days after today', () => {
    expect(judge(above(), e, series('complaints', '2026-11-01', '1x10 99 99'), AT)?.severity).toBeNull();
  });

  it('summaries say what was seen', () => {
    expect(judge(above(), e, series('complaints', '2026-11-01', '1x8 12'), AT)?.summary).toBe('投诉量 12，达到阈值 10');
    expect(judge(above(), e, series('complaints', '2026-11-01', '1x8 5 11'), AT)?.summary).toBe('投诉量 今日累计 11，达到阈值 10');
    expect(judge(above({ window: 3 }), e, series('complaints', '2026-11-01', '1x9'), AT)?.summary).toBe('投诉量 近3天合计 3，正常（阈值 10）');
  });
});

describe('threshold: windows and aggregators', () => {
  it.each([
    ['sum over 3 days', { window: 3 }, '4x9', 12, 'warning'],
    ['sum skips days without data', { window: 3 }, '4x6 _ 4 4', 8, null],
    ['max', { window: 3, agg: 'max' }, '1x6 15 1 1', 15, 'warning'],
    ['avg', { window: 3, agg: 'avg' }, '9x6 12 12 12', 12, 'warning'],
    ['min', { window: 3, agg: 'min' }, '12x7 9 12', 9, null],
    ['count = days with data', { window: 5, agg: 'count', levels: [{ severity: 'warning', at: 4 }] }, '1 _ 1 _ 1 1 _ 1 1', 4, 'warning'],
  ])('%s', (_name, over, values, value, severity) => {
    const v = judge(above(over), e, series('complaints', '2026-11-01', values), AT);
    expect(v).toMatchObject({ value, severity });
  });
});

describe('threshold: below', () => {
  const below = rule({
    kind: 'threshold',
    metric: 'card_opening',
    direction: 'below',
    levels: [
      { severity: 'warning', at: 5 },
      { severity: 'critical', at: 2 },
    ],
  });

  it.each([
    ['a zero day is critical (0 is data)', '10x8 0', 'critical', '2026-11-09'],
    ['a missing day is no data: J stays on the last day with data', '10x8 _', null, '2026-11-08'],
    ["today's partial day is not judged (it is always low in the morning)", '10x9 0', null, '2026-11-09'],
    ['4 is a warning', '10x8 4', 'warning', '2026-11-09'],
  ])('%s', (_name, values, severity, period) => {
    expect(judge(below, e, series('card_opening', '2026-11-01', values), AT)).toMatchObject({ severity, period });
  });
});

describe('threshold: hysteresis and for', () => {
  const r = above({ hysteresis: 3 });
  const s = (v: string) => series('complaints', '2026-11-01', `1x8 ${v}`);

  it.each([
    ['an open warning stays while the value is within the hysteresis band', 'warning', '8', 'warning'],
    ['it resolves below the band', 'warning', '6', null],
    ['without an open alert the strict level applies', undefined, '8', null],
    ['hysteresis never upgrades: 19 stays warning', 'warning', '19', 'warning'],
    ['an open critical downgrades to warning inside the warning band', 'critical', '15', 'warning'],
    ['an open critical stays critical within its own band', 'critical', '18', 'critical'],
  ] as const)('%s', (_name, open, value, severity) => {
    const prior = open ? openAlert(r, e, open) : undefined;
    expect(judge(r, e, s(value), AT, prior)?.severity).toBe(severity);
  });

  it('for: 2 needs the condition on J and the day before (pending otherwise)', () => {
    const r2 = above({ for: 2 });
    expect(judge(r2, e, series('complaints', '2026-11-01', '1x7 12 12'), AT)).toMatchObject({ severity: 'warning', confirmed: true });
    expect(judge(r2, e, series('complaints', '2026-11-01', '1x8 12'), AT)).toMatchObject({ severity: 'warning', confirmed: false });
    expect(judge(r2, e, series('complaints', '2026-11-01', '1x7 12 _ 12'), AT)).toMatchObject({ severity: 'warning', confirmed: false });
  });
});
