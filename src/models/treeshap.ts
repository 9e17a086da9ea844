import type { Tree } from './gbm/tree.js';

/**
 * Exact SHAP values of tree ensembles: the path-dependent TreeSHAP of Lundberg, Erion & Lee
 * (2018), Algorithm 2. The value of a feature coalition S is E[f(x) | x_S], taken over the tree's
 * training distribution as recorded in each node's cover: a split on a feature in S follows x, any
 * other split averages its children weighted by their cover. The values of a row add up to its
 * prediction minus the expected prediction (local accuracy), in the model's raw (margin) units.
 * Cost: O(leaves × depth²) per tree and row.
 */

/** One tree ensemble per target: output = base + scale × Σ trees (gbm: scale 1; a forest's mean: 1 / trees). */
export interface TreeEnsemble {
  base: number;
  scale: number;
  trees: readonly Tree[];
}

/** The unique-feature path of the algorithm, as parallel arrays (depth ≤ the tree's). */
interface Path {
  feature: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  weight: Float64Array;
}

const newPath = (n: number): Path => ({ feature: new Int32Array(n), zero: new Float64Array(n), one: new Float64Array(n), weight: new Float64Array(n) });

function copyPath(src: Path, dst: Path, len: number): void {
  dst.feature.set(src.feature.subarray(0, len));
  dst.zero.set(src.zero.subarray(0, len));
  dst.one.set(src.one.subarray(0, len));
  dst.weight.set(src.weight.subarray(0, len));
}

/** EXTEND: adds feature d with zero fraction pz and one fraction po to a path of length l. */
function extend(m: Path, l: number, pz: number, po: number, d: number): void {
  m.feature[l] = d;
  m.zero[l] = pz;
  m.one[l] = po;
  m.weight[l] = l === 0 ? 1 : 0;
  for (let i = l - 1; i >= 0; i--) {
    m.weight[i + 1] += (po * m.weight[i] * (i + 1)) / (l + 1);
    m.weight[i] = (pz * m.weight[i] * (l - i)) / (l + 1);
  }
}

/** UNWIND: removes element i from a path of length l + 1 (in place). */
function unwind(m: Path, l: number, i: number): void {
  const one = m.one[i];
  const zero = m.zero[i];
  let next = m.weight[l];
  for (let j = l - 1; j >= 0; j--) {
    if (one !== 0) {
      const t = m.weight[j];
      m.weight[j] = (next * (l + 1)) / ((j + 1) * one);
      next = t - (m.weight[j] * zero * (l - j)) / (l + 1);
    } else {
      m.weight[j] = (m.weight[j] * (l + 1)) / (zero * (l - j));
    }
  }
  for (let j = i; j < l; j++) {
    m.feature[j] = m.feature[j + 1];
    m.zero[j] = m.zero[j + 1];
    m.one[j] = m.one[j + 1];
  }
}

/** Σ of the weights the path would have with element i unwound, without changing it. */
function unwoundSum(m: Path, l: number, i: number): number {
  const one = m.one[i];
  const zero = m.zero[i];
  let next = m.weight[l];
  let total = 0;
  for (let j = l - 1; j >= 0; j--) {
    if (one !== 0) {
      const t = (next * (l + 1)) / ((j + 1) * one);
      total += t;
      next = m.weight[j] - (t * zero * (l - j)) / (l + 1);
    } else {
      total += m.weight[j] / zero / ((l - j) / (l + 1));
    }
  }
  return total;
}

function treeDepth(t: Tree): number {
  const depth = new Int32Array(t.feature.length);
  let max = 0;
  for (let j = 0; j < t.feature.length; j++) {
    if (t.feature[j] < 0) continue;
    depth[t.left[j]] = depth[j] + 1;
    depth[t.right[j]] = depth[j] + 1;
    if (depth[j] + 1 > max) max = depth[j] + 1;
  }
  return max;
}

/** Adds scale × the SHAP values of row x under `tree` to phi (length p). */
export function treeShap(tree: Tree, x: ArrayLike<number>, phi: Float64Array, scale = 1): void {
  const levels = treeDepth(tree) + 1;
  // One path buffer per tree level: a node copies its parent's path into its own and extends it,
  // so the parent's stays intact for the second child.
  const paths = Array.from({ length: levels }, () => newPath(levels + 1));
  const { feature, threshold, left, right, value, cover } = tree;

  const recurse = (j: number, level: number, parent: Path | null, l: number, pz: number, po: number, pi: number): void => {
    const m = paths[level];
    if (parent) copyPath(parent, m, l);
    extend(m, l, pz, po, pi);
    const d = feature[j];
    if (d < 0) {
      for (let i = 1; i <= l; i++) phi[m.feature[i]] += scale * unwoundSum(m, l, i) * (m.one[i] - m.zero[i]) * value[j];
      return;
    }
    // NaN goes right, as in prediction.
    const goLeft = x[d] <= threshold[j];
    const hot = goLeft ? left[j] : right[j];
    const cold = goLeft ? right[j] : left[j];
    let iz = 1;
    let io = 1;
    let len = l + 1;
    // A feature split on again: its earlier element leaves the path and its fractions carry over.
    for (let k = 1; k <= l; k++)
      if (m.feature[k] === d) {
        iz = m.zero[k];
        io = m.one[k];
        unwind(m, l, k);
        len = l;
        break;
      }
    recurse(hot, level + 1, m, len, (iz * cover[hot]) / cover[j], io, d);
    recurse(cold, level + 1, m, len, (iz * cover[cold]) / cover[j], 0, d);
  };
  recurse(0, 0, null, 0, 1, 1, -1);
}

/** The tree's expected output: its leaves' values weighted by their cover. */
export function treeExpectation(tree: Tree): number {
  let s = 0;
  for (let j = 0; j < tree.feature.length; j++) if (tree.feature[j] < 0) s += tree.value[j] * tree.cover[j];
  return s / tree.cover[0];
}

/** SHAP values of m rows of row-major X (p features) under an ensemble: row-major m × p, and the expected value. */
export function ensembleShap(e: TreeEnsemble, X: ArrayLike<number>, m: number, p: number): { values: Float64Array; expected: number } {
  const values = new Float64Array(m * p);
  let expected = e.base;
  for (const t of e.trees) expected += e.scale * treeExpectation(t);
  const row = new Float64Array(p);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < p; j++) row[j] = X[r * p + j];
    const phi = values.subarray(r * p, (r + 1) * p);
    for (const t of e.trees) treeShap(t, row, phi, e.scale);
  }
  return { values, expected };
}
