import { makeRng } from '../../data/rng.js';
import type { LinearState } from '../kinds.js';
import { sigmoid } from '../linear.js';

/**
 * Online L2 logistic regression by stochastic gradient descent on the log-loss (docs/online.md).
 * Labels are the direction, target > 0, as the `logistic` kind takes them; the score is
 * 2·σ(x·w + b) − 1 = P(up) − P(not up), as it predicts.
 *
 * One step on row (x, y), step size ηₜ:  g = σ(x·w + b) − y;  wⱼ ← wⱼ − ηₜ·(g·xⱼ + l2·wⱼ);  b ← b − ηₜ·g
 * (gradients at the old weights; the intercept is not penalised). ηₜ = η₀ (`constant`) or
 * η₀ / (t + 1)^power (`invscaling`), t the steps taken before this one. The fixed point of these
 * steps averaged over N rows is the minimiser of (1/N)·Σ log-loss + (l2/2)·‖w‖², which is
 * `fitLogistic` (the batch kind) with alpha = N·l2. Every update is a pure function of the state
 * and the row sequence; `sgdEpochs` draws its row order from a seeded generator, so results are
 * bit-identical for the same rows and seed.
 */

export interface SgdOptions {
  /** η₀. */
  learningRate: number;
  schedule: 'constant' | 'invscaling';
  /** Exponent of the `invscaling` schedule (default 0.5). */
  power?: number;
  /** L2 strength per step on the weights (not the intercept). */
  l2: number;
}

export interface SgdState {
  p: number;
  k: number;
  opts: Required<SgdOptions>;
  /** Per target, [w₁ … w_p, b] (length p + 1). */
  w: Float64Array[];
  /** Steps taken (the schedule's t). */
  steps: number;
}

/** A state at w = 0, b = 0, or at a fitted logistic kind's weights (`from`), with the schedule at t = 0. */
export function sgdInit(p: number, k: number, opts: SgdOptions, from?: LinearState): SgdState {
  if (!(opts.learningRate > 0 && Number.isFinite(opts.learningRate)))
    throw new RangeError(`learning_rate must be a finite number > 0, got ${opts.learningRate}`);
  if (!(opts.l2 >= 0 && Number.isFinite(opts.l2))) throw new RangeError(`l2 must be a finite number ≥ 0, got ${opts.l2}`);
  const power = opts.power ?? 0.5;
  if (!(power >= 0 && Number.isFinite(power))) throw new RangeError(`power must be a finite number ≥ 0, got ${power}`);
  if (from && (from.coef.length !== k || from.coef.some((c) => c.length !== p))) {
    throw new RangeError(`the starting model has ${from.coef.length} target(s) × ${from.coef[0]?.length ?? 0} weights, expected ${k} × ${p}`);
  }
  const w = Array.from({ length: k }, (_, t) => {
    const v = new Float64Array(p + 1);
    if (from) {
      v.set(from.coef[t]);
      v[p] = from.intercept[t];
    }
    return v;
  });
  return { p, k, opts: { ...opts, power }, w, steps: 0 };
}

/** The step size of the next update. */
export function sgdRate(s: SgdState): number {
  const { learningRate, schedule, power } = s.opts;
  return schedule === 'constant' ? learningRate : learningRate / (s.steps + 1) ** power;
}

/**
 * One step on a row: features x[offset …], targets y[yOffset …] (label: > 0). Returns false (and
 * changes nothing, the schedule included) when a value is not finite.
 */
export function sgdUpdate(s: SgdState, x: ArrayLike<number>, y: ArrayLike<number>, offset = 0, yOffset = 0): boolean {
  const { p, k } = s;
  for (let j = 0; j < p; j++) if (!Number.isFinite(x[offset + j])) return false;
  for (let t = 0; t < k; t++) if (!Number.isFinite(y[yOffset + t])) return false;
  const eta = sgdRate(s);
  const l2 = s.opts.l2;
  for (let t = 0; t < k; t++) {
    const w = s.w[t];
    let z = w[p];
    for (let j = 0; j < p; j++) z += x[offset + j] * w[j];
    const g = sigmoid(z) - (y[yOffset + t] > 0 ? 1 : 0);
    for (let j = 0; j < p; j++) w[j] -= eta * (g * x[offset + j] + l2 * w[j]);
    w[p] -= eta * g;
  }
  s.steps++;
  return true;
}

/** The margin x·w + b of target t for one row. */
function margin(s: SgdState, x: ArrayLike<number>, t: number, offset: number): number {
  const w = s.w[t];
  let z = w[s.p];
  for (let j = 0; j < s.p; j++) z += x[offset + j] * w[j];
  return z;
}

/**
 * Walk-forward over rows [range.start, range.end) of row-major X (n × p) and Y (n × k): each row is
 * scored (2·σ − 1) with the state as it is, then stepped on. The state ends updated.
 */
export function sgdWalkForward(s: SgdState, X: ArrayLike<number>, Y: ArrayLike<number>, range: { start: number; end: number }): Float64Array[] {
  const m = range.end - range.start;
  const out = Array.from({ length: s.k }, () => new Float64Array(m));
  for (let r = range.start; r < range.end; r++) {
    for (let t = 0; t < s.k; t++) out[t][r - range.start] = 2 * sigmoid(margin(s, X, t, r * s.p)) - 1;
    sgdUpdate(s, X, Y, r * s.p, r * s.k);
  }
  return out;
}

/**
 * `epochs` passes over rows [range.start, range.end), each in an order shuffled (Fisher–Yates) by
 * one generator seeded with `seed`: for fitting from scratch in batch, where time order does not
 * matter. Returns the steps taken.
 */
export function sgdEpochs(
  s: SgdState,
  X: ArrayLike<number>,
  Y: ArrayLike<number>,
  range: { start: number; end: number },
  epochs: number,
  seed: number,
): number {
  const rng = makeRng(seed);
  const m = range.end - range.start;
  const order = Int32Array.from({ length: m }, (_, i) => range.start + i);
  let steps = 0;
  for (let e = 0; e < epochs; e++) {
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const v = order[i];
      order[i] = order[j];
      order[j] = v;
    }
    for (const r of order) if (sgdUpdate(s, X, Y, r * s.p, r * s.k)) steps++;
  }
  return steps;
}

/** The current weights as the `logistic` kind's fitted state. */
export function sgdToLinear(s: SgdState): LinearState {
  return { coef: s.w.map((w) => Array.from(w.subarray(0, s.p))), intercept: s.w.map((w) => w[s.p]), link: 'logistic' };
}
