/**
 * A search's overhead per trial: what fxflow adds to each trial besides running its steps —
 * suggesting it (TPE over the scores so far) and recording it (the round's scores read back from
 * the outcomes, the plan of every trial so far compiled, its cache keys computed). Measured on a
 * 40-trial TPE search of 4 parameters in rounds of 2 (`--jobs 2`), with made-up scores in place of
 * the steps' runs. The issue's budget is 5 ms a trial; there is no peer in the same run (Optuna
 * and hyperopt are not installed here), so the "peer" column is that budget and the ratio says how
 * far under it fxflow is. Time: the best of 5 repeats.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suggest, type Observation } from '../src/evaluation/search.js';
import { loadPlan } from '../src/pipeline.js';
import { summarizeSweep } from '../src/runtime/history.js';
import { computeKeys } from '../src/runtime/keys.js';
import type { BenchResult } from './run.js';

const TRIALS = 40;
const WIDTH = 2;
const BUDGET_MS = 5;

const TEXT = `version: 1
name: search-bench
seed: 1
search:
  method: tpe
  trials: ${TRIALS}
  space:
    learning_rate: { loguniform: [0.01, 0.3] }
    max_depth: { int: [2, 6] }
    subsample: { uniform: [0.5, 1] }
    horizon: { choice: [1, 4, 24] }
select: { metric: report.sharpe, on: val, mode: max }
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 20000 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } }, { ema: { period: 20 } } ]
      returns: [1, 4, 24]
      target: { forward_return: { horizons: ["\${matrix.horizon}"] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: gbm, learning_rate: "\${matrix.learning_rate}", max_depth: "\${matrix.max_depth}", subsample: "\${matrix.subsample}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { rule: sign }
`;

/** A made-up validation Sharpe: best near learning_rate 0.1, depth 3, horizon 4. */
function score(v: Record<string, unknown>): number {
  return -((Math.log(Number(v.learning_rate)) - Math.log(0.1)) ** 2) - (Number(v.max_depth) - 3) ** 2 / 4 - (v.horizon === 4 ? 0 : 1);
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-search-bench-'));
  const file = path.join(dir, 'search.yaml');
  writeFileSync(file, TEXT);
  try {
    let best = Infinity;
    let bestSuggest = Infinity;
    let bestCpu = Infinity;
    for (let rep = 0; rep < 5; rep++) {
      const plan = await loadPlan(file);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let suggestMs = 0;
      let current = plan;
      let values = plan.variants!.map((v) => v.values);
      let keys = await computeKeys(current);
      while (values.length < TRIALS) {
        // The round's outcomes as the scheduler reports them: every node ok, the select step with its metric.
        const byVariant = new Map(current.variants!.map((v) => [v.index, v.values]));
        const steps = current.nodes.map((n) => ({
          id: n.id,
          status: 'ok',
          metrics: (n.step === current.select!.step ? { sharpe: score(byVariant.get(n.variants![0])!) } : {}) as Record<string, number>,
        }));
        const sweep = summarizeSweep(current, steps)!;
        const history: Observation[] = sweep.variants.map((v) => ({ values: v.values, ...(v.score !== undefined ? { loss: -v.score } : {}) }));
        const s0 = performance.now();
        values = [...values, ...suggest(plan.search!.spec.space, history, Math.min(WIDTH, TRIALS - values.length), { method: 'tpe', seed: 1 })];
        suggestMs += performance.now() - s0;
        current = plan.search!.planFor(values).plan!;
        keys = await computeKeys(current, keys);
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      // CPU time of this process: less at the mercy of other work on a shared machine than wall time.
      bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000 / TRIALS);
      // The startup trials are drawn at parse time: the rounds suggest the other 30.
      best = Math.min(best, ms / TRIALS);
      bestSuggest = Math.min(bestSuggest, suggestMs / (TRIALS - 10));
    }
    return [
      {
        name: `search: overhead per trial (suggest + record), ${TRIALS}-trial TPE, rounds of ${WIDTH}`,
        fxflowMs: best,
        peer: 'the 5 ms budget',
        peerMs: BUDGET_MS,
        note: `CPU ${bestCpu.toFixed(2)} ms a trial; TPE suggest ${bestSuggest.toFixed(3)} ms of it; the rest expands the new trials and compiles each round's plan of all trials so far and its keys`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
