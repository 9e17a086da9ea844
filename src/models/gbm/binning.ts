/**
 * Feature binning for histogram trees (the LightGBM / XGBoost `hist` idea): each feature's values
 * are mapped once to at most `maxBins` ordered bins, so a split search scans ≤ 255 bin totals
 * instead of sorted rows.
 *
 * Cuts of a feature are ascending thresholds c₀ < c₁ < …; a value x falls in bin b = the number of
 * cuts below x, i.e. bin 0 holds x ≤ c₀ and bin b holds c_{b−1} < x ≤ c_b. A split "bins 0..b go
 * left" is therefore exactly `x <= c_b` on raw values, which is how fitted trees predict. With at
 * most `maxBins` distinct values, the cuts are the midpoints between consecutive distinct values
 * (as scikit-learn does); otherwise they are the distinct values at the quantiles i/maxBins of the
 * fitted rows. NaN gets a bin of its own after the others (bin index `nBins[f]`) and always goes
 * right, as `NaN <= c` is false.
 */

import { columnBuffers, GATHER, sortedColumns } from '../../core/sort.js';

export interface BinMapper {
  /** Per feature, the ascending cut values. */
  cuts: Float64Array[];
  /** Per feature, the number of value bins (cuts + 1); the NaN bin is index nBins[f]. */
  nBins: Int32Array;
}

/** Fits cuts per feature on the rows [start, end) of row-major X (n × p). */
export function fitBins(X: Float64Array, p: number, start: number, end: number, maxBins: number): BinMapper {
  if (!(maxBins >= 2 && maxBins <= 255)) throw new RangeError(`max_bins must be in 2..255, got ${maxBins}`);
  const m = end - start;
  const cuts: Float64Array[] = [];
  const nBins = new Int32Array(p);
  const buf = columnBuffers(m);
  for (let f0 = 0; f0 < p; f0 += GATHER) {
    for (const sorted of sortedColumns(X, p, f0, Math.min(GATHER, p - f0), [{ start, end }], buf)) cuts.push(cutsOf(sorted, maxBins));
  }
  for (let f = 0; f < p; f++) nBins[f] = cuts[f].length + 1;
  return { cuts, nBins };
}

/** The cuts of one feature from its sorted, NaN-free values. */
function cutsOf(sorted: Float64Array, maxBins: number): Float64Array {
  const c = sorted.length;
  // Distinct values, stopping early once there are more than maxBins.
  let distinct = 0;
  const uniq: number[] = [];
  for (let i = 0; i < c; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      distinct++;
      if (distinct > maxBins) break;
      uniq.push(sorted[i]);
    }
  }
  let fc: number[];
  if (distinct <= maxBins) {
    fc = [];
    for (let i = 1; i < uniq.length; i++) fc.push(uniq[i - 1] + (uniq[i] - uniq[i - 1]) / 2);
  } else {
    fc = [];
    for (let i = 1; i < maxBins; i++) {
      const v = sorted[Math.floor((i * c) / maxBins)];
      // A cut at the largest value would leave an empty last bin.
      if (v < sorted[c - 1] && (fc.length === 0 || v > fc[fc.length - 1])) fc.push(v);
    }
  }
  return Float64Array.from(fc);
}

/** Bin of one value: the number of cuts below x (binary search); NaN → the NaN bin. */
export function binOf(cuts: Float64Array, x: number): number {
  if (x !== x) return cuts.length + 1;
  // Branch-free lower bound (the select compiles to a conditional move): the number of cuts < x.
  let base = 0;
  let len = cuts.length;
  while (len > 0) {
    const half = len >>> 1;
    const take = cuts[base + half] < x;
    base = take ? base + half + 1 : base;
    len = take ? len - half - 1 : half;
  }
  return base;
}

/** Row-major bins (m × p) of the rows [start, end) of X. */
export function applyBins(mapper: BinMapper, X: Float64Array, p: number, start: number, end: number): Uint8Array {
  const m = end - start;
  const out = new Uint8Array(m * p);
  // Each feature's cuts padded with +∞ to 256 (at most 254 cuts), so that the lower bound is a
  // fixed eight halvings without a data-dependent loop exit.
  const padded = new Float64Array(p * 256).fill(Infinity);
  for (let f = 0; f < p; f++) padded.set(mapper.cuts[f], f * 256);
  const nan = mapper.nBins;
  // Row by row: X and out are both read and written sequentially.
  for (let i = 0; i < m; i++) {
    const xo = (start + i) * p;
    const oo = i * p;
    for (let f = 0; f < p; f++) {
      const x = X[xo + f];
      if (x !== x) {
        out[oo + f] = nan[f];
        continue;
      }
      const c = f * 256;
      // Number(bool) << k compiles without a branch (4× faster than `cond ? k : 0` here).
      let b = 0;
      b += Number(padded[c + b + 127] < x) << 7;
      b += Number(padded[c + b + 63] < x) << 6;
      b += Number(padded[c + b + 31] < x) << 5;
      b += Number(padded[c + b + 15] < x) << 4;
      b += Number(padded[c + b + 7] < x) << 3;
      b += Number(padded[c + b + 3] < x) << 2;
      b += Number(padded[c + b + 1] < x) << 1;
      b += Number(padded[c + b] < x);
      out[oo + f] = b;
    }
  }
  return out;
}
