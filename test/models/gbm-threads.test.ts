import { describe, expect, it } from 'vitest';
import { makeProblem } from '../../bench/models-data.js';
import { applyBins, binOf, fitBins } from '../../src/models/gbm/binning.js';
import { fitForest } from '../../src/models/gbm/forest.js';
import { binFold, fitGbm, type GbmParams } from '../../src/models/gbm/gbm.js';
import { HistEngine, PHASE_HIST, TASK_W } from '../../src/models/gbm/threads.js';
import { gbm, gbmParamsOf } from '../../src/models/kinds.js';

const BASE: GbmParams = { ...gbmParamsOf(gbm.defaults), earlyStoppingRounds: 0 };

describe('histogram subtraction', () => {
  // 6 rows, 2 features. bins f0 = [0, 0, 1, 1, 2, 2], f1 = [1, 0, 1, 0, 1, 0];
  // g = 1..6, h = [1, .5, 1, .5, 1, .5]. Child "small" = rows 0, 1; "large" = rows 2..5.
  // Large by hand: f0 bin 0 empty, bin 1 (rows 2, 3) Σg 7 Σh 1.5, bin 2 (rows 4, 5) 11 / 1.5;
  //                f1 bin 0 (rows 3, 5) 10 / 1, bin 1 (rows 2, 4) 8 / 2.
  const bins = Uint8Array.from([0, 1, 0, 0, 1, 1, 1, 0, 2, 1, 2, 0]);
  const nBins = Int32Array.from([3, 2]);
  const hand = (h: Float64Array, f: number, b: number): [number, number] => [h[(f * 256 + b) * 2], h[(f * 256 + b) * 2 + 1]];

  function task(ws: HistEngine, begin: number, end: number, slot: number, parent: number): void {
    const tk = ws.S.tasks;
    tk.fill(0, 0, TASK_W);
    tk[0] = begin;
    tk[1] = end;
    tk[2] = slot;
    tk[3] = parent;
    tk[10] = -1;
    tk[11] = -1;
    ws.phase(PHASE_HIST, 1);
  }

  it('parent − smaller child equals the larger child built directly, and the hand-worked sums', () => {
    const ws = new HistEngine(bins, 2, 6, nBins, 1);
    try {
      ws.setFeatures(Int32Array.from([0, 1]));
      for (let r = 0; r < 6; r++) {
        ws.S.rows[r] = r;
        ws.S.gh[2 * r] = r + 1;
        ws.S.gh[2 * r + 1] = r % 2 === 0 ? 1 : 0.5;
      }
      const parent = ws.acquireSlot();
      const small = ws.acquireSlot();
      const direct = ws.acquireSlot();
      task(ws, 0, 6, parent, -1); // root: all rows
      task(ws, 0, 2, small, parent); // small child built, parent's slot becomes the large child
      task(ws, 2, 6, direct, -1); // large child from its rows
      const HL = 2 * 256 * 2;
      const slot = (s: number): Float64Array => ws.S.hist[s >> 3].subarray((s & 7) * HL, ((s & 7) + 1) * HL);
      const large = slot(parent);
      const built = slot(direct);
      for (const [f, nb] of [
        [0, 3],
        [1, 2],
      ])
        for (let b = 0; b <= nb; b++) expect(hand(large, f, b)).toEqual(hand(built, f, b));
      expect(hand(large, 0, 0)).toEqual([0, 0]);
      expect(hand(large, 0, 1)).toEqual([7, 1.5]);
      expect(hand(large, 0, 2)).toEqual([11, 1.5]);
      expect(hand(large, 1, 0)).toEqual([10, 1]);
      expect(hand(large, 1, 1)).toEqual([8, 2]);
      expect(hand(slot(small), 1, 0)).toEqual([2, 0.5]);
      expect(hand(slot(small), 1, 1)).toEqual([1, 1]);
    } finally {
      ws.close();
    }
  });
});

describe('threads: any count gives bit-identical models', () => {
  // 12k × 6 = 72k binned values: above the size at which a fit uses more than one thread.
  const n = 12_000;
  const p = 6;
  const pb = makeProblem(n, p, 2000, 5);
  const X = new Float64Array((n + 2000) * p);
  X.set(pb.X);
  X.set(pb.Xv, n * p);
  const Y = new Float64Array(n + 2000);
  Y.set(pb.y);
  Y.set(pb.yv, n);
  const train = { start: 0, end: n };
  const val = { start: n, end: n + 2000 };
  const binned = binFold(X, p, train, 255);

  it('the engine really runs two threads here', () => {
    const ws = new HistEngine(binned.bins, p, n, binned.mapper.nBins, 2);
    expect(ws.threads).toBe(2);
    ws.close();
  });

  const variants: [string, Partial<GbmParams>][] = [
    ['depthwise', {}],
    ['lossguide, 15 leaves', { growth: 'lossguide', maxLeaves: 15, maxDepth: 0 }],
    ['row and column subsampling', { subsample: 0.7, colsample: 0.5 }],
    ['logistic loss', { loss: 'logistic' }],
  ];
  for (const [name, extra] of variants) {
    it(`gbm, ${name}: 1, 2 and 3 threads`, () => {
      const prm: GbmParams = { ...BASE, nEstimators: 25, maxDepth: 5, learningRate: 0.2, ...extra };
      const one = fitGbm(X, p, Y, 1, 0, train, val, binned, { ...prm, threads: 1 }, 3);
      const two = fitGbm(X, p, Y, 1, 0, train, val, binned, { ...prm, threads: 2 }, 3);
      const three = fitGbm(X, p, Y, 1, 0, train, val, binned, { ...prm, threads: 3 }, 3);
      expect(one.trees.length).toBe(25);
      expect(two.trees).toEqual(one.trees);
      expect(two.valLoss).toEqual(one.valLoss);
      expect(three.trees).toEqual(one.trees);
    });
  }

  it('random forest with per-node feature sampling: 1 and 2 threads', () => {
    const prm = { nEstimators: 6, maxDepth: 6, maxFeatures: 0.5, minChildWeight: 1 };
    const one = fitForest(p, Y, 1, 0, train, binned, { ...prm, threads: 1 }, 9);
    const two = fitForest(p, Y, 1, 0, train, binned, { ...prm, threads: 2 }, 9);
    expect(two.trees).toEqual(one.trees);
  });
});

describe('binning helpers', () => {
  it('applyBins gives binOf of every value, NaN and the cuts themselves included', () => {
    const X = Float64Array.from({ length: 3000 }, (_, i) => Math.sin(i) * 10);
    const m = fitBins(X, 1, 0, 3000, 40);
    const probe = Float64Array.from([...m.cuts[0], ...X.slice(0, 200), NaN, Infinity, -Infinity, -0]);
    const out = applyBins(m, probe, 1, 0, probe.length);
    expect(Array.from(out)).toEqual(Array.from(probe, (x) => binOf(m.cuts[0], x)));
  });
});
