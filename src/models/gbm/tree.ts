import type { Rng } from '../../data/rng.js';
import type { BinMapper } from './binning.js';
import { HistEngine, PHASE_HIST, PHASE_PARTITION, RESULT_W, TASK_W } from './threads.js';

/**
 * One regression tree grown on gradient/hessian histograms (second-order boosting as in XGBoost):
 * a node with gradient sum G and hessian sum H has output −G/(H + λ); a split into (G_L, H_L) and
 * (G_R, H_R) has gain ½·[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)], the drop in the regularised
 * second-order loss. Used by `gbm` (gradients of the loss) and `random_forest` (gradients −y·w and
 * hessians w of a bootstrap's weights w, λ = 0: each leaf is then the weighted mean of its rows).
 *
 * Histograms: per node, per feature and bin, (Σg, Σh) over the node's rows; a child's is built
 * from its rows only for the smaller child, the larger is the parent's minus it. Rows are kept in
 * one index array, partitioned in place (stably) as nodes split, as LightGBM does. Depthwise trees
 * grow a level at a time: all of a level's partitions, then all of its histograms and split
 * searches, each a batch of units the engine (threads.ts) spreads over its threads.
 */

export interface TreeParams {
  /** Deepest level a split may create (root = depth 0); 0 = unlimited. */
  maxDepth: number;
  /** Most leaves; 0 = unlimited. */
  maxLeaves: number;
  /** `depthwise` expands level by level; `lossguide` always splits the leaf with the largest gain. */
  growth: 'depthwise' | 'lossguide';
  /** L2 regularisation λ of leaf outputs. */
  lambda: number;
  /** A split is made only when its gain exceeds this (XGBoost's gamma). */
  minSplitGain: number;
  /** Least hessian sum of each child. */
  minChildWeight: number;
  /** Fraction of the tree's features drawn at each node (1 = all; random forest's max_features). */
  colsampleBynode: number;
}

/** A fitted tree as flat arrays, node 0 the root. A leaf has feature −1. */
export interface Tree {
  /** Split feature per node (−1 at a leaf). */
  feature: Int32Array;
  /** A row goes left when x[feature] <= threshold (NaN goes right). */
  threshold: Float64Array;
  /** The threshold as a bin of the fold's binning (left = bin ≤ this). */
  bin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  /** Output of each node (a leaf's is the prediction; internal nodes keep theirs for inspection). */
  value: Float64Array;
  /** Gain of each split (0 at leaves). */
  gain: Float64Array;
  /** Hessian sum of each node (the row count for squared error). */
  cover: Float64Array;
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  GL: number;
  HL: number;
}

interface Candidate {
  node: number;
  begin: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  /** Histogram slot in the engine (−1: none). */
  slot: number;
  split: Split | null;
}

interface Pair {
  lc: Candidate;
  rc: Candidate;
  needL: boolean;
  needR: boolean;
  smallIsLeft: boolean;
}

/**
 * Grows one tree on the rows ws.S.rows[0..nRows) (local row numbers into the engine's bins, m × p
 * row-major), with the gradients and hessians in ws.S.gh, using only the features in `feats`
 * (ascending). The rows are permuted in place; ws.nodeBegin/nodeEnd then give each node's range
 * of them. Leaf values are the unshrunk −G/(H + λ); the caller applies the learning rate.
 */
export function growTree(ws: HistEngine, mapper: BinMapper, nRows: number, feats: Int32Array, params: TreeParams, rng: Rng | null): Tree {
  const { lambda, minChildWeight: mcw, maxDepth, maxLeaves } = params;
  const S = ws.S;
  const p = S.p;
  ws.setParams(lambda, mcw, params.minSplitGain);
  ws.setFeatures(feats);
  const nChunk = ws.nChunk;
  const feature: number[] = [];
  const bin: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const gain: number[] = [];
  const cover: number[] = [];
  const nodeBegin: number[] = [];
  const nodeEnd: number[] = [];
  const newNode = (G: number, H: number, begin: number, end: number): number => {
    feature.push(-1);
    bin.push(-1);
    left.push(-1);
    right.push(-1);
    value.push(H + lambda > 0 ? -G / (H + lambda) || 0 : 0); // `|| 0`: no −0
    gain.push(0);
    cover.push(H);
    nodeBegin.push(begin);
    nodeEnd.push(end);
    return feature.length - 1;
  };

  // Per-node feature sampling (random forest): the node's features as a mask at `off` in S.masks.
  // Drawn on the main thread in the order the nodes are searched, so the generator's sequence does
  // not depend on the threads.
  const bynode = params.colsampleBynode < 1 && rng !== null;
  const drawMask = (off: number): number => {
    if (!bynode) return -1;
    const k = Math.max(1, Math.round(params.colsampleBynode * feats.length));
    const a = Int32Array.from(feats);
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(a.length - i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    const masks = S.masks;
    masks.fill(0, off, off + p);
    for (let i = 0; i < k; i++) masks[off + a[i]] = 1;
    return off;
  };

  // The first best split over the feature chunks in feature order: what one scan over all
  // features would find.
  const combine = (t: number, child: number): Split | null => {
    const res = S.results;
    let best: Split | null = null;
    for (let c = 0; c < nChunk; c++) {
      const o = ((t * 2 + child) * nChunk + c) * RESULT_W;
      if (res[o + 1] >= 0 && (best === null || res[o] > best.gain))
        best = { gain: res[o], feature: res[o + 1], bin: res[o + 2], GL: res[o + 3], HL: res[o + 4] };
    }
    return best;
  };

  const canSplit = (depth: number, H: number): boolean => (maxDepth === 0 || depth < maxDepth) && H >= 2 * mcw;

  const rows = S.rows;
  const gh = S.gh;
  let G0 = 0;
  let H0 = 0;
  for (let i = 0; i < nRows; i++) {
    G0 += gh[rows[i] << 1];
    H0 += gh[(rows[i] << 1) + 1];
  }
  const root: Candidate = { node: newNode(G0, H0, 0, nRows), begin: 0, end: nRows, depth: 0, G: G0, H: H0, slot: -1, split: null };
  const open: Candidate[] = [];
  if (canSplit(0, H0) && nRows > 1) {
    root.slot = ws.acquireSlot();
    ws.ensureTasks(1);
    const tk = S.tasks;
    tk[0] = 0;
    tk[1] = nRows;
    tk[2] = root.slot;
    tk[3] = -1;
    tk[4] = 1;
    tk[5] = G0;
    tk[6] = H0;
    tk[7] = 0;
    tk[10] = drawMask(0);
    tk[11] = -1;
    ws.phase(PHASE_HIST, 1);
    root.split = combine(0, 0);
    if (root.split) open.push(root);
    else ws.releaseSlot(root.slot);
  }
  let leaves = 1;
  const pairs: Pair[] = [];

  while (open.length > 0) {
    if (maxLeaves > 0 && leaves >= maxLeaves) break;
    let batch: Candidate[];
    if (params.growth === 'lossguide') {
      let pick = 0;
      for (let i = 1; i < open.length; i++) if (open[i].split!.gain > open[pick].split!.gain) pick = i;
      batch = open.splice(pick, 1);
    } else {
      // A whole level (or what the leaf budget allows of it), in the order it was opened.
      batch = open.splice(0, maxLeaves > 0 ? Math.min(open.length, maxLeaves - leaves) : open.length);
    }
    ws.ensureTasks(batch.length);
    let tk = S.tasks;
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i];
      tk[i * TASK_W] = c.begin;
      tk[i * TASK_W + 1] = c.end;
      tk[i * TASK_W + 2] = c.split!.feature;
      tk[i * TASK_W + 3] = c.split!.bin;
    }
    ws.phase(PHASE_PARTITION, batch.length);

    pairs.length = 0;
    for (let i = 0; i < batch.length; i++) {
      const c = batch[i];
      const s = c.split!;
      const mid = tk[i * TASK_W + 4];
      const GL = s.GL;
      const HL = s.HL;
      const GR = c.G - GL;
      const HR = c.H - HL;
      const ln = newNode(GL, HL, c.begin, mid);
      const rn = newNode(GR, HR, mid, c.end);
      feature[c.node] = s.feature;
      bin[c.node] = s.bin;
      left[c.node] = ln;
      right[c.node] = rn;
      gain[c.node] = s.gain;
      leaves++;
      const lc: Candidate = { node: ln, begin: c.begin, end: mid, depth: c.depth + 1, G: GL, H: HL, slot: -1, split: null };
      const rc: Candidate = { node: rn, begin: mid, end: c.end, depth: c.depth + 1, G: GR, H: HR, slot: -1, split: null };
      const needL = canSplit(lc.depth, HL) && mid - c.begin > 1;
      const needR = canSplit(rc.depth, HR) && c.end - mid > 1;
      if (!(needL || needR)) {
        ws.releaseSlot(c.slot);
        continue;
      }
      // Build the smaller child's histogram; the larger one is the parent's minus it (in place).
      const smallIsLeft = mid - c.begin <= c.end - mid;
      const small = smallIsLeft ? lc : rc;
      const large = smallIsLeft ? rc : lc;
      small.slot = ws.acquireSlot();
      large.slot = c.slot;
      // Task records are rewritten in batch order: record t ≤ i, whose partition was read already.
      const t = pairs.length;
      const o = t * TASK_W;
      // Masks drawn left child first, as the children are searched.
      const mL = needL ? drawMask((t * 2 + (smallIsLeft ? 0 : 1)) * p) : -1;
      const mR = needR ? drawMask((t * 2 + (smallIsLeft ? 1 : 0)) * p) : -1;
      tk = S.tasks;
      tk[o] = small.begin;
      tk[o + 1] = small.end;
      tk[o + 2] = small.slot;
      tk[o + 3] = c.slot;
      tk[o + 4] = (smallIsLeft ? needL : needR) ? 1 : 0;
      tk[o + 5] = small.G;
      tk[o + 6] = small.H;
      tk[o + 7] = (smallIsLeft ? needR : needL) ? 1 : 0;
      tk[o + 8] = large.G;
      tk[o + 9] = large.H;
      tk[o + 10] = smallIsLeft ? mL : mR;
      tk[o + 11] = smallIsLeft ? mR : mL;
      pairs.push({ lc, rc, needL, needR, smallIsLeft });
    }
    ws.phase(PHASE_HIST, pairs.length);

    for (let t = 0; t < pairs.length; t++) {
      const { lc, rc, needL, needR, smallIsLeft } = pairs[t];
      for (const child of [lc, rc]) {
        const isLeft = child === lc;
        if (isLeft ? needL : needR) child.split = combine(t, isLeft === smallIsLeft ? 0 : 1);
        if (child.split) open.push(child);
        else ws.releaseSlot(child.slot);
      }
    }
  }
  for (const c of open) ws.releaseSlot(c.slot);
  ws.nodeBegin = nodeBegin;
  ws.nodeEnd = nodeEnd;

  const threshold = new Float64Array(feature.length);
  for (let i = 0; i < feature.length; i++) threshold[i] = feature[i] >= 0 ? mapper.cuts[feature[i]][bin[i]] : NaN;
  return {
    feature: Int32Array.from(feature),
    threshold,
    bin: Int32Array.from(bin),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
    gain: Float64Array.from(gain),
    cover: Float64Array.from(cover),
  };
}

/** Adds each leaf's value to out[row] for the rows the last grown tree put in that leaf. */
export function addLeafValues(ws: HistEngine, tree: Tree, out: Float64Array): void {
  const rows = ws.S.rows;
  for (let n = 0; n < tree.feature.length; n++) {
    if (tree.feature[n] >= 0) continue;
    const v = tree.value[n];
    for (let i = ws.nodeBegin[n]; i < ws.nodeEnd[n]; i++) out[rows[i]] += v;
  }
}

/**
 * Adds the tree's leaf value to out[i] for every binned row i of `bins` (n × p). Branch-free
 * descent: a row goes right when the threshold bin minus its bin is negative, and growTree makes
 * each right child the left one + 1 (a data-dependent branch per level mispredicts half the time).
 */
export function addTreeBinned(t: Tree, bins: Uint8Array, p: number, n: number, out: Float64Array): void {
  const { feature, bin, left, value } = t;
  for (let i = 0; i < n; i++) {
    const o = i * p;
    let node = 0;
    let f = feature[0];
    while (f >= 0) {
      node = left[node] + ((bin[node] - bins[o + f]) >>> 31);
      f = feature[node];
    }
    out[i] += value[node];
  }
}

/** Leaf value for raw row r of X (row-major, p columns): x <= threshold goes left, NaN right. */
export function predictRaw(
  t: { feature: ArrayLike<number>; threshold: ArrayLike<number>; left: ArrayLike<number>; right: ArrayLike<number>; value: ArrayLike<number> },
  X: ArrayLike<number>,
  p: number,
  r: number,
): number {
  let node = 0;
  const o = r * p;
  while (t.feature[node] >= 0) node = X[o + t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
  return t.value[node];
}
