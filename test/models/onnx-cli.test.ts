import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadModel, predict } from '../../src/models/predict.js';
import { edit, fxflow, workdir } from '../helpers/cli.js';

/** Parses a CSV written by `fxflow export` (no quoted commas in these tables). */
function readCsv(file: string): { names: string[]; rows: string[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return { names: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('fxflow models export --format onnx (built CLI, quickstart pipeline)', () => {
  it('writes model.onnx whose ONNX Runtime predictions on the run’s feature rows equal fxflow’s; bad --format / --fold are clear errors', async () => {
    const dir = workdir();
    // gbm: the trees come back from the store as typed arrays, one target (no Concat).
    edit(path.join(dir, 'pipelines', 'quickstart.yaml'), 'with: { model: ridge, alpha: 1.0 }', 'with: { model: gbm, n_estimators: 40 }');
    const run = await fxflow(['run', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const list = await fxflow(['models', '--json'], { cwd: dir });
    const [m] = JSON.parse(list.stdout) as { id: string }[];

    const ex = await fxflow(['models', 'export', m.id, '--format', 'onnx', '--out', 'm'], { cwd: dir });
    expect(ex.code, ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/wrote m[/\\]model\.onnx: gbm, fold \d+ of \d+ \(--fold \d+\), input features \[N, \d+\]/);
    expect((await fxflow(['models', 'export', m.id, '--out', 'j'], { cwd: dir })).code).toBe(0);
    const json = loadModel(path.join(dir, 'j'));

    expect((await fxflow(['export', 'pipelines/quickstart.yaml', 'features', '--out', 'f.csv'], { cwd: dir })).code).toBe(0);
    const feats = readCsv(path.join(dir, 'f.csv'));
    const cols = json.featureNames.map((f) => feats.names.indexOf(f));
    expect(cols.every((c) => c > 0)).toBe(true);
    // The last 300 feature rows, as float32 (the file's input type), in the model's feature order.
    const rows64 = feats.rows.slice(-300).map((r) => cols.map((c) => Number(r[c])));
    const rows = rows64.map((r) => r.map(Math.fround));
    const session = await ort.InferenceSession.create(readFileSync(path.join(dir, 'm', 'model.onnx')));
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, cols.length]) });
    await session.release();
    const got = out.predictions.data as Float32Array;
    const want = predict(json, rows);
    // Forward returns are ~1e-4, so the tolerance is relative to the predictions' own scale
    // (their RMS), not to max(1, |b|), which would let a 10% error through.
    const k = json.targetNames.length;
    let rel = 0;
    json.targetNames.forEach((t, c) => {
      const rms = Math.sqrt(want[t].reduce((a, v) => a + v * v, 0) / want[t].length);
      rows.forEach((_, i) => (rel = Math.max(rel, Math.abs(got[i * k + c] - want[t][i]) / Math.max(Math.abs(want[t][i]), rms))));
    });
    console.log(`quickstart gbm: ONNX Runtime vs fxflow predict, max |a − b| / max(|b|, rms b) = ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    // For the record (docs/onnx.md): what rounding the float64 features to the float32 input costs.
    const w64 = predict(json, rows64);
    let inRel = 0;
    json.targetNames.forEach((t, c) => {
      const rms = Math.sqrt(w64[t].reduce((a, v) => a + v * v, 0) / w64[t].length);
      rows.forEach((_, i) => (inRel = Math.max(inRel, Math.abs(got[i * k + c] - w64[t][i]) / Math.max(Math.abs(w64[t][i]), rms))));
    });
    console.log(`quickstart gbm: ONNX Runtime (float32 input) vs fxflow on the float64 features: ${inRel.toExponential(2)}`);

    const fmt = await fxflow(['models', 'export', m.id, '--format', 'pmml', '--out', 'm'], { cwd: dir });
    expect(fmt.code).not.toBe(0);
    expect(fmt.stderr).toContain('`--format pmml`: use `--format json`');
    const fold = await fxflow(['models', 'export', m.id, '--format', 'onnx', '--fold', '99', '--out', 'm'], { cwd: dir });
    expect(fold.code).not.toBe(0);
    expect(fold.stderr).toMatch(/fold 99 does not exist/);
    expect(fold.stderr).not.toMatch(/\n\s+at /);
  });
});
