import type { RowRange } from '../../core/artifacts.js';
import { makeRng } from '../../data/rng.js';
import { foldEngine, type BinnedFold } from './gbm.js';
import { growTree, predictRaw, type Tree } from './tree.js';

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
  /** Threads building histograms (this one included); 0 or absent = one per core. */
  threads?: number;
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
  const ws = foldEngine(binned, params.threads ?? 0);
  const gh = ws.S.gh;
  const rows = ws.S.rows;
  const w = new Float64Array(m);
  const feats = Int32Array.from({ length: p }, (_, i) => i);
  const trees: Tree[] = [];
  try {
    for (let it = 0; it < params.nEstimators; it++) {
      if (signal?.aborted) break;
      w.fill(0);
      for (let i = 0; i < m; i++) w[rng.int(m)]++;
      let nRows = 0;
      for (let i = 0; i < m; i++) {
        gh[2 * i] = -w[i] * Y[(train.start + i) * k + t];
        gh[2 * i + 1] = w[i];
        if (w[i] > 0) rows[nRows++] = i;
      }
      trees.push(
        growTree(
          ws,
          binned.mapper,
          nRows,
          feats,
          {
            maxDepth: params.maxDepth,
            maxLeaves: 0,
            growth: 'depthwise',
            lambda: 0,
            minSplitGain: 0,
            minChildWeight: params.minChildWeight,
            colsampleBynode: params.maxFeatures,
          },
          rng,
        ),
      );
    }
  } finally {
    ws.close();
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
