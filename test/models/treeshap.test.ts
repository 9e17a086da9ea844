import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Tree } from '../../src/models/gbm/tree.js';
import { ensembleShap, treeExpectation, treeShap } from '../../src/models/treeshap.js';

/** A tree from nested nodes: [feature, threshold, left, right, cover] or [leaf value, cover]. */
type Node = { f: number; t: number; l: Node; r: Node; c: number } | { v: number; c: number };

function build(root: Node): Tree {
  const nodes: Node[] = [];
  const walk = (n: Node): number => {
    const id = nodes.length;
    nodes.push(n);
    return id;
  };
  const left: number[] = [];
  const right: number[] = [];
  const queue = [root];
  walk(root);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    if ('f' in n) {
      left[i] = walk(n.l);
      queue.push(n.l);
      right[i] = walk(n.r);
      queue.push(n.r);
    } else {
      left[i] = -1;
      right[i] = -1;
    }
  }
  const m = nodes.length;
  return {
    feature: Int32Array.from(nodes, (n) => ('f' in n ? n.f : -1)),
    threshold: Float64Array.from(nodes, (n) => ('f' in n ? n.t : 0)),
    bin: new Int32Array(m),
    left: Int32Array.from({ length: m }, (_, i) => left[i]),
    right: Int32Array.from({ length: m }, (_, i) => right[i]),
    value: Float64Array.from(nodes, (n) => ('v' in n ? n.v : 0)),
    gain: new Float64Array(m),
    cover: Float64Array.from(nodes, (n) => n.c),
  };
}

/** E[f(x) | x_S] over the tree's cover: splits on S follow x, others average their children by cover. */
function condExpect(t: Tree, x: number[], S: Set<number>, j = 0): number {
  if (t.feature[j] < 0) return t.value[j];
  const d = t.feature[j];
  if (S.has(d)) return condExpect(t, x, S, x[d] <= t.threshold[j] ? t.left[j] : t.right[j]);
  const l = t.left[j];
  const r = t.right[j];
  return (t.cover[l] * condExpect(t, x, S, l) + t.cover[r] * condExpect(t, x, S, r)) / t.cover[j];
}

/** Shapley values by their definition: every coalition, weighted |S|!(M − |S| − 1)!/M!. */
function bruteShapley(t: Tree, x: number[], M: number): number[] {
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = new Array<number>(M).fill(0);
  for (let i = 0; i < M; i++) {
    for (let mask = 0; mask < 1 << M; mask++) {
      if (mask & (1 << i)) continue;
      const S = new Set<number>();
      for (let k = 0; k < M; k++) if (mask & (1 << k)) S.add(k);
      const w = (fact(S.size) * fact(M - S.size - 1)) / fact(M);
      const withI = new Set(S).add(i);
      phi[i] += w * (condExpect(t, x, withI) - condExpect(t, x, S));
    }
  }
  return phi;
}

// A depth-4 tree over 4 features that splits on feature 0 twice on one path (the algorithm's
// unwinding case) and never uses feature 3.
const tree = build({
  f: 0,
  t: 0.5,
  c: 100,
  l: {
    f: 1,
    t: 0.2,
    c: 60,
    l: { f: 0, t: 0.1, c: 25, l: { v: -2, c: 10 }, r: { f: 2, t: 0.7, c: 15, l: { v: 1, c: 9 }, r: { v: 3, c: 6 } } },
    r: { v: 0.5, c: 35 },
  },
  r: { f: 2, t: 0.3, c: 40, l: { v: 4, c: 30 }, r: { f: 1, t: 0.9, c: 10, l: { v: -1, c: 4 }, r: { v: 6, c: 6 } } },
});

describe('TreeSHAP', () => {
  const rows = [
    [0.05, 0.1, 0.9, 0.3],
    [0.3, 0.1, 0.2, 0.0],
    [0.7, 0.95, 0.6, 1.0],
    [0.7, 0.5, 0.1, -1],
    [0.2, 0.6, 0.8, 0.5],
  ];

  it('equals the Shapley values computed from their definition (every coalition)', () => {
    for (const x of rows) {
      const phi = new Float64Array(4);
      treeShap(tree, x, phi);
      const want = bruteShapley(tree, x, 4);
      for (let j = 0; j < 4; j++) expect(phi[j]).toBeCloseTo(want[j], 12);
      // A feature the tree never splits on gets nothing.
      expect(phi[3]).toBe(0);
    }
  });

  it('adds up to the prediction minus the expected value (local accuracy)', () => {
    // Expected value by hand: (−2·10 + 1·9 + 3·6 + 0.5·35 + 4·30 − 1·4 + 6·6) / 100 = 1.765.
    expect(treeExpectation(tree)).toBeCloseTo(1.765, 14);
    const { values, expected } = ensembleShap({ base: 0.25, scale: 0.5, trees: [tree, tree] }, rows.flat(), rows.length, 4);
    for (let r = 0; r < rows.length; r++) {
      const pred = 0.25 + condExpect(tree, rows[r], new Set([0, 1, 2, 3]));
      const sum = values.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0);
      expect(expected + sum).toBeCloseTo(pred, 12);
    }
  });

  const PY = '/usr/bin/python3';
  const hasXgb =
    existsSync(PY) &&
    (() => {
      try {
        execFileSync(PY, ['-c', 'import xgboost'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
  if (!hasXgb) console.warn('[skip] /usr/bin/python3 with xgboost not found: TreeSHAP is not compared with XGBoost’s pred_contribs');

  it.skipIf(!hasXgb)('matches XGBoost’s own TreeSHAP (pred_contribs) on a trained model', () => {
    // XGBoost trains 30 depth-4 trees; its trees (with cover) come back as JSON and its SHAP values
    // of 50 new rows from pred_contribs. Rows are float32 values, as XGBoost compares them.
    const script = `
import json, numpy as np, xgboost as xgb
rng = np.random.default_rng(7)
X = rng.normal(size=(400, 5)).astype(np.float32)
y = X[:, 0] * 2 - X[:, 1] * X[:, 2] + np.sin(X[:, 3]) + rng.normal(scale=0.1, size=400)
b = xgb.train({'max_depth': 4, 'eta': 0.3, 'tree_method': 'exact', 'base_score': 0.5, 'lambda': 1}, xgb.DMatrix(X, label=y), 30)
T = rng.normal(size=(50, 5)).astype(np.float32)
contribs = b.predict(xgb.DMatrix(T), pred_contribs=True)
print(json.dumps({'trees': [json.loads(t) for t in b.get_dump(dump_format='json', with_stats=True)], 'X': T.astype(float).tolist(), 'contribs': contribs.astype(float).tolist()}))
`;
    type XNode = { nodeid: number; split?: string; split_condition?: number; yes?: number; no?: number; cover: number; leaf?: number; children?: XNode[] };
    const out = JSON.parse(execFileSync(PY, ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 })) as {
      trees: XNode[];
      X: number[][];
      contribs: number[][];
    };
    const trees = out.trees.map((root): Tree => {
      const all: XNode[] = [];
      const walk = (n: XNode): void => {
        all[n.nodeid] = n;
        for (const c of n.children ?? []) walk(c);
      };
      walk(root);
      const m = all.length;
      // XGBoost sends x < condition to `yes`: the same side as x ≤ condition for rows that never equal one.
      return {
        feature: Int32Array.from(all, (n) => (n.split ? Number(n.split.slice(1)) : -1)),
        threshold: Float64Array.from(all, (n) => n.split_condition ?? 0),
        bin: new Int32Array(m),
        left: Int32Array.from(all, (n) => n.yes ?? -1),
        right: Int32Array.from(all, (n) => n.no ?? -1),
        value: Float64Array.from(all, (n) => n.leaf ?? 0),
        gain: new Float64Array(m),
        cover: Float64Array.from(all, (n) => n.cover),
      };
    });
    for (const x of out.X)
      for (const t of trees) for (let j = 0; j < t.feature.length; j++) if (t.feature[j] >= 0) expect(x[t.feature[j]]).not.toBe(t.threshold[j]);
    const { values, expected } = ensembleShap({ base: 0.5, scale: 1, trees }, out.X.flat(), out.X.length, 5);
    for (let r = 0; r < out.X.length; r++) {
      // XGBoost computes in float32: agreement to ~1e-5 of the values' size.
      for (let j = 0; j < 5; j++) expect(Math.abs(values[r * 5 + j] - out.contribs[r][j])).toBeLessThan(2e-5);
      expect(Math.abs(expected - out.contribs[r][5])).toBeLessThan(2e-5);
    }
  });
});
