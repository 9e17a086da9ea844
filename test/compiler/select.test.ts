import { describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { isDeclaredMetric } from '../../src/steps/define.js';
import { builtinRegistry } from '../../src/steps/index.js';
import { testContext } from '../helpers/ctx.js';

/**
 * `select.metric` names a metric the selected step records. A typo (`report.sharp`) used to be
 * accepted: every leaderboard score was "—" and no variant won. Now it is a compile error at the
 * metric's value, with "did you mean" over the names the step kind declares.
 */

const pipeline = (select: string) => `version: 1
name: t
seed: 3
matrix:
  alpha: [0.1, 1.0]
select: ${select}
steps:
  candles:
    uses: fetch
    with: { source: synthetic, bars: 900 }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
      target: { forward_return: { horizons: [1, 4] } }
  dataset:
    uses: split
    from: features
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: "\${matrix.alpha}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
`;

function compileText(text: string): CompileResult {
  const parsed = parsePipelineText(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });
  expect(parsed.diagnostics).toEqual([]);
  return compile(parsed.spec!, builtinRegistry());
}

describe('select.metric is checked against the metrics the step records', () => {
  it('a typo is an error at the metric value, with a suggestion', () => {
    const r = compileText(pipeline('{ metric: report.sharp, on: val, mode: max }'));
    expect(r.plan).toBeUndefined();
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    expect(d.message).toBe('step `report` (backtest) records no metric `sharp`');
    // `select: { metric: ` is 18 characters: the value starts at line 6, column 19.
    expect(d.loc).toEqual({ file: 'p.yaml', line: 6, col: 19 });
    expect(d.hint).toBe('did you mean `sharpe`?');
  });

  it('a name with no near match lists what the step records', () => {
    const r = compileText(pipeline('{ metric: dataset.accuracy }'));
    expect(r.diagnostics.map((d) => d.message)).toEqual(['step `dataset` (split) records no metric `accuracy`']);
    expect(r.diagnostics[0].hint).toMatch(/^expected a metric of split: drift_ks_max_test, drift_ks_max_val, /);
  });

  it('a name on Object.prototype is not a metric', () => {
    const r = compileText(pipeline('{ metric: report.constructor }'));
    expect(r.diagnostics.map((d) => d.message)).toEqual(['step `report` (backtest) records no metric `constructor`']);
  });

  it('accepts declared names, and names made from a target', () => {
    for (const m of ['report.sharpe', 'report.ic_fwd_ret_4', 'model.val_ic_fwd_ret_1', 'model.test_rmse_fwd_ret_4', 'candles.bars', 'features.rows']) {
      const r = compileText(pipeline(`{ metric: ${m}, mode: max }`));
      expect(r.diagnostics, m).toEqual([]);
      expect(r.plan?.select?.metric).toBe(m);
    }
    // `val_ic_<target>` needs a target name after the prefix.
    expect(compileText(pipeline('{ metric: model.val_ic_ }')).diagnostics[0].message).toBe('step `model` (train) records no metric `val_ic_`');
  });
});

describe('every built-in step declares each metric it records', () => {
  it('the metrics of a real run all match the declared names', async () => {
    // One variant of the pipeline, each step run in-process in plan order (no store, no CLI).
    const text = pipeline('{ metric: report.sharpe }')
      .replace('  alpha: [0.1, 1.0]', '  alpha: [1.0]')
      .replace('    from: features\n', '    from: features\n    with: { drift: true }\n');
    const r = compileText(text);
    expect(r.diagnostics).toEqual([]);
    const outputs = new Map<string, unknown>();
    const seen: string[] = [];
    for (const n of r.plan!.nodes) {
      const inputs = Object.fromEntries(Object.entries(n.inputs).map(([port, src]) => [port, outputs.get(src)]));
      const out = await n.def.run(inputs as never, n.params as never, testContext({ stepId: n.id, seed: 3 }));
      outputs.set(n.id, out);
      const metrics = n.def.metrics?.(out as never) ?? {};
      expect(n.def.metricNames, n.kind).toBeDefined();
      for (const k of Object.keys(metrics)) {
        expect(isDeclaredMetric(k, n.def.metricNames!), `${n.kind} records \`${k}\` but does not declare it`).toBe(true);
        seen.push(`${n.kind}.${k}`);
      }
    }
    // The run did produce the families the declarations template.
    expect(seen).toEqual(
      expect.arrayContaining(['fetch.bars', 'split.drift_ks_max_val', 'train.val_ic_fwd_ret_4', 'backtest.sharpe', 'backtest.ic_fwd_ret_1']),
    );
  });
});
