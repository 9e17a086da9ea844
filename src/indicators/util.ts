/** Index of the first non-NaN value of x (x.length if none): kernels start there, as TA-Lib would on the trimmed series. */
export function firstValid(x: Float64Array): number {
  let i = 0;
  while (i < x.length && Number.isNaN(x[i])) i++;
  return i;
}

/** Throws a RangeError for a non-integer or too-small period: a programming error, since params are validated. */
export function assertPeriod(name: string, period: number, min: number): void {
  if (!Number.isInteger(period) || period < min) {
    throw new RangeError(`${name}: period must be an integer >= ${min}, got ${period}`);
  }
}

/** A new array of length n filled with NaN ("no value"). */
export function nanArray(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

/**
 * TA-Lib 0.6's TA_IS_ZERO: |v| < 1e-14 (TA_EPSILON). Since TA-Lib 0.6.1 the "small values fix" made
 * this threshold 1e-14 (it was 1e-8 in 0.4, which zeroed indicators on low-priced instruments); we
 * follow 0.6, the release a user installs today.
 */
export function isZero(v: number): boolean {
  return v > -1e-14 && v < 1e-14;
}

/** TA-Lib 0.6's TA_IS_ZERO_OR_NEG: v < 1e-14. */
export function isZeroOrNeg(v: number): boolean {
  return v < 1e-14;
}

/** Largest first-non-NaN index over several inputs: multi-input kernels start where all have values. */
export function firstValidAll(...xs: Float64Array[]): number {
  let f = 0;
  for (const x of xs) f = Math.max(f, firstValid(x));
  return f;
}

/** Blanks (sets to NaN) out[0 .. end) : used where TA-Lib computes a value but does not output it. */
export function blank(out: Float64Array, end: number): void {
  const e = Math.min(end, out.length);
  for (let i = 0; i < e; i++) out[i] = NaN;
}
