import type { Dataset } from '../../src/core/artifacts.js';
import { arGarch } from '../../src/data/synthetic.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 2, 7);

/**
 * Rows t = 0…n−2 of an AR(1)–GARCH(1,1) series: features r[t] and σ[t+1] (the GARCH filter's
 * one-step sd, a function of the returns up to t given the parameters), target r[t+1]. The true
 * conditional distribution of each target is N(mean[t+1], sd[t+1]²). One temporal fold: the first
 * `split.train` of the rows, then `split.val`, the rest tested (from row `testStart`).
 */
export function garchDataset(n: number, seed: number, split: { train: number; val: number }) {
  const s = arGarch(n, { c: 0, phi: 0.3, omega: 0.05, alpha: 0.1, beta: 0.85 }, seed);
  const rows = n - 1;
  const X = new Float64Array(rows * 2);
  const Y = new Float64Array(rows);
  for (let t = 0; t < rows; t++) {
    X[2 * t] = s.r[t];
    X[2 * t + 1] = s.sd[t + 1];
    Y[t] = s.r[t + 1];
  }
  const tr = Math.floor(rows * split.train);
  const va = Math.floor(rows * (split.train + split.val));
  const ds: Dataset = {
    type: 'Dataset',
    symbol: 'SYN',
    timeframe: '1h',
    index: Float64Array.from({ length: rows }, (_, i) => T0 + i * H),
    featureNames: ['r', 'sigma_next'],
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    folds: [
      { train: { start: 0, end: tr }, val: { start: tr, end: va }, test: { start: va, end: rows }, scaler: { method: 'none', center: [0, 0], scale: [1, 1] } },
    ],
  };
  return { ds, series: s, testStart: va };
}
