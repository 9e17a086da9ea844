/** Sorting of float64 columns, shared by gbm binning and the drift report. */

import type { RowRange } from './artifacts.js';

/** Digit counts of the six passes, reused by every sort of this thread. */
const counts = new Uint32Array(6 * 2048);

/**
 * Sorts NaN-free float64 values ascending in place (the order of TypedArray#sort: −0 before +0),
 * by LSD radix on their bits in six 11-bit digits (the last 9), all six digits counted in one
 * read, a pass skipped where every value has the same digit. On alpha158 columns: 2.6× faster
 * than the built-in sort at 30k values, 2.3× at 10k (16-bit digits were 2.2× and 1.5×: their
 * 65,536 counters per pass outweighed small columns). `scratch` holds ≥ 4·a.length words.
 */
export function radixSort(a: Float64Array, scratch: Uint32Array): Float64Array {
  const n = a.length;
  const u = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  let src = scratch.subarray(0, 2 * n);
  let dst = scratch.subarray(2 * n, 4 * n);
  counts.fill(0);
  // Keys that order as unsigned integers: negatives get all bits flipped, positives the sign bit.
  for (let i = 0; i < n; i++) {
    const hi0 = u[2 * i + 1];
    const mask = -(hi0 >>> 31) >>> 0;
    const lo = (u[2 * i] ^ mask) >>> 0;
    const hi = (hi0 ^ (mask | 0x80000000)) >>> 0;
    src[2 * i] = lo;
    src[2 * i + 1] = hi;
    counts[lo & 0x7ff]++;
    counts[2048 + ((lo >>> 11) & 0x7ff)]++;
    counts[4096 + (((lo >>> 22) | (hi << 10)) & 0x7ff)]++;
    counts[6144 + ((hi >>> 1) & 0x7ff)]++;
    counts[8192 + ((hi >>> 12) & 0x7ff)]++;
    counts[10240 + (hi >>> 23)]++;
  }
  for (let pass = 0; pass < 6; pass++) {
    const base = pass * 2048;
    let sum = 0;
    let trivial = false;
    for (let d = 0; d < 2048; d++) {
      const c = counts[base + d];
      if (c === n) trivial = true;
      counts[base + d] = sum;
      sum += c;
    }
    if (trivial) continue;
    // One loop per digit position, so that each is a fixed shift V8 compiles without branches.
    if (pass === 0) {
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i];
        const j = counts[lo & 0x7ff]++;
        dst[2 * j] = lo;
        dst[2 * j + 1] = src[2 * i + 1];
      }
    } else if (pass === 1) {
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i];
        const j = counts[2048 + ((lo >>> 11) & 0x7ff)]++;
        dst[2 * j] = lo;
        dst[2 * j + 1] = src[2 * i + 1];
      }
    } else if (pass === 2) {
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i];
        const hi = src[2 * i + 1];
        const j = counts[4096 + (((lo >>> 22) | (hi << 10)) & 0x7ff)]++;
        dst[2 * j] = lo;
        dst[2 * j + 1] = hi;
      }
    } else {
      const sh = pass === 3 ? 1 : pass === 4 ? 12 : 23;
      for (let i = 0; i < n; i++) {
        const hi = src[2 * i + 1];
        const j = counts[base + ((hi >>> sh) & 0x7ff)]++;
        dst[2 * j] = src[2 * i];
        dst[2 * j + 1] = hi;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let i = 0; i < n; i++) {
    const lo = src[2 * i];
    const hi = src[2 * i + 1];
    // Sign bit set in the key ⇔ the value was positive.
    const mask = ((hi >>> 31) - 1) >>> 0;
    u[2 * i] = (lo ^ mask) >>> 0;
    u[2 * i + 1] = (hi ^ (mask | 0x80000000)) >>> 0;
  }
  return a;
}

/** Columns gathered per pass over the rows by sortedColumns: 8 doubles are one 64-byte cache line. */
export const GATHER = 8;

/** Buffers sortedColumns may reuse: ≥ GATHER columns and ≥ 4 words of scratch per value. */
export interface ColumnBuffers {
  scratch: Uint32Array;
  cols: Float64Array[];
}

/** Buffers for sorting up to `rows` values of GATHER columns at a time. */
export function columnBuffers(rows: number): ColumnBuffers {
  return { scratch: new Uint32Array(4 * rows), cols: Array.from({ length: GATHER }, () => new Float64Array(rows)) };
}

/**
 * Columns j0 … j0+g−1 (g ≤ GATHER) of a row-major matrix (p wide) over some row ranges, each
 * sorted and NaN-free. The columns are gathered together, so that one pass over the rows reads
 * each cache line of X once for g features instead of once per feature (a feature at a time, a
 * wide X is streamed from memory p times — which two concurrent processes then contend on). The
 * results are views of the buffers when given (valid until their next use), else fresh arrays.
 */
export function sortedColumns(X: Float64Array, p: number, j0: number, g: number, ranges: readonly RowRange[], buffers?: ColumnBuffers): Float64Array[] {
  let m = 0;
  for (const r of ranges) m += Math.max(0, r.end - r.start);
  const b =
    buffers !== undefined && buffers.cols.length >= g && (buffers.cols[0]?.length ?? 0) >= m && buffers.scratch.length >= 4 * m ? buffers : columnBuffers(m);
  const lens = new Int32Array(g);
  for (const r of ranges) {
    for (let row = r.start; row < r.end; row++) {
      const o = row * p + j0;
      for (let k = 0; k < g; k++) {
        const v = X[o + k];
        if (v === v) b.cols[k][lens[k]++] = v;
      }
    }
  }
  return b.cols.slice(0, g).map((c, k) => radixSort(c.subarray(0, lens[k]), b.scratch));
}
