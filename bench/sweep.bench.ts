/**
 * A 12-variant gbm sweep (max_depth 3/4/5 × learning_rate 0.05/0.1/0.2/0.3) on 30,000 synthetic H1
 * bars: `fxflow run --jobs 2` against `fxflow run --jobs 1`, each in a fresh store (nothing
 * cached), through the built CLI as a user runs it. fetch, features and split are shared (one node
 * each); the 12 train steps run in worker threads with --jobs 2. The ratio is the speed-up; the
 * note checks that both runs produced identical metrics.
 *
 * Time: the better of 2 runs each, alternating, wall clock of the whole command.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const BIN = fileURLToPath(new URL('../bin/fxflow.js', import.meta.url));

const PIPELINE = `version: 1
name: bench-sweep
seed: 3
matrix:
  max_depth: [3, 4, 5]
  learning_rate: [0.05, 0.1, 0.2, 0.3]
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 30000 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } }, { ema: { period: 20 } }, { macd: { fast: 12, slow: 26, signal: 9 } } ]
      returns: [1, 4, 24]
      target: { forward_return: { horizons: [1, 4] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: gbm, max_depth: "\${matrix.max_depth}", learning_rate: "\${matrix.learning_rate}", n_estimators: 200 }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { costs: { spread_pips: 0.8 } }
`;

function once(dir: string, jobs: number): { ms: number; metrics: string } {
  const store = path.join(dir, `store-${jobs}-${Math.random().toString(36).slice(2)}`);
  const t = performance.now();
  const out = execFileSync(process.execPath, [BIN, '--store', store, 'run', 'sweep.yaml', '--json', '--jobs', String(jobs)], {
    cwd: dir,
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const ms = performance.now() - t;
  rmSync(store, { recursive: true, force: true });
  const run = JSON.parse(out) as { status: string; metrics: unknown };
  if (run.status !== 'succeeded') throw new Error(`sweep --jobs ${jobs} ${run.status}`);
  return { ms, metrics: JSON.stringify(run.metrics) };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-bench-sweep-'));
  writeFileSync(path.join(dir, 'sweep.yaml'), PIPELINE);
  try {
    const one: number[] = [];
    const two: number[] = [];
    let same = true;
    for (let i = 0; i < 2; i++) {
      const a = once(dir, 1);
      const b = once(dir, 2);
      one.push(a.ms);
      two.push(b.ms);
      same &&= a.metrics === b.metrics;
    }
    return [
      {
        name: '12-variant gbm sweep, --jobs 2',
        fxflowMs: Math.min(...two),
        peer: 'fxflow --jobs 1',
        peerMs: Math.min(...one),
        note: `${availableParallelism()} cores; metrics ${same ? 'identical' : 'DIFFER'} between --jobs 1 and 2`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
