import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fxflow, parseRun, workdir } from '../helpers/cli.js';

/**
 * Successive halving through the CLI: gbm trials start at 10 boosting rounds, the best third go to
 * 30, the best of those to 90. Who went up is checked against the definition of successive halving
 * applied to the scores the run recorded.
 */

const pipeline = (method: 'random' | 'tpe', trials: number): string => `version: 1
name: halving-${method}
seed: 11
search:
  method: ${method}
  trials: ${trials}
  startup: 4
  halving: { param: rounds, min: 10, max: 90, eta: 3 }
  space:
    learning_rate: { loguniform: [0.01, 0.5] }
    max_depth: { int: [1, 4] }
select: { metric: report.sharpe, on: val, mode: max }
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 3000 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } }, { ema: { period: 20 } } ]
      returns: [1, 4]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2] }
  model:
    uses: train
    from: dataset
    with: { model: gbm, early_stopping_rounds: 0, n_estimators: "\${matrix.rounds}", learning_rate: "\${matrix.learning_rate}", max_depth: "\${matrix.max_depth}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { rule: sign }
`;

interface Variant {
  index: number;
  values: { learning_rate: number; max_depth: number; rounds: number };
  score?: number;
  selected: boolean;
}
interface SearchJson {
  status: string;
  variants: Variant[];
  selected: number;
  steps: { step: string; cached: boolean }[];
  overfit?: { trials: number };
  halving?: { param: string; rungs: { fidelity: number; trials: number }[] };
}

const config = (v: Variant): string => JSON.stringify([v.values.learning_rate, v.values.max_depth]);
const on = (vs: Variant[], rounds: number): Variant[] => vs.filter((v) => v.values.rounds === rounds);
/** The best ⌊n/3⌋ of a rung by validation Sharpe (ties: the earlier trial), as configurations. */
const bestThird = (vs: Variant[]): string[] =>
  vs
    .filter((v) => v.score !== undefined)
    .sort((a, b) => b.score! - a.score! || a.index - b.index)
    .slice(0, Math.floor(vs.filter((v) => v.score !== undefined).length / 3))
    .map(config);

describe('a search with successive halving', () => {
  const dir = workdir();
  writeFileSync(path.join(dir, 'random.yaml'), pipeline('random', 9));
  writeFileSync(path.join(dir, 'tpe.yaml'), pipeline('tpe', 9));
  let first: SearchJson;

  it('runs 9 trials at 10 rounds, the best 3 at 30, the best of those at 90, and selects on the last rung', async () => {
    first = parseRun(await fxflow(['run', 'random.yaml', '--json', '--jobs', '2'], { cwd: dir })) as unknown as SearchJson;
    expect(first.status).toBe('succeeded');
    const [r0, r1, r2] = [on(first.variants, 10), on(first.variants, 30), on(first.variants, 90)];
    expect([r0.length, r1.length, r2.length]).toEqual([9, 3, 1]);
    expect(first.variants).toHaveLength(13);
    // Promoted in order of their score, two slots a round: the same sets as synchronous halving.
    expect(r1.map(config).sort()).toEqual(bestThird(r0).sort());
    expect(r2.map(config)).toEqual(bestThird(r1));
    // The winner ran at full fidelity, whatever a 10-round trial scored.
    const winner = first.variants.find((v) => v.selected)!;
    expect(winner.index).toBe(first.selected);
    expect(winner.values.rounds).toBe(90);
    // 13 models trained, one per trial and rung; the DSR counts every one of them.
    expect(first.steps.filter((s) => s.step === 'model')).toHaveLength(13);
    expect(first.overfit?.trials).toBe(13);
    expect(first.halving).toEqual({
      param: 'rounds',
      rungs: [
        { fidelity: 10, trials: 9 },
        { fidelity: 30, trials: 3 },
        { fidelity: 90, trials: 1 },
      ],
    });
  });

  it('a rerun draws and promotes the same trials, all cached', async () => {
    const again = parseRun(await fxflow(['run', 'random.yaml', '--json', '--jobs', '2'], { cwd: dir })) as unknown as SearchJson;
    expect(again.variants.map((v) => v.values)).toEqual(first.variants.map((v) => v.values));
    expect(again.steps.every((s) => s.cached)).toBe(true);
    expect(again.selected).toBe(first.selected);
    const text = await fxflow(['run', 'random.yaml', '--jobs', '2'], { cwd: dir });
    expect(text.stdout).toContain('successive halving on rounds: 9 trials at 10 → 3 at 30 → 1 at 90; the winner is chosen at 90');
  });

  it('with TPE, draws 9 trials on the first rung and promotes asynchronously: each rung ends holding the best third of the one below', async () => {
    const r = parseRun(await fxflow(['run', 'tpe.yaml', '--json', '--jobs', '2'], { cwd: dir })) as unknown as SearchJson;
    expect(r.status).toBe('succeeded');
    const [r0, r1, r2] = [on(r.variants, 10), on(r.variants, 30), on(r.variants, 90)];
    expect(r0).toHaveLength(9);
    // A promotion made early (from the best third of fewer trials) stays: at least ⌊n/3⌋ went up.
    expect(r1.length).toBeGreaterThanOrEqual(2);
    for (const c of bestThird(r0)) expect(r1.map(config)).toContain(c);
    for (const c of bestThird(r1)) expect(r2.map(config)).toContain(c);
    // Every trial above the first rung ran on the rung below first.
    for (const v of r1) expect(r0.map(config)).toContain(config(v));
    for (const v of r2) expect(r1.map(config)).toContain(config(v));
    expect(r.variants.find((v) => v.selected)!.values.rounds).toBe(90);
  });

  it('refuses a fidelity no step reads, one drawn from the space too, and bounds out of order, at their YAML line', async () => {
    const bad = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return fxflow(['validate', name], { cwd: dir });
    };
    const unread = await bad('unread.yaml', pipeline('random', 9).replace('n_estimators: "${matrix.rounds}", ', ''));
    expect(unread.code).not.toBe(0);
    expect(unread.stderr).toMatch(/unread\.yaml:8:\d+.*no step reads the fidelity `\$\{matrix\.rounds\}`/);
    const both = await bad(
      'both.yaml',
      pipeline('random', 9).replace('max_depth: { int: [1, 4] }', 'max_depth: { int: [1, 4] }\n    rounds: { int: [10, 90] }'),
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('`rounds` is both a parameter of `search.space` and the halving fidelity');
    const order = await bad('order.yaml', pipeline('random', 9).replace('min: 10, max: 90', 'min: 90, max: 10'));
    expect(order.code).not.toBe(0);
    expect(order.stderr).toMatch(/order\.yaml:8:\d+.*`min` 90 is not below its `max` 10/);
    expect(order.stderr).not.toMatch(/\n\s+at /);
    // 8 trials: 2 reach 30 rounds, ⌊2/3⌋ = 0 reach 90.
    const few = await bad('few.yaml', pipeline('random', 8));
    expect(few.code).not.toBe(0);
    expect(few.stderr).toMatch(
      /few\.yaml:6:\d+.*with 8 trials and eta 3, no trial would reach the last rung \(rounds = 90\): successive halving needs at least 9/,
    );
  });
});
