import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fxflow, workdir, type CliResult } from '../helpers/cli.js';
import { sharedFile } from '../helpers/ctx.js';

/**
 * `fxflow predict` and the model registry, end to end through the CLI on real MetaTrader H1 bars.
 * The reference for every prediction is the train step's own out-of-sample prediction of the same
 * bar (exported by `fxflow export`, shortest round-trip decimals): predict recomputes the features,
 * the scaling and the scoring on its own path and must land on the same bits.
 */

const EURUSD_H1 = sharedFile('EURUSD_H1.csv');
const GBPUSD_H1 = sharedFile('GBPUSD_H1.csv');
const EURUSD_H4 = sharedFile('EURUSD_H4.csv');

function pipeline(name: string, model: string, extra: { split?: string; features?: string; predict?: string } = {}): string {
  return `version: 1
name: ${name}
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: csv, path: ${JSON.stringify(EURUSD_H1)}, symbol: EURUSD, timeframe: 1h, from: "2018-06-01" }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
        - ema: { period: 20 }
        - macd: { fast: 12, slow: 26, signal: 9 }${extra.features ?? ''}
      returns: [1, 4, 24]
      target: { forward_return: { horizons: [1, 4] } }
  dataset:
    uses: split
    from: features
    with: ${extra.split ?? '{ method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }'}
  model:
    uses: train
    from: dataset
    with: ${model}
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: 0.00003, exit_threshold: 0.00001, costs: { spread_pips: 0.8 } }
${extra.predict ?? ''}`;
}

/** Rows of a CSV written by fxflow (header, comma-separated, no quoting needed for these). */
function readCsv(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const names = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

interface PredictJson {
  model: { key: string; kind: string };
  fold: number;
  folds: number;
  signal: { rule: string; target: string };
  notes: string[];
  rows: ({ ts: string; signal: number } & Record<string, number>)[];
}

/** The model's recorded val/test predictions of its newest fold: ts → target → value. */
function newestFold(file: string): Map<string, Record<string, number>> {
  const rows = readCsv(file);
  const last = Math.max(...rows.map((r) => Number(r.fold)));
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) if (Number(r.fold) === last) out.set(r.ts, { fwd_ret_1: Number(r.pred_fwd_ret_1), fwd_ret_4: Number(r.pred_fwd_ret_4) });
  return out;
}

/** Compares predict's rows with the reference; returns how many bars were compared. */
function expectSameBits(pred: PredictJson, ref: Map<string, Record<string, number>>): number {
  let compared = 0;
  const differ: string[] = [];
  for (const row of pred.rows) {
    const want = ref.get(row.ts);
    if (!want) continue;
    compared++;
    for (const t of ['fwd_ret_1', 'fwd_ret_4']) if (!Object.is(row[t], want[t])) differ.push(`${row.ts} ${t}: ${row[t]} vs ${want[t]}`);
  }
  expect(differ.slice(0, 5)).toEqual([]);
  return compared;
}

const ok = (r: CliResult): CliResult => {
  if (r.code !== 0) throw new Error(`fxflow exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r;
};

/** A clear error: exit 1, an `error:` line, no stack trace. */
function expectCleanError(r: CliResult, ...words: (string | RegExp)[]): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
  for (const w of words) expect(r.stderr).toMatch(w);
}

describe.skipIf(!EURUSD_H1)('fxflow predict on MetaTrader H1 EURUSD', () => {
  let dir = '';
  const run = (args: string[]): Promise<CliResult> => fxflow(args, { cwd: dir });
  const json = async (args: string[]): Promise<PredictJson> => JSON.parse(ok(await run(args)).stdout) as PredictJson;

  beforeAll(async () => {
    dir = workdir();
    writeFileSync(path.join(dir, 'ridge.yaml'), pipeline('p-ridge', '{ model: ridge, alpha: 1.0 }'));
    writeFileSync(path.join(dir, 'gbm.yaml'), pipeline('p-gbm', '{ model: gbm, n_estimators: 40, max_depth: 4 }'));
    // Several folds with their own scalers, and a volume feature.
    writeFileSync(
      path.join(dir, 'wf.yaml'),
      pipeline('p-wf', '{ model: ridge, alpha: 3.0 }', {
        split: '{ method: walk_forward, train_bars: 6000, val_bars: 1000, test_bars: 2000, scale: robust }',
        features: '\n        - obv: {}',
      }),
    );
    ok(await run(['run', 'ridge.yaml']));
    ok(await run(['export', 'ridge.yaml', 'model', '--out', 'ridge-model.csv']));
    ok(await run(['run', 'gbm.yaml']));
    ok(await run(['export', 'gbm.yaml', 'model', '--out', 'gbm-model.csv']));
    ok(await run(['run', 'wf.yaml']));
    ok(await run(['export', 'wf.yaml', 'model', '--out', 'wf-model.csv']));
  }, 240_000);

  it('ridge: every bar the newest fold scored out of sample gets the same bits', async () => {
    const ref = newestFold(path.join(dir, 'ridge-model.csv'));
    const pred = await json(['predict', 'latest~2', '--candles', EURUSD_H1!, '--json']);
    expect(pred.model.kind).toBe('ridge');
    expect(expectSameBits(pred, ref)).toBe(ref.size);
    expect(ref.size).toBeGreaterThan(2000);
    // The backtest step's rule: threshold with hysteresis, on the shortest horizon.
    expect(pred.signal.rule).toBe('threshold ±0.00003 (exit ±0.00001) on fwd_ret_1');
  }, 60_000);

  it('gbm: the same bits', async () => {
    const ref = newestFold(path.join(dir, 'gbm-model.csv'));
    const pred = await json(['predict', 'latest~1', '--candles', EURUSD_H1!, '--json']);
    expect(pred.model.kind).toBe('gbm');
    expect(expectSameBits(pred, ref)).toBe(ref.size);
  }, 60_000);

  it('walk-forward with robust scalers per fold: the newest fold’s scaler and state', async () => {
    const ref = newestFold(path.join(dir, 'wf-model.csv'));
    const pred = await json(['predict', 'latest', '--candles', EURUSD_H1!, '--json']);
    expect(pred.folds).toBeGreaterThan(2);
    expect(pred.fold).toBe(pred.folds - 1);
    expect(expectSameBits(pred, ref)).toBe(ref.size);
  }, 60_000);

  it('the signal is the threshold rule with hysteresis over the predictions (hand rule)', async () => {
    const pred = await json(['predict', 'latest~2', '--candles', EURUSD_H1!, '--json']);
    let prev = 0;
    for (const r of pred.rows) {
      const v = r.fwd_ret_1;
      const want =
        prev > 0 ? (v > 0.00001 ? 1 : v < -0.00003 ? -1 : 0) : prev < 0 ? (v < -0.00001 ? -1 : v > 0.00003 ? 1 : 0) : v > 0.00003 ? 1 : v < -0.00003 ? -1 : 0;
      expect(r.signal).toBe(want);
      prev = want;
    }
    expect(pred.rows.some((r) => r.signal === 1) && pred.rows.some((r) => r.signal === -1)).toBe(true);
  }, 60_000);

  it('--last N: the newest N bars, equal to the tail of the full output', async () => {
    const all = await json(['predict', 'latest~2', '--candles', EURUSD_H1!, '--json']);
    const last = await json(['predict', 'latest~2', '--candles', EURUSD_H1!, '--last', '5', '--json']);
    expect(last.rows).toEqual(all.rows.slice(-5));
    // The file ends with all-zero placeholder rows (dropped by fetch): the last real bar.
    expect(last.rows.at(-1)!.ts).toBe('2020-12-29T08:00:00.000Z');
    const ranged = await json(['predict', 'latest~2', '--candles', EURUSD_H1!, '--from', '2020-06-01', '--to', '2020-06-02', '--json']);
    expect(ranged.rows.map((r) => r.ts)).toEqual(all.rows.filter((r) => r.ts >= '2020-06-01' && r.ts < '2020-06-02').map((r) => r.ts));
    expect(ranged.rows).toHaveLength(24);
  }, 60_000);

  it('a bar still forming is dropped with a note; --csv writes the same rows', async () => {
    const lines = readFileSync(EURUSD_H1!, 'utf8').trim().split('\n');
    const real = lines.filter((l) => !/,0,0,0,0,/.test(l));
    const now = new Date();
    now.setUTCMinutes(0, 0, 0);
    const stamp = now.toISOString().replace('T', ' ').slice(0, 19);
    const live = path.join(dir, 'EURUSD_H1_live.csv');
    writeFileSync(live, `${real.join('\n')}\n${stamp},1.1,1.1,1.1,1.1,10\n`);
    const r = ok(await run(['predict', 'latest~2', '--candles', live, '--last', '3', '--json']));
    const pred = JSON.parse(r.stdout) as PredictJson;
    expect(r.stderr).toMatch(/note: dropped the last bar \(.*\): not complete at/);
    expect(pred.rows.at(-1)!.ts).toBe('2020-12-29T08:00:00.000Z');
    ok(await run(['predict', 'latest~2', '--candles', live, '--last', '3', '--csv', 'out.csv']));
    const csv = readCsv(path.join(dir, 'out.csv'));
    expect(csv.map((c) => [c.ts, Number(c.pred_fwd_ret_1), Number(c.signal)])).toEqual(pred.rows.map((p) => [p.ts, p.fwd_ret_1, p.signal]));
  }, 60_000);

  it.skipIf(!GBPUSD_H1)('a source of another pair is a clear error naming both', async () => {
    expectCleanError(await run(['predict', 'latest', '--candles', GBPUSD_H1!]), /GBPUSD/, /trained on EURUSD/, /--symbol GBPUSD/);
  });

  it.skipIf(!EURUSD_H4)('a source of other bars is a clear error naming both timeframes', async () => {
    expectCleanError(await run(['predict', 'latest', '--candles', EURUSD_H4!]), /4h apart/, /trained on 1h bars/);
  });

  it('a source missing a column the model needs is a clear error naming it', async () => {
    const [head, ...rest] = readFileSync(EURUSD_H1!, 'utf8').trim().split('\n');
    const lines = [head, ...rest.filter((l) => l >= '2018-06' && !/,0,0,0,0,/.test(l))];
    const drop = (col: number) =>
      lines
        .map((l) =>
          l
            .split(',')
            .filter((_, i) => i !== col)
            .join(','),
        )
        .join('\n');
    writeFileSync(path.join(dir, 'EURUSD_noclose.csv'), drop(4));
    expectCleanError(await run(['predict', 'latest', '--candles', 'EURUSD_noclose.csv']), /missing column Close/);
    // No volume column: the walk-forward model reads obv, which depends on it.
    writeFileSync(path.join(dir, 'EURUSD_novol.csv'), drop(5));
    expectCleanError(await run(['predict', 'latest', '--candles', 'EURUSD_novol.csv']), /no volume/, /`obv`/);
    // The ridge model reads no volume feature: the same file predicts.
    ok(await run(['predict', 'latest~2', '--candles', 'EURUSD_novol.csv', '--last', '2']));
  }, 60_000);

  it('promote, show, demote and history: the previous champion is archived, never lost', async () => {
    const ridge = (await json(['predict', 'latest~2', '--last', '1', '--json'])).model.key;
    const gbm = (await json(['predict', 'latest~1', '--last', '1', '--json'])).model.key;
    ok(await run(['models', 'promote', ridge.slice(0, 10), '--stage', 'champion']));
    ok(await run(['models', 'promote', gbm.slice(0, 10), '--stage', 'champion', '--note', 'better val IC']));
    const history = JSON.parse(ok(await run(['models', 'history', '--json'])).stdout) as { key: string; stage: string; by: string; note: string | null }[];
    expect(history.map((e) => [e.key, e.stage])).toEqual([
      [ridge, 'champion'],
      [ridge, 'archived'],
      [gbm, 'champion'],
    ]);
    expect(history[2].note).toBe('better val IC');
    expect(history[1].note).toMatch(/superseded as champion by/);

    const list = JSON.parse(ok(await run(['models', '--json'])).stdout) as { key: string; stage: string | null }[];
    expect(list.find((m) => m.key === gbm)!.stage).toBe('champion');
    expect(list.find((m) => m.key === ridge)!.stage).toBe('archived');

    const show = JSON.parse(ok(await run(['models', 'show', 'champion', '--json'])).stdout) as {
      key: string;
      stage: string;
      featureNames: string[];
      metrics: { val: { target: string }[]; test: unknown[]; backtest: Record<string, Record<string, number>> };
      lineage: { pipelineSha256: string; data: { sha256: string }[]; steps: { features: { params: unknown } }; pipelineText: string };
    };
    expect(show.key).toBe(gbm);
    expect(show.stage).toBe('champion');
    const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(show.lineage.pipelineSha256).toBe(sha(readFileSync(path.join(dir, 'gbm.yaml'), 'utf8')));
    expect(show.lineage.data.map((d) => d.sha256)).toEqual([sha(readFileSync(EURUSD_H1!))]);
    expect(show.featureNames).toEqual(['rsi_14', 'ema_20', 'macd_12_26_9', 'macd_signal_12_26_9', 'macd_hist_12_26_9', 'ret_1', 'ret_4', 'ret_24']);
    expect(show.metrics.val.map((m) => m.target)).toEqual(['fwd_ret_1', 'fwd_ret_4']);
    expect(show.metrics.test).toHaveLength(2);
    expect(Object.keys(show.metrics.backtest.report)).toContain('sharpe');

    const champ = await json(['predict', 'champion', '--candles', EURUSD_H1!, '--last', '3', '--json']);
    expect(champ.model.key).toBe(gbm);

    ok(await run(['models', 'demote', 'champion']));
    expectCleanError(await run(['predict', 'champion']), /no model is the champion now/, new RegExp(gbm.slice(0, 12)));
    const after = JSON.parse(ok(await run(['models', 'history', gbm.slice(0, 12), '--json'])).stdout) as { stage: string }[];
    expect(after.map((e) => e.stage)).toEqual(['champion', 'archived']);
    // The old champion comes back by promoting it again.
    ok(await run(['models', 'promote', ridge.slice(0, 12), '--stage', 'champion']));
    expect((await json(['predict', 'champion', '--last', '1', '--json'])).model.key).toBe(ridge);
  }, 120_000);

  it('a predict step in a pipeline scores the bars as the train step did', async () => {
    writeFileSync(
      path.join(dir, 'step.yaml'),
      pipeline('p-step', '{ model: ridge, alpha: 1.0 }', {
        predict: `  live:
    uses: predict
    from: { model: model, candles: candles }
    with: { entry_threshold: 0.00003, from: "2020-03-01", to: "2020-03-05" }
`,
      }),
    );
    ok(await run(['run', 'step.yaml']));
    ok(await run(['export', 'step.yaml', 'live', '--out', 'live.csv']));
    ok(await run(['export', 'step.yaml', 'model', '--out', 'step-model.csv']));
    const ref = newestFold(path.join(dir, 'step-model.csv'));
    const rows = readCsv(path.join(dir, 'live.csv'));
    expect(rows.length).toBeGreaterThan(40);
    for (const r of rows) {
      expect(r.ts >= '2020-03-01' && r.ts < '2020-03-05').toBe(true);
      expect(Object.is(Number(r.pred_fwd_ret_1), ref.get(r.ts)!.fwd_ret_1)).toBe(true);
      expect(Object.is(Number(r.pred_fwd_ret_4), ref.get(r.ts)!.fwd_ret_4)).toBe(true);
    }
  }, 60_000);
});
