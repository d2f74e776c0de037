import { describe, expect, it } from 'vitest';
import { entity, judge, openAlert, rule, series } from './fixtures.js';

const AT = '2026-11-10';
const r = rule({
  kind: 'ratio',
  metric: 'complaints',
  per: 'target_customers',
  scope: { kind: 'campaign', live: true },
  levels: [
    { severity: 'critical', at: 10 },
    { severity: 'warning', at: 3 },
  ],
  hysteresis: 0.5,
});
const campaign = (attrs: Record<string, string | number>) =>
  entity({ id: 'C1', kind: 'campaign', attrs: { start: '2026-11-01', end: '2026-11-30', ...attrs } });
const s = (values: string) => series('complaints', '2026-11-01', values);

describe('ratio', () => {
  it.each([
    ['3 per 10k is a warning', 100_000, '5x8 30', 'warning', 3],
    ['12 per 10k is critical', 100_000, '5x8 120', 'critical', 12],
    ['a string attribute is a number too', '200000', '5x8 30', null, 1.5],
    ['0.5 per 10k is fine', 100_000, '5x9', null, 0.5],
  ] as const)('%s', (_name, target, values, severity, measure) => {
    const v = judge(r, campaign({ target_customers: target }), s(values), AT);
    expect(v).toMatchObject({ severity, measure });
  });

  it('value is the count, measure the rate; the summary says per 10k target customers', () => {
    const v = judge(r, campaign({ target_customers: 100_000 }), s('5x8 35'), AT);
    expect(v).toMatchObject({ value: 35, measure: 3.5, summary: '投诉量 35，每万目标客户 3.5（阈值 3）' });
  });

  it("today's running count fires before the day is over", () => {
    expect(judge(r, campaign({ target_customers: 100_000 }), s('5x9 31'), AT, undefined, 15)).toMatchObject({
      severity: 'warning',
      period: '2026-11-10',
    });
  });

  it('a missing, zero or non-numeric denominator cannot judge', () => {
    for (const attrs of [{}, { target_customers: 0 }, { target_customers: 'many' }] as Record<string, string | number>[]) {
      expect(judge(r, campaign(attrs), s('5x8 300'), AT)).toBeUndefined();
    }
  });

  it('scale changes the unit', () => {
    const perThousand = rule({ kind: 'ratio', metric: 'complaints', per: 'target_customers', scale: 1000, levels: [{ severity: 'warning', at: 0.3 }] });
    expect(judge(perThousand, campaign({ target_customers: 100_000 }), s('5x8 30'), AT)).toMatchObject({ severity: 'warning', measure: 0.3 });
  });

  it('hysteresis holds 2.8 per 10k open, 2.4 resolves', () => {
    const e = campaign({ target_customers: 100_000 });
    const prior = openAlert(r, e, 'warning');
    expect(judge(r, e, s('5x8 28'), AT, prior)?.severity).toBe('warning');
    expect(judge(r, e, s('5x8 24'), AT, prior)?.severity).toBeNull();
  });
});

describe('ratio: live window', () => {
  const ended = campaign({ target_customers: 100_000, end: '2026-11-05' });

  it('days outside the window are not judged', () => {
    expect(judge(r, ended, s('5x8 300'), AT)).toBeUndefined();
  });

  it('an open alert resolves once the campaign has left its window', () => {
    const v = judge(r, ended, s('5x8 300'), AT, openAlert(r, ended, 'critical'));
    expect(v).toMatchObject({ severity: null, summary: '不在活动期内，不再判断' });
  });

  it('the last live day is still judged the morning after', () => {
    const lastDay = campaign({ target_customers: 100_000, end: '2026-11-09' });
    expect(judge(r, lastDay, s('5x8 300'), AT)).toMatchObject({ severity: 'critical', period: '2026-11-09' });
  });

  it('a campaign starting today is judged on its partial day only', () => {
    const starting = campaign({ target_customers: 100_000, start: '2026-11-10' });
    expect(judge(r, starting, s('500x9 40'), AT, undefined, 15)).toMatchObject({ severity: 'warning', period: '2026-11-10' });
  });

  it('a campaign without dates is never live', () => {
    const undated = entity({ id: 'C9', kind: 'campaign', attrs: { target_customers: 100_000 } });
    expect(judge(r, undated, s('5x8 300'), AT)).toBeUndefined();
  });
});
