// Robust statistics and over-dispersed count tails for the evidence model (docs/rules.md, "Evidence").
// Everything here is pure and numerically careful: tails are summed in log space from the
// observation outwards, so p-values of 1e-30 are as exact as p-values of 0.3.

/** Median of a list (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  // A typed array sorts numerically without a comparator call per step (hot path).
  return sortedMedian(Float64Array.from(xs).sort());
}

/** Median of an already ascending list. */
export function sortedMedian(s: ArrayLike<number>): number {
  const n = s.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Median absolute deviation from `center` (default: the median). */
export function mad(xs: readonly number[], center: number = median(xs)): number {
  return median(xs.map((x) => Math.abs(x - center)));
}

/** 1.4826 × MAD: a standard deviation that a few outliers cannot inflate. */
export const MAD_TO_SD = 1.4826;

export function robustSd(xs: readonly number[]): number {
  return MAD_TO_SD * mad(xs);
}

// E[min(|Z|, 2.5)²] for a standard normal Z: makes the winsorised variance consistent.
const WINSOR_C = 2.5;
const WINSOR_CONSISTENCY = 0.97756;

/**
 * Allowance for estimating φ from only n days: φ is scaled by 1 + 6/(n − 1), about what a
 * Student-t with n − 1 degrees of freedom needs over a normal at p ≈ 0.001.
 */
const ESTIMATION_ALLOWANCE = 6;

/** Fewer residuals than this say nothing about variability: φ = 2 (moderately over-dispersed). */
export const MIN_DISPERSION_POINTS = 3;
const UNKNOWN_DISPERSION = 2;

/**
 * Over-dispersion φ (Var = φ·μ) from Pearson residuals (x − e)/√e of ordinary days: a
 * variance winsorised at 2.5 robust SDs (MAD-based), so past anomalies barely move it, scaled
 * up for the few days it is estimated from, and never below 1 (Poisson).
 */
export function robustDispersion(residuals: readonly number[]): number {
  const n = residuals.length;
  if (n < MIN_DISPERSION_POINTS) return UNKNOWN_DISPERSION;
  const center = median(residuals);
  const cap = WINSOR_C * MAD_TO_SD * mad(residuals, center);
  let ss = 0;
  for (const z of residuals) {
    const d = Math.min(Math.abs(z - center), cap);
    ss += d * d;
  }
  const raw = ss / (n - 1) / WINSOR_CONSISTENCY;
  return Math.max(1, raw * (1 + ESTIMATION_ALLOWANCE / (n - 1)));
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Complementary error function (Chebyshev fit, relative error < 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Above this mean the tails use a normal approximation (exact sums would still work, slowly). */
export const EXACT_MEAN_LIMIT = 1e6;
const POISSON_EPS = 1e-9;
const REL_EPS = 1e-17;
const MAX_TERMS = 1_000_000;

/** A count model: negative binomial with mean μ and variance φ·μ (Poisson when φ = 1). */
interface CountModel {
  readonly mu: number;
  readonly phi: number;
  logPmf(k: number): number;
  /** pmf(k + 1) / pmf(k). */
  stepUp(k: number): number;
}

function countModel(mu: number, phi: number): CountModel {
  if (phi <= 1 + POISSON_EPS) {
    const logMu = Math.log(mu);
    return {
      mu,
      phi: 1,
      logPmf: (k) => -mu + k * logMu - logGamma(k + 1),
      stepUp: (k) => mu / (k + 1),
    };
  }
  const r = mu / (phi - 1);
  const q = (phi - 1) / phi;
  const logQ = Math.log(q);
  const base = -r * Math.log(phi) - logGamma(r);
  return {
    mu,
    phi,
    logPmf: (k) => base + logGamma(k + r) - logGamma(k + 1) + k * logQ,
    stepUp: (k) => ((k + r) * q) / (k + 1),
  };
}

function lowerSum(m: CountModel, x: number): number {
  // Σ_{k ≤ x} pmf(k), summed downwards from x relative to pmf(x).
  let term = 1;
  let sum = 1;
  for (let k = x; k >= 1; k--) {
    term /= m.stepUp(k - 1);
    sum += term;
    if (term < REL_EPS * sum) break;
  }
  return Math.exp(m.logPmf(x) + Math.log(sum));
}

function upperSum(m: CountModel, x: number): number {
  // Σ_{k ≥ x} pmf(k), summed upwards from x relative to pmf(x).
  let term = 1;
  let sum = 1;
  for (let k = x, i = 0; i < MAX_TERMS; k++, i++) {
    term *= m.stepUp(k);
    sum += term;
    if (term < REL_EPS * sum) break;
  }
  return Math.exp(m.logPmf(x) + Math.log(sum));
}

function clampP(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** P(X ≤ x) for X ~ NB(mean, φ); lower tail, the evidence for a drop. */
export function countLowerTail(x: number, mean: number, phi = 1): number {
  const k = Math.floor(x);
  if (k < 0) return 0;
  if (!(mean > 0)) return 1;
  if (mean > EXACT_MEAN_LIMIT) return normalCdf((k + 0.5 - mean) / Math.sqrt(Math.max(phi, 1) * mean));
  const m = countModel(mean, Math.max(phi, 1));
  if (k >= mean) return clampP(1 - upperSum(m, k + 1));
  return clampP(lowerSum(m, k));
}

/** P(X ≥ x) for X ~ NB(mean, φ); upper tail, the evidence for a spike. */
export function countUpperTail(x: number, mean: number, phi = 1): number {
  const k = Math.ceil(x);
  if (k <= 0) return 1;
  if (!(mean > 0)) return 0;
  if (mean > EXACT_MEAN_LIMIT) return 1 - normalCdf((k - 0.5 - mean) / Math.sqrt(Math.max(phi, 1) * mean));
  const m = countModel(mean, Math.max(phi, 1));
  if (k <= mean) return clampP(1 - lowerSum(m, k - 1));
  return clampP(upperSum(m, k));
}

/** Tail probability in the direction of a change: lower for drops, upper for spikes. */
export function changeTailP(observed: number, expected: number, phi: number, direction: 'drop' | 'spike'): number {
  return direction === 'drop' ? countLowerTail(observed, expected, phi) : countUpperTail(observed, expected, phi);
}
