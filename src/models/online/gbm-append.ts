import type { RowRange } from '../../core/artifacts.js';
import { binFold, fitGbm, gbmRaw, type GbmParams, type GbmState } from '../gbm/gbm.js';
import { predictRaw } from '../gbm/tree.js';

/**
 * Online gradient boosting: append trees fitted on the residuals of the current ensemble over new
 * rows (docs/online.md). The ensemble's raw score on each new row is the starting margin of an
 * ordinary `fitGbm` on those rows (binned with their own cuts: a tree's thresholds are values, so
 * old and new trees mix freely), so the new trees continue the boosting sequence where it stopped.
 *
 * A cap bounds the ensemble. Without pruning, appending stops at the cap. With pruning, the oldest
 * trees go first, before the new ones are fitted: their mean output over the new rows is folded into
 * the base score (the level stays where the ensemble had it on those rows), and the new trees then
 * fit the residuals of the pruned ensemble, so on rows like the new ones what the pruned trees did is
 * relearned. Elsewhere it is not: pruning biases predictions on inputs unlike the new rows by the
 * pruned trees' output there minus their mean on the new rows, and the kept old trees, fitted on top
 * of the pruned ones, may over- or under-correct without them.
 */

export interface GbmAppendOptions {
  /** Most trees the ensemble may hold after the append (≥ 1). */
  maxTrees: number;
  /** At the cap, drop the oldest trees to make room (true) or append only up to the cap (false). */
  prune: boolean;
}

export interface GbmAppendResult {
  /** A new state (the input is not modified). */
  state: GbmState;
  added: number;
  pruned: number;
}

/**
 * Appends up to `params.nEstimators` trees to `state` (one target: column t of row-major Y, n × k),
 * fitted on rows `rows` of X (n × p) with `params` (its loss is the state's), early-stopping on
 * `val` when given and `params.earlyStoppingRounds` > 0. Deterministic given the seed.
 */
export function gbmAppend(
  state: GbmState,
  X: Float64Array,
  p: number,
  Y: Float64Array,
  k: number,
  t: number,
  rows: RowRange,
  params: GbmParams,
  seed: number,
  opts: GbmAppendOptions,
  val: RowRange = { start: rows.end, end: rows.end },
  signal?: AbortSignal,
): GbmAppendResult {
  if (!(Number.isInteger(opts.maxTrees) && opts.maxTrees >= 1)) throw new RangeError(`max_trees must be an integer ≥ 1, got ${opts.maxTrees}`);
  const m = rows.end - rows.start;
  if (!(m > 0)) throw new RangeError(`no rows to append on (rows ${rows.start}..${rows.end})`);
  let trees = state.trees.slice();
  let baseScore = state.baseScore;
  let want = Math.max(0, params.nEstimators);
  let pruned = 0;
  if (opts.prune) {
    want = Math.min(want, opts.maxTrees);
    pruned = Math.max(0, trees.length + want - opts.maxTrees);
    if (pruned > 0) {
      const gone = trees.slice(0, pruned);
      trees = trees.slice(pruned);
      let mean = 0;
      for (let r = rows.start; r < rows.end; r++) for (const tr of gone) mean += predictRaw(tr, X, p, r);
      baseScore += mean / m;
    }
  } else {
    want = Math.min(want, Math.max(0, opts.maxTrees - trees.length));
  }
  const current = { baseScore, trees };
  if (want === 0) return { state: { ...state, baseScore, trees }, added: 0, pruned };
  const margin = {
    train: Float64Array.from({ length: m }, (_, i) => gbmRaw(current, X, p, rows.start + i)),
    val: Float64Array.from({ length: Math.max(0, val.end - val.start) }, (_, i) => gbmRaw(current, X, p, val.start + i)),
  };
  const binned = binFold(X, p, rows, params.maxBins);
  const fresh = fitGbm(X, p, Y, k, t, rows, val, binned, { ...params, nEstimators: want, loss: state.loss }, seed, signal, margin);
  return {
    state: { loss: state.loss, baseScore, trees: [...trees, ...fresh.trees], rounds: state.rounds + fresh.rounds, valLoss: fresh.valLoss },
    added: fresh.trees.length,
    pruned,
  };
}
