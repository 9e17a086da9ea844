import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { makeRng } from '../../src/data/rng.js';
import { diffusionTrainable, type DiffusionState } from '../../src/models/diffusion/kinds.js';
import { trainNet } from '../../src/models/nn/train.js';
import { buildWindows } from '../../src/models/nn/windows.js';
import { crpsGaussian, crpsSamples } from '../../src/evaluation/probabilistic.js';
import { getModelKind, resolveModelParams, type FoldData } from '../../src/models/registry.js';
import { testTrainOptions } from '../helpers/train-options.js';

/**
 * The diffusion kinds on a series whose conditional distribution is known: AR(1)–GARCH(1,1),
 *   r_t = φ·r_{t−1} + σ_t z_t,  σ²_t = ω + α·(σ_{t−1} z_{t−1})² + β·σ²_{t−1},  z iid N(0, 1),
 * so given the bars up to t the next return is exactly N(φ·r_t, σ²_{t+1}). Features per bar: r_t
 * and r_t² (the model must find σ from the window); target: r_{t+1}. Scored on 1,000 held-out test
 * bars: coverage of the 90% intervals (5% and 95% of the draws), mean CRPS (fair sample form)
 * against the CRPS of the true N(φr_t, σ²_{t+1}) (closed form), and the correlation of the draws'
 * sd with the true σ (does the model see the volatility?).
 *
 * Issue 22 asks for 90% ± 3% coverage and CRPS within 10% of the truth's. At the size that runs in
 * about a minute here (2 blocks of 32 channels, 25 epochs on 4,000 windows; `sssd` smaller:
 * lookback 8, 16 channels, 20 DDIM steps), with v-prediction (the default): `diffusion` covers
 * 85.5% with CRPS 1.050×, `sssd` (`scale: none`) 87.3% with CRPS 1.002× (each window's noise keyed by its bar's
 * time; by its row, before: 85.5% / 1.055× and 88.3% / 1.013×); `sssd` with its default
 * `scale: window` 90.6% / 1.003× (`diffusion` with it: 85.5% / 1.028×). So `sssd` meets both targets and
 * `diffusion` the CRPS one only; its draws are still ≈ 11% too narrow (geometric mean of their sd
 * over the true σ: 0.89) and their centre off by 0.27σ RMS. Both kinds' spread is compressed: about
 * right where σ is low, too narrow where it is high (`diffusion`: sd 0.95× the true σ below
 * σ = 0.9, 0.74× at 1.2–1.6, 0.54× at 1.6–2.1), and the test bars reach σ the validation bars never
 * do (max 1.46); docs/diffusion.md lists what was measured and ruled out. `scale: revin` (the
 * target scale of `scale: window`, and each conditioning window instance-normalised per feature with
 * its log sd and mean as extra inputs: RevIN's input half) removes that dependence on σ — draws' sd
 * over σ flat across the bins (0.85 / 0.84 / 0.80 / 0.81), sd correlation 0.90, centre error 0.18σ
 * RMS, CRPS 1.015× — but at this seed the draws are uniformly ≈ 16% too narrow (every bin, training
 * windows too; 0.98× at its 4th epoch, 0.84× at the 13th that early stopping picks; not the sampler:
 * η = 1 gives the same), so it covers 83.4% (seeds 8 / 9: 87.2 / 89.6%, CRPS 1.015 / 1.014×). A
 * uniform shortfall is what `calibrate: val` can fix: with both, 87.1% / CRPS 1.010× (seeds 8 / 9:
 * 86.6 / 87.5%), the issue's 87% at seeds 7 and 9. Not more: the validation bars here are kind to
 * any interval — the true N(φr_t, σ²_{t+1})'s 90% interval covers 92.2% of them (89.7% of the test
 * bars), and the truth itself, calibrated on them (× 0.915), would cover 86.0% of the test bars. With ε-prediction (what these kinds
 * trained before) the same runs covered 82.5% / 80% (by the old interval, below) with CRPS 1.09× /
 * 1.035×: an ε-net's errors at the noisy steps shifted the draws' centre (RMS 0.40σ, bias −0.19σ;
 * docs/diffusion.md). For scale (Python, 200k bars of this process): the unconditional
 * N(mean, var) scores 1.066× the truth's CRPS and the right mean with a constant sd 1.021×, so the
 * 10% CRPS bound alone does not prove the volatility was learned; the sd correlation does.
 *
 * The narrowing came from training (the draws' sd over σ fell from 0.98 at epoch 4 to 0.84 at the
 * epoch early stopping picks), and an exponential moving average of the weights (`ema`, trainNet's
 * `TrainOptions.ema`: validation loss, early stopping and the fitted model on the averaged weights)
 * undoes it: `diffusion`'s default is now `ema: 0.999`, and with it `scale: none` covers 88.0 /
 * 88.3 / 89.4% at seeds 7 / 8 / 9 (CRPS 1.044 / 1.017 / 1.019×; before 85.5 / 87.9 / 89.2%), the
 * issue's 87% at all three; `revin` uncalibrated 87.2 / 86.9 / 89.6%, with `calibrate: val` 87.0 /
 * 85.6 / 87.3% (the factor now ≤ 1). The sd correlation falls with it (0.68 → 0.54 at seed 7).
 * At `diffusion`'s own, larger defaults (lookback 32, 3 blocks, kernel 3, 50 epochs, T = 1000) 20
 * DDIM steps narrowed the draws (sd over σ 0.97 / 0.89 / 0.92; coverage 87.5 / 86.2 / 86.6%), so its
 * default `sampling_steps` is now 100: 89.3 / 87.5 / 88.5% (CRPS 1.066 / 1.039 / 1.039×; hold-out
 * seeds 10–13: 85.4 / 88.9 / 88.5 / 87.2%; docs/diffusion.md). COMMON sets 50 steps, so the cases
 * here are unchanged by it.
 * Time here (2 cores shared, loaded): diffusion 12–70 s, sssd 50–140 s.
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

/**
 * The q-quantile of n sorted draws as the order statistic X_(h), h = q·(n + 1), interpolated between
 * neighbours: for any continuous distribution E F(X_(h)) = h/(n + 1) = q, so [X_(0.05(n+1)),
 * X_(0.95(n+1))] covers 90% in expectation when the draws come from the true distribution. (The
 * draws' 5th and 95th by index round(q·(n − 1)) cover (95 − 6)/101 = 88.1% of a perfect sampler's
 * outcomes at n = 100, 88.2% at n = 50: 2% of the shortfall measured before was this.)
 */
function orderStat(sorted: Float64Array, q: number): number {
  const h = Math.min(sorted.length, Math.max(1, q * (sorted.length + 1)));
  const i = Math.floor(h);
  const f = h - i;
  return i >= sorted.length ? sorted[sorted.length - 1] : sorted[i - 1] + f * (sorted[i] - sorted[i - 1]);
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
    const lo = orderStat(buf, 0.05);
    const hi = orderStat(buf, 0.95);
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
    ['diffusion', { kernel_size: 3 }],
    ['sssd', { state_size: 4 }],
  ] as const) {
    it(`${name}: the same seed gives the same draws, bit for bit (wasm); another seed other draws`, async () => {
      const tiny = { ...extra, epochs: 2, hidden: 8, layers: 1, samples: 16, sampling_steps: 5 };
      const from = N_TRAIN + N_VAL;
      const draws = async (seed: number): Promise<Float32Array> => {
        const { kind, fit } = await fitKind(name, tiny, seed);
        return kind.sample!(fit.state, X.subarray(from * p), 200, p, index.subarray(from)).samples[0];
      };
      const a = await draws(7);
      const b = await draws(7);
      const c = await draws(8);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
      // Draws of a window with a full lookback differ from each other (they are draws, not copies).
      const row = a.subarray(50 * 16, 51 * 16);
      expect(new Set(row).size).toBeGreaterThan(1);
    }, 300_000);
  }

  // Measured here (wasm, deterministic: the same numbers on every run): see the bounds below.
  const CASES = [
    // diffusion with its default `ema: 0.999` (the weights' moving average validated, kept and
    // sampled from): coverage 0.880, CRPS 1.044× the truth's, corr(draws' sd, true σ) 0.54 (seeds
    // 8 / 9: 0.883 / 0.894). Without it (`ema: 0`, before): 0.855, 1.050×, 0.68 — short of the
    // issue's 87%, which the bound now asserts.
    { name: 'diffusion', extra: { kernel_size: 1 }, coverage: [0.87, 0.93], crps: 1.1, sdCorr: 0.5 },
    // sssd at a smaller size (its S4D layers run over lookback + k positions for every draw), with
    // its default `scale: window` (each window's target learned divided by the window's scale):
    // coverage 0.906, CRPS 1.003×, sd correlation 0.83 (`scale: none`: 0.873, 1.002×, 0.76). Its
    // `ema` is off by default (with `ema: 0.999`: 0.893 / 0.889 / 0.886 at seeds 7 / 8 / 9).
    { name: 'sssd', extra: { state_size: 8, lookback: 8, hidden: 16, samples: 50, sampling_steps: 20 }, coverage: [0.87, 0.93], crps: 1.1, sdCorr: 0.7 },
    // diffusion with `calibrate: val` (its factor fitted on the 485 validation windows, calmer than
    // the test's: max σ 1.46 against 2.6): coverage 0.841, CRPS 1.051× — the factor is below 1
    // (0.90; coverage fell from the uncalibrated 0.880), the validation draws already covering more
    // than 90%, so it narrows (without the EMA, before: 0.847, 1.051×). The validation rows do not
    // see the test rows' spread: the post-hoc step does not help here, and the bound is the one
    // measured before the EMA.
    { name: 'diffusion', extra: { kernel_size: 1, calibrate: 'val' }, coverage: [0.83, 0.95], crps: 1.1, sdCorr: 0.5 },
    // diffusion with `scale: revin` (the window's target scale as `scale: window`, and the network
    // fed each window instance-normalised: RevIN's input half) and `calibrate: val`, with the default
    // EMA: coverage 0.870, CRPS 1.008×, sd correlation 0.89 (factor 0.996). Uncalibrated (the same
    // fit, the factor dropped; scored in the same test): 0.872, 1.008×, 0.89 — the EMA lifts the
    // draws' sd from 0.84× σ to 0.94× σ at this seed. Seeds 8 / 9: 0.856 / 0.873 calibrated, 0.869 /
    // 0.896 uncalibrated. Without the EMA (before): 0.871 / 0.866 / 0.875 calibrated, 0.834 / 0.872 /
    // 0.896 uncalibrated (docs/diffusion.md). The issue's 87% is asserted on the default case above;
    // this case exercises the options, and at 0.870 it sat on that bound by less than one bar
    // (seed 8: 0.856), so its bound is 0.85: a margin, not the issue's bar.
    {
      name: 'diffusion',
      extra: { kernel_size: 1, scale: 'revin', calibrate: 'val' },
      coverage: [0.85, 0.93],
      crps: 1.1,
      sdCorr: 0.8,
      uncalibrated: [0.85, 0.93],
    },
  ] as const;
  for (const c of CASES) {
    it(`${c.name}${'scale' in c.extra ? ` (scale: ${c.extra.scale})` : ''}${'calibrate' in c.extra ? ' (calibrate: val)' : ''}: 90% intervals cover ${c.coverage[0] * 100}–${c.coverage[1] * 100}% of test bars, CRPS < ${c.crps}× the true conditional's, draws' spread tracks σ`, async () => {
      const { kind, fit } = await fitKind(c.name, c.extra);
      const st = fit.state as DiffusionState;
      const from = N_TRAIN + N_VAL;
      const out = kind.sample!(st, X.subarray(from * p), N_TEST, p, index.subarray(from));
      const s = score(out.samples[0], out.count, st.spec.lookback);
      console.log(`${c.name}:`, s);
      expect(out.count).toBe(st.samples);
      expect(s.coverage).toBeGreaterThanOrEqual(c.coverage[0]);
      expect(s.coverage).toBeLessThanOrEqual(c.coverage[1]);
      expect(s.crps / s.crpsTrue).toBeLessThan(c.crps);
      expect(s.sdCorr).toBeGreaterThan(c.sdCorr);
      if ('uncalibrated' in c) {
        // The same model's draws without the validation factor.
        const raw = kind.sample!({ ...st, spread: undefined }, X.subarray(from * p), N_TEST, p, index.subarray(from));
        const r = score(raw.samples[0], raw.count, st.spec.lookback);
        console.log(`${c.name} uncalibrated:`, r);
        expect(r.coverage).toBeGreaterThanOrEqual(c.uncalibrated[0]);
        expect(r.coverage).toBeLessThanOrEqual(c.uncalibrated[1]);
        expect(r.crps / r.crpsTrue).toBeLessThan(c.crps);
        expect(r.sdCorr).toBeGreaterThan(c.sdCorr);
      }
    }, 300_000);
  }
});

describe('diffusion training through the neural kinds’ loop', () => {
  // Without and with the weights' EMA (carried in the checkpoints: the resumed run's EMA is the killed run's).
  it.each([0, 0.9])(
    'sssd (ema %s): a run killed after epoch 2 resumes from its checkpoint to the same weights (the noise draws are keyed by seed, epoch, batch)',
    async (ema) => {
      const { tf } = await selectBackend('cpu');
      const spec = { kind: 'sssd', lookback: 6, p, k: 1, hidden: 8, layers: 1, kernelSize: 1, stateSize: 4, diffusionSteps: 50 } as const;
      const data = {
        X,
        p,
        Y,
        k: 1,
        trainEnds: buildWindows(index, { start: 0, end: 400 }, 6, 72 * 3_600_000),
        valEnds: buildWindows(index, { start: 400, end: 500 }, 6, 72 * 3_600_000),
        yMean: new Float64Array(1),
        yStd: new Float64Array(1).fill(1),
      };
      const opts = (dir: string) =>
        testTrainOptions({
          epochs: 4,
          batchSize: 64,
          learningRate: 0.01,
          seed: 3,
          keepCheckpoints: 2,
          checkpointDir: dir,
          ema,
        });
      const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'fxflow-diff-ckpt-'));
      const full = await trainNet(tf, diffusionTrainable(spec), data, opts(tmp()));
      const dir = tmp();
      await expect(trainNet(tf, diffusionTrainable(spec), data, opts(dir), { killAfterEpoch: 2 })).rejects.toThrow(/killed after epoch 2/);
      const resumed = await trainNet(tf, diffusionTrainable(spec), data, opts(dir));
      expect(resumed.resumedFrom).toBe(2);
      expect(resumed.history.map((h) => h.trainLoss)).toEqual(full.history.map((h) => h.trainLoss));
      resumed.weights.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(full.weights[i].data.buffer))).toBe(true));
    },
    120_000,
  );
});
