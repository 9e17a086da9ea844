/**
 * A dataset whose linear relation drifts over its rows, what an online learner is for (the online
 * tests: online-train, online-stored, online-finetune): p = 3 standard normal features (x₀ shifted by
 * `shift0`), hourly rows, targets with the given horizons (rows)
 *   y = 0.2 + (1 − slope·d)·x₀ − 0.5·x₁ + 2d·x₂ + 0.3·ε + 0.1·t,   d = row / n,
 * unscaled (scaler `none`).
 */
import type { Dataset, Fold } from '../../src/core/artifacts.js';
import { makeRng } from '../../src/data/rng.js';

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2022, 2, 7);
const p = 3;

export function driftingDataset(
  n: number,
  horizons: number[],
  folds: Omit<Fold, 'scaler'>[],
  opts: { seed: number; slope?: number; shift0?: number; method?: Dataset['method'] },
): Dataset {
  const rng = makeRng(opts.seed);
  const slope = opts.slope ?? 1;
  const shift0 = opts.shift0 ?? 0;
  const k = horizons.length;
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < p; j++) X[r * p + j] = rng.normal() + (j === 0 ? shift0 : 0);
    const drift = r / n;
    for (let t = 0; t < k; t++)
      Y[r * k + t] = 0.2 + (1 - slope * drift) * X[r * p] - 0.5 * X[r * p + 1] + 2 * drift * X[r * p + 2] + 0.3 * rng.normal() + 0.1 * t;
  }
  return {
    type: 'Dataset',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: Float64Array.from({ length: n }, (_, i) => T0 + i * HOUR),
    featureNames: ['a', 'b', 'c'],
    targetNames: horizons.map((h) => `fwd_ret_${h}`),
    targetHorizons: horizons,
    X,
    Y,
    method: opts.method ?? 'temporal',
    folds: folds.map((f) => ({ ...f, scaler: { method: 'none', center: [0, 0, 0], scale: [1, 1, 1] } })),
  };
}
