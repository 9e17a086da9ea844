import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { overfitStats, dailyAligned } from '../../src/evaluation/overfitting.js';
import { decodeArtifact } from '../../src/runtime/codec.js';
import { Store } from '../../src/runtime/store.js';
import type { Report } from '../../src/core/artifacts.js';
import { fxflow, parseRun, workdir } from '../helpers/cli.js';

/** A TPE search through the CLI: rounds on the scheduler and cache, one run, the winner's statistics. */

const TEXT = `version: 1
name: tpe
seed: 5
search:
  method: tpe
  trials: 7
  startup: 3
  space:
    alpha: { loguniform: [0.001, 1000] }
    horizon: { choice: [1, 4] }
select: { metric: report.sharpe, on: val, mode: max }
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 3000 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } } ]
      returns: [1, 4]
      target: { forward_return: { horizons: ["\${matrix.horizon}"] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2] }
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: "\${matrix.alpha}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { rule: sign }
`;

interface SearchJson {
  runId: string;
  status: string;
  steps: { id: string; step: string; cached: boolean; key: string; variants: Record<string, unknown>[] }[];
  variants: { index: number; values: Record<string, unknown>; score?: number; selected: boolean }[];
  selected: number;
  report?: string;
  overfit: { trials: number; dsr: number; pbo: number; sharpe: number; periodsPerYear: number; line: string };
}

describe('a TPE search', () => {
  const dir = workdir();
  writeFileSync(path.join(dir, 'tpe.yaml'), TEXT);
  let first: SearchJson;

  it('runs every trial in rounds as one run, sharing the steps that do not depend on the search', async () => {
    first = parseRun(await fxflow(['run', 'tpe.yaml', '--json', '--jobs', '2'], { cwd: dir })) as unknown as SearchJson;
    expect(first.status).toBe('succeeded');
    expect(first.variants).toHaveLength(7);
    expect(first.variants.map((v) => v.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // fetch once; features and split at most once per horizon; a model per trial (ids stay put from round to round).
    const count = (step: string): number => first.steps.filter((s) => s.step === step).length;
    expect(count('candles')).toBe(1);
    expect(count('features')).toBeLessThanOrEqual(2);
    expect(first.steps.filter((s) => s.step === 'model').map((s) => s.id)).toEqual(
      Array.from({ length: 7 }, (_, i) => `model[t${i + 1}]`).filter((id) => first.steps.some((s) => s.id === id)),
    );
    expect(first.steps.every((s) => !s.cached)).toBe(true);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { id: string }[];
    expect(runs.map((r) => r.id)).toEqual([first.runId]);
  });

  it('records the deflated Sharpe and PBO of the winner, equal to the formulas on the stored backtests', async () => {
    expect(first.overfit.trials).toBe(7);
    const store = await Store.open(path.join(dir, '.fxflow'));
    try {
      const reports: Report[] = [];
      for (const v of first.variants) {
        const node = first.steps.find((s) => s.step === 'report@val' && s.variants.some((x) => JSON.stringify(x) === JSON.stringify(v.values)))!;
        reports.push(decodeArtifact<Report>((await store.getArtifactBytes(node.key))!));
      }
      const { series } = dailyAligned(reports.map((r) => ({ index: r.index, net: r.net! })));
      const expected = overfitStats(series, first.selected, first.overfit.periodsPerYear);
      expect(first.overfit.dsr).toBeCloseTo(expected.dsr, 12);
      expect(first.overfit.pbo).toBeCloseTo(expected.pbo!, 12);
    } finally {
      await store.close();
    }
    expect(first.overfit.line).toMatch(/^after 7 trials, a validation Sharpe of -?\d+\.\d\d has a \d+% chance of being luck/);
    // The HTML report: the winner's test backtest, headed by the same statistics.
    const html = readFileSync(first.report!, 'utf8');
    expect(html).toContain('Is the winner real?');
    expect(html).toContain(`step report[t${first.selected + 1}]`);
    const text = (await fxflow(['show', first.runId], { cwd: dir })).stdout;
    expect(text).toContain('is the winner real? deflated Sharpe');
    expect(text).toContain(first.overfit.line);
  });

  it('the same seed draws the same trials: a rerun is all cached', async () => {
    const again = parseRun(await fxflow(['run', 'tpe.yaml', '--json', '--jobs', '2'], { cwd: dir })) as unknown as SearchJson;
    expect(again.variants.map((v) => v.values)).toEqual(first.variants.map((v) => v.values));
    expect(again.steps.every((s) => s.cached)).toBe(true);
    expect(again.selected).toBe(first.selected);
  });
});
