import { describe, expect, it } from 'vitest';
import { gammaPoisson, mulberry32 } from '../../src/demo/simulate.js';
import {
  changeTailP,
  countLowerTail,
  countUpperTail,
  logGamma,
  mad,
  median,
  normalCdf,
  robustDispersion,
  robustSd,
} from '../../src/evaluate/stats.js';

/** Poisson P(X ≤ x) by plain summation with ln k! from summed logs (independent of logGamma). */
function poissonCdfReference(x: number, mu: number): number {
  let lnFact = 0;
  let sum = 0;
  for (let k = 0; k <= x; k++) {
    if (k > 0) lnFact += Math.log(k);
    sum += Math.exp(k * Math.log(mu) - mu - lnFact);
  }
  return sum;
}

describe('median and MAD', () => {
  it.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[7], 7],
  ])('median(%j) = %d', (xs, want) => expect(median(xs)).toBe(want));

  it('is NaN for an empty list', () => expect(median([])).toBeNaN());

  it('MAD of [1,1,2,2,4,6,9] is 1, robust SD 1.4826', () => {
    expect(mad([1, 1, 2, 2, 4, 6, 9])).toBe(1);
    expect(robustSd([1, 1, 2, 2, 4, 6, 9])).toBeCloseTo(1.4826, 10);
  });

  it('a few outliers do not move the MAD', () => {
    expect(mad([10, 11, 9, 10, 12, 8, 10, 1000, -500])).toBe(1);
  });
});

describe('special functions', () => {
  it.each([
    [0.5, 0.5723649429247001],
    [1, 0],
    [10, 12.801827480081469],
    [100, 359.1342053695754],
  ])('logGamma(%d)', (x, want) => expect(logGamma(x)).toBeCloseTo(want, 10));

  it.each([
    [0, 0.5],
    [-3, 0.0013498980316301],
    [1.96, 0.9750021048517795],
  ])('normalCdf(%d)', (z, want) => expect(Math.abs(normalCdf(z) - want) / want).toBeLessThan(2e-7));
});

describe('count tails (Poisson and negative binomial)', () => {
  it.each([
    // [x, mean, φ, P(X ≤ x)]
    [3, 6, 1, 61 * Math.exp(-6)],
    [6, 18, 1, poissonCdfReference(6, 18)],
    [40, 100, 1, poissonCdfReference(40, 100)],
    [0, 10, 2, 2 ** -10], // NB r = 10, p = 1/2
    [1, 10, 2, 6 / 1024],
  ])('P(X ≤ %d | mean %d, φ %d)', (x, mu, phi, want) => {
    expect(Math.abs(countLowerTail(x, mu, phi) - want) / want).toBeLessThan(1e-9);
  });

  it('Poisson upper tail P(X ≥ 10 | 3)', () => {
    expect(countUpperTail(10, 3)).toBeCloseTo(1 - poissonCdfReference(9, 3), 12);
  });

  it('geometric (φ = 1 + μ) upper tail is q^k, exact far out in the tail', () => {
    // mean 4, φ 5 → r = 1, q = 0.8: P(X ≥ k) = 0.8^k.
    expect(countUpperTail(10, 4, 5)).toBeCloseTo(0.8 ** 10, 12);
    expect(Math.abs(countUpperTail(200, 4, 5) / 0.8 ** 200 - 1)).toBeLessThan(1e-9);
  });

  it('lower(x) + upper(x + 1) = 1 on both sides of the mean', () => {
    for (const [mu, phi] of [[6, 1], [100, 3], [2.5, 1.4]] as const) {
      for (const x of [0, 1, 2, Math.floor(mu), Math.ceil(mu * 1.5), Math.ceil(mu * 3)]) {
        expect(countLowerTail(x, mu, phi) + countUpperTail(x + 1, mu, phi)).toBeCloseTo(1, 12);
      }
    }
  });

  it('more over-dispersion means weaker evidence', () => {
    const ps = [1, 2, 5, 20].map((phi) => countLowerTail(40, 100, phi));
    expect([...ps].sort((a, b) => a - b)).toEqual(ps);
    expect(ps[0]).toBeLessThan(1e-9);
  });

  it('edges: negative x, zero mean, non-integer values', () => {
    expect(countLowerTail(-1, 5)).toBe(0);
    expect(countLowerTail(3, 0)).toBe(1);
    expect(countUpperTail(0, 5)).toBe(1);
    expect(countUpperTail(3, 0)).toBe(0);
    expect(countLowerTail(3.7, 6)).toBe(countLowerTail(3, 6));
    expect(countUpperTail(9.2, 3)).toBe(countUpperTail(10, 3));
  });

  it('uses a normal approximation for very large means', () => {
    const mu = 4e6;
    expect(countLowerTail(mu - 6000, mu, 1)).toBeCloseTo(normalCdf(-3), 5);
    expect(countUpperTail(mu + 6000, mu, 1)).toBeCloseTo(normalCdf(-3), 5);
  });

  it('changeTailP picks the tail of the direction', () => {
    expect(changeTailP(2, 10, 1, 'drop')).toBe(countLowerTail(2, 10, 1));
    expect(changeTailP(25, 10, 1, 'spike')).toBe(countUpperTail(25, 10, 1));
  });
});

describe('robustDispersion', () => {
  it('is 1 (Poisson) for a perfectly regular history', () => {
    expect(robustDispersion(new Array(20).fill(0))).toBe(1);
  });

  it('is 2 when there are fewer than 3 residuals', () => {
    expect(robustDispersion([0.5, -0.5])).toBe(2);
  });

  it('estimates the variance of residuals, with an allowance for the sample size, and shrugs off outliers', () => {
    const rand = mulberry32(7);
    const z = Array.from({ length: 2000 }, () => 2 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
    const phi = robustDispersion(z);
    expect(phi).toBeGreaterThan(3.6);
    expect(phi).toBeLessThan(4.4);
    const dirty = [...z.slice(0, 200), 80, -60, 95, 70];
    expect(robustDispersion(dirty)).toBeLessThan(robustDispersion(z.slice(0, 200)) * 1.15);
  });

  it('gamma-Poisson counts: Pearson residuals recover φ = 1 + cv²·μ', () => {
    const rand = mulberry32(11);
    const mu = 100;
    const xs = Array.from({ length: 3000 }, () => gammaPoisson(rand, mu, 0.2));
    const phi = robustDispersion(xs.map((x) => (x - mu) / Math.sqrt(mu)));
    expect(phi).toBeGreaterThan(4.5);
    expect(phi).toBeLessThan(5.5);
  });
});
