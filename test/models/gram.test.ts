import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { f64, f64x2, forLoop, get, I32, i32, moduleBytes, set, simdAvailable, sleb, uleb, v128, V128, wasmApi } from '../../src/core/wasm.js';
import { centredGramSimd, gramLimits, gramSimdAvailable } from '../../src/models/gram.js';
import { centredGram, fitRidgeMulti } from '../../src/models/ridge.js';

const relClose = (a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void => {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * scale);
};

function data(n: number, p: number, k: number, seed: number, mean = 0, std = 1): { X: Float64Array; Y: Float64Array } {
  const rng = makeRng(seed);
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const common = rng.normal();
    for (let j = 0; j < p; j++) X[i * p + j] = mean + std * (0.5 * common + rng.normal()) + j;
    for (let t = 0; t < k; t++) Y[i * k + t] = ((t + 1) * (X[i * p] - mean)) / std - (0.5 * X[i * p + (p - 1)]) / std + rng.normal();
  }
  return { X, Y };
}

/** Naive reference: means, then the centred cross-products entry by entry, two passes, row order. */
function naiveGram(
  X: Float64Array,
  n: number,
  p: number,
  Y: Float64Array,
  k: number,
): { G: Float64Array; q: Float64Array[]; xMean: Float64Array; yMean: Float64Array } {
  const xMean = new Float64Array(p);
  const yMean = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) xMean[j] += X[i * p + j] / n;
    for (let t = 0; t < k; t++) yMean[t] += Y[i * k + t] / n;
  }
  const G = new Float64Array(p * p);
  const q = Array.from({ length: k }, () => new Float64Array(p));
  for (let j = 0; j < p; j++) {
    for (let l = 0; l < p; l++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (X[i * p + j] - xMean[j]) * (X[i * p + l] - xMean[l]);
      G[j * p + l] = s;
    }
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (X[i * p + j] - xMean[j]) * (Y[i * k + t] - yMean[t]);
      q[t][j] = s;
    }
  }
  return { G, q, xMean, yMean };
}

/** (G + αI) w = q by Gaussian elimination with partial pivoting, worked here independently of linalg.ts. */
function solveRef(G: Float64Array, p: number, q: Float64Array, alpha: number): Float64Array {
  const A = Array.from({ length: p }, (_, i) => [...Array.from({ length: p }, (_, j) => G[i * p + j] + (i === j ? alpha : 0)), q[i]]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = c + 1; r < p; r++) {
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= p; j++) A[r][j] -= f * A[c][j];
    }
  }
  const w = new Float64Array(p);
  for (let r = p - 1; r >= 0; r--) {
    let s = A[r][p];
    for (let j = r + 1; j < p; j++) s -= A[r][j] * w[j];
    w[r] = s / A[r][r];
  }
  return w;
}

describe('src/core/wasm encoder', () => {
  it('LEB128 matches the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('assembles a SIMD function that runs: out[i] = a[i]·b[i] + 1 over pairs', () => {
    expect(simdAvailable()).toBe(true); // Node ≥ 16.4 has WebAssembly SIMD
    const WA = wasmApi()!;
    const [A, Bp, O, N, i, v] = [0, 1, 2, 3, 4, 5];
    const bytes = moduleBytes({
      memory: { min: 1 },
      funcs: [
        {
          name: 'fma1',
          params: [I32, I32, I32, I32],
          locals: [I32, V128],
          body: forLoop(i, get(N), 16, [
            ...set(v, f64x2.mul(v128.load(i32.add(get(A), get(i))), v128.load(i32.add(get(Bp), get(i))))),
            ...v128.store(i32.add(get(O), get(i)), f64x2.add(get(v), f64x2.splat(f64.const(1)))),
          ]),
        },
      ],
    });
    expect(WA.validate(bytes)).toBe(true);
    const memory = new WA.Memory({ initial: 1 });
    const fn = new WA.Instance(new WA.Module(bytes), { env: { mem: memory } }).exports.fma1 as (a: number, b: number, o: number, n: number) => void;
    const F = new Float64Array(memory.buffer);
    F.set([1, 2, 3, 4], 0);
    F.set([0.5, -1, 2, 10], 4);
    fn(0, 32, 64, 32);
    expect(Array.from(F.subarray(8, 12))).toEqual([1.5, -1, 7, 41]);
  });
});

describe('centredGram, SIMD kernel against the JavaScript loops and a naive reference', () => {
  it('is available on this runtime', () => {
    expect(gramSimdAvailable()).toBe(true);
  });

  // Shapes that hit the kernel's edges: p not a multiple of 4 or 2, odd row counts, one row
  // short of a block, several chunks, several targets.
  for (const [n, p, k] of [
    [1, 1, 1],
    [7, 3, 2],
    [63, 5, 1],
    [1001, 7, 3],
    [4097, 13, 1],
    [5000, 40, 2],
  ] as const) {
    it(`n=${n} p=${p} k=${k}: matches the naive two-pass sums to 1e-12`, () => {
      const { X, Y } = data(n, p, k, n + p);
      const s = centredGramSimd(X, p, Y, k, true, { start: 0, count: n }, 1)!;
      const ref = naiveGram(X, n, p, Y, k);
      relClose(s.xMean, ref.xMean, 1e-13);
      relClose(s.yMean, ref.yMean, 1e-13);
      if (n > 1) {
        relClose(s.G, ref.G, 1e-12);
        for (let t = 0; t < k; t++) relClose(s.q[t], ref.q[t], 1e-12);
      }
    });
  }

  it('without an intercept: the raw cross-products XᵀX and Xᵀy', () => {
    const n = 301;
    const p = 6;
    const { X, Y } = data(n, p, 1, 4);
    const s = centredGramSimd(X, p, Y, 1, false, { start: 0, count: n }, 1)!;
    for (let j = 0; j < p; j++) {
      for (let l = 0; l < p; l++) {
        let g = 0;
        for (let i = 0; i < n; i++) g += X[i * p + j] * X[i * p + l];
        expect(Math.abs(s.G[j * p + l] - g)).toBeLessThanOrEqual(1e-12 * Math.abs(g) + 1e-12);
      }
      expect(s.xMean[j]).toBe(0);
    }
  });

  it('a feature whose mean is 1e4× its spread keeps full accuracy (shifted data, not Σx² − n·x̄²)', () => {
    // Mean 1e4, std 1: the raw formula would cancel 8 of 16 digits. The first rows also sit about
    // 3σ above the rest, so the shift is not simply the mean.
    const n = 20000;
    const p = 3;
    const rng = makeRng(9);
    const X = new Float64Array(n * p);
    const Y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * p] = 1e4 + rng.normal() + (i < 64 ? 3 : 0);
      X[i * p + 1] = rng.normal();
      X[i * p + 2] = 1e4 * rng.normal();
      Y[i] = 2 * (X[i * p] - 1e4) - X[i * p + 1] + 1e-4 * X[i * p + 2] + 0.1 * rng.normal();
    }
    const ref = naiveGram(X, n, p, Y, 1);
    const wRef = solveRef(ref.G, p, ref.q[0], 1);
    const f = fitRidgeMulti(X, n, p, Y, 1, 1, true, undefined, { threads: 1 });
    relClose(f.coef[0], wRef, 1e-10);
    const s = centredGramSimd(X, p, Y, 1, true, { start: 0, count: n }, 1)!;
    for (let j = 0; j < p; j++) expect(Math.abs(s.G[j * p + j] - ref.G[j * p + j])).toBeLessThanOrEqual(1e-11 * ref.G[j * p + j]);
  });

  it('ridge coefficients: SIMD and JavaScript paths agree to 1e-12 relative; both match normal equations solved here', () => {
    const n = 9000;
    const p = 11;
    const k = 2;
    const { X, Y } = data(n, p, k, 21, 50, 3);
    const simd = fitRidgeMulti(X, n, p, Y, k, 1.5, true, { start: 100, end: n - 7 });
    const js = fitRidgeMulti(X, n, p, Y, k, 1.5, true, { start: 100, end: n - 7 }, { path: 'js' });
    const sub = X.subarray(100 * p, (n - 7) * p);
    const ref = naiveGram(sub, n - 107, p, Y.subarray(100 * k, (n - 7) * k), k);
    for (let t = 0; t < k; t++) {
      relClose(simd.coef[t], js.coef[t], 1e-12);
      relClose(simd.coef[t], solveRef(ref.G, p, ref.q[t], 1.5), 1e-10);
      expect(Math.abs(simd.intercept[t] - js.intercept[t])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(js.intercept[t])));
    }
  });

  it('a row list gives the same bits as the equivalent range, and a shuffled list matches the JavaScript loops', () => {
    const n = 3000;
    const p = 9;
    const { X, Y } = data(n, p, 1, 5);
    const list = Uint32Array.from({ length: 2000 }, (_, i) => i + 500);
    const a = centredGram(X, n, p, Y, 1, true, list);
    const b = centredGram(X, n, p, Y, 1, true, { start: 500, end: 2500 });
    expect(a.G).toEqual(b.G);
    expect(a.q).toEqual(b.q);
    const rng = makeRng(2);
    const shuffled = Uint32Array.from({ length: 1500 }, () => Math.floor(rng.next() * n));
    const s = centredGram(X, n, p, Y, 1, true, shuffled);
    const j = centredGram(X, n, p, Y, 1, true, shuffled, { path: 'js' });
    relClose(s.G, j.G, 1e-12);
    relClose(s.q[0], j.q[0], 1e-12);
  });

  it('1, 2 and 3 threads give bit-identical results', () => {
    const n = 40_000;
    const p = 17;
    const { X, Y } = data(n, p, 2, 8);
    const runs = [1, 2, 3, 2].map((threads) => fitRidgeMulti(X, n, p, Y, 2, 0.5, true, undefined, { threads }));
    for (const r of runs.slice(1)) {
      expect(r.coef).toEqual(runs[0].coef);
      expect(r.intercept).toEqual(runs[0].intercept);
    }
    const G1 = centredGram(X, n, p, Y, 2, true, undefined, { threads: 1 }).G;
    const G2 = centredGram(X, n, p, Y, 2, true, undefined, { threads: 2 }).G;
    expect(G2).toEqual(G1);
  });

  it('workers fed in several passes (a small copy limit) give the same bits', () => {
    const n = 30_000;
    const p = 21;
    const { X, Y } = data(n, p, 1, 13);
    const list = Uint32Array.from({ length: n - 10 }, (_, i) => i + 10);
    const one = centredGram(X, n, p, Y, 1, true, list, { threads: 1 });
    const saved = gramLimits.dataCap;
    try {
      gramLimits.dataCap = 200_000; // about one 2048-row chunk of 22 doubles a pass
      for (const threads of [2, 3]) {
        const r = centredGram(X, n, p, Y, 1, true, list, { threads });
        expect(r.G).toEqual(one.G);
        expect(r.q).toEqual(one.q);
        expect(r.xMean).toEqual(one.xMean);
      }
    } finally {
      gramLimits.dataCap = saved;
    }
  });
});
