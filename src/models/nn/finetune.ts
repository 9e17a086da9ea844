import type { RowRange } from '../../core/artifacts.js';
import { selectBackend, type Device } from '../../backend/index.js';
import type { ParamValue } from '../kind.js';
import type { FinetuneOnlineSpec, OnlineFold, OnlineWalk } from '../online/walk.js';
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
  const L = batch.spec.lookback;
  const yMean = Float64Array.from(batch.yMean);
  const yStd = Float64Array.from(batch.yStd);
  // Update u follows the absorption of this row (rows are counted from the training rows' end, as gbm appends count them).
  const updateRow = (u: number): number => d.train.end + u * spec.every - 1;
  let weights = batch.weights;
  let u = 0;

  const update = async (): Promise<void> => {
    u++;
    if (spec.steps === 0) return;
    const known = updateRow(u) + 1;
    // Windows ending in the last `window` known rows; their earlier bars may reach further back (known features).
    const ends = buildWindows(d.index, { start: Math.max(d.train.start, known - spec.window - L + 1), end: known }, L, batch.maxGapMs).filter(
      (r) => r >= known - spec.window,
    );
    if (ends.length === 0) return;
    const o = trainOptions(prm, (seed + Math.imul(u, 0x2545f491)) >>> 0, undefined);
    const res = await trainNet(
      tf,
      fromWeights(batch.spec, weights),
      { X: d.X, p: d.p, Y: d.Y, k: d.k, trainEnds: ends, valEnds: new Int32Array(0), yMean, yStd },
      { ...o, learningRate: spec.learning_rate ?? o.learningRate, schedule: 'constant', patience: 0, epochs: spec.steps, maxSteps: spec.steps },
      { signal },
    );
    weights = res.weights;
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
  return { predictions, final };
}
