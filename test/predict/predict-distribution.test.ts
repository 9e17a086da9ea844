/**
 * `predict` with the rules that trade on the forecast distribution (`probability`, `quantile_band`)
 * and the sizings that read it (`kelly`): the reference is the backtest step's own positions on
 * the same bars (a quantile gbm, a ridge with its Gaussian), a hand-worked Gaussian case by the
 * closed form, and predicting bars appended to the series (PredictMemory) against afresh. On real
 * MetaTrader H1 EURUSD bars (2019).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fxflow, workdir } from '../helpers/cli.js';
import type { BarPredictions, Candles, Model, Report } from '../../src/core/artifacts.js';
import { normalCdf } from '../../src/core/normal.js';
import backtest from '../../src/steps/backtest/index.js';
import type { BacktestParams } from '../../src/steps/backtest/params.js';
import { predictBars } from '../../src/steps/predict/core.js';
import { testContext } from '../helpers/ctx.js';
import { backtestParams, backtestPositions, H1, h1PipelineText, trainOnH1 } from '../helpers/h1-model.js';

const setup = (model: string) => trainOnH1(model);

const RIDGE = '{ model: ridge, alpha: 1 }';
const QGBM = '{ model: gbm, n_estimators: 30, max_depth: 3, quantiles: [0.1, 0.3, 0.5, 0.7, 0.9] }';

/** ts of each traded signal → the sign of the backtest's position. */
const backtestDirections = (report: Report, candles: Candles): Map<number, number> =>
  new Map([...backtestPositions(report, candles)].map(([ts, p]) => [ts, Math.sign(p)]));

/** Compares predict's signal with the backtest's direction at every bar both have; returns [compared, long, short]. */
function expectSameDirections(pred: BarPredictions, ref: Map<number, number>): [number, number, number] {
  const differ: string[] = [];
  let compared = 0;
  let long = 0;
  let short = 0;
  for (let i = 0; i < pred.index.length; i++) {
    const want = ref.get(pred.index[i]);
    if (want === undefined) continue;
    compared++;
    if (want > 0) long++;
    if (want < 0) short++;
    if (pred.signal[i] !== want) differ.push(`${new Date(pred.index[i]).toISOString()}: ${pred.signal[i]} vs ${want}`);
  }
  expect(differ.slice(0, 5)).toEqual([]);
  return [compared, long, short];
}

describe.skipIf(!H1)('predict on the forecast distribution', () => {
  if (!H1) console.warn('skipped: ../shared/data/forex/EURUSD_H1.csv is absent');

  for (const [label, model, rules] of [
    [
      'quantile gbm',
      QGBM,
      [
        { rule: 'probability', probability: 0.52 },
        { rule: 'quantile_band', band: 0.48 },
      ],
    ],
    ['ridge with its Gaussian', RIDGE, [{ rule: 'probability', probability: 0.505 }]],
  ] as const) {
    it(`${label}: the backtest's direction on every test bar it traded`, async () => {
      const { candles, fp, dataset, model: m } = await setup(model);
      for (const rule of rules) {
        const params = backtestParams(rule as Partial<BacktestParams>);
        const report = (await backtest.run({ model: m, dataset, candles }, params, testContext())) as Report;
        const ref = backtestDirections(report, candles);
        // holding `bar`: each bar's direction depends on its own forecast only, so every bar compares (no hysteresis start).
        const pred = await predictBars(m, candles, { features: fp, signal: params }, testContext());
        const [compared, long, short] = expectSameDirections(pred, ref);
        expect(compared).toBe(report.index.length);
        expect(compared).toBeGreaterThan(1000);
        // Positions and flat bars both occur: the comparison is not of a constant.
        expect(long + short).toBeGreaterThan(50);
        expect(compared - long - short).toBeGreaterThan(20);
      }
    }, 120_000);
  }

  it('a Gaussian forecast by hand: P(r > c) = 1 − Φ((c − μ)/σ) ≥ p is long, P(r < −c) ≥ p short, else flat; Kelly size by its formula', async () => {
    const { candles, fp, model: m } = await setup(RIDGE);
    const p = 0.505;
    const kelly = { fraction: 0.5, cap: 3 };
    const signal = backtestParams({ rule: 'probability', probability: p, sizing: { kelly } });
    const pred = await predictBars(m, candles, { features: fp, signal }, testContext());
    expect(pred.rule).toMatch(/^probability ≥ 0.505/);
    // σ: the newest (only) fold's validation residuals' RMS, recomputed here from the train step's predictions of the val rows.
    const pr = m.predictions;
    const t = 'fwd_ret_1';
    const targetAt = new Map<number, number>();
    const close = candles.columns.close;
    // fwd_ret_1 at bar b: ln(close[b + 1] / close[b]) (the features step's forward return).
    for (let b = 0; b + 1 < candles.index.length; b++) targetAt.set(candles.index[b], Math.log(close[b + 1] / close[b]));
    let ss = 0;
    let n = 0;
    for (let i = 0; i < pr.index.length; i++) {
      if (pr.segment[i] !== 1) continue;
      const e = pr.values[t][i] - targetAt.get(pr.index[i])!;
      ss += e * e;
      n++;
    }
    const sigma = Math.sqrt(ss / n);
    expect(sigma).toBeCloseTo(pr.distribution!.gaussian!.sd[t][pr.index.length - 1], 12);
    const seen = new Set<number>();
    for (let i = 0; i < pred.index.length && seen.size < 3; i++) {
      const s = pred.signal[i];
      if (seen.has(s)) continue;
      seen.add(s);
      const b = candles.index.indexOf(pred.index[i]);
      // Round-trip costs in return units: a full spread (0.1 pip) over the signal bar's close.
      const c = (0.1 * 0.0001) / close[b];
      const mu = pred.values[t][i];
      const up = 1 - normalCdf((c - mu) / sigma);
      const down = normalCdf((-c - mu) / sigma);
      const want = up >= p ? 1 : down >= p ? -1 : 0;
      expect(s, `${new Date(pred.index[i]).toISOString()}: μ ${mu}, P(up) ${up}, P(down) ${down}`).toBe(want);
      // Kelly: fraction × (direction × μ − c) / σ², at most the cap; the first bar of a run is its entry.
      if (s !== 0 && (i === 0 || pred.signal[i - 1] !== s)) {
        const edge = s * mu - c;
        expect(pred.size![i]).toBeCloseTo(edge > 0 ? Math.min(kelly.cap, (kelly.fraction * edge) / sigma ** 2) : 0, 10);
      }
      if (s === 0) expect(pred.size![i]).toBe(0);
    }
    // One long, one flat, one short bar checked.
    expect([...seen].sort()).toEqual([-1, 0, 1]);
  }, 120_000);

  it('a point model with no forecast spread recorded is refused clearly', async () => {
    // A point model whose Gaussian spread is unknown: the model's recorded sd removed.
    const { candles, fp, model: m } = await setup(RIDGE);
    const bare: Model = { ...m, predictions: { ...m.predictions, distribution: undefined } };
    await expect(
      predictBars(bare, candles, { features: fp, signal: backtestParams({ rule: 'probability', probability: 0.55 }) }, testContext()),
    ).rejects.toThrow(/has no forecast spread for `fwd_ret_1`/);
  }, 120_000);
});

describe.skipIf(!H1)('fxflow predict on a model backtested with rule `probability`', () => {
  it("gives the rule's signal and the Kelly size, in the table and in --json rows", async () => {
    const dir = workdir();
    const yaml = `${h1PipelineText(RIDGE)}  bt:
    uses: backtest
    from: { model: m, dataset: d, candles: c }
    with: { rule: probability, probability: 0.505, sizing: { kelly: { fraction: 0.5, cap: 2 } }, costs: { spread_pips: 0.1 } }
`;
    writeFileSync(path.join(dir, 'p.yaml'), yaml);
    const run = await fxflow(['run', 'p.yaml'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const r = await fxflow(['predict', 'latest', '--candles', H1!, '--last', '300', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/does not compute/);
    const out = JSON.parse(r.stdout) as { signal: { rule: string }; rows: { signal: number; size: number }[] };
    expect(out.signal.rule).toMatch(/^probability ≥ 0.505 .* on fwd_ret_1$/);
    expect(out.rows.length).toBe(300);
    for (const row of out.rows) {
      expect([-1, 0, 1]).toContain(row.signal);
      expect(row.size).toBeGreaterThanOrEqual(0);
      expect(row.size).toBeLessThanOrEqual(2);
      if (row.signal === 0) expect(row.size).toBe(0);
    }
    expect(out.rows.some((row) => row.signal !== 0 && row.size > 0)).toBe(true);
    const table = await fxflow(['predict', 'latest', '--candles', H1!, '--last', '5'], { cwd: dir });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/signal.*size/);
  }, 240_000);
});
