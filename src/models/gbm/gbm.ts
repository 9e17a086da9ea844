import type { RowRange } from '../../core/artifacts.js';
import { makeRng, type Rng } from '../../data/rng.js';
import { applyBins, fitBins, type BinMapper } from './binning.js';
import { HistEngine } from './threads.js';
import { addLeafValues, addTreeBinned, growTree, predictRaw, type Tree, type TreeParams } from './tree.js';

/**
 * Gradient-boosted trees on feature histograms (the XGBoost `hist` / LightGBM algorithm):
 * features binned once per fold on its training rows; each round fits a tree to the loss's
 * gradient and hessian (squared error: g = ŷ − y, h = 1; logistic: g = σ(ŷ) − y, h = σ(1 − σ)),
 * shrinks its leaves by the learning rate and adds it. Rows (Bernoulli, per round) and columns
 * (per tree) are subsampled from a seeded generator. With a validation segment, training stops
 * after `earlyStoppingRounds` rounds without a better validation loss (RMSE, or log-loss for the
 * logistic loss) and keeps the trees up to the best round.
 *
 * The `quantile` loss (pinball ρ_τ, as LightGBM's `objective: quantile`): the gradient is −τ below
 * the target and 1 − τ above it with a unit hessian, which only finds the split; each new leaf's
 * value is then set to the τ-quantile of its rows' residuals (LightGBM's leaf renewal), since the
 * gradient step alone moves a leaf by a constant whatever its residuals. Starts from the τ-quantile
 * of the training targets; early-stops on the mean pinball loss.
 */

export type GbmLoss = 'squared_error' | 'logistic' | 'quantile';

export interface GbmParams {
  nEstimators: number;
  learningRate: number;
  maxDepth: number;
  maxLeaves: number;
  growth: 'depthwise' | 'lossguide';
  maxBins: number;
  lambda: number;
  minSplitGain: number;
  minChildWeight: number;
  subsample: number;
  colsample: number;
  /** 0 turns early stopping off. */
  earlyStoppingRounds: number;
  loss: GbmLoss;
  /** Level τ in (0, 1) of the `quantile` loss (pinball ρ_τ). */
  alpha?: number;
  /**
   * Threads building histograms (this one included); 0 = one per core. Any count gives
   * bit-identical trees.
   */
  threads: number;
}

/** Fitted boosted ensemble for one target. */
export interface GbmState {
  loss: GbmLoss;
  /** Initial raw score: the mean target (squared error) or the log-odds of the base rate. */
  baseScore: number;
  /** Trees with their leaf values already multiplied by the learning rate. */
  trees: Tree[];
  /** Rounds trained before stopping (≥ trees.length). */
  rounds: number;
  /** Validation loss after each round (empty without a validation segment). */
  valLoss: Float64Array;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Raw (margin) score of row r of X: base + Σ tree outputs. */
export function gbmRaw(s: Pick<GbmState, 'baseScore' | 'trees'>, X: ArrayLike<number>, p: number, r: number): number {
  let z = s.baseScore;
  for (const t of s.trees) z += predictRaw(t, X, p, r);
  return z;
}

/**
 * What a gbm predicts for rows of X: the regression value, or for the logistic loss the signed
 * score 2·P(up) − 1 = P(up) − P(not up), whose sign is the predicted direction.
 */
export function gbmPredict(s: Pick<GbmState, 'baseScore' | 'trees' | 'loss'>, X: ArrayLike<number>, m: number, p: number): Float64Array {
  const out = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    const z = gbmRaw(s, X, p, r);
    out[r] = s.loss === 'logistic' ? 2 * sigmoid(z) - 1 : z;
  }
  return out;
}

/** Binned training rows of a fold, shared by every target and every tree of that fold. */
export interface BinnedFold {
  mapper: BinMapper;
  bins: Uint8Array;
  m: number;
  /** The X the bins were made from (their rows are X's rows [start, start + m)). */
  X: Float64Array;
  p: number;
  /** The bins feature-major (p × m), as the histogram engine reads them: made by the first fit. */
  binsT?: Uint8Array;
  /** Other row ranges of X binned with the fold's cuts (validation rows), by `start:end`. */
  ranges: Map<string, Uint8Array>;
}

/**
 * Binned folds by the X they were binned from. A sweep's variants (other depths, learning rates,
 * seeds) train on the same dataset object, and binning is as long as an early-stopped fit (≈ 0.25 s
 * for 30k × 159): done once per process, each variant goes straight to its trees. Artifacts are
 * never mutated, so X's identity stands for its content; the entries go when X does.
 */
const folds = new WeakMap<Float64Array, Map<string, BinnedFold>>();

export function binFold(X: Float64Array, p: number, train: RowRange, maxBins: number): BinnedFold {
  let byX = folds.get(X);
  if (!byX) folds.set(X, (byX = new Map()));
  const key = `${p}:${train.start}:${train.end}:${maxBins}`;
  let b = byX.get(key);
  if (!b) {
    const mapper = fitBins(X, p, train.start, train.end, maxBins);
    b = { mapper, bins: applyBins(mapper, X, p, train.start, train.end), m: train.end - train.start, X, p, ranges: new Map() };
    byX.set(key, b);
  }
  return b;
}

/**
 * A histogram engine over the fold's training bins on `threads` threads, reusing (and keeping for
 * the next fit) the fold's feature-major copy of the bins.
 */
export function foldEngine(binned: BinnedFold, threads: number): HistEngine {
  const ws = new HistEngine(binned.bins, binned.p, binned.m, binned.mapper.nBins, threads, binned.binsT);
  binned.binsT = ws.S.binsT;
  return ws;
}

/** Rows [range.start, range.end) of the fold's X binned with its cuts, made once per range. */
export function binRows(binned: BinnedFold, range: RowRange): Uint8Array {
  const key = `${range.start}:${range.end}`;
  let b = binned.ranges.get(key);
  if (!b) binned.ranges.set(key, (b = applyBins(binned.mapper, binned.X, binned.p, range.start, range.end)));
  return b;
}

/** Draws round(frac·p) of p features (ascending) with a partial Fisher–Yates shuffle. */
export function sampleFeatures(p: number, frac: number, rng: Rng): Int32Array {
  const all = Int32Array.from({ length: p }, (_, i) => i);
  if (frac >= 1) return all;
  const k = Math.max(1, Math.round(frac * p));
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(p - i);
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.subarray(0, k).sort();
}

/**
 * Fits one boosted ensemble to target column t of Y (row-major n × k) on the fold's training rows,
 * early-stopping on its validation rows. `y` values are used as they are for squared error; the
 * logistic loss takes y > 0 as the positive class. `margin` gives each training (and validation)
 * row a starting raw score instead of the base score: the trees then fit the residuals of whatever
 * produced it (online/gbm-append.ts: an existing ensemble); the returned baseScore is unused then.
 */
export function fitGbm(
  X: Float64Array,
  p: number,
  Y: Float64Array,
  k: number,
  t: number,
  train: RowRange,
  val: RowRange,
  binned: BinnedFold,
  params: GbmParams,
  seed: number,
  signal?: AbortSignal,
  margin?: { train: ArrayLike<number>; val?: ArrayLike<number> },
): GbmState {
  const m = binned.m;
  const rng = makeRng(seed);
  const y = new Float64Array(m);
  const logistic = params.loss === 'logistic';
  const quantileLoss = params.loss === 'quantile';
  const tau = params.alpha ?? 0.5;
  if (quantileLoss && !(tau > 0 && tau < 1)) throw new RangeError(`quantile loss needs a level in (0, 1), got ${tau}`);
  for (let i = 0; i < m; i++) {
    const v = Y[(train.start + i) * k + t];
    y[i] = logistic ? (v > 0 ? 1 : 0) : v;
  }
  let mean = 0;
  for (let i = 0; i < m; i++) mean += y[i];
  mean /= m;
  const baseScore = logistic
    ? Math.log(Math.min(Math.max(mean, 1e-12), 1 - 1e-12) / (1 - Math.min(Math.max(mean, 1e-12), 1 - 1e-12)))
    : quantileLoss
      ? sortedQuantile(Float64Array.from(y).sort(), tau)
      : mean;

  const nVal = Math.max(0, val.end - val.start);
  const yVal = new Float64Array(nVal);
  for (let i = 0; i < nVal; i++) {
    const v = Y[(val.start + i) * k + t];
    yVal[i] = logistic ? (v > 0 ? 1 : 0) : v;
  }
  // Validation rows binned with the fold's cuts: x <= cut_b ⇔ bin(x) <= b, so a binned walk
  // reaches the same leaf as predictRaw, on 8× smaller rows.
  const valBins = nVal > 0 ? binRows(binned, val) : new Uint8Array(0);
  const pred = margin ? Float64Array.from(margin.train) : new Float64Array(m).fill(baseScore);
  const predVal = margin ? Float64Array.from(margin.val ?? []) : new Float64Array(nVal).fill(baseScore);
  if (pred.length !== m || predVal.length !== nVal)
    throw new RangeError(`margin has ${pred.length} training and ${predVal.length} validation values, expected ${m} and ${nVal}`);
  const ws = foldEngine(binned, params.threads);
  const gh = ws.S.gh;
  const rows = ws.S.rows;
  for (let i = 0; i < m; i++) gh[2 * i + 1] = 1;
  const treeParams: TreeParams = {
    maxDepth: params.maxDepth,
    maxLeaves: params.maxLeaves,
    growth: params.growth,
    lambda: params.lambda,
    minSplitGain: params.minSplitGain,
    minChildWeight: params.minChildWeight,
    colsampleBynode: 1,
  };
  const trees: Tree[] = [];
  const valLoss: number[] = [];
  let best = Infinity;
  let bestRound = -1;
  const early = params.earlyStoppingRounds > 0 && nVal > 0;
  let rounds = 0;
  try {
    for (let it = 0; it < params.nEstimators; it++) {
      if (signal?.aborted) break;
      if (logistic) {
        for (let i = 0; i < m; i++) {
          const s = sigmoid(pred[i]);
          gh[2 * i] = s - y[i];
          gh[2 * i + 1] = Math.max(s * (1 - s), 1e-16);
        }
      } else if (quantileLoss) {
        for (let i = 0; i < m; i++) gh[2 * i] = y[i] < pred[i] ? 1 - tau : -tau;
      } else {
        for (let i = 0; i < m; i++) gh[2 * i] = pred[i] - y[i];
      }
      let nRows = 0;
      if (params.subsample >= 1) {
        for (let i = 0; i < m; i++) rows[i] = i;
        nRows = m;
      } else {
        for (let i = 0; i < m; i++) if (rng.next() < params.subsample) rows[nRows++] = i;
      }
      const feats = sampleFeatures(p, params.colsample, rng);
      const tree = growTree(ws, binned.mapper, nRows, feats, treeParams, null);
      if (quantileLoss) renewLeaves(ws, tree, y, pred, tau);
      const lr = params.learningRate;
      for (let i = 0; i < tree.value.length; i++) tree.value[i] *= lr;
      trees.push(tree);
      rounds++;
      // Every training row is in the tree's leaf ranges when none was subsampled out.
      if (nRows === m) addLeafValues(ws, tree, pred);
      else addTreeBinned(tree, binned.bins, p, m, pred);
      if (nVal > 0) {
        let loss = 0;
        addTreeBinned(tree, valBins, p, nVal, predVal);
        for (let i = 0; i < nVal; i++) {
          if (quantileLoss) {
            const u = yVal[i] - predVal[i];
            loss += u >= 0 ? tau * u : (tau - 1) * u;
          } else if (logistic) {
            const z = predVal[i];
            // −[y log σ(z) + (1 − y) log(1 − σ(z))] = log(1 + e^z) − y·z, computed stably.
            loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - yVal[i] * z;
          } else {
            const e = predVal[i] - yVal[i];
            loss += e * e;
          }
        }
        const l = logistic || quantileLoss ? loss / nVal : Math.sqrt(loss / nVal);
        valLoss.push(l);
        if (l < best) {
          best = l;
          bestRound = it;
        } else if (early && it - bestRound >= params.earlyStoppingRounds) break;
      }
    }
  } finally {
    ws.close();
  }
  if (early && bestRound >= 0) trees.length = bestRound + 1;
  return { loss: params.loss, baseScore, trees, rounds, valLoss: Float64Array.from(valLoss) };
}

/** The q-quantile of ascending values, NumPy's linear interpolation (position q·(n − 1)). */
function sortedQuantile(v: Float64Array, q: number): number {
  if (v.length === 0) return 0;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

/** Sets each leaf of a just-grown tree to the τ-quantile of its rows' residuals y − pred (before shrinkage). */
function renewLeaves(ws: HistEngine, tree: Tree, y: Float64Array, pred: Float64Array, tau: number): void {
  const rows = ws.S.rows;
  let buf = new Float64Array(0);
  for (let n = 0; n < tree.feature.length; n++) {
    if (tree.feature[n] >= 0) continue;
    const b = ws.nodeBegin[n];
    const c = ws.nodeEnd[n] - b;
    if (c <= 0) continue;
    if (buf.length < c) buf = new Float64Array(c);
    const r = buf.subarray(0, c);
    for (let i = 0; i < c; i++) r[i] = y[rows[b + i]] - pred[rows[b + i]];
    tree.value[n] = sortedQuantile(r.sort(), tau);
  }
}

/** Gain importance: the summed split gains of each feature over the trees. */
export function gainImportance(trees: Tree[], p: number): Float64Array {
  const imp = new Float64Array(p);
  for (const t of trees) for (let i = 0; i < t.feature.length; i++) if (t.feature[i] >= 0) imp[t.feature[i]] += t.gain[i];
  return imp;
}
