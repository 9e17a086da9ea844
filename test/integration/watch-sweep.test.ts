import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fxflow, spawnFxflow, workdir } from '../helpers/cli.js';

/**
 * `watch` runs a pipeline through the same runner as `run` (src/runtime/pipeline-run.ts): a
 * `matrix:` pipeline gets its pool, its leaderboard and its variants in the run history.
 */

const PIPELINE = `version: 1
name: watched_sweep
seed: 11
matrix:
  alpha: [0.1, 1000]
select: { metric: report.sharpe, on: val, mode: max }
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 1500 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } } ]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: "\${matrix.alpha}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
`;

describe('fxflow watch on a sweep', () => {
  const stop: (() => void)[] = [];
  afterAll(() => stop.forEach((f) => f()));

  it('records the variants and prints the leaderboard, as run does', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'sweep.yaml'), PIPELINE);
    const proc = spawnFxflow(['watch', 'sweep.yaml', '--jobs', '2'], { cwd: dir });
    stop.push(() => proc.kill('SIGKILL'));
    let out = '';
    const first = new Promise<void>((resolve, reject) => {
      const seen = (d: Buffer): void => {
        out += d.toString();
        if (/watching \d+ files? for changes/.test(out)) resolve();
      };
      proc.stdout!.on('data', seen);
      proc.stderr!.on('data', seen);
      proc.on('exit', (code) => reject(new Error(`watch exited ${code}:\n${out}`)));
    });
    await first;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGINT');
    expect(await exited).toBe(0);

    expect(out).toMatch(/leaderboard · 2 variants · select report\.sharpe on val \(max\)/);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as {
      id: string;
      status: string;
      variants: { index: number; selected: boolean }[];
    }[];
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe('succeeded');
    expect(runs[0].variants.map((v) => v.index)).toEqual([0, 1]);
    expect(runs[0].variants.filter((v) => v.selected)).toHaveLength(1);
  });
});
