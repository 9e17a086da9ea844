import type { Dataset, Fold, RowRange, Scaler } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { defineStep, paramsOf, type ParamIssue } from '../define.js';
import type { SplitParams } from './params.js';

export type { SplitParams } from './params.js';

/** `19950` → `19,950`, independent of the machine's locale. */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The three segments of a temporal split, before any check that they are non-empty. */
export interface TemporalRanges {
  train: RowRange;
  val: RowRange;
  test: RowRange;
}

/**
 * Temporal split of n rows with ratios [train, val, test]: nTrain = ⌊n·r0⌋, nVal = ⌊n·r1⌋, test gets
 * the rest. (A 1e-9 slack keeps e.g. 100 × 0.57 = 56.99999999999999 from losing a row to rounding.)
 *
 * Purging: the target of row t is a forward return over up to `maxHorizon` bars, so its label window
 * (t, t + h] reaches into the next segment for the last `maxHorizon` rows of a segment. Training on
 * those rows would fit on prices the validation rows are judged on (leakage), so they are dropped:
 * train = [0, nTrain − maxHorizon), val = [nTrain, nTrain + nVal − maxHorizon), test =
 * [nTrain + nVal, n). The test segment is last, so nothing follows it to leak into.
 */
export function temporalRanges(n: number, ratios: readonly number[], maxHorizon: number): TemporalRanges {
  const nTrain = Math.floor(n * ratios[0] + 1e-9);
  const nVal = Math.floor(n * ratios[1] + 1e-9);
  return {
    train: { start: 0, end: Math.max(0, nTrain - maxHorizon) },
    val: { start: nTrain, end: Math.max(nTrain, nTrain + nVal - maxHorizon) },
    test: { start: Math.min(n, nTrain + nVal), end: n },
  };
}

/**
 * Fits a scaler on rows [range.start, range.end) of a row-major n × p matrix. `zscore` follows
 * scikit-learn's StandardScaler: centre = mean, scale = population std (ddof = 0), and a zero std
 * gets scale 1 so a constant feature becomes 0 instead of NaN.
 */
export function fitScaler(X: Float64Array, p: number, range: RowRange, method: 'zscore' | 'none'): Scaler {
  const center = new Array<number>(p).fill(0);
  const scale = new Array<number>(p).fill(1);
  if (method === 'none') return { method, center, scale };
  const m = range.end - range.start;
  for (let j = 0; j < p; j++) {
    let s = 0;
    for (let r = range.start; r < range.end; r++) s += X[r * p + j];
    const mean = s / m;
    let ss = 0;
    for (let r = range.start; r < range.end; r++) {
      const d = X[r * p + j] - mean;
      ss += d * d;
    }
    const sd = Math.sqrt(ss / m);
    center[j] = mean;
    scale[j] = sd > 0 ? sd : 1;
  }
  return { method, center, scale };
}

/** Applies a scaler in place to every row of a row-major n × p matrix. */
export function applyScaler(X: Float64Array, p: number, scaler: Scaler): void {
  if (scaler.method === 'none') return;
  const n = X.length / p;
  for (let r = 0; r < n; r++) {
    const o = r * p;
    for (let j = 0; j < p; j++) X[o + j] = (X[o + j] - scaler.center[j]) / scaler.scale[j];
  }
}

function ratioIssues(ratios: number[]): ParamIssue[] {
  const issues: ParamIssue[] = [];
  ratios.forEach((r, i) => {
    if (!(r > 0)) {
      issues.push({ path: ['ratios', i], message: `ratio ${r} must be above 0: every segment needs rows`, hint: 'e.g. ratios: [0.6, 0.2, 0.2]' });
    }
  });
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    issues.push({
      path: ['ratios'],
      message: `ratios sum to ${sum}, not 1`,
      hint: 'train, val and test shares must add up to 1, e.g. [0.6, 0.2, 0.2]',
    });
  }
  return issues;
}

export default defineStep({
  kind: 'split',
  version: 1,
  description: 'Split feature rows in time order into train/val/test (purged by the target horizon) and z-score them on the training rows.',
  inputs: { features: 'Features' },
  output: 'Dataset',
  params: paramsOf<SplitParams>(),

  check(params: SplitParams): ParamIssue[] {
    return ratioIssues(params.ratios);
  },

  async run({ features }, params: SplitParams, ctx): Promise<Dataset> {
    const n = features.index.length;
    const names = features.featureNames;
    const targets = features.targetNames;
    const p = names.length;
    const k = targets.length;
    if (p === 0) throw new RunError('the features have no feature columns', { hint: 'add indicators or return lags to the features step' });
    if (k === 0) throw new RunError('the features have no target columns', { hint: 'set `target.forward_return.horizons` in the features step' });
    const issues = ratioIssues(params.ratios);
    if (issues.length) throw new RunError(issues[0].message, { hint: issues[0].hint });
    for (const name of [...names, ...targets]) {
      const c = features.columns[name];
      if (!c) throw new RunError(`the features have no \`${name}\` column`, { hint: 'the features artifact is inconsistent; rerun the features step' });
      if (c.length !== n) throw new RunError(`features column \`${name}\` has ${c.length} values for ${n} rows`);
    }

    const maxHorizon = features.targetHorizons.length ? Math.max(...features.targetHorizons) : 0;
    const ranges = temporalRanges(n, params.ratios, maxHorizon);
    const sizes = (['train', 'val', 'test'] as const).map((s) => ranges[s].end - ranges[s].start);
    if (sizes.some((s) => s <= 0)) {
      throw new RunError(
        `too few rows to split: ${n} rows with ratios [${params.ratios.join(', ')}] and a purge of ${maxHorizon} ` +
          `give train ${sizes[0]}, val ${sizes[1]}, test ${sizes[2]} rows`,
        { hint: 'use more bars in fetch, shorter horizons, or larger val/test ratios' },
      );
    }

    // Row-major copies: models read a row at a time.
    const X = new Float64Array(n * p);
    for (let j = 0; j < p; j++) {
      const c = features.columns[names[j]];
      for (let r = 0; r < n; r++) X[r * p + j] = c[r];
    }
    const Y = new Float64Array(n * k);
    for (let t = 0; t < k; t++) {
      const c = features.columns[targets[t]];
      for (let r = 0; r < n; r++) Y[r * k + t] = c[r];
    }

    const scaler = fitScaler(X, p, ranges.train, params.scale);
    applyScaler(X, p, scaler);
    const fold: Fold = { ...ranges, scaler };
    ctx.log(`purged ${maxHorizon} row${maxHorizon === 1 ? '' : 's'} at the end of train and of val (target horizon up to ${maxHorizon})`);

    return {
      type: 'Dataset',
      symbol: features.symbol,
      timeframe: features.timeframe,
      index: features.index.slice(),
      featureNames: [...names],
      targetNames: [...targets],
      targetHorizons: [...features.targetHorizons],
      X,
      Y,
      method: params.method,
      folds: [fold],
    };
  },

  metrics(out: Dataset) {
    const f = out.folds[0];
    return {
      rows: out.index.length,
      train_rows: f.train.end - f.train.start,
      val_rows: f.val.end - f.val.start,
      test_rows: f.test.end - f.test.start,
    };
  },

  summary(out: Dataset) {
    const sum = (s: 'train' | 'val' | 'test'): number => out.folds.reduce((a, f) => a + f[s].end - f[s].start, 0);
    const folds = out.folds.length > 1 ? ` (${out.folds.length} folds)` : '';
    return `train ${thousands(sum('train'))} / val ${thousands(sum('val'))} / test ${thousands(sum('test'))} rows${folds}`;
  },
});
