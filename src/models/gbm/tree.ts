import type { Rng } from '../../data/rng.js';
import { BIN_STRIDE, type BinMapper } from './binning.js';

/**
 * One regression tree grown on gradient/hessian histograms (second-order boosting as in XGBoost):
 * a node with gradient sum G and hessian sum H has output −G/(H + λ); a split into (G_L, H_L) and
 * (G_R, H_R) has gain ½·[G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)], the drop in the regularised
 * second-order loss. Used by `gbm` (gradients of the loss) and `random_forest` (gradients −y·w and
 * hessians w of a bootstrap's weights w, λ = 0: each leaf is then the weighted mean of its rows).
 *
 * Histograms: per node, per feature and bin, (Σg, Σh) over the node's rows; a child's is built
 * from its rows only for the smaller child, the larger is the parent's minus it. Rows are kept in
 * one index array, partitioned in place (stably) as nodes split, as LightGBM does.
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
  hist: Float64Array | null;
  split: Split | null;
}

const HIST_LEN = (p: number): number => p * BIN_STRIDE * 2;

/** Reusable buffers for growing many trees on one binned matrix. */
export class TreeWorkspace {
  private pool: Float64Array[] = [];
  readonly tmp: Uint32Array;
  constructor(
    readonly p: number,
    maxRows: number,
  ) {
    this.tmp = new Uint32Array(maxRows);
  }
  acquire(): Float64Array {
    return this.pool.pop() ?? new Float64Array(HIST_LEN(this.p));
  }
  release(h: Float64Array): void {
    this.pool.push(h);
  }
}

function buildHist(
  hist: Float64Array,
  bins: Uint8Array,
  p: number,
  grad: Float64Array,
  hess: Float64Array,
  rows: Uint32Array,
  begin: number,
  end: number,
  feats: Int32Array,
): void {
  hist.fill(0);
  // Unrolled by four features: the four bin lookups and index computations are independent, which
  // lets V8 overlap them (measured 1.7× faster than the plain loop on 90k × 40).
  if (feats.length === p) {
    const p4 = p - (p % 4);
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = grad[r];
      const h = hess[r];
      const o = r * p;
      let f = 0;
      for (; f < p4; f += 4) {
        const i0 = ((f << 8) + bins[o + f]) << 1;
        const i1 = (((f + 1) << 8) + bins[o + f + 1]) << 1;
        const i2 = (((f + 2) << 8) + bins[o + f + 2]) << 1;
        const i3 = (((f + 3) << 8) + bins[o + f + 3]) << 1;
        hist[i0] += g;
        hist[i0 + 1] += h;
        hist[i1] += g;
        hist[i1 + 1] += h;
        hist[i2] += g;
        hist[i2 + 1] += h;
        hist[i3] += g;
        hist[i3 + 1] += h;
      }
      for (; f < p; f++) {
        const idx = ((f << 8) + bins[o + f]) << 1;
        hist[idx] += g;
        hist[idx + 1] += h;
      }
    }
  } else {
    const nf = feats.length;
    const n4 = nf - (nf % 4);
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = grad[r];
      const h = hess[r];
      const o = r * p;
      let k = 0;
      for (; k < n4; k += 4) {
        const f0 = feats[k];
        const f1 = feats[k + 1];
        const f2 = feats[k + 2];
        const f3 = feats[k + 3];
        const i0 = ((f0 << 8) + bins[o + f0]) << 1;
        const i1 = ((f1 << 8) + bins[o + f1]) << 1;
        const i2 = ((f2 << 8) + bins[o + f2]) << 1;
        const i3 = ((f3 << 8) + bins[o + f3]) << 1;
        hist[i0] += g;
        hist[i0 + 1] += h;
        hist[i1] += g;
        hist[i1 + 1] += h;
        hist[i2] += g;
        hist[i2 + 1] += h;
        hist[i3] += g;
        hist[i3 + 1] += h;
      }
      for (; k < nf; k++) {
        const f = feats[k];
        const idx = ((f << 8) + bins[o + f]) << 1;
        hist[idx] += g;
        hist[idx + 1] += h;
      }
    }
  }
}

/**
 * Grows one tree on the rows rows[0..nRows) (local row numbers into `bins`, m × p row-major),
 * using only the features in `feats` (ascending). `rows` is permuted in place. Leaf values are the
 * unshrunk −G/(H + λ); the caller applies the learning rate.
 */
export function growTree(
  ws: TreeWorkspace,
  bins: Uint8Array,
  p: number,
  mapper: BinMapper,
  grad: Float64Array,
  hess: Float64Array,
  rows: Uint32Array,
  nRows: number,
  feats: Int32Array,
  params: TreeParams,
  rng: Rng | null,
): Tree {
  const { lambda, minChildWeight: mcw, maxDepth, maxLeaves } = params;
  const nBins = mapper.nBins;
  const feature: number[] = [];
  const bin: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const gain: number[] = [];
  const cover: number[] = [];
  const newNode = (G: number, H: number): number => {
    feature.push(-1);
    bin.push(-1);
    left.push(-1);
    right.push(-1);
    value.push(H + lambda > 0 ? -G / (H + lambda) || 0 : 0); // `|| 0`: no −0
    gain.push(0);
    cover.push(H);
    return feature.length - 1;
  };

  const nodeFeats = (): Int32Array => {
    if (params.colsampleBynode >= 1 || !rng) return feats;
    const k = Math.max(1, Math.round(params.colsampleBynode * feats.length));
    const a = Int32Array.from(feats);
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(a.length - i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a.subarray(0, k).sort();
  };

  const findSplit = (c: Candidate): Split | null => {
    const hist = c.hist!;
    const { G, H } = c;
    const parentScore = (G * G) / (H + lambda);
    let best: Split | null = null;
    let bestGain = params.minSplitGain;
    const fs = nodeFeats();
    for (let k = 0; k < fs.length; k++) {
      const f = fs[k];
      const base = (f << 8) << 1;
      const nb = nBins[f];
      let GL = 0;
      let HL = 0;
      for (let b = 0; b < nb - 1; b++) {
        GL += hist[base + 2 * b];
        HL += hist[base + 2 * b + 1];
        if (HL < mcw || !(HL > 0)) continue;
        const HR = H - HL;
        if (HR < mcw || !(HR > 1e-12 * H)) break;
        const GR = G - GL;
        const g = 0.5 * ((GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parentScore);
        if (g > bestGain) {
          bestGain = g;
          best = { gain: g, feature: f, bin: b, GL, HL };
        }
      }
    }
    return best;
  };

  const canSplit = (depth: number, H: number): boolean => (maxDepth === 0 || depth < maxDepth) && H >= 2 * mcw;

  let G0 = 0;
  let H0 = 0;
  for (let i = 0; i < nRows; i++) {
    G0 += grad[rows[i]];
    H0 += hess[rows[i]];
  }
  const root: Candidate = { node: newNode(G0, H0), begin: 0, end: nRows, depth: 0, G: G0, H: H0, hist: null, split: null };
  const open: Candidate[] = [];
  if (canSplit(0, H0) && nRows > 1) {
    root.hist = ws.acquire();
    buildHist(root.hist, bins, p, grad, hess, rows, 0, nRows, feats);
    root.split = findSplit(root);
    if (root.split) open.push(root);
    else ws.release(root.hist);
  }
  let leaves = 1;
  const tmp = ws.tmp;

  while (open.length > 0) {
    if (maxLeaves > 0 && leaves >= maxLeaves) break;
    let pick = 0;
    if (params.growth === 'lossguide') {
      for (let i = 1; i < open.length; i++) if (open[i].split!.gain > open[pick].split!.gain) pick = i;
    }
    const c = open.splice(pick, 1)[0];
    const s = c.split!;
    // Stable in-place partition of the node's rows.
    let l = c.begin;
    let t = 0;
    const f = s.feature;
    const b = s.bin;
    for (let i = c.begin; i < c.end; i++) {
      const r = rows[i];
      if (bins[r * p + f] <= b) rows[l++] = r;
      else tmp[t++] = r;
    }
    rows.set(tmp.subarray(0, t), l);
    const mid = l;
    const GL = s.GL;
    const HL = s.HL;
    const GR = c.G - GL;
    const HR = c.H - HL;
    const ln = newNode(GL, HL);
    const rn = newNode(GR, HR);
    feature[c.node] = f;
    bin[c.node] = b;
    left[c.node] = ln;
    right[c.node] = rn;
    gain[c.node] = s.gain;
    leaves++;
    const lc: Candidate = { node: ln, begin: c.begin, end: mid, depth: c.depth + 1, G: GL, H: HL, hist: null, split: null };
    const rc: Candidate = { node: rn, begin: mid, end: c.end, depth: c.depth + 1, G: GR, H: HR, hist: null, split: null };
    const needL = canSplit(lc.depth, HL) && mid - c.begin > 1;
    const needR = canSplit(rc.depth, HR) && c.end - mid > 1;
    const parentHist = c.hist!;
    if (needL || needR) {
      // Build the smaller child's histogram; the larger one is the parent's minus it (in place).
      const smallIsLeft = mid - c.begin <= c.end - mid;
      const small = smallIsLeft ? lc : rc;
      const large = smallIsLeft ? rc : lc;
      const sh = ws.acquire();
      buildHist(sh, bins, p, grad, hess, rows, small.begin, small.end, feats);
      for (let i = 0; i < parentHist.length; i++) parentHist[i] -= sh[i];
      small.hist = sh;
      large.hist = parentHist;
      for (const child of [lc, rc]) {
        const need = child === lc ? needL : needR;
        if (need) child.split = findSplit(child);
        if (child.split) open.push(child);
        else ws.release(child.hist!);
      }
    } else {
      ws.release(parentHist);
    }
  }
  for (const c of open) ws.release(c.hist!);

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

/** Leaf reached by binned row r of `bins` (m × p). */
export function leafOfBinned(t: Tree, bins: Uint8Array, p: number, r: number): number {
  let node = 0;
  const o = r * p;
  while (t.feature[node] >= 0) node = bins[o + t.feature[node]] <= t.bin[node] ? t.left[node] : t.right[node];
  return node;
}

/** Leaf value for raw row r of X (row-major, p columns): x <= threshold goes left, NaN right. */
export function predictRaw(t: { feature: ArrayLike<number>; threshold: ArrayLike<number>; left: ArrayLike<number>; right: ArrayLike<number>; value: ArrayLike<number> }, X: ArrayLike<number>, p: number, r: number): number {
  let node = 0;
  const o = r * p;
  while (t.feature[node] >= 0) node = X[o + t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
  return t.value[node];
}
