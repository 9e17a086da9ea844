import type { RowRange } from '../core/artifacts.js';
import { sharpeRatio } from '../backtest/metrics.js';
import { directionalAccuracy, rmse, spearman } from '../models/metrics.js';

/**
 * The retraining policy's decisions as pure functions of row positions and numbers: which rows a
 * model retrained at row t fits on, how a forecast is scored over a window, and whether a challenger
 * replaces the champion. The loop (loop.ts) calls them; the tests work them by hand.
 */

export interface WindowSpec {
  window: 'expanding' | 'rolling';
  /** Rows of the training window before the validation rows (expanding: of the first one), purge included. */
  trainBars: number;
  /** Validation rows (early stopping, the challenger's held-out window); 0: none. */
  valBars: number;
  /** Longest target horizon in rows: a row's target is known `horizon` rows later. */
  horizon: number;
}

/**
 * The rows a model retrained before predicting row t fits on, with e = t − valBars: train
 * [0 or e − trainBars, e − horizon), val [e, t − horizon). Exactly the walk-forward split's fold
 * whose test rows start at t (src/evaluation/folds.ts walkForwardFolds: the same purge of `horizon`
 * rows before the val and the test rows), so every target a model sees ended before row t's bar closed.
 */
export function retrainWindow(t: number, w: WindowSpec): { train: RowRange; val: RowRange } {
  const e = t - w.valBars;
  const start = w.window === 'rolling' ? Math.max(0, e - w.trainBars) : 0;
  const train = { start, end: Math.max(start, e - w.horizon) };
  const val = w.valBars > 0 ? { start: e, end: Math.max(e, t - w.horizon) } : { start: e, end: e };
  return { train, val };
}

/** The first row a model can be retrained at: a full training window and validation window before it. */
export function firstRetrainRow(w: WindowSpec): number {
  return w.trainBars + w.valBars;
}

/** How a forecast is scored over a window: rank IC, directional accuracy, RMSE, or the annualised Sharpe of trading its sign. */
export type ScoreMetric = 'ic' | 'da' | 'rmse' | 'sharpe';

/** Whether a larger score is better (all but RMSE). */
export function higherIsBetter(m: ScoreMetric): boolean {
  return m !== 'rmse';
}

/**
 * A forecast's score over rows where both it and the actual are finite. `sharpe`: of the per-row
 * returns sign(prediction) · actual (no costs), annualised with `perYear` rows a year.
 */
export function scoreForecast(metric: ScoreMetric, pred: ArrayLike<number>, actual: ArrayLike<number>, perYear: number): number {
  const p: number[] = [];
  const a: number[] = [];
  for (let i = 0; i < pred.length; i++) {
    if (Number.isFinite(pred[i]) && Number.isFinite(actual[i])) {
      p.push(pred[i]);
      a.push(actual[i]);
    }
  }
  if (p.length < 2) return NaN;
  switch (metric) {
    case 'ic':
      return spearman(p, a);
    case 'da':
      return directionalAccuracy(p, a);
    case 'rmse':
      return rmse(p, a);
    case 'sharpe':
      return sharpeRatio(
        p.map((v, i) => Math.sign(v) * a[i]),
        perYear,
      );
  }
}

export interface ChallengerDecision {
  accept: boolean;
  /** How much better the challenger scored (champion − challenger for RMSE), in the metric's units. */
  gain: number;
}

/**
 * A challenger replaces the champion only if it beats it by more than `margin` on the same rows:
 * score − champion's score > margin (RMSE: champion's − challenger's > margin). A NaN score (too few
 * rows, a constant forecast) never wins; a challenger against a champion scoring NaN wins if its own
 * score is a number.
 */
export function decideChallenger(metric: ScoreMetric, champion: number, challenger: number, margin: number): ChallengerDecision {
  if (Number.isNaN(challenger)) return { accept: false, gain: NaN };
  if (Number.isNaN(champion)) return { accept: true, gain: NaN };
  const gain = higherIsBetter(metric) ? challenger - champion : champion - challenger;
  return { accept: gain > margin, gain };
}
