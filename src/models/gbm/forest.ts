import type { RowRange } from '../../core/artifacts.js';
import { makeRng } from '../../data/rng.js';
import type { BinnedFold } from './gbm.js';
import { growTree, predictRaw, TreeWorkspace, type Tree } from './tree.js';

/**
 * Random forest on the histogram tree code: each tree is grown on a bootstrap sample (n draws with
 * replacement, as weights), with gradients −w·y and hessians w and λ = 0, so a split's gain is the
 * weighted squared-error reduction and a leaf's value is the weighted mean target of its rows;
 * `maxFeatures` of the features are drawn at each node. The prediction is the mean of the trees.
 */

export interface ForestParams {
  nEstimators: number;
  maxDepth: number;
  maxFeatures: number;
  minChildWeight: number;
}

export interface ForestState {
  trees: Tree[];
}

export function fitForest(
  p: number,
  Y: Float64Array,
  k: number,
  t: number,
  train: RowRange,
  binned: BinnedFold,
  params: ForestParams,
  seed: number,
  signal?: AbortSignal,
): ForestState {
  const m = binned.m;
  const rng = makeRng(seed);
  const ws = new TreeWorkspace(p, m);
  const w = new Float64Array(m);
  const grad = new Float64Array(m);
  const rows = new Uint32Array(m);
  const feats = Int32Array.from({ length: p }, (_, i) => i);
  const trees: Tree[] = [];
  for (let it = 0; it < params.nEstimators; it++) {
    if (signal?.aborted) break;
    w.fill(0);
    for (let i = 0; i < m; i++) w[rng.int(m)]++;
    let nRows = 0;
    for (let i = 0; i < m; i++) {
      grad[i] = -w[i] * Y[(train.start + i) * k + t];
      if (w[i] > 0) rows[nRows++] = i;
    }
    trees.push(
      growTree(ws, binned.bins, p, binned.mapper, grad, w, rows, nRows, feats, {
        maxDepth: params.maxDepth,
        maxLeaves: 0,
        growth: 'depthwise',
        lambda: 0,
        minSplitGain: 0,
        minChildWeight: params.minChildWeight,
        colsampleBynode: params.maxFeatures,
      }, rng),
    );
  }
  return { trees };
}

export function forestPredict(s: ForestState, X: ArrayLike<number>, m: number, p: number): Float64Array {
  const out = new Float64Array(m);
  if (s.trees.length === 0) return out;
  for (let r = 0; r < m; r++) {
    let z = 0;
    for (const tr of s.trees) z += predictRaw(tr, X, p, r);
    out[r] = z / s.trees.length;
  }
  return out;
}
