import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProblem, writeProblem } from '../../bench/models-data.js';
import { binOf, fitBins } from '../../src/models/gbm/binning.js';
import { fitForest, forestPredict } from '../../src/models/gbm/forest.js';
import { binFold, fitGbm, gainImportance, gbmPredict, type GbmParams } from '../../src/models/gbm/gbm.js';
import { gbm, gbmParamsOf } from '../../src/models/kinds.js';
import { rmse } from '../../src/models/metrics.js';

/** One stump at full learning rate, otherwise the gbm kind's defaults, no early stopping. */
const BASE: GbmParams = { ...gbmParamsOf(gbm.defaults), nEstimators: 1, learningRate: 1, maxDepth: 1, earlyStoppingRounds: 0 };

const NONE = { start: 0, end: 0 };

describe('binning', () => {
  it('few distinct values: cuts at the midpoints; x ≤ cut ⇔ bin ≤ cut index; NaN has its own last bin', () => {
    const X = Float64Array.from([3, 1, 2, 4, 2]);
    const m = fitBins(X, 1, 0, 5, 255);
    expect(Array.from(m.cuts[0])).toEqual([1.5, 2.5, 3.5]);
    expect(m.nBins[0]).toBe(4);
    expect([1, 1.5, 1.6, 2.5, 3, 4, 99].map((x) => binOf(m.cuts[0], x))).toEqual([0, 0, 1, 1, 2, 3, 3]);
    expect(binOf(m.cuts[0], NaN)).toBe(4);
  });

  it('many distinct values: at most maxBins equal-frequency bins', () => {
    const X = Float64Array.from({ length: 1000 }, (_, i) => i);
    const m = fitBins(X, 1, 0, 1000, 10);
    // Cuts are the values at ranks floor(i·1000/10) = 100, 200, …, 900: bins of 101, then 100 rows.
    expect(Array.from(m.cuts[0])).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(m.nBins[0]).toBe(10);
  });
});

describe('gbm trees on tiny data (hand-worked splits)', () => {
  // x1 = 0..5, x2 = [1, 0, 1, 0, 1, 0] (noise), y = [0, 0, 0, 10, 10, 10].
  // Base score = mean(y) = 5; squared error: g = ŷ − y = [5, 5, 5, −5, −5, −5], h = 1; G = 0, H = 6.
  // gain(split) = ½·[G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)], λ = 1:
  //   x1 ≤ 2.5: G_L = 15, H_L = 3 → ½·(225/4 + 225/4) = 56.25   ← best
  //   x1 ≤ 1.5: G_L = 10, H_L = 2 → ½·(100/3 + 100/5) = 26.67
  //   x2 ≤ 0.5: rows 1, 3, 5: G_L = 5 − 5 − 5 = −5, H_L = 3 → ½·(25/4 + 25/4) = 6.25
  // Leaves: −G/(H + λ) = −15/4 = −3.75 (left), +3.75 (right) → predictions 1.25 and 8.75.
  const X = Float64Array.from([0, 1, 1, 0, 2, 1, 3, 0, 4, 1, 5, 0]);
  const Y = Float64Array.from([0, 0, 0, 10, 10, 10]);
  const train = { start: 0, end: 6 };

  it('a stump: split x1 ≤ 2.5 with gain 56.25, leaves ∓3.75 around the base 5', () => {
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Y, 1, 0, train, NONE, binned, BASE, 1);
    expect(s.baseScore).toBe(5);
    const t = s.trees[0];
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBe(2.5);
    expect(t.gain[0]).toBeCloseTo(56.25, 12);
    expect(t.value[t.left[0]]).toBeCloseTo(-3.75, 12);
    expect(t.value[t.right[0]]).toBeCloseTo(3.75, 12);
    expect(Array.from(gbmPredict(s, X, 6, 2))).toEqual([1.25, 1.25, 1.25, 8.75, 8.75, 8.75]);
    expect(Array.from(gainImportance(s.trees, 2))).toEqual([56.25, 0]);
  });

  it('learning rate shrinks leaves; a second round fits the residual', () => {
    // lr = 0.5: leaf ∓1.875 → ŷ = 3.125 / 6.875. Round 2: g = [3.125 ×3, −3.125 ×3], same split,
    // G_L = 9.375, H_L = 3 → leaf −9.375/4 · 0.5 = −1.171875 → ŷ = 1.953125 / 8.046875.
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Y, 1, 0, train, NONE, binned, { ...BASE, nEstimators: 2, learningRate: 0.5 }, 1);
    const pred = gbmPredict(s, X, 6, 2);
    expect(pred[0]).toBeCloseTo(1.953125, 12);
    expect(pred[5]).toBeCloseTo(8.046875, 12);
  });

  it('min_child_weight 4 forbids both 3/3 splits: no split, the tree is a leaf at 0', () => {
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Y, 1, 0, train, NONE, binned, { ...BASE, minChildWeight: 4 }, 1);
    expect(s.trees[0].feature[0]).toBe(-1);
    expect(s.trees[0].value[0]).toBe(0); // G = 0
  });

  it('depth 2 on y = [0, 0, 0, 10, 10, 20]: root x1 ≤ 2.5, then the right child splits x1 ≤ 4.5', () => {
    // Base 40/6 = 20/3; g = [20/3 ×3, −10/3, −10/3, −40/3], G = 0, H = 6. Root candidates (λ = 1):
    //   x1 ≤ 2.5: G_L = 20, H_L = 3 → ½·(400/4 + 400/4) = 100          ← best
    //   x1 ≤ 3.5: G_L = 50/3, H_L = 4 → ½·((50/3)²/5 + (50/3)²/3) = 74.07
    //   x1 ≤ 4.5: G_L = 40/3, H_L = 5 → ½·((40/3)²/6 + (40/3)²/2) = 59.26
    // Right child (rows 3, 4, 5): G = −20, H = 3, G²/(H + λ) = 100.
    //   x1 ≤ 4.5: G_L = −20/3, H_L = 2; G_R = −40/3, H_R = 1 → ½·(400/27 + 800/9 − 100) = 1.85 ← best
    //   x1 ≤ 3.5: G_L = −10/3, H_L = 1; G_R = −50/3, H_R = 2 → ½·(100/18 + 2500/27 − 100) < 0
    // Left child: equal gradients, every split has negative gain → stays a leaf.
    const Y2 = Float64Array.from([0, 0, 0, 10, 10, 20]);
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Y2, 1, 0, train, NONE, binned, { ...BASE, maxDepth: 2 }, 1);
    const t = s.trees[0];
    expect(t.threshold[0]).toBe(2.5);
    expect(t.gain[0]).toBeCloseTo(100, 10);
    expect(t.feature[t.left[0]]).toBe(-1);
    const r = t.right[0];
    expect(t.feature[r]).toBe(0);
    expect(t.threshold[r]).toBe(4.5);
    expect(t.gain[r]).toBeCloseTo(0.5 * (400 / 27 + 800 / 9 - 100), 10);
    // Leaves of the right child: −G/(H + λ) = (20/3)/3 and (40/3)/2 above the base.
    const pred = gbmPredict(s, X, 6, 2);
    expect(pred[3]).toBeCloseTo(20 / 3 + 20 / 9, 10);
    expect(pred[5]).toBeCloseTo(20 / 3 + 20 / 3, 10);
  });

  it('lossguide with max_leaves 3 splits the root, then only the child with the larger gain', () => {
    const Y2 = Float64Array.from([0, 0, 0, 10, 10, 20]);
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Y2, 1, 0, train, NONE, binned, { ...BASE, maxDepth: 0, maxLeaves: 3, growth: 'lossguide' }, 1);
    const t = s.trees[0];
    expect(Array.from(t.feature).filter((f) => f < 0).length).toBe(3);
    // As worked in the depth-2 case: the left child has no split of positive gain, the right one does.
    expect(t.feature[t.left[0]]).toBe(-1);
    expect(t.feature[t.right[0]]).toBe(0);
  });

  it('logistic loss: base score is the log-odds of the positive rate, predictions are 2·P(up) − 1', () => {
    const Yc = Float64Array.from([-1, -1, -1, 1, 1, 1]);
    const binned = binFold(X, 2, train, 255);
    const s = fitGbm(X, 2, Yc, 1, 0, train, NONE, binned, { ...BASE, loss: 'logistic', lambda: 0, minChildWeight: 0 }, 1);
    expect(s.baseScore).toBeCloseTo(0, 12); // rate 1/2
    // g = σ(0) − y = ±0.5, h = 0.25 (children's H = 0.75, hence min_child_weight 0); left leaf −G/H = −1.5/0.75 = −2 → 2σ(−2) − 1.
    const pred = gbmPredict(s, X, 6, 2);
    expect(pred[0]).toBeCloseTo(2 / (1 + Math.exp(2)) - 1, 12);
    expect(pred[5]).toBeCloseTo(2 / (1 + Math.exp(-2)) - 1, 12);
  });
});

describe('gbm training behaviour', () => {
  const pb = makeProblem(2000, 6, 1000, 21);
  const X = new Float64Array(3000 * 6);
  X.set(pb.X);
  X.set(pb.Xv, 2000 * 6);
  const Y = new Float64Array(3000);
  Y.set(pb.y);
  Y.set(pb.yv, 2000);
  const train = { start: 0, end: 2000 };
  const val = { start: 2000, end: 3000 };
  const binned = binFold(X, 6, train, 255);

  it('early stopping keeps the trees up to the best validation round', () => {
    const s = fitGbm(X, 6, Y, 1, 0, train, val, binned, { ...BASE, nEstimators: 500, maxDepth: 6, learningRate: 0.3, earlyStoppingRounds: 10 }, 1);
    const best = s.valLoss.indexOf(Math.min(...s.valLoss));
    expect(s.rounds).toBeLessThan(500);
    expect(s.rounds).toBe(best + 1 + 10);
    expect(s.trees.length).toBe(best + 1);
    // The kept ensemble scores the validation rows at the best loss.
    expect(rmse(gbmPredict(s, pb.Xv, 1000, 6), pb.yv)).toBeCloseTo(s.valLoss[best], 12);
  });

  it('row and column subsampling: same seed, same trees; another seed, other trees', () => {
    const prm = { ...BASE, nEstimators: 5, maxDepth: 3, subsample: 0.5, colsample: 0.5, learningRate: 0.1 };
    const a = fitGbm(X, 6, Y, 1, 0, train, NONE, binned, prm, 7);
    const b = fitGbm(X, 6, Y, 1, 0, train, NONE, binned, prm, 7);
    const c = fitGbm(X, 6, Y, 1, 0, train, NONE, binned, prm, 8);
    expect(a.trees).toEqual(b.trees);
    expect(a.trees).not.toEqual(c.trees);
  });

  it('a fold is binned once per X: the next fit reuses its bins, transposed bins and validation bins, with the same trees as from fresh bins', () => {
    const prm = { ...BASE, nEstimators: 8, maxDepth: 3, learningRate: 0.3, earlyStoppingRounds: 3 };
    const Xa = X.slice();
    const fold = binFold(Xa, 6, train, 255);
    expect(binFold(Xa, 6, train, 255)).toBe(fold);
    // Another range or bin count is another fold of the same X.
    expect(binFold(Xa, 6, { start: 0, end: 1500 }, 255)).not.toBe(fold);
    expect(binFold(Xa, 6, train, 64)).not.toBe(fold);
    const first = fitGbm(Xa, 6, Y, 1, 0, train, val, fold, prm, 3);
    const binsT = fold.binsT;
    const valBins = fold.ranges.get(`${val.start}:${val.end}`);
    expect(binsT).toBeDefined();
    expect(valBins).toBeDefined();
    const again = fitGbm(Xa, 6, Y, 1, 0, train, val, binFold(Xa, 6, train, 255), prm, 3);
    expect(fold.binsT).toBe(binsT);
    expect(fold.ranges.get(`${val.start}:${val.end}`)).toBe(valBins);
    // An equal copy of X is binned afresh (identity, not content, keys the cache): same bins, same trees.
    const Xb = X.slice();
    const fresh = binFold(Xb, 6, train, 255);
    expect(fresh).not.toBe(fold);
    expect(Buffer.from(fresh.bins).equals(Buffer.from(fold.bins))).toBe(true);
    const other = fitGbm(Xb, 6, Y, 1, 0, train, val, fresh, prm, 3);
    for (const s of [again, other]) {
      expect(s.trees).toEqual(first.trees);
      expect(Array.from(s.valLoss)).toEqual(Array.from(first.valLoss));
    }
    // The transposed bins are the row-major bins read column by column.
    for (const [r, f] of [
      [0, 0],
      [17, 5],
      [1999, 3],
    ])
      expect(binsT![f * 2000 + r]).toBe(fold.bins[r * 6 + f]);
  });
});

describe('random forest on the same tree code', () => {
  it('stumps on a step: the ends of the range are predicted exactly', () => {
    // y = 0 for x < 10, 10 for x ≥ 10. Every bootstrap stump splits between its largest y = 0 row
    // and its smallest y = 10 row, so its leaves are pure and x = 0 / x = 19 get exactly 0 / 10.
    const X = Float64Array.from({ length: 20 }, (_, i) => i);
    const Y = Float64Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 10));
    const binned = binFold(X, 1, { start: 0, end: 20 }, 255);
    const s = fitForest(1, Y, 1, 0, { start: 0, end: 20 }, binned, { nEstimators: 25, maxDepth: 1, maxFeatures: 1, minChildWeight: 1 }, 3);
    const pred = forestPredict(s, X, 20, 1);
    expect(pred[0]).toBe(0);
    expect(pred[19]).toBe(10);
    for (const t of s.trees) {
      for (let i = 0; i < t.feature.length; i++) if (t.feature[i] < 0) expect([0, 10]).toContain(t.value[i]);
    }
  });
});

// Accuracy against XGBoost on the benchmark's synthetic nonlinear problem, small: 3000 training
// rows × 8 features, 2000 validation rows, 100 trees, depth 4, learning rate 0.1, λ = 1.
// XGBoost 1.7.4 (Debian python3-xgboost, tree_method=hist, max_bin=256, base_score = mean y) gave
// these validation RMSEs (reproduce: write the problem with bench/models-data.ts writeProblem and
// run /usr/bin/python3 bench/models_peer.py SPEC). When that Python is present the test reruns it.
const RECORDED_XGB: Record<number, number> = { 11: 0.6156780911325643, 12: 0.6252638539084067 };
const PY = '/usr/bin/python3';

function liveXgb(seed: number, dir: string): number | undefined {
  if (!existsSync(PY)) return undefined;
  const pb = makeProblem(3000, 8, 2000, seed);
  const spec = writeProblem(pb, dir, { which: ['xgboost'], trees: 100, depth: 4, lr: 0.1, bins: 256, threads: 1 });
  try {
    const out = execFileSync(PY, [path.resolve('bench/models_peer.py'), spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return (JSON.parse(out) as { xgboost: { rmse: number } }).xgboost.rmse;
  } catch {
    return undefined;
  }
}

describe('accuracy on a synthetic nonlinear target vs XGBoost hist', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: validation RMSE no more than 1% above XGBoost's`, () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-gbm-acc-'));
      try {
        const peer = liveXgb(seed, dir) ?? RECORDED_XGB[seed];
        if (!existsSync(PY)) console.warn('[note] /usr/bin/python3 with xgboost not found: comparing with the recorded XGBoost RMSE');
        const pb = makeProblem(3000, 8, 2000, seed);
        const binned = binFold(pb.X, 8, { start: 0, end: 3000 }, 255);
        const s = fitGbm(pb.X, 8, pb.y, 1, 0, { start: 0, end: 3000 }, NONE, binned, { ...BASE, nEstimators: 100, maxDepth: 4, learningRate: 0.1 }, 1);
        const ours = rmse(gbmPredict(s, pb.Xv, 2000, 8), pb.yv);
        expect(ours).toBeLessThanOrEqual(peer * 1.01);
        // and it learned the signal: the noise floor is 0.5, predicting the mean gives ~1.4
        expect(ours).toBeLessThan(0.7);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
