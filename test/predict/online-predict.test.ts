import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, predict } from '../../src/models/predict.js';
import { edit, fxflow, type CliResult, workdir } from '../helpers/cli.js';

/**
 * An online model through the registry (built CLI, the quickstart's synthetic bars): `fxflow
 * predict` scores with the stored final state (the JSON export's newest fold, marked `online`),
 * not with the state the walk forward had at those bars; `fxflow models show` says so. That the
 * final state is the right one (the closed-form weighted ridge) is test/models/online-stored.test.ts,
 * as is the bit-for-bit check of resuming on later bars; here the CLI path of a resumed gbm append.
 */

function readCsv(file: string): { names: string[]; rows: string[][] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return { names: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

const ok = (r: CliResult): CliResult => {
  if (r.code !== 0) throw new Error(`fxflow exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r;
};

describe('fxflow predict with an online model (registry)', () => {
  it('scores with the final online state: equal to the exported model’s newest fold, not to the walk’s predictions', async () => {
    const dir = workdir();
    const run = (args: string[]): Promise<CliResult> => fxflow(args, { cwd: dir });
    edit(
      path.join(dir, 'pipelines', 'quickstart.yaml'),
      'with: { model: ridge, alpha: 1.0 }',
      'with: { model: ridge, alpha: 1.0, online: { method: rls, forgetting: 0.999 } }',
    );
    ok(await run(['run', 'pipelines/quickstart.yaml']));
    const [{ id }] = JSON.parse(ok(await run(['models', '--json'])).stdout) as { id: string }[];
    expect(ok(await run(['models', 'show', id])).stdout).toMatch(
      /^online\s+new bars scored with the online learner's final state: [\d,]+ rows absorbed .*; it goes on learning on later bars$/m,
    );
    const shown = JSON.parse(ok(await run(['models', 'show', id, '--json'])).stdout) as { online: { rows: number; resumes: boolean } | null };
    expect(shown.online).toMatchObject({ resumes: true });
    expect(shown.online!.rows).toBeGreaterThan(1000);

    ok(await run(['models', 'export', id, '--out', 'm']));
    const model = loadModel(path.join(dir, 'm'));
    expect(model.folds.at(-1)!.online?.rows).toBeGreaterThan(1000);
    ok(await run(['export', 'pipelines/quickstart.yaml', 'features', '--out', 'f.csv']));
    ok(await run(['export', 'pipelines/quickstart.yaml', 'model', '--out', 'p.csv']));
    const feats = readCsv(path.join(dir, 'f.csv'));
    const walk = readCsv(path.join(dir, 'p.csv'));

    const pred = JSON.parse(ok(await run(['predict', id, '--last', '30', '--json'])).stdout) as { rows: ({ ts: string } & Record<string, number>)[] };
    expect(pred.rows).toHaveLength(30);
    // The bars of the dataset among them (its last 4 bars' 4-bar targets are not known: not in it).
    const byTs = new Map(feats.rows.map((r) => [new Date(r[0]).toISOString(), r]));
    const inData = pred.rows.filter((r) => byTs.has(r.ts));
    expect(inData.length).toBe(26);
    const cols = model.featureNames.map((f) => feats.names.indexOf(f));
    const lib = predict(
      model,
      inData.map((r) => cols.map((c) => Number(byTs.get(r.ts)![c]))),
    );
    const walked = new Map(walk.rows.map((r) => [new Date(r[0]).toISOString(), Number(r[walk.names.indexOf('pred_fwd_ret_1')])]));
    let worst = 0;
    let apart = 0;
    inData.forEach((r, i) => {
      const want = lib.fwd_ret_1[i];
      worst = Math.max(worst, Math.abs(r.fwd_ret_1 - want) / Math.abs(want));
      apart = Math.max(apart, Math.abs(r.fwd_ret_1 - walked.get(r.ts)!) / Math.abs(want));
    });
    expect(worst).toBeLessThanOrEqual(1e-12);
    // The walk scored these bars before their last rows were absorbed.
    expect(apart).toBeGreaterThan(1e-9);
  }, 120_000);
});

describe('fxflow predict resumes a gbm append model on bars after its data (registry, CSV candles)', () => {
  it('absorbs the later bars and appends as they complete an update, says so in a note; exports (JSON, ONNX) still work', async () => {
    const dir = workdir();
    const run = (args: string[]): Promise<CliResult> => fxflow(args, { cwd: dir });
    // The quickstart's synthetic bars as a CSV; the pipeline trains on all but the last 150.
    ok(await run(['export', 'pipelines/quickstart.yaml', 'candles', '--out', 'all.csv']));
    const lines = readFileSync(path.join(dir, 'all.csv'), 'utf8').trim().split('\n');
    writeFileSync(path.join(dir, 'short.csv'), `${lines.slice(0, lines.length - 150).join('\n')}\n`);
    const file = path.join(dir, 'pipelines', 'quickstart.yaml');
    edit(
      file,
      'with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 20000 }',
      'with: { source: csv, path: ../short.csv, symbol: EURUSD, timeframe: 1h }',
    );
    const every = 100;
    edit(
      file,
      'with: { model: ridge, alpha: 1.0 }',
      `with: { model: gbm, n_estimators: 30, max_depth: 3, online: { method: append, every: ${every}, trees: 5, window: 500, max_trees: 100 } }`,
    );
    ok(await run(['run', 'pipelines/quickstart.yaml']));
    const [{ id }] = JSON.parse(ok(await run(['models', '--json'])).stdout) as { id: string }[];
    const shown = JSON.parse(ok(await run(['models', 'show', id, '--json'])).stdout) as { online: { rows: number; through: string; resumes: boolean } };
    expect(shown.online.resumes).toBe(true);

    const pred = JSON.parse(ok(await run(['predict', id, '--candles', 'all.csv', '--last', '200', '--json'])).stdout) as {
      notes: string[];
      rows: ({ ts: string } & Record<string, number>)[];
    };
    // The 150 bars after the short file's end complete the targets of 150 rows after the data's last;
    // with those rows an update is due every 100 rows, counted on from the rows the walk absorbed.
    const appends = Math.floor(((shown.online.rows % every) + 150) / every);
    expect(appends).toBeGreaterThanOrEqual(1);
    const through = shown.online.through.slice(0, 16).replace('T', ' ');
    expect(pred.notes).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^the online model \\(gbm appends\\) goes on learning on the bars after ${through}: 150 later rows absorbed, ${appends} appends? made on them`,
        ),
      ),
    );
    expect(pred.rows).toHaveLength(200);
    expect(pred.rows.every((r) => Number.isFinite(r.fwd_ret_1) && Number.isFinite(r.fwd_ret_4))).toBe(true);

    // Exports keep the final state (the resumed learner is predict's, not the model's).
    ok(await run(['models', 'export', id, '--out', 'm']));
    expect(loadModel(path.join(dir, 'm')).folds.at(-1)!.online?.rows).toBe(shown.online.rows);
    ok(await run(['models', 'export', id, '--format', 'onnx', '--out', 'o']));
    expect(existsSync(path.join(dir, 'o', 'model.onnx'))).toBe(true);
  }, 180_000);
});
