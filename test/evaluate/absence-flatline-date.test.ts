import { describe, expect, it } from 'vitest';
import { entity, judge, openAlert, rule, series } from './fixtures.js';

const outlet = entity({ id: 'G1', kind: 'grassroots', attrs: { monthly_fee: 80 } });

describe('absence', () => {
  const r = rule({ kind: 'absence', metric: 'air_recharge', days: 2, severity: 'warning' });
  const s = (values: string) => series('air_recharge', '2026-11-01', values);
  // Judged on yesterday (2026-11-09) at 2026-11-10 09:00.
  const AT = '2026-11-10';

  it.each([
    ['two silent complete days after reporting: warning', '5x7', 'warning', '空中充值 已连续 2 天无数据（最后一次 2026-11-07）'],
    ['one silent day is not enough', '5x8', null, '空中充值 正常上报'],
    ['a zero is data, not silence', '5x7 0 0', null, '空中充值 正常上报'],
    ["data today (partial day) ends the silence at once", '5x7 _ _ 1', null, '空中充值 今日已恢复上报'],
    ['three silent days is still one alert', '5x6', 'warning', '空中充值 已连续 3 天无数据（最后一次 2026-11-06）'],
  ])('%s', (_name, values, severity, summary) => {
    expect(judge(r, outlet, s(values), AT)).toMatchObject({ severity, summary, period: expect.any(String) });
  });

  it('an entity that never reported the metric is not absent', () => {
    expect(judge(r, outlet, new Map(), AT)).toBeUndefined();
    expect(judge(r, outlet, series('basic_business', '2026-11-01', '5x9'), AT)).toBeUndefined();
  });

  it('the judged period is yesterday, or today once data arrives', () => {
    expect(judge(r, outlet, s('5x7'), AT)?.period).toBe('2026-11-09');
    expect(judge(r, outlet, s('5x7 _ _ 1'), AT)?.period).toBe('2026-11-10');
  });

  it('for: 2 needs the silence to have lasted one more day', () => {
    const r2 = rule({ kind: 'absence', metric: 'air_recharge', days: 2, severity: 'warning', for: 2 });
    expect(judge(r2, outlet, s('5x7'), AT)).toMatchObject({ severity: 'warning', confirmed: false });
    expect(judge(r2, outlet, s('5x6'), AT)).toMatchObject({ severity: 'warning', confirmed: true });
  });
});

describe('flatline', () => {
  const r = rule({ kind: 'flatline', metric: 'card_opening', days: 3, severity: 'warning' });
  const s = (values: string) => series('card_opening', '2026-11-01', values);
  const AT = '2026-11-10';

  it.each([
    ['the same value three days running: a stuck feed', '1 2 3 4 5 6 37 37 37', 'warning'],
    ['a change inside the window is fine', '1 2 3 4 5 6 37 38 37', null],
    ['a missing day breaks the run', '1 2 3 4 5 37 _ 37 37', null],
    ['flat zeros are ignored by default', '1 2 3 4 5 6 0 0 0', null],
  ])('%s', (_name, values, severity) => {
    expect(judge(r, entity(), s(values), AT)?.severity).toBe(severity);
  });

  it('flat zeros count when ignore_zero is false', () => {
    const r0 = rule({ kind: 'flatline', metric: 'card_opening', days: 3, severity: 'warning', ignore_zero: false });
    expect(judge(r0, entity(), s('1 2 3 4 5 6 0 0 0'), AT)?.severity).toBe('warning');
  });

  it('summary', () => {
    expect(judge(r, entity(), s('1 2 3 4 5 6 37 37 37'), AT)?.summary).toBe('开卡量 连续 3 天均为 37，疑似数据停滞');
  });
});

describe('date', () => {
  const r = rule({ kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info' });
  const AT = '2026-11-21';
  const withEnd = (v: string | number) => entity({ attrs: { contract_end: v } });

  it.each([
    ['30 days ahead', '2026-12-21', 'info', 30, '合同到期日 2026-12-21，还剩 30 天'],
    ['31 days ahead', '2026-12-22', null, 31, '合同到期日 2026-12-22，还剩 31 天'],
    ['today', '2026-11-21', 'info', 0, '合同到期日 2026-11-21，今天到期'],
    ['passed yesterday: resolves', '2026-11-20', null, -1, '合同到期日 2026-11-20，已过 1 天'],
    ['an ISO timestamp uses its date part', '2026-12-01T00:00:00+08:00', 'info', 10, '合同到期日 2026-12-01，还剩 10 天'],
  ])('%s', (_name, end, severity, value, summary) => {
    expect(judge(r, withEnd(end), new Map(), AT)).toMatchObject({ severity, value, summary, period: AT, notify: true });
  });

  it('no or unparseable date: no verdict', () => {
    expect(judge(r, entity(), new Map(), AT)).toBeUndefined();
    expect(judge(r, withEnd('soon'), new Map(), AT)).toBeUndefined();
    expect(judge(r, withEnd(20261201), new Map(), AT)).toBeUndefined();
  });

  it('an open reminder resolves once the date is past', () => {
    const e = withEnd('2026-11-01');
    expect(judge(r, e, new Map(), AT, openAlert(r, e, 'info'))?.severity).toBeNull();
  });
});

describe('absence needs a delivered feed', () => {
  it('does not fire when the feed itself stopped (or a backfill has not reached the days)', async () => {
    const { evaluateEntity } = await import('../../src/evaluate/index.js');
    const { feedDelivered } = await import('../../src/evaluate/kinds/absence.js');
    const { ctxAt, day } = await import('./fixtures.js');
    const rule = {
      id: 'silent', name: 'silent', kind: 'absence' as const, metric: 'air_recharge', days: 2, severity: 'warning' as const, scope: {}, for: 1,
    };
    const entity = { id: 'G1', kind: 'grassroots' as const, name: 'g', attrs: {} };
    const series = new Map([['air_recharge', new Map([[day('2026-11-19'), 5]])]]);
    const ctx = ctxAt('2026-11-22');
    const feedOf = (counts: number[]) => new Map([['air_recharge', new Map(counts.map((c, k) => [day('2026-11-12') + k, c] as [number, number]))]]);
    // 2026-11-12 … 2026-11-21: the feed delivered every day, G1 stopped after the 19th.
    const delivered = feedOf([3000, 3000, 2900, 3100, 3000, 3000, 2950, 3000, 3000, 3000]);
    const stalled = feedOf([3000, 3000, 2900, 3100, 3000, 3000, 2950, 3000, 0, 0]);
    const partial = feedOf([3000, 3000, 2900, 3100, 3000, 3000, 2950, 3000, 3000, 900]);
    expect(evaluateEntity([rule], entity, series, new Map(), { ...ctx, feed: delivered })[0]?.severity).toBe('warning');
    expect(evaluateEntity([rule], entity, series, new Map(), { ...ctx, feed: stalled })).toEqual([]);
    expect(evaluateEntity([rule], entity, series, new Map(), { ...ctx, feed: partial })).toEqual([]);
    expect(feedDelivered(undefined, day('2026-11-21'))).toBe(true);
    expect(feedDelivered(new Map([[day('2026-11-21'), 1]]), day('2026-11-21'))).toBe(true);
  });
});
