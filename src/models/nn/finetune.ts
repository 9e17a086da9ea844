import type { RowRange } from '../../core/artifacts.js';
import { selectBackend, type Device, type Tf } from '../../backend/index.js';
import type { ParamValue } from '../kind.js';
import type { FinetuneOnlineSpec, FinetuneResume, OnlineFold, OnlineWalk } from '../online/walk.js';
import { RowWindow } from '../online/row-window.js';
import type { WeightValue } from './nets.js';
import { forecastRows, trainOptions, type NnState } from './kinds.js';
import { fromWeights, trainNet } from './train.js';
import { buildWindows } from './windows.js';

/**
 * `online: { method: finetune }` for the neural forecasters (docs/online.md): the walk forward of
 * src/models/online/walk.ts with one learner, the fitted network. Rows become known as there (row r
 * once r + delay ≤ t); every `every` known rows the network trains on for `steps` optimizer steps
 * (the kind's loop, `trainNet`: its optimizer, clipping, batch size) on the windows ending in the last
 * `window` known rows, at `learning_rate` (the kind's if absent) held constant. Update u draws its
 * batches from a seed of (fold seed, u), so the walk is deterministic given the pipeline's seed.
 *
 * Between updates the weights do not change, so the rows each weight version scores are predicted
 * in one batch, as the static model predicts a segment (windows inside the segment): before the
 * first update the predictions are the static model's.
 */
export async function finetuneWalk(
  spec: FinetuneOnlineSpec,
  d: OnlineFold,
  prm: Record<string, ParamValue>,
  batch: NnState,
  segments: readonly RowRange[],
  delay: number,
  seed: number,
  absorbThrough?: number,
  signal?: AbortSignal,
): Promise<OnlineWalk> {
  if (!(Number.isInteger(delay) && delay >= 1)) throw new RangeError(`delay must be an integer ≥ 1, got ${delay}`);
  const tf = (await selectBackend(prm.device as Device)).tf;
  // Update u follows the absorption of this row (rows are counted from the training rows' end, as gbm appends count them).
  const updateRow = (u: number): number => d.train.end + u * spec.every - 1;
  let weights = batch.weights;
  let u = 0;

  const update = async (): Promise<void> => {
    u++;
    weights = await finetuneUpdate(tf, spec, prm, batch, weights, d, d.train.start, updateRow(u) + 1, seed, u, signal);
  };

  let prevEnd = d.train.end;
  const predictions: Float64Array[][] = [];
  for (const seg of segments) {
    if (seg.start < prevEnd) throw new RangeError(`segment ${seg.start}..${seg.end} starts before row ${prevEnd} (the rows walked so far)`);
    const m = Math.max(0, seg.end - seg.start);
    const out = Array.from({ length: d.k }, () => new Float64Array(m));
    const X = d.X.subarray(seg.start * d.p, (seg.start + m) * d.p);
    const index = d.index?.subarray(seg.start, seg.start + m);
    for (let from = seg.start; from < seg.start + m; ) {
      while (updateRow(u + 1) + delay <= from) await update();
      const to = Math.min(seg.start + m, updateRow(u + 1) + delay);
      const point = forecastRows({ ...batch, weights }, X, to - seg.start, d.p, index, from - seg.start).point;
      for (let t = 0; t < d.k; t++) out[t].set(point[t].subarray(from - seg.start, to - seg.start), from - seg.start);
      from = to;
    }
    predictions.push(out);
    prevEnd = Math.max(prevEnd, seg.start + m);
  }
  if (absorbThrough === undefined) return { predictions };
  if (!(Number.isInteger(absorbThrough) && absorbThrough >= prevEnd && absorbThrough <= d.n))
    throw new RangeError(`absorbThrough must be an integer row count in ${prevEnd}..${d.n}, got ${absorbThrough}`);
  while (updateRow(u + 1) < absorbThrough) await update();
  const final: NnState = { ...batch, weights };
  // The rows a later update's windows can reach: the last `window` known rows and the lookback − 1 before them.
  const lo = Math.max(d.train.start, absorbThrough - spec.window - batch.spec.lookback + 1);
  const resume: FinetuneResume = {
    method: 'finetune',
    spec: { ...spec },
    seed,
    updates: u,
    pending: absorbThrough - 1 - updateRow(u),
    p: d.p,
    k: d.k,
    rows: absorbThrough - lo,
    X: d.X.slice(lo * d.p, absorbThrough * d.p),
    Y: d.Y.slice(lo * d.k, absorbThrough * d.k),
    ...(d.index ? { index: d.index.slice(lo, absorbThrough) } : {}),
  };
  return { predictions, final, resume };
}

/** Rows of X (n × p) and Y (n × k), row-major, with their timestamps (windows do not cross a gap). */
interface FinetuneRows {
  X: Float64Array;
  p: number;
  Y: Float64Array;
  k: number;
  index?: Float64Array;
}

/**
 * Update u (from 1) of a fine-tuning walk: `steps` optimizer steps of the kind's loop from `weights`
 * on the windows ending in the last `window` of the `known` first rows (none starting before row
 * `floor`), its batches drawn from a seed of (seed, u). The new weights (the old ones without windows).
 */
async function finetuneUpdate(
  tf: Tf,
  spec: FinetuneOnlineSpec,
  prm: Record<string, ParamValue>,
  batch: NnState,
  weights: WeightValue[],
  d: FinetuneRows,
  floor: number,
  known: number,
  seed: number,
  u: number,
  signal?: AbortSignal,
): Promise<WeightValue[]> {
  if (spec.steps === 0) return weights;
  const L = batch.spec.lookback;
  // Windows ending in the last `window` known rows; their earlier bars may reach further back (known features).
  const ends = buildWindows(d.index, { start: Math.max(floor, known - spec.window - L + 1), end: known }, L, batch.maxGapMs).filter(
    (r) => r >= known - spec.window,
  );
  if (ends.length === 0) return weights;
  const o = trainOptions(prm, (seed + Math.imul(u, 0x2545f491)) >>> 0, undefined);
  const res = await trainNet(
    tf,
    fromWeights(batch.spec, weights),
    { X: d.X, p: d.p, Y: d.Y, k: d.k, trainEnds: ends, valEnds: new Int32Array(0), yMean: Float64Array.from(batch.yMean), yStd: Float64Array.from(batch.yStd) },
    { ...o, learningRate: spec.learning_rate ?? o.learningRate, schedule: 'constant', patience: 0, epochs: spec.steps, maxSteps: spec.steps },
    { signal },
  );
  return res.weights;
}

/** A stored fine-tuning walk resumed: absorb rows as their targets become known, score rows with the current weights. */
export interface ResumedFinetune {
  /** Absorbs one row (p features from x[offset], k targets from y[yOffset], its timestamp); fine-tunes when the cadence says. */
  update(x: ArrayLike<number>, y: ArrayLike<number>, offset: number, yOffset: number, ts: number): Promise<void>;
  /** Point forecasts of rows [from, m) of X (m × p; earlier rows feed windows), with the current weights. */
  predict(X: ArrayLike<number>, m: number, index: ArrayLike<number> | undefined, from: number): Float64Array[];
  /** Updates made after the data's end so far. */
  readonly updates: number;
  /** Rows still to absorb until the next update (it follows the last of them). */
  readonly untilUpdate: number;
}

/**
 * A working copy of a stored fine-tuning walk (`final`: Model.online.state; `prm`: the kind's
 * params, as Model.params holds them): each update fits on the kept rows as the walk's on the same
 * rows of the longer series (windows are row offsets within the rows given).
 */
export async function resumeFinetune(r: FinetuneResume, final: NnState, prm: Record<string, ParamValue>, signal?: AbortSignal): Promise<ResumedFinetune> {
  const tf = (await selectBackend(prm.device as Device)).tf;
  const { spec, p, k } = r;
  const kept = new RowWindow(Math.max(1, spec.window + final.spec.lookback - 1), p, k, r);
  let pending = r.pending;
  let u = r.updates;
  let weights = final.weights;
  return {
    get updates() {
      return u - r.updates;
    },
    get untilUpdate() {
      return spec.every - pending;
    },
    predict: (Xs, m, idx, from) => forecastRows({ ...final, weights }, Xs, m, p, idx, from).point,
    update: async (x, y, offset, yOffset, ts) => {
      kept.push(x, offset, y, yOffset, ts);
      if (++pending < spec.every) return;
      pending = 0;
      u++;
      weights = await finetuneUpdate(tf, spec, prm, final, weights, { X: kept.X, p, Y: kept.Y, k, index: kept.index }, 0, kept.rows, r.seed, u, signal);
    },
  };
}
