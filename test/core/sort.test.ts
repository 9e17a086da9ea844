import { describe, expect, it } from 'vitest';
import { radixSort } from '../../src/core/sort.js';

/** radixSort's result against TypedArray#sort, −0 and +0 told apart. */
function check(vals: ArrayLike<number>): void {
  const a = Float64Array.from(vals);
  radixSort(a, new Uint32Array(4 * a.length));
  const ref = Float64Array.from(vals).sort();
  expect(Array.from(a).map((v) => Object.is(v, -0))).toEqual(Array.from(ref).map((v) => Object.is(v, -0)));
  expect(Array.from(a)).toEqual(Array.from(ref));
}

/** A fixed pseudo-random sequence (LCG), so that the cases are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('radixSort', () => {
  it('orders like TypedArray#sort (negatives, −0 before +0, ±∞, duplicates)', () => {
    check([3.5, -0, 0, -2, 1e-300, -1e-300, Infinity, -Infinity, 3.5, -2, 7, 0, -0, 1e300, -5.25]);
  });

  it('orders large columns of every sign and scale', () => {
    const r = lcg(7);
    check(Array.from({ length: 30_000 }, () => (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6)));
  });

  it('orders columns where whole digits are equal (passes skipped)', () => {
    const r = lcg(11);
    // Small integers: the low mantissa digits are all zero.
    check(Array.from({ length: 5_000 }, () => Math.floor(r() * 200) - 100));
    // All in [1, 2): sign and exponent, the top digits, are the same.
    check(Array.from({ length: 5_000 }, () => 1 + r()));
    // One value repeated: every digit is the same.
    check(new Array<number>(1_000).fill(-0.125));
    check([]);
    check([42]);
  });

  it('sorts a subarray in place without touching the rest of its buffer', () => {
    const buf = Float64Array.from([9, 3, 1, 2, -1, 8]);
    radixSort(buf.subarray(1, 5), new Uint32Array(16));
    expect(Array.from(buf)).toEqual([9, -1, 1, 2, 3, 8]);
  });
});
