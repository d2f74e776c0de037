import { describe, expect, it } from 'vitest';
import { countLowerTail } from '../../src/evaluate/stats.js';
import { entity, judge, openAlert, rule, series } from './fixtures.js';

const dealer = entity({ id: 'D1', kind: 'core_dealer' });
const outlet = entity({ id: 'G1', kind: 'grassroots', attrs: { monthly_fee: 80 } });
const campaign = entity({ id: 'C1', kind: 'campaign' });

const drop = (over: Record<string, unknown> = {}) =>
  rule({
    kind: 'change',
    metric: 'card_opening',
    direction: 'drop',
    baseline: { method: 'trailing_median', days: 14 },
    levels: [
      { severity: 'warning', at: 30 },
      { severity: 'critical', at: 50 },
    ],
    ...over,
  });
const s = (values: string, start = '2026-11-01') => series('card_opening', start, values);
// From 2026-11-01, "…x14 X" puts X on 2026-11-15, judged at 2026-11-16 09:00.
const AT = '2026-11-16';

describe('change: measures and baselines', () => {
  it('percent drop vs a trailing median', () => {
    expect(judge(drop(), dealer, s('100x14 40'), AT)).toMatchObject({
      severity: 'critical',
      period: '2026-11-15',
      value: 40,
      baseline: 100,
      measure: 60,
      summary: '开卡量 40，近14天基线 100，下降 60%',
      notify: true,
      confirmed: true,
    });
  });

  it('same-weekday median (同期基线)', () => {
    const r = drop({ baseline: { method: 'same_weekday_median', weeks: 4 } });
    expect(judge(r, dealer, s('100x28 40', '2026-10-23'), '2026-11-21')).toMatchObject({
      severity: 'critical',
      summary: '开卡量 40，同期基线 100，下降 60%',
    });
  });

  it.each([
    ['a 35 % drop is a warning', '100x14 65', 'warning'],
    ['a 20 % drop is nothing', '100x14 80', null],
    ['a rise is not a drop', '100x14 180', null],
  ])('%s', (_name, values, severity) => {
    expect(judge(drop(), dealer, s(values), AT)?.severity).toBe(severity);
  });

  it('percent spike', () => {
    const r = drop({ direction: 'spike', levels: [{ severity: 'warning', at: 100 }] });
    expect(judge(r, dealer, s('10x14 25'), AT)).toMatchObject({ severity: 'warning', measure: 150, summary: '开卡量 25，近14天基线 10，上升 150%' });
    expect(judge(r, dealer, s('10x14 15'), AT)?.severity).toBeNull();
  });

  it('ratio spike: x / b ≥ at', () => {
    const r = rule({
      kind: 'change',
      metric: 'complaints',
      direction: 'spike',
      measure: 'ratio',
      baseline: { method: 'trailing_mean', days: 7 },
      levels: [{ severity: 'warning', at: 3 }],
    });
    const v = judge(r, campaign, series('complaints', '2026-11-01', '10x14 30'), AT);
    expect(v).toMatchObject({ severity: 'warning', measure: 3, summary: '投诉量 30，近7天均值 10，为基线的 3.0 倍' });
  });

  it('ratio drop: x / b ≤ at, more severe levels lower', () => {
    const r = drop({
      measure: 'ratio',
      levels: [
        { severity: 'warning', at: 0.5 },
        { severity: 'critical', at: 0.2 },
      ],
    });
    expect(judge(r, dealer, s('10x14 5'), AT)?.severity).toBe('warning');
    expect(judge(r, dealer, s('10x14 2'), AT)?.severity).toBe('critical');
    expect(judge(r, dealer, s('10x14 6'), AT)?.severity).toBeNull();
  });

  it('robust z: distance in robust SDs (1.4826 × MAD) of the baseline points', () => {
    const r = drop({ measure: 'robust_z', levels: [{ severity: 'warning', at: 3 }] });
    const v = judge(r, dealer, s('90 110 '.repeat(7) + '40'), AT);
    expect(v?.severity).toBe('warning');
    expect(v?.measure).toBeCloseTo(60 / 14.826, 6);
    expect(v?.summary).toBe('开卡量 40，近14天基线 100，下降 4.0 个标准差');
  });

  it('robust z on a flat history uses the Poisson floor √b instead of dividing by zero', () => {
    const r = drop({ measure: 'robust_z', levels: [{ severity: 'warning', at: 3 }] });
    expect(judge(r, dealer, s('100x14 40'), AT)?.measure).toBe(6);
  });
});

describe('change: which day is judged', () => {
  it('J is the latest complete day with data', () => {
    expect(judge(drop(), dealer, s('100x13 40 _'), AT)).toMatchObject({ severity: 'critical', period: '2026-11-14' });
  });

  it("drops ignore today's partial day (it is always low before closing)", () => {
    expect(judge(drop(), dealer, s('100x15 0'), AT)).toMatchObject({ severity: null, period: '2026-11-15' });
  });

  it("spikes also judge today's running count", () => {
    const r = rule({
      kind: 'change',
      metric: 'complaints',
      direction: 'spike',
      measure: 'ratio',
      baseline: { method: 'trailing_mean', days: 14 },
      levels: [{ severity: 'warning', at: 3 }],
    });
    const v = judge(r, campaign, series('complaints', '2026-11-01', '10x15 40'), AT, undefined, 15);
    expect(v).toMatchObject({ severity: 'warning', period: '2026-11-16', summary: '投诉量 今日累计 40，近14天均值 10，为基线的 4.0 倍' });
  });

  it('too little history: no verdict', () => {
    expect(judge(drop({ baseline: { method: 'trailing_median', days: 14, min_points: 3 } }), dealer, s('100x2 40', '2026-11-13'), AT)).toBeUndefined();
  });

  it('minimum-baseline guard: no verdict, or a resolving one when an alert is open', () => {
    const r = drop({ baseline: { method: 'trailing_median', days: 14, min: 10 } });
    expect(judge(r, dealer, s('8x14 0'), AT)).toBeUndefined();
    expect(judge(r, dealer, s('8x14 0'), AT, openAlert(r, dealer, 'critical'))).toMatchObject({
      severity: null,
      summary: '基线低于最小基线，不再判断',
    });
  });

  it('for: 2 needs two consecutive days each below its own baseline', () => {
    const r = drop({ for: 2 });
    expect(judge(r, dealer, s('100x13 40 40'), AT)).toMatchObject({ severity: 'critical', confirmed: true });
    expect(judge(r, dealer, s('100x14 40'), AT)).toMatchObject({ severity: 'critical', confirmed: false });
  });
});

describe('change: evidence', () => {
  const withEvidence = (evidence: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    drop({ baseline: { method: 'same_weekday_median', weeks: 4, min: 10 }, evidence, ...over });
  // Fridays 100 75 120 90 (median 95): a dealer that swings ±25 % on ordinary days.
  const noisy = '100 80 120 90 110 95 105 75 110 95 125 85 100 130 120 95 80 105 130 75 90 90 125 105 80 95 120 85';

  it('a steady dealer: the drop is unlikely, so it pages, with p filled', () => {
    const v = judge(withEvidence({ max_p: 0.01 }), dealer, s('100x28 65', '2026-10-23'), '2026-11-21');
    expect(v?.severity).toBe('warning');
    expect(v?.p).toBeLessThan(1e-3);
  });

  it('a noisy dealer: the same kind of drop is within its own variability', () => {
    const v = judge(withEvidence({ max_p: 0.01 }), dealer, s(`${noisy} 55`, '2026-10-23'), '2026-11-21');
    expect(v).toMatchObject({ severity: null, value: 55, baseline: 95 });
    expect(v?.p).toBeGreaterThan(0.01);
  });

  it('weak evidence (p ≤ info_p) is recorded as info and pages nobody', () => {
    const v = judge(withEvidence({ max_p: 0.01, info_p: 0.05 }), dealer, s(`${noisy} 55`, '2026-10-23'), '2026-11-21');
    expect(v).toMatchObject({ severity: 'info', notify: false, summary: '开卡量 55，同期基线 95，下降 42%（证据不足，仅记录）' });
  });

  describe('accumulated over consecutive days (small outlets)', () => {
    const r = rule({
      kind: 'change',
      metric: 'air_recharge',
      direction: 'drop',
      baseline: { method: 'trailing_median', days: 14, min: 3, min_points: 7 },
      levels: [{ severity: 'warning', at: 50 }],
      evidence: { max_p: 0.001, accumulate_days: 3, info_p: 0.01 },
      hysteresis: 10,
    });
    const at = '2026-11-18';
    const rs = (values: string) => series('air_recharge', '2026-11-01', values);

    it('one day at 3 instead of 6 pages nobody', () => {
      expect(judge(r, outlet, rs('6x14 6 6 3'), at)?.severity).toBeNull();
    });

    it('2 2 1 instead of 6 6 6: the three-day sum is the evidence (Bonferroni × 3)', () => {
      const v = judge(r, outlet, rs('6x14 2 2 1'), at);
      expect(v).toMatchObject({ severity: 'warning', notify: true, value: 5, baseline: 18, summary: '空中充值 近3天合计 5，基线 18，下降 72%' });
      expect(v?.p).toBeCloseTo(3 * countLowerTail(5, 18, 1), 12);
    });

    it('2 2 2 instead of 6 6 6 is weaker evidence: info only', () => {
      expect(judge(r, outlet, rs('6x14 2 2 2'), at)).toMatchObject({ severity: 'info', notify: false, value: 6, baseline: 18 });
    });

    it('a gap stops the accumulation (only consecutive days with data add up)', () => {
      expect(judge(r, outlet, rs('6x14 2 _ 1'), at)?.value).toBe(1);
    });

    it('a recovered day resolves even though the two-day sum is still low (sums keep alerts open only with evidence)', () => {
      const prior = openAlert(r, outlet, 'warning');
      expect(judge(r, outlet, rs('30x15 5 30'), at, prior)?.severity).toBeNull();
    });
  });
});

describe('change: hysteresis', () => {
  const r = drop({ levels: [{ severity: 'warning', at: 30 }], hysteresis: 5, evidence: { max_p: 0.001 } });

  it.each([
    ['29 % keeps an open 30 % alert (within 5 points), evidence not required to stay', 'warning', '100x14 71', 'warning'],
    ['24 % resolves it', 'warning', '100x14 76', null],
    ['29 % opens nothing', undefined, '100x14 71', null],
  ] as const)('%s', (_name, open, values, severity) => {
    const prior = open ? openAlert(r, dealer, open) : undefined;
    expect(judge(r, dealer, s(values), AT, prior)?.severity).toBe(severity);
  });

  it('an open critical steps down to warning, not straight to resolved', () => {
    const two = drop({ hysteresis: 10 });
    expect(judge(two, dealer, s('100x14 75'), AT, openAlert(two, dealer, 'critical'))?.severity).toBe('warning');
  });
});
