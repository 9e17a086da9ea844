import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, predict } from '../../src/models/predict.js';
import { edit, fxflow, parseRun, workdir } from '../helpers/cli.js';

/** Parses a CSV written by `fxflow export` (no quoted commas in these tables). */
function readCsv(file: string): { names: string[]; rows: string[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return { names: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('quickstart with `model: gbm`, the model registry and the predict API (built CLI)', () => {
  it('one-line change to gbm runs; `fxflow models` lists it; the export scores raw features like the run did', async () => {
    const dir = workdir();
    const file = path.join(dir, 'pipelines', 'quickstart.yaml');
    edit(file, 'with: { model: ridge, alpha: 1.0 }', 'with: { model: gbm }');
    const run = await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const runId = parseRun(run).runId;

    // A gbm param on ridge is a compile error at the YAML line, naming what each model takes.
    const bad = workdir();
    edit(path.join(bad, 'pipelines', 'quickstart.yaml'), 'with: { model: ridge, alpha: 1.0 }', 'with: { model: gbm, alpha: 1.0 }');
    const v = await fxflow(['validate', 'pipelines/quickstart.yaml'], { cwd: bad });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/quickstart\.yaml:\d+:\d+: error: `alpha` is not a parameter of `model: gbm`/);
    expect(v.stderr).toMatch(/ridge: alpha/);

    const list = await fxflow(['models', '--json'], { cwd: dir });
    expect(list.code, list.stderr).toBe(0);
    const models = JSON.parse(list.stdout) as { id: string; model: string; pipeline: string; run: string; metrics: Record<string, number> }[];
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ model: 'gbm', pipeline: 'quickstart', run: runId });
    expect(Number.isFinite(models[0].metrics.val_ic_fwd_ret_1)).toBe(true);
    const table = await fxflow(['models'], { cwd: dir });
    expect(table.stdout).toContain(models[0].id);

    const ex = await fxflow(['models', 'export', models[0].id, '--out', 'm'], { cwd: dir });
    expect(ex.code, ex.stderr).toBe(0);
    const model = loadModel(path.join(dir, 'm'));
    expect(model.kind).toBe('gbm');
    expect(model.source.run).toBe(runId);

    // The raw features (export of the features step) and the run's test predictions (export of the
    // model step): predict() on the raw rows must give the same numbers.
    expect((await fxflow(['export', 'pipelines/quickstart.yaml', 'features', '--out', 'f.csv'], { cwd: dir })).code).toBe(0);
    expect((await fxflow(['export', 'pipelines/quickstart.yaml', 'model', '--out', 'p.csv'], { cwd: dir })).code).toBe(0);
    const feats = readCsv(path.join(dir, 'f.csv'));
    const preds = readCsv(path.join(dir, 'p.csv'));
    const byTs = new Map(feats.rows.map((r) => [r[0], r]));
    const test = preds.rows.filter((r) => r[1] === 'test').slice(0, 200);
    expect(test.length).toBe(200);
    const cols = model.featureNames.map((f) => feats.names.indexOf(f));
    const rows = test.map((r) => cols.map((c) => Number(byTs.get(r[0])![c])));
    const out = predict(model, rows);
    const k = preds.names.indexOf('pred_fwd_ret_1');
    test.forEach((r, i) => expect(out.fwd_ret_1[i]).toBeCloseTo(Number(r[k]), 12));
  });
});
