import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { cosineSchedule } from '../../src/models/diffusion/schedule.js';
import { ddimSample, ddimTimesteps } from '../../src/models/diffusion/ddim.js';
import { spreadFactors } from '../../src/models/diffusion/kinds.js';
import { applyToeplitz, s4dKernel, toeplitz } from '../../src/models/diffusion/s4d.js';
import { makeRng } from '../../src/data/rng.js';

/**
 * The diffusion kinds' mathematics against independent expectations: the cosine schedule against
 * the paper's formula worked out by hand, DDIM with the exact ε-predictor of a Gaussian target
 * against the closed form, and the S4D convolution kernel against the state-space recurrence it
 * stands for. Pure-JS cpu backend (the default of @tensorflow/tfjs in node).
 */

tf.setBackend('cpu');

describe('cosine noise schedule (Nichol & Dhariwal 2021, eq. 17)', () => {
  // ᾱ(t) = cos²(((t/T + s)/(1 + s))·π/2) / cos²((s/(1 + s))·π/2), s = 0.008, T = 1000, evaluated
  // with Python's math module (double precision) at a few t; β_t = 1 − ᾱ_t/ᾱ_{t−1} is below the
  // 0.999 cap for every t < T, so there ᾱ is the formula itself.
  const want: [number, number][] = [
    [1, 0.999958715775178],
    [250, 0.8470121613269047],
    [500, 0.49384359044063775],
    [750, 0.1442721023857358],
    [999, 2.428766907034851e-6],
  ];
  const s = cosineSchedule(1000);
  for (const [t, a] of want) it(`ᾱ_${t} = ${a}`, () => expect(s.alphaBar[t] / a - 1).toBeLessThan(1e-12));
  it('β_T is capped at 0.999, so ᾱ_T = 0.001·ᾱ_{T−1} (not 0)', () => {
    expect(s.beta[1000]).toBe(0.999);
    expect(s.alphaBar[1000]).toBeCloseTo(2.428766907034851e-6 * 0.001, 20);
    expect(s.alphaBar[0]).toBe(1);
  });
  it('β_1 = 1 − ᾱ_1', () => expect(s.beta[1]).toBeCloseTo(1 - 0.999958715775178, 14));
});

describe('DDIM (Song et al. 2021, η = 0) with the exact ε- (and v-) predictor of a Gaussian target', () => {
  // x_0 ~ N(μ, s²), x_t = a·x_0 + b·ε (a = √ᾱ_t, b = √(1 − ᾱ_t)): x_t ~ N(aμ, v), v = a²s² + b²,
  // and the optimal predictor is E[ε | x_t] = b·(x_t − aμ)/v. Each DDIM step is then affine:
  // x' − a'μ = (x − aμ)·g, g = (a·a'·s² + b·b')/v. So from x_{τ_S} ~ N(0, 1), the result is
  // N(μ − a_S·μ·G, G²) with G = Π g over the steps, and as the steps get finer G → s·(start sd)/√v_S
  // → the target. Checked on 20 000 draws: the sample mean and sd against the closed form.
  const mu = 0.3;
  const sd = 0.5;
  const sched = cosineSchedule(1000);
  const oracle = (x: tf.Tensor2D, t: number): tf.Tensor2D => {
    const a = Math.sqrt(sched.alphaBar[t]);
    const b = Math.sqrt(1 - sched.alphaBar[t]);
    return tf.mul(tf.sub(x, a * mu), b / (a * a * sd * sd + b * b)) as tf.Tensor2D;
  };
  const closedForm = (steps: Int32Array): { mean: number; sd: number } => {
    let G = 1;
    for (let i = steps.length - 1; i >= 0; i--) {
      const ab = sched.alphaBar[steps[i]];
      const abPrev = i > 0 ? sched.alphaBar[steps[i - 1]] : 1;
      const [a, b, a2, b2] = [Math.sqrt(ab), Math.sqrt(1 - ab), Math.sqrt(abPrev), Math.sqrt(1 - abPrev)];
      G *= (a * a2 * sd * sd + b * b2) / (a * a * sd * sd + b * b);
    }
    const aS = Math.sqrt(sched.alphaBar[steps[steps.length - 1]]);
    return { mean: mu - aS * mu * G, sd: G };
  };
  const n = 20000;
  const drawn = new Map<number, { mean: number; sd: number }>();
  const draw = (S: number): { mean: number; sd: number } => {
    const hit = drawn.get(S);
    if (hit) return hit;
    const rng = makeRng(11);
    const z = Float32Array.from({ length: n }, () => rng.normal());
    const xT = tf.tensor2d(z, [n, 1]);
    const out = ddimSample(tf, sched, ddimTimesteps(1000, S), xT, oracle);
    const v = out.dataSync();
    out.dispose();
    xT.dispose();
    let m = 0;
    for (const x of v) m += x;
    m /= n;
    let q = 0;
    for (const x of v) q += (x - m) ** 2;
    const r = { mean: m, sd: Math.sqrt(q / (n - 1)) };
    drawn.set(S, r);
    return r;
  };

  it('timesteps: evenly spaced from 1, S of them (all T when S = T)', () => {
    expect(Array.from(ddimTimesteps(1000, 4))).toEqual([1, 251, 501, 751]);
    expect(Array.from(ddimTimesteps(5, 5))).toEqual([1, 2, 3, 4, 5]);
  });

  for (const S of [20, 1000]) {
    it(`${S} steps: the draws' mean and sd are the closed form's`, () => {
      const want = closedForm(ddimTimesteps(1000, S));
      const got = draw(S);
      // Sampling error of a mean is sd/√n ≈ 0.0035 here; of an sd, sd/√(2n) ≈ 0.0025.
      expect(Math.abs(got.mean - want.mean)).toBeLessThan(4 * (want.sd / Math.sqrt(n)));
      expect(Math.abs(got.sd - want.sd)).toBeLessThan(4 * (want.sd / Math.sqrt(2 * n)));
    });
  }

  // The same target through a v-predictor (Salimans & Ho 2022): v = a·ε − b·x_0, so the exact one
  // is a·E[ε | x_t] − b·E[x_0 | x_t], E[x_0 | x_t] = μ + a·s²·(x_t − aμ)/v.
  const vOracle = (x: tf.Tensor2D, t: number): tf.Tensor2D => {
    const a = Math.sqrt(sched.alphaBar[t]);
    const b = Math.sqrt(1 - sched.alphaBar[t]);
    const v = a * a * sd * sd + b * b;
    const d = tf.sub(x, a * mu);
    return tf.sub(tf.mul(d, (a * b) / v), tf.add(tf.mul(d, (b * a * sd * sd) / v), b * mu)) as tf.Tensor2D;
  };
  const walk = (pred: (x: tf.Tensor2D, t: number) => tf.Tensor2D, prediction: 'eps' | 'v', S = 20): Float32Array => {
    const rng = makeRng(11);
    const xT = tf.tensor2d(
      Float32Array.from({ length: 2000 }, () => rng.normal()),
      [2000, 1],
    );
    const out = ddimSample(tf, sched, ddimTimesteps(1000, S), xT, pred, prediction);
    const v = out.dataSync() as Float32Array;
    out.dispose();
    xT.dispose();
    return v;
  };
  const meanOf = (v: Float32Array): number => v.reduce((x, y) => x + y, 0) / v.length;

  it('a v-predictor: the exact one walks to the ε-predictor’s draws (same starting noise)', () => {
    const e = walk(oracle, 'eps');
    const v = walk(vOracle, 'v');
    let worst = 0;
    for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i] - v[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  it('an error δ in the network’s output moves the draws by ≤ (π/2)·δ with v, more with ε', () => {
    // v: x̂_0 is off by b·δ and ε̂ by a·δ, so a step τ → τ' moves x by (a·b' − a'·b)·δ = sin(θ' − θ)·δ
    // (a = cos θ, b = sin θ): at most the angle walked, π/2 in all, and the Gaussian flow after it
    // scales a shift by s/√v ≤ 1 here. ε: a step moves x by (b' − a'·b/a)·δ, ≈ −δ per step near
    // τ_20 (b/a ≈ 13 there). Measured: 0.0101 vs 0.0216 for δ = 0.01. The larger harm in practice
    // is that an ε-net must output ε̂ ≈ x_t at the noisy steps to within ≈ √ᾱ, where a v-net's ε̂
    // = b·x_t + a·v̂ has that built in (docs/diffusion.md has the measurements).
    const delta = 0.01;
    const bump = (f: (x: tf.Tensor2D, t: number) => tf.Tensor2D) => (x: tf.Tensor2D, t: number) => tf.add(f(x, t), delta) as tf.Tensor2D;
    const shiftV = Math.abs(meanOf(walk(bump(vOracle), 'v')) - meanOf(walk(vOracle, 'v')));
    const shiftE = Math.abs(meanOf(walk(bump(oracle), 'eps')) - meanOf(walk(oracle, 'eps')));
    expect(shiftV).toBeLessThanOrEqual((Math.PI / 2) * delta);
    expect(shiftE).toBeGreaterThan(1.5 * shiftV);
  });

  it('with every step (S = T), the closed form is the target N(μ, s²) to within 1%', () => {
    const cf = closedForm(ddimTimesteps(1000, 1000));
    // The start x_{τ_S} ~ N(0, 1) rather than N(a_S μ, v_S) and the ODE's discretisation leave a
    // small bias; with T steps both are under 1% of s.
    expect(Math.abs(cf.mean - mu)).toBeLessThan(0.01 * sd);
    expect(Math.abs(cf.sd / sd - 1)).toBeLessThan(0.01);
    const got = draw(1000);
    expect(Math.abs(got.mean - mu)).toBeLessThan(0.02 * sd);
    expect(Math.abs(got.sd / sd - 1)).toBeLessThan(0.02);
  });
});

describe('calibrate: val — the spread factor, worked by hand', () => {
  it('99 draws 1 … 99 per row: median 50, 5%/95% order statistics 5 and 95; outcomes 50 ± 45·c_i need c_i; the factor is the 90th percentile', () => {
    // X_(h), h = q·(n + 1) = 5 and 95 for n = 99. Ten rows, c_i = 0.1 … 1.0 (alternately above and
    // below the median): 9 of 10 covered needs c = 0.9.
    const count = 99;
    const rows = Int32Array.from({ length: 10 }, (_, i) => i);
    const draws = new Float32Array(10 * count);
    for (let i = 0; i < 10; i++) for (let j = 0; j < count; j++) draws[i * count + j] = count - j; // unsorted on purpose
    const Y = Float64Array.from(rows, (i) => 50 + (i % 2 ? -1 : 1) * 45 * ((i + 1) / 10));
    const [c] = spreadFactors([draws], count, rows, Y, 1);
    expect(c).toBeCloseTo(0.9, 6);
  });
});

describe('S4D kernel (ZOH) against the discretised state-space recurrence', () => {
  // One channel per row; N complex modes. The recurrence, in plain complex arithmetic:
  //   Ā = exp(ΔA), B̄ = (Ā − 1)/A, x_t = Ā x_{t−1} + B̄ u_t, y_t = 2·Re(Σ_n C_n x_{t,n}),
  // run on a random input u and compared with the kernel's causal convolution Σ_{j≤t} K_{t−j} u_j.
  const C = 3;
  const N = 4;
  const len = 12;
  const rng = makeRng(5);
  const logDt = Array.from({ length: C }, () => Math.log(0.001) + Math.log(100) * rng.next());
  const aRe = Array.from({ length: C * N }, () => -0.2 - rng.next());
  const aIm = Array.from({ length: C * N }, (_, i) => Math.PI * (i % N) + rng.next());
  const cRe = Array.from({ length: C * N }, () => rng.normal());
  const cIm = Array.from({ length: C * N }, () => rng.normal());
  const u = Array.from({ length: C * len }, () => rng.normal());
  // Larger steps than the init's so the modes decay and rotate visibly within 12 steps.
  logDt.forEach((_, i) => (logDt[i] = Math.log(0.05 + 0.3 * i)));

  const recurrence = (c: number): number[] => {
    const dt = Math.exp(logDt[c]);
    const y: number[] = [];
    const xr = new Array<number>(N).fill(0);
    const xi = new Array<number>(N).fill(0);
    for (let t = 0; t < len; t++) {
      let out = 0;
      for (let n = 0; n < N; n++) {
        const ar = aRe[c * N + n];
        const ai = aIm[c * N + n];
        const m = Math.exp(ar * dt);
        const [abr, abi] = [m * Math.cos(ai * dt), m * Math.sin(ai * dt)];
        // B̄ = (Ā − 1)/A
        const den = ar * ar + ai * ai;
        const [br, bi] = [((abr - 1) * ar + abi * ai) / den, (abi * ar - (abr - 1) * ai) / den];
        const ut = u[c * len + t];
        const nr = abr * xr[n] - abi * xi[n] + br * ut;
        const ni = abr * xi[n] + abi * xr[n] + bi * ut;
        xr[n] = nr;
        xi[n] = ni;
        out += 2 * (cRe[c * N + n] * xr[n] - cIm[c * N + n] * xi[n]);
      }
      y.push(out);
    }
    return y;
  };

  it('K * u equals the recurrence (causal), and the Toeplitz product equals it too', () => {
    const K = tf.tidy(() =>
      s4dKernel(
        tf,
        {
          logDt: tf.tensor1d(logDt),
          logNegARe: tf.tensor2d(
            aRe.map((a) => Math.log(-a)),
            [C, N],
          ),
          aIm: tf.tensor2d(aIm, [C, N]),
          cRe: tf.tensor2d(cRe, [C, N]),
          cIm: tf.tensor2d(cIm, [C, N]),
        },
        len,
      ),
    );
    const k = K.arraySync();
    const shift = (() => {
      const s = new Float32Array(len * len * len);
      for (let t = 0; t < len; t++) for (let j = 0; j <= t; j++) s[(t - j) * len * len + t * len + j] = 1;
      return tf.tensor2d(s, [len, len * len]);
    })();
    // u as [1 batch, len, C channels]
    const uT = tf.tensor3d([Array.from({ length: len }, (_, t) => Array.from({ length: C }, (_, c) => u[c * len + t]))]);
    const yT = tf.tidy(() => applyToeplitz(tf, toeplitz(tf, K, undefined, shift), uT)).arraySync()[0];
    for (let c = 0; c < C; c++) {
      const want = recurrence(c);
      for (let t = 0; t < len; t++) {
        let conv = 0;
        for (let j = 0; j <= t; j++) conv += k[c][t - j] * u[c * len + j];
        const tol = 1e-4 * Math.max(1, Math.abs(want[t]));
        expect(Math.abs(conv - want[t])).toBeLessThan(tol);
        expect(Math.abs(yT[t][c] - want[t])).toBeLessThan(tol);
      }
    }
  });
});
