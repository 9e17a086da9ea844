import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset, Fold, Model } from '../../src/core/artifacts.js';
import type { Diagnostic } from '../../src/core/diagnostics.js';
import { compile } from '../../src/compiler/index.js';
import { NN_MODEL_KINDS, type NnState } from '../../src/models/nn/kinds.js';
import { scoringState } from '../../src/models/online/walk.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';
import train, { type TrainParams } from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';
import { driftingDataset, HOUR, T0 } from '../helpers/drift-data.js';

/**
 * `online: { method: finetune }` on the neural kinds (docs/online.md), through the train step on the
 * wasm backend: the walk's timing (static until the first update, nothing used before it is known),
 * determinism, and that fine-tuning follows a drifting relation.
 */

const p = 3;

/** n rows of p features, targets with the given horizons (rows); the linear relation drifts over the rows. One fold, unscaled. */
function dataset(n: number, horizons: number[], fold: Omit<Fold, 'scaler'>, seed = 4): Dataset {
  return driftingDataset(n, horizons, [fold], { seed, slope: 2 });
}

const N = 600;
const FOLD = { train: { start: 0, end: 240 }, val: { start: 242, end: 300 }, test: { start: 302, end: N } };
const HORIZONS = [1, 2]; // delay 2: a row's targets are absorbed two rows after it
const MLP = { model: 'mlp', lookback: 2, hidden: 16, layers: 1, epochs: 30, batch_size: 32, learning_rate: 0.01, patience: 0 };
const ONLINE = { method: 'finetune', every: 20, steps: 20, window: 120, learning_rate: 0.01 };
const params = (extra: object): TrainParams => train.resolve!({ ...MLP, ...extra } as never) as TrainParams;
const rowOf = (m: Model): number[] => Array.from(m.predictions.index, (ts) => (ts - T0) / HOUR);
const rmse = (m: Model): number => m.testMetrics?.[0].rmse ?? NaN;
const weightsOf = (s: unknown): Float32Array[] => (s as NnState).weights.map((w) => Float32Array.from(w.data));

describe('train with online: finetune (mlp)', () => {
  const ds = dataset(N, HORIZONS, FOLD);
  let stat: Model;
  let onl: Model;
  beforeAll(async () => {
    stat = await train.run({ dataset: ds }, params({}), testContext());
    onl = await train.run({ dataset: ds }, params({ online: ONLINE }), testContext());
  });

  it('scores as the static net until the first update, then moves', () => {
    // Update 1 follows the absorption of row 240 + 20 − 1 = 259, at row 259 + 2 = 261 (a validation row).
    const first = FOLD.train.end + ONLINE.every - 1 + 2;
    const rows = rowOf(onl);
    expect(rowOf(stat)).toEqual(rows);
    let before = 0;
    let moved = 0;
    for (const name of ds.targetNames) {
      rows.forEach((r, i) => {
        if (r < first) {
          expect(onl.predictions.values[name][i], `row ${r}`).toBe(stat.predictions.values[name][i]);
          before++;
        } else if (onl.predictions.values[name][i] !== stat.predictions.values[name][i]) moved++;
      });
    }
    expect(before).toBe(2 * (first - FOLD.val.start));
    expect(moved).toBeGreaterThan(0.9 * 2 * (rows.length - before / 2));
    expect(onl.params.online).toEqual(ONLINE);
    expect(train.summary?.(onl)).toMatch(/^mlp online finetune 20 steps\/20 rows on wasm/);
  });

  it('stores the final weights as the newest fold’s online state, and what resuming needs; the batch fit stays in state', () => {
    expect(onl.online?.fold).toBe(0);
    expect(onl.online?.rows).toBe(N - FOLD.train.end);
    expect(onl.online?.through).toBe(ds.index[N - 1]);
    // To resume after the data: (600 − 240) / 20 = 18 updates, none pending; the last 120 rows and the lookback − 1 = 1 before them.
    expect(onl.online?.resume).toMatchObject({ method: 'finetune', updates: 18, pending: 0, rows: 121 });
    const kept = onl.online?.resume as { X: Float64Array; index: Float64Array };
    expect(Array.from(kept.X)).toEqual(Array.from(ds.X.subarray(479 * p)));
    expect(Array.from(kept.index)).toEqual(Array.from(ds.index.subarray(479)));
    expect(weightsOf(onl.state[0])).toEqual(weightsOf(stat.state[0]));
    const fin = weightsOf(onl.online?.state);
    expect(fin.some((w, i) => w.some((x, j) => x !== weightsOf(stat.state[0])[i][j]))).toBe(true);
  });

  it('the stored state is the walk’s last network when no update follows it: it scores the last test rows as the walk did', async () => {
    // every 25: update u follows row 239 + 25u; the walk's last is u = 14 (row 589, scoring from 591), and row 614 is past the data.
    const m = await train.run({ dataset: ds }, params({ online: { ...ONLINE, every: 25 } }), testContext());
    const mlp = NN_MODEL_KINDS.find((k) => k.name === 'mlp')!;
    const seg = FOLD.test;
    const len = seg.end - seg.start;
    const X = ds.X.subarray(seg.start * p, seg.end * p);
    const byFinal = mlp.predict(scoringState(m, 0), X, len, p, ds.index.subarray(seg.start, seg.end));
    const rows = rowOf(m);
    const at = (r: number): number => rows.indexOf(r);
    for (let r = 591; r < N; r++)
      for (const [t, name] of ds.targetNames.entries()) expect(byFinal[t][r - seg.start], `row ${r}`).toBe(m.predictions.values[name][at(r)]);
    expect(byFinal[0][590 - seg.start]).not.toBe(m.predictions.values.fwd_ret_1[at(590)]);
  });

  it('is deterministic: the same seed gives bit-identical predictions and stored weights', async () => {
    const again = await train.run({ dataset: ds }, params({ online: ONLINE }), testContext());
    for (const name of ds.targetNames) expect(Array.from(again.predictions.values[name])).toEqual(Array.from(onl.predictions.values[name]));
    expect(weightsOf(again.online?.state)).toEqual(weightsOf(onl.online?.state));
  });

  it('no look-ahead: perturbing row t’s targets leaves every prediction before t + H bit-identical', async () => {
    const t0 = 400;
    const H = 2;
    const Y2 = ds.Y.slice();
    Y2[t0 * 2] += 3;
    Y2[t0 * 2 + 1] -= 3;
    const b = await train.run({ dataset: { ...ds, Y: Y2 } }, params({ online: ONLINE }), testContext());
    const rows = rowOf(onl);
    let changed = 0;
    for (const name of ds.targetNames) {
      rows.forEach((r, i) => {
        if (r < t0 + H) expect(b.predictions.values[name][i], `row ${r}`).toBe(onl.predictions.values[name][i]);
        else if (b.predictions.values[name][i] !== onl.predictions.values[name][i]) changed++;
      });
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('fine-tuning tracks the drift: lower test RMSE than the static net', () => {
    console.log(`finetune test RMSE (fwd_ret_1): static ${rmse(stat).toFixed(4)}, online ${rmse(onl).toFixed(4)}`);
    expect(rmse(onl)).toBeLessThan(0.8 * rmse(stat));
  });

  it('steps: 0 scores exactly as the static net and stores its weights', async () => {
    const zero = await train.run({ dataset: ds }, params({ online: { ...ONLINE, steps: 0 } }), testContext());
    for (const name of ds.targetNames) expect(Array.from(zero.predictions.values[name])).toEqual(Array.from(stat.predictions.values[name]));
    expect(weightsOf(zero.online?.state)).toEqual(weightsOf(stat.state[0]));
  });
});

describe('train with online: finetune (lstm)', () => {
  it('scores as the static LSTM until the first update, then moves', async () => {
    const ds = dataset(360, [1], { train: { start: 0, end: 200 }, val: { start: 200, end: 260 }, test: { start: 260, end: 360 } });
    const lstm = { model: 'lstm', lookback: 4, hidden: 6, layers: 1, epochs: 3, batch_size: 32 };
    const online = { method: 'finetune', every: 25, steps: 5, window: 60 };
    const stat = await train.run({ dataset: ds }, train.resolve!(lstm as never) as TrainParams, testContext());
    const onl = await train.run({ dataset: ds }, train.resolve!({ ...lstm, online } as never) as TrainParams, testContext());
    const first = 200 + 25 - 1 + 1;
    const rows = rowOf(onl);
    let moved = 0;
    rows.forEach((r, i) => {
      if (r < first) expect(onl.predictions.values.fwd_ret_1[i], `row ${r}`).toBe(stat.predictions.values.fwd_ret_1[i]);
      else if (onl.predictions.values.fwd_ret_1[i] !== stat.predictions.values.fwd_ret_1[i]) moved++;
    });
    expect(moved).toBeGreaterThan(0);
  });
});

describe('train with online: finetune checks', () => {
  const diagnostics = (trainWith: string): Diagnostic[] => {
    const text = `version: 1\nname: t\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: ${trainWith} }\n`;
    const parsed = parsePipelineText(text, '/tmp/t.yaml', { displayFile: 't.yaml' });
    if (parsed.diagnostics.length || !parsed.spec) return parsed.diagnostics;
    return compile(parsed.spec, builtinRegistry()).diagnostics;
  };

  it('accepts finetune on the neural forecasters; reports a wrong method or bad settings at their path', () => {
    expect(diagnostics('{ model: mlp, online: { method: finetune, every: 50, steps: 10, window: 500 } }')).toEqual([]);
    expect(diagnostics('{ model: transformer, online: { method: finetune, every: 50, steps: 0, window: 500, learning_rate: 0.001 } }')).toEqual([]);
    expect(diagnostics('{ model: lstm, online: { method: rls, forgetting: 1 } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: ridge, online: { method: finetune, every: 50, steps: 10, window: 500 } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: mlp, online: { method: finetune, every: 0, steps: 10, window: 500 } }').map((d) => d.path)).toEqual([
      'steps.m.with.online.every',
    ]);
    expect(diagnostics('{ model: mlp, online: { method: finetune, every: 5, steps: -1, window: 500 } }').map((d) => d.path)).toEqual([
      'steps.m.with.online.steps',
    ]);
    expect(diagnostics('{ model: mlp, online: { method: finetune, every: 5, steps: 1, window: 1.5 } }').map((d) => d.path)).toEqual([
      'steps.m.with.online.window',
    ]);
    expect(diagnostics('{ model: mlp, online: { method: finetune, every: 5, window: 50 } }').length).toBeGreaterThan(0);
    expect(diagnostics('{ model: gru, online: { method: finetune, every: 5, steps: 1, window: 50, learning_rate: 0 } }').map((d) => d.path)).toEqual([
      'steps.m.with.online.learning_rate',
    ]);
  });

  it('refuses a method of another kind and folds that score rows before their training rows (before fitting)', async () => {
    const ds = dataset(260, [1], { train: { start: 0, end: 120 }, val: { start: 122, end: 180 }, test: { start: 182, end: 260 } });
    const wrong = train.run({ dataset: ds }, params({ online: { method: 'rls', forgetting: 1 } }), testContext());
    await expect(wrong).rejects.toThrow(/does not apply to model `mlp`/);
    await expect(wrong).rejects.toThrow(expect.objectContaining({ hint: 'use `method: finetune`' }));
    const purged = dataset(260, [1], { train: { start: 100, end: 200 }, val: { start: 200, end: 230 }, test: { start: 0, end: 90 } });
    await expect(train.run({ dataset: purged }, params({ online: ONLINE }), testContext())).rejects.toThrow(/scores rows before the end of its training rows/);
  });
});
