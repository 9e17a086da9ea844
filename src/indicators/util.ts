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
