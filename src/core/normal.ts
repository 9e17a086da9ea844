/**
 * The standard normal distribution: density, CDF and quantile, to close to double precision.
 * One owner for them: probabilistic scores (CRPS of a Gaussian, intervals) and the overfitting
 * statistics (probabilistic and deflated Sharpe) both need them.
 */

const SQRT_PI = Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** erfc(x) for x ≥ 0: a series with positive terms below 0.75 (1 − erf loses no digits there), a continued fraction above. */
function erfcNonNeg(x: number): number {
  if (x < 0.75) {
    // erf(x) = 2/√π · e^{-x²} · Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-x * x) * sum;
  }
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated by modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** The complementary error function. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x >= 0 ? erfcNonNeg(x) : 2 - erfcNonNeg(-x);
}

/** Density of the standard normal at x. */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** P(Z ≤ x) for a standard normal Z; accurate in both tails (computed from erfc, not 1 − …). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * The p-quantile of the standard normal: Newton's method on log Φ from the tail's asymptote. log Φ
 * is concave, so Newton from either side converges without overshooting the root's side twice.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  // Symmetry: solve in the lower tail, where Φ(x) is small and represented exactly.
  if (p > 0.5) return -normalQuantile(1 - p);
  const target = Math.log(p);
  // Start: the Mills-ratio asymptote in the far tail, the origin's neighbourhood otherwise.
  let x = p < 0.1 ? -Math.sqrt(-2 * target - Math.log(-2 * target) - Math.log(2 * Math.PI)) : -0.5;
  for (let i = 0; i < 100; i++) {
    const cdf = normalCdf(x);
    const step = (Math.log(cdf) - target) / (normalPdf(x) / cdf);
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}
