import { describe, expect, it } from 'vitest';
import type { BaselineSpec } from '../../src/domain/rule.js';
import { baselineAt, baselineLabel, dispersionBefore, sameWeekdayPoints, trailingPoints } from '../../src/evaluate/baseline.js';
import { gammaPoisson, mulberry32 } from '../../src/demo/simulate.js';
import { median } from '../../src/evaluate/stats.js';
import { daily, day } from './fixtures.js';

const spec = (over: Partial<BaselineSpec>): BaselineSpec => ({ method: 'trailing_median', days: 14, weeks: 4, min: 0, minPoints: 3, ...over });

describe('baselineAt', () => {
  const s = daily('2026-11-01', '1 2 3 4 5 6 7 8 9 10 _ 12 13 14 100');
  const judged = day('2026-11-15'); // the 100

  it.each([
    ['trailing_mean over 3 days', spec({ method: 'trailing_mean', days: 3 }), (12 + 13 + 14) / 3],
    ['trailing_median over 5 days (the gap is skipped, not zero)', spec({ days: 5 }), 12.5],
    ['trailing_median over 14 days', spec({ days: 14 }), 7],
  ])('%s', (_name, sp, want) => {
    expect(baselineAt(sp, s, judged)?.value).toBe(want);
  });

  it('never reads the judged day itself', () => {
    expect(trailingPoints(s, judged, 2)).toEqual([13, 14]);
  });

  it('same-weekday median over N weeks', () => {
    const weekly = daily('2026-10-01', '10 0 0 0 0 0 0 20 0 0 0 0 0 0 30 0 0 0 0 0 0 99 0 0 0 0 0 0 5');
    const d = day('2026-10-29');
    expect(sameWeekdayPoints(weekly, d, 4)).toEqual([99, 30, 20, 10]);
    expect(baselineAt(spec({ method: 'same_weekday_median', weeks: 4 }), weekly, d)?.value).toBe(25);
    expect(baselineAt(spec({ method: 'same_weekday_median', weeks: 2 }), weekly, d)).toBeUndefined();
  });

  it('is undefined with fewer than min_points points', () => {
    const sparse = daily('2026-11-01', '5 _ _ _ 5 _ _ 9');
    expect(baselineAt(spec({ days: 7, minPoints: 3 }), sparse, day('2026-11-08'))).toBeUndefined();
    expect(baselineAt(spec({ days: 7, minPoints: 2 }), sparse, day('2026-11-08'))?.value).toBe(5);
  });

  it('names itself for summaries', () => {
    expect(baselineLabel(spec({ method: 'same_weekday_median' }))).toBe('同期基线');
    expect(baselineLabel(spec({ days: 14 }))).toBe('近14天基线');
    expect(baselineLabel(spec({ method: 'trailing_mean', days: 7 }))).toBe('近7天均值');
  });
});

describe('dispersionBefore', () => {
  it('a flat history is Poisson (φ = 1)', () => {
    const s = daily('2026-10-01', '6x28');
    expect(dispersionBefore(spec({}), s, day('2026-10-29'), 28)).toEqual({ phi: 1, points: 28 });
  });

  it('recovers the over-dispersion of gamma-Poisson days, inflated by the leave-one-out baseline and the allowance', () => {
    const phis: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const rand = mulberry32(seed);
      const s = new Map<number, number>();
      for (let d = 0; d < 28; d++) s.set(d, gammaPoisson(rand, 100, 0.2)); // φ = 1 + 0.04·100 = 5
      phis.push(dispersionBefore(spec({}), s, 28, 28).phi);
    }
    expect(median(phis)).toBeGreaterThan(5);
    expect(median(phis)).toBeLessThan(7.5);
  });

  it('a past anomaly barely moves it', () => {
    const rand = mulberry32(3);
    const s = new Map<number, number>();
    for (let d = 0; d < 28; d++) s.set(d, gammaPoisson(rand, 50, 0.15));
    const clean = dispersionBefore(spec({}), s, 28, 28).phi;
    s.set(10, 0);
    s.set(11, 0);
    expect(dispersionBefore(spec({}), s, 28, 28).phi).toBeLessThan(clean * 1.3);
  });

  it('same-weekday method compares each day with its own weekday', () => {
    // A strong weekly rhythm with no noise inside a weekday: no dispersion at all.
    const s = daily('2026-10-01', '100 60 140 80 120 90 110 '.repeat(4).trim());
    expect(dispersionBefore(spec({ method: 'same_weekday_median' }), s, day('2026-10-29'), 28).phi).toBe(1);
    // The trailing median sees the rhythm as noise.
    expect(dispersionBefore(spec({}), s, day('2026-10-29'), 28).phi).toBeGreaterThan(5);
  });
});
