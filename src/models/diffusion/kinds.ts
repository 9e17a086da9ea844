import { MODEL_DEFAULTS } from '../defaults.generated.js';
import path from 'node:path';
import type * as TfNs from '@tensorflow/tfjs';
import { selectBackend, type Device, type Tf } from '../../backend/index.js';
import type { ParamIssue } from '../../core/diagnostics.js';
import { sampleQuantile } from '../../core/distribution.js';
import { makeRng } from '../../data/rng.js';
import type { FoldData, FoldFit, ModelKind, ParamValue, SampledForecast } from '../kind.js';
import { fusedHost } from '../nn/lstm.js';
import { COMMON, foldWindows, num, stats, tfForPredict, trainHooks, trainOptions } from '../nn/kinds.js';
import { mse, type WeightValue } from '../nn/nets.js';
import { trainNet, warmupIssues, type EpochLog, type Trainable, type TrainableNet } from '../nn/train.js';
import { buildWindows, gatherWindows, windowWidth, type WindowNorm } from '../nn/windows.js';
import { ddimSample, ddimTimesteps } from './ddim.js';
import { stepEmbedding, type DenoiserForward, type DenoiserSpec, type DiffusionKind, type Prediction, type WeightOf } from './blocks.js';
import { fusedMse, noisyTarget } from './conv-block.js';
import { denoiserForward, denoiserWeights } from './denoiser.js';
import { fitWindowScale, normaliseTargets, windowScales, type WindowScale } from './scale.js';
import { cosineSchedule, type NoiseSchedule } from './schedule.js';

/**
 * The probabilistic neural kinds of the `train` step: `diffusion` (a conditional DDPM with a
 * convolutional noise predictor) and `sssd` (the same with S4D layers). The target of a window is
 * its k standardised targets as one patch (e.g. the next H bars' returns); the model learns
 * v-prediction (Salimans & Ho 2022; ε, Ho et al. 2020, with `prediction: eps`) under the cosine
 * schedule (schedule.ts), conditioned on the window; a forecast is `samples` DDIM draws (ddim.ts), and its point value their mean (or median).
 *
 * Training is the neural kinds' loop (src/models/nn/train.ts: seeded order, Adam/AdamW, schedule,
 * clipping, early stopping on the validation loss, checkpoints and resume), with this module's
 * loss: each batch draws its steps t and noise ε from a key of (seed, epoch, batch), so a resumed
 * run draws the same, and the validation batches draw the same every epoch (their loss is
 * comparable across epochs).
 */

export interface DiffusionState {
  spec: DenoiserSpec;
  weights: WeightValue[];
  yMean: number[];
  /** With `windowScale`, the sd of the window-scaled targets. */
  yStd: number[];
  /** `scale: window` / `revin`: each window's targets were learned divided by this scale (scale.ts); absent: not scaled. */
  windowScale?: WindowScale;
  /** `scale: revin`: the network was fed each window instance-normalised (windows.ts `WindowNorm`; spec.p is then its columns per bar); absent: as it is. */
  windowNorm?: WindowNorm;
  maxGapMs: number;
  backend: string;
  bestEpoch: number;
  history: EpochLog[];
  samples: number;
  samplingSteps: number;
  point: 'mean' | 'median';
  /** Seeds the draws' starting noise (per window, from its row). */
  seed: number;
  /** `calibrate: val`'s factor per target on the draws' spread around their median (absent: 1). */
  spread?: number[];
}

let instance = 0;

/** tf.Variables of `weights` (unique names per instance) and a lookup by weight name. */
function variables(tf: Tf, weights: WeightValue[]): { vars: TfNs.Variable[]; W: WeightOf } {
  const id = ++instance;
  const vars = tf.tidy(() => weights.map((w) => tf.variable(tf.tensor(w.data, w.shape, 'float32'), true, `fxdiff${id}/${w.name}`)));
  const byName = new Map(weights.map((w, i) => [w.name, vars[i]]));
  const W: WeightOf = (name) => {
    const v = byName.get(name);
    if (!v) throw new Error(`denoiser weight ${name} missing (a checkpoint of another architecture?)`);
    return v;
  };
  return { vars, W };
}

/**
 * A training batch's draws from its key: each row's step t (uniform in 1 … T) with √ᾱ_t and
 * √(1 − ᾱ_t), then the noise ε [B × k] — in this order, so a resumed run draws the same.
 */
export function lossDraws(sched: NoiseSchedule, key: number, B: number, k: number): { t: Float32Array; a: Float32Array; b: Float32Array; e: Float32Array } {
  const rng = makeRng(key);
  const t = new Float32Array(B);
  const a = new Float32Array(B);
  const b = new Float32Array(B);
  for (let i = 0; i < B; i++) {
    t[i] = 1 + rng.int(sched.T);
    a[i] = Math.sqrt(sched.alphaBar[t[i]]);
    b[i] = Math.sqrt(1 - sched.alphaBar[t[i]]);
  }
  const e = new Float32Array(B * k);
  for (let j = 0; j < e.length; j++) e[j] = rng.normal();
  return { t, a, b, e };
}

/**
 * The denoising objective, t uniform in 1 … T, x_t = √ᾱ_t·y + √(1 − ᾱ_t)·ε: E‖v − v̂(x_t, t, window)‖²
 * with v = √ᾱ_t·ε − √(1 − ᾱ_t)·y, or E‖ε − ε̂‖² (`prediction: eps`). In x̂_0 terms the ε-loss weighs
 * step t by its SNR ᾱ/(1 − ᾱ), ≈ 0 at the noisy steps where the draws' centre is set; the v-loss by
 * SNR + 1 (Salimans & Ho 2022, §4), so the network learns the conditional mean there.
 */
export function diffusionTrainable(spec: DenoiserSpec): Trainable {
  const sched = cosineSchedule(spec.diffusionSteps);
  return {
    spec,
    initialWeights: (seed) => denoiserWeights(spec, seed),
    build(tf, weights): TrainableNet {
      const { vars, W } = variables(tf, weights);
      const fwd = denoiserForward(tf, spec, W);
      return {
        vars,
        names: weights.map((w) => w.name),
        dispose() {
          fwd.dispose?.();
          vars.forEach((v) => v.dispose());
        },
        loss(x, y, key) {
          const B = y.shape[0];
          const k = spec.k;
          const { t, a, b, e } = lossDraws(sched, key, B, k);
          const host = fusedHost(tf);
          if (host) {
            // wasm, cpu: x_t and the target in JavaScript (data, no gradient) and a fused MSE;
            // the same numbers as the tfjs graph below.
            const { xt, target } = noisyTarget(host.view(y), e, a, b, k, spec.prediction === 'v');
            const pred = fwd.eps(tf.tensor2d(xt, [B, k]), stepEmbedding(tf, spec, W, t), fwd.encode(x));
            return fusedMse(tf, host, pred, target);
          }
          const eps = tf.tensor2d(e, [B, k]);
          const aT = tf.tensor2d(a, [B, 1]);
          const bT = tf.tensor2d(b, [B, 1]);
          const xt = tf.add(tf.mul(y, aT), tf.mul(eps, bT)) as TfNs.Tensor2D;
          const target = spec.prediction === 'v' ? tf.sub(tf.mul(eps, aT), tf.mul(y, bT)) : eps;
          return mse(tf, fwd.eps(xt, stepEmbedding(tf, spec, W, t), fwd.encode(x)), target);
        },
      };
    },
  };
}

/** Windows × draws per forward pass while sampling (bounds memory: sssd holds [this, lookback + k, hidden] per layer). */
const SAMPLE_BATCH = 4096;

/**
 * The seed of a window's starting noise: the model's seed and the window's last bar — its time when
 * known (so the train step, scoring a segment, and `predict`, scoring the same bar from other rows,
 * draw the same noise and give the same draws), else its row.
 */
function windowSeed(seed: number, row: number, index: ArrayLike<number> | undefined): number {
  const key = index ? index[row] : row;
  // Times in ms exceed 32 bits: both halves are mixed in.
  const lo = key >>> 0;
  const hi = Math.floor(key / 0x1_0000_0000) >>> 0;
  return (Math.trunc(seed) ^ Math.imul(lo + 0x3c6ef372, 0x27d4eb2d) ^ Math.imul(hi + 0x5bd1e995, 0x165667b1)) >>> 0;
}

export interface SampleOptions {
  samples: number;
  /** DDIM steps. */
  steps: number;
  seed: number;
  /** Each row's time (ms): keys its window's noise (absent: the row number does). */
  index?: ArrayLike<number>;
  /** Multiplies each window's draws (around yMean) by its scale (the model learned the scaled targets). */
  scale?: WindowScale;
  /** Each window normalised as the network was trained on it. */
  norm?: WindowNorm;
}

/**
 * DDIM draws for the windows ending at `ends` (rows of X): per target, [ends.length × samples]
 * row-major, in target units. Each window is encoded once and repeated for its draws; a window's
 * starting noise depends only on the seed and its last bar (windowSeed), so neither how windows are
 * batched nor which rows are scored with it changes a draw.
 */
export function sampleWindows(
  tf: Tf,
  spec: DenoiserSpec,
  weights: WeightValue[],
  X: ArrayLike<number>,
  p: number,
  ends: Int32Array,
  yMean: ArrayLike<number>,
  yStd: ArrayLike<number>,
  o: SampleOptions,
): Float32Array[] {
  const { k, lookback: L } = spec;
  const S = o.samples;
  const out = Array.from({ length: k }, () => new Float32Array(ends.length * S));
  const sched: NoiseSchedule = cosineSchedule(spec.diffusionSteps);
  const steps = ddimTimesteps(sched.T, o.steps);
  const { vars, W } = variables(tf, weights);
  const fwd: DenoiserForward = denoiserForward(tf, spec, W);
  const rows = Math.max(1, Math.floor(SAMPLE_BATCH / S));
  const q = windowWidth(p, o.norm);
  const xBuf = new Float32Array(Math.min(rows, Math.max(1, ends.length)) * L * q);
  const scales = o.scale ? windowScales(o.scale, X, p, L, ends) : undefined;
  try {
    for (let s0 = 0; s0 < ends.length; s0 += rows) {
      const s1 = Math.min(ends.length, s0 + rows);
      const r = s1 - s0;
      const noise = new Float32Array(r * S * k);
      for (let i = 0; i < r; i++) {
        const rng = makeRng(windowSeed(o.seed, ends[s0 + i], o.index));
        for (let j = 0; j < S * k; j++) noise[i * S * k + j] = rng.normal();
      }
      gatherWindows(X, p, L, ends, s0, s1, xBuf, undefined, o.norm);
      const x0 = tf.tidy(() => {
        // Window i's draws are rows i·S … i·S + S − 1; its encoding is computed once.
        const enc = fwd.encode(tf.tensor3d(xBuf.subarray(0, r * L * q), [r, L, q]));
        const xT = tf.tensor2d(noise, [r * S, k]);
        return ddimSample(tf, sched, steps, xT, (x, t) => fwd.eps(x, stepEmbedding(tf, spec, W, [t]), enc), spec.prediction).dataSync();
      });
      for (let i = 0; i < r * S; i++)
        for (let t = 0; t < k; t++) {
          const sc = scales ? scales[t][s0 + Math.floor(i / S)] : 1;
          out[t][s0 * S + i] = x0[i * k + t] * yStd[t] * sc + yMean[t];
        }
    }
  } finally {
    fwd.dispose?.();
    vars.forEach((v) => v.dispose());
  }
  return out;
}

/** Mean or median of each row's `count` draws. */
export function pointOf(samples: Float32Array, count: number, how: 'mean' | 'median'): Float64Array {
  const m = samples.length / count;
  const out = new Float64Array(m);
  const buf = new Float64Array(count);
  for (let i = 0; i < m; i++) {
    if (how === 'mean') {
      let s = 0;
      for (let j = 0; j < count; j++) s += samples[i * count + j];
      out[i] = s / count;
    } else {
      for (let j = 0; j < count; j++) buf[j] = samples[i * count + j];
      buf.sort();
      out[i] = count % 2 ? buf[(count - 1) / 2] : (buf[count / 2 - 1] + buf[count / 2]) / 2;
    }
  }
  return out;
}

/** Median and 5%/95% order statistics of row i's `count` draws. */
function rowSpread(v: Float32Array, i: number, count: number, buf: Float64Array): [number, number, number] {
  for (let j = 0; j < count; j++) buf[j] = v[i * count + j];
  buf.sort();
  return [sampleQuantile(buf, 0.5), sampleQuantile(buf, 0.05), sampleQuantile(buf, 0.95)];
}

/**
 * `calibrate: val`: per target, the factor c on each row's draws around their median that makes 90%
 * of the validation outcomes fall in [med + c·(q05 − med), med + c·(q95 − med)]. Row i needs
 * c_i = (y − med)/(q95 − med) above the median, (med − y)/(med − q05) below; c is the 90th
 * percentile of the c_i (closed form, no search).
 */
export function spreadFactors(draws: Float32Array[], count: number, rows: Int32Array, Y: ArrayLike<number>, k: number): number[] {
  const buf = new Float64Array(count);
  return draws.map((v, t) => {
    const need: number[] = [];
    rows.forEach((r, i) => {
      const y = Y[r * k + t];
      if (!Number.isFinite(y)) return;
      const [med, lo, hi] = rowSpread(v, i, count, buf);
      const half = y >= med ? hi - med : med - lo;
      if (half > 0) need.push(Math.abs(y - med) / half);
    });
    if (need.length === 0) return 1;
    need.sort((a, b) => a - b);
    return need[Math.max(0, Math.ceil(0.9 * need.length) - 1)];
  });
}

/** Scales each row's draws around their median by `c` (in place). */
function scaleSpread(v: Float32Array, count: number, c: number): void {
  if (c === 1) return;
  const buf = new Float64Array(count);
  for (let i = 0; i < v.length / count; i++) {
    const med = rowSpread(v, i, count, buf)[0];
    for (let j = 0; j < count; j++) v[i * count + j] = med + c * (v[i * count + j] - med);
  }
}

const DESCRIPTION: Record<DiffusionKind, string> = {
  diffusion: 'conditional diffusion (DDPM, cosine schedule, v-prediction) of the target patch given the window; 1-D conv denoiser; DDIM sampling',
  sssd: 'conditional diffusion with S4D state-space layers over the window and the noisy patch (SSSD); DDIM sampling',
};

function diffusionKind(kind: DiffusionKind): ModelKind {
  const sample = (s: unknown, X: ArrayLike<number>, m: number, p: number, index?: ArrayLike<number>): SampledForecast => {
    const st = s as DiffusionState;
    const tf = tfForPredict();
    const ends = buildWindows(index, { start: 0, end: m }, st.spec.lookback, st.maxGapMs);
    const draws = sampleWindows(tf, st.spec, st.weights, X, p, ends, st.yMean, st.yStd, {
      samples: st.samples,
      steps: st.samplingSteps,
      seed: st.seed,
      index,
      scale: st.windowScale,
      norm: st.windowNorm,
    });
    const S = st.samples;
    st.spread?.forEach((c, t) => scaleSpread(draws[t], S, c));
    // Rows without a full window before them (a segment's first lookback − 1 rows, after a gap):
    // no forecast, so the training mean as the point and as every draw (no signal).
    const samples = st.yMean.map((mu) => new Float32Array(m * S).fill(mu));
    ends.forEach((r, i) => {
      for (let t = 0; t < st.spec.k; t++) samples[t].set(draws[t].subarray(i * S, (i + 1) * S), r * S);
    });
    const point = samples.map((v) => pointOf(v, S, st.point));
    return { count: S, point, samples };
  };
  return {
    name: kind,
    description: DESCRIPTION[kind],
    defaults: { ...COMMON, ...MODEL_DEFAULTS[kind] },
    seeded: true,
    check(prm): ParamIssue[] {
      const issues: ParamIssue[] = [];
      if (num(prm.sampling_steps) > num(prm.diffusion_steps))
        issues.push({
          path: ['sampling_steps'],
          message: `\`sampling_steps: ${prm.sampling_steps}\` exceeds \`diffusion_steps: ${prm.diffusion_steps}\` (DDIM walks a subsequence of the training steps)`,
          hint: `use at most ${prm.diffusion_steps} sampling steps (20–50 is the usual range)`,
        });
      issues.push(...warmupIssues(prm));
      return issues;
    },
    async fit(d: FoldData, prm): Promise<FoldFit> {
      const backend = await selectBackend(prm.device as Device, { log: (m) => d.log?.(m) });
      const { lookback, maxGapMs, trainEnds, valEnds, mean, std: rawStd } = foldWindows(d, prm);
      // `scale: window`: the model learns each window's targets divided by its causal scale (scale.ts);
      // `revin`: that, and the network is fed each window instance-normalised (windows.ts), the input half.
      const windowNorm: WindowNorm | undefined = prm.scale === 'revin' ? 'instance' : undefined;
      const windowScale = prm.scale === 'window' || windowNorm ? fitWindowScale(d.X, d.p, lookback, d.Y, d.k, trainEnds, mean, rawStd) : undefined;
      const Y = windowScale
        ? normaliseTargets(d.Y, d.k, mean, [
            { ends: trainEnds, scales: windowScales(windowScale, d.X, d.p, lookback, trainEnds) },
            { ends: valEnds, scales: windowScales(windowScale, d.X, d.p, lookback, valEnds) },
          ])
        : d.Y;
      const std = windowScale ? stats(Y, d.k, trainEnds).std : rawStd;
      const spec: DenoiserSpec = {
        kind,
        lookback,
        p: windowWidth(d.p, windowNorm),
        k: d.k,
        hidden: num(prm.hidden),
        layers: num(prm.layers),
        kernelSize: kind === 'diffusion' ? num(prm.kernel_size) : 1,
        stateSize: kind === 'sssd' ? num(prm.state_size) : 0,
        diffusionSteps: num(prm.diffusion_steps),
        prediction: prm.prediction as Prediction,
      };
      d.log?.(
        `fold ${d.fold}: ${kind} on ${trainEnds.length} training / ${valEnds.length} validation windows of ${lookback} bars × ${d.p} features → ${d.k}-target patch on ${backend.name}`,
      );
      const res = await trainNet(
        backend.tf,
        diffusionTrainable(spec),
        { X: d.X, p: d.p, Y, k: d.k, trainEnds, valEnds, yMean: mean, yStd: std, ...(windowNorm && { norm: windowNorm }) },
        trainOptions(prm, d.seed, d.workDir ? path.join(d.workDir, `fold-${d.fold}`) : undefined),
        trainHooks(d),
      );
      d.log?.(
        `fold ${d.fold}: best epoch ${res.bestEpoch} of ${res.history.length}${res.stoppedEarly ? ' (early stop)' : ''}, val ${spec.prediction}-loss ${res.bestValLoss.toFixed(4)}`,
      );
      const state: DiffusionState = {
        spec,
        weights: res.weights,
        yMean: Array.from(mean),
        yStd: Array.from(std),
        maxGapMs,
        backend: backend.name,
        bestEpoch: res.bestEpoch,
        history: res.history,
        samples: num(prm.samples),
        samplingSteps: num(prm.sampling_steps),
        point: prm.point as 'mean' | 'median',
        seed: d.seed,
        ...(windowScale && { windowScale }),
        ...(windowNorm && { windowNorm }),
      };
      if (prm.calibrate === 'val' && valEnds.length > 0) {
        const opts = { samples: state.samples, steps: state.samplingSteps, seed: state.seed, index: d.index, scale: windowScale, norm: windowNorm };
        const draws = sampleWindows(backend.tf, spec, res.weights, d.X, d.p, valEnds, mean, std, opts);
        state.spread = spreadFactors(draws, state.samples, valEnds, d.Y, d.k);
        d.log?.(
          `fold ${d.fold}: calibrate: val — draws' spread × ${state.spread.map((c) => c.toFixed(3)).join(', ')} (90% coverage on ${valEnds.length} validation windows)`,
        );
      }
      return { state, backend: backend.name };
    },
    predict: (s, X, m, p, index) => sample(s, X, m, p, index).point,
    sample,
  };
}

export const DIFFUSION_MODEL_KINDS: ModelKind[] = [diffusionKind('diffusion'), diffusionKind('sssd')];
