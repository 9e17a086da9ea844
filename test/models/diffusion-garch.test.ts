import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import type { DiffusionState } from '../../src/models/diffusion/kinds.js';
import { crpsGaussian, crpsSamples } from '../../src/evaluation/probabilistic.js';
import { getModelKind, resolveModelParams, type FoldData } from '../../src/models/registry.js';

/**
 * The diffusion kinds on a series whose conditional distribution is known: AR(1)–GARCH(1,1),
 *   r_t = φ·r_{t−1} + σ_t z_t,  σ²_t = ω + α·(σ_{t−1} z_{t−1})² + β·σ²_{t−1},  z iid N(0, 1),
 * so given the bars up to t the next return is exactly N(φ·r_t, σ²_{t+1}). Features per bar: r_t
 * and r_t² (the model must find σ from the window); target: r_{t+1}. On held-out test bars the
 * model's 90% intervals (5% and 95% of its draws) should cover 90% ± 3% of the outcomes, and its
 * mean CRPS (fair sample form) should be within 10% of the CRPS of the true N(φr_t, σ²_{t+1})
 * (closed form). For scale: the unconditional N(0, var r) scores about 8% worse than the truth
 * here, so the CRPS bound asks for most of the conditional-volatility information. Small nets, few
 * epochs: both fits run in well under a minute on wasm.
 */

const PHI = 0.3;
const OMEGA = 0.05;
const ALPHA = 0.15;
const BETA = 0.8;

/** Test-local simulator (r, and σ_{t+1} known at t). */
function arGarch(n: number, seed: number): { r: Float64Array; sdNext: Float64Array } {
  const rng = makeRng(seed);
  const r = new Float64Array(n);
  const sdNext = new Float64Array(n);
  let s2 = OMEGA / (1 - ALPHA - BETA);
  let prev = 0;
  for (let t = -200; t < n; t++) {
    const e = Math.sqrt(s2) * rng.normal();
    const x = PHI * prev + e;
    s2 = OMEGA + ALPHA * e * e + BETA * s2;
    prev = x;
    if (t >= 0) {
      r[t] = x;
      sdNext[t] = Math.sqrt(s2);
    }
  }
  return { r, sdNext };
}

const N_TRAIN = 4000;
const N_VAL = 500;
const N_TEST = 1000;
const n = N_TRAIN + N_VAL + N_TEST;
// The last row has no next return: the series is one longer than the rows.
const sim = arGarch(n + 1, 3);
const p = 2;
const X = new Float64Array(n * p);
const Y = new Float64Array(n);
for (let t = 0; t < n; t++) {
  X[t * p] = sim.r[t];
  X[t * p + 1] = sim.r[t] * sim.r[t];
  Y[t] = sim.r[t + 1];
}
// Features scaled as the split step would (by the training rows' mean and sd).
for (let j = 0; j < p; j++) {
  let m = 0;
  for (let t = 0; t < N_TRAIN; t++) m += X[t * p + j];
  m /= N_TRAIN;
  let v = 0;
  for (let t = 0; t < N_TRAIN; t++) v += (X[t * p + j] - m) ** 2;
  const sd = Math.sqrt(v / N_TRAIN);
  for (let t = 0; t < n; t++) X[t * p + j] = (X[t * p + j] - m) / sd;
}
const index = Float64Array.from({ length: n }, (_, t) => Date.UTC(2020, 0, 6) + t * 3_600_000);

function foldData(seed: number): FoldData {
  return {
    X,
    n,
    p,
    Y,
    k: 1,
    featureNames: ['r', 'r2'],
    targetNames: ['r_next'],
    train: { start: 0, end: N_TRAIN },
    val: { start: N_TRAIN, end: N_TRAIN + N_VAL },
    fold: 0,
    seed,
    signal: new AbortController().signal,
    warn: () => {},
    index,
  };
}

const COMMON = {
  device: 'cpu',
  lookback: 16,
  hidden: 32,
  layers: 2,
  epochs: 25,
  batch_size: 128,
  learning_rate: 0.003,
  patience: 0,
  diffusion_steps: 200,
  sampling_steps: 50,
  samples: 100,
};

async function fitKind(name: string, extra: Record<string, unknown>, seed = 7) {
  const kind = getModelKind(name)!;
  const prm = resolveModelParams(kind, { ...COMMON, ...extra });
  const fit = await kind.fit(foldData(seed), prm);
  return { kind, fit };
}

function corr(a: number[], b: number[]): number {
  const ma = a.reduce((x, y) => x + y, 0) / a.length;
  const mb = b.reduce((x, y) => x + y, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Scores the test bars (those with a full window in the test range). */
function score(draws: Float32Array, count: number, lookback: number) {
  const from = N_TRAIN + N_VAL;
  let cover = 0;
  let crps = 0;
  let crpsTrue = 0;
  let m = 0;
  const buf = new Float64Array(count);
  const sds: number[] = [];
  const trueSd: number[] = [];
  for (let i = lookback - 1; i < N_TEST; i++) {
    const t = from + i;
    const row = draws.subarray(i * count, (i + 1) * count);
    for (let j = 0; j < count; j++) buf[j] = row[j];
    buf.sort();
    const lo = buf[Math.round(0.05 * (count - 1))];
    const hi = buf[Math.round(0.95 * (count - 1))];
    const y = Y[t];
    if (y >= lo && y <= hi) cover++;
    crps += crpsSamples(row, y);
    let mu = 0;
    for (const v of buf) mu += v / count;
    let q = 0;
    for (const v of buf) q += (v - mu) ** 2;
    sds.push(Math.sqrt(q / (count - 1)));
    trueSd.push(sim.sdNext[t]);
    crpsTrue += crpsGaussian(PHI * sim.r[t], sim.sdNext[t], y);
    m++;
  }
  return { coverage: cover / m, crps: crps / m, crpsTrue: crpsTrue / m, sdCorr: corr(sds, trueSd) };
}

describe('diffusion kinds on AR(1)–GARCH(1,1)', () => {
  it('runs on wasm here', async () => {
    expect((await selectBackend('cpu')).name).toBe('wasm');
  });

  for (const [name, extra] of [
    ['diffusion', { kernel_size: 1 }],
    ['sssd', { state_size: 8 }],
  ] as const) {
    it(`${name}: 90% intervals cover 90 ± 3% of test bars, CRPS within 10% of the true conditional's`, async () => {
      const t0 = Date.now();
      const { kind, fit } = await fitKind(name, extra);
      const st = fit.state as DiffusionState;
      const t1 = Date.now();
      const from = N_TRAIN + N_VAL;
      const out = kind.sample!(st, X.subarray(from * p), N_TEST, p, index.subarray(from));
      const s = score(out.samples[0], out.count, st.spec.lookback);
      console.log(`${name}: fit ${(t1 - t0) / 1000}s sample ${(Date.now() - t1) / 1000}s`, s, st.history.map((h) => h.valLoss.toFixed(3)).join(' '));
      expect(out.count).toBe(100);
      expect(Math.abs(s.coverage - 0.9)).toBeLessThanOrEqual(0.03);
      expect(s.crps / s.crpsTrue).toBeLessThan(1.1);
    }, 300_000);
  }
});
