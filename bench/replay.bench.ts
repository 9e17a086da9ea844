/**
 * Replay benchmark (issue 21): two years of H1 EURUSD (2018–2019, the shared MetaTrader file)
 * replayed bar by bar with weekly refits on a rolling 6,000-row window (≈ 104 refits), the whole
 * `replay` step timed (scaling, fits, predictions, the backtest). Targets: ridge ≤ 5 s; gbm within
 * 1.5× the sum of the same fits run by xgboost (tree_method=hist, same rows, same window scaling,
 * 100 trees, depth 4, learning rate 0.05, 2 threads on both sides, no early stopping). The ridge
 * peer is the sum of scikit-learn Ridge fits on the same windows. Peers: bench/replay_peer.py under
 * /usr/bin/python3; without it the peer columns read "—". Skipped without the shared data.
 *
 * Following (`fxflow watch`, `fxflow replay --follow`): one bar appended to the same data, the replay
 * extended from its kept walk (the step's ReplayMemory) against the peer a user has without it, the
 * same step rerun over the longer data; same process, same inputs, the features given to both.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Candles, Features } from '../src/core/artifacts.js';
import { makeStepContext } from '../src/steps/define.js';
import fetch from '../src/steps/fetch/index.js';
import type { FetchParams } from '../src/steps/fetch/params.js';
import featuresStep from '../src/steps/features/index.js';
import type { FeaturesParams } from '../src/steps/features/params.js';
import replayStep, { replay } from '../src/steps/replay/index.js';
import type { ReplayParams } from '../src/steps/replay/params.js';
import { toRowMajor } from '../src/steps/split/index.js';
import { sliceFrame } from '../src/data/frame.js';
import { setFollowHooks } from '../src/steps/follow-hooks.js';
import { startFollowing, stopFollowing } from '../src/steps/following.js';
import { parsePipelineText } from '../src/parser/index.js';
import type { BenchResult } from './run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CSV = path.resolve(HERE, '../../shared/data/forex/EURUSD_H1.csv');
const PY = process.env.FXFLOW_BENCH_PYTHON ?? '/usr/bin/python3';
const REPEAT = 3;

function yaml(train: string): string {
  return `version: 1
name: replay-bench
seed: 42
steps:
  candles:
    uses: fetch
    with: { source: csv, path: ${JSON.stringify(CSV)}, symbol: EURUSD, timeframe: 1h, from: "2016-06-01", to: "2020-01-01" }
  features:
    uses: features
    from: candles
    with:
      indicators: [{ rsi: { period: 14 } }, { ema: { period: 20 } }, { macd: { fast: 12, slow: 26, signal: 9 } }]
      returns: [1, 4, 24]
      volatility: [24]
      target: { forward_return: { horizons: [1, 4] } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: ${train}
      retrain: { every: 1w, window: rolling, train_bars: 6000, start: "2018-01-01" }
      backtest: { entry_threshold: 0.0001, costs: { spread_pips: 0.8 } }
`;
}

function steps(text: string): Record<string, Record<string, unknown>> {
  const parsed = parsePipelineText(text, path.join(HERE, 'replay-bench.yaml'));
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
  return Object.fromEntries(parsed.spec.steps.map((s) => [s.id, s.with]));
}

const ctx = makeStepContext({ stepId: 'replay', seed: 42, pipelineDir: HERE, threads: 2 });

async function timed(f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: JIT, wasm instantiation
  const ms: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[REPEAT >> 1];
}

function peers(features: Features, windows: number[][], which: string[], alpha: number): Record<string, { seconds: number; version: string }> {
  if (!existsSync(PY)) return {};
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-replay-bench-'));
  try {
    const n = features.index.length;
    const X = toRowMajor(
      features.featureNames.map((c) => features.columns[c]),
      n,
    );
    const Y = toRowMajor(
      features.targetNames.map((c) => features.columns[c]),
      n,
    );
    writeFileSync(path.join(dir, 'X.f64'), X);
    writeFileSync(path.join(dir, 'Y.f64'), Y);
    const spec = {
      dir,
      n,
      p: features.featureNames.length,
      k: features.targetNames.length,
      windows,
      which,
      alpha,
      gbm: { trees: 100, depth: 4, lr: 0.05, bins: 256, threads: 2 },
    };
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    return JSON.parse(execFileSync(PY, [path.join(HERE, 'replay_peer.py'), JSON.stringify(spec)], { encoding: 'utf8', env, maxBuffer: 1 << 24 })) as Record<
      string,
      { seconds: number; version: string }
    >;
  } catch (e) {
    process.stderr.write(`replay peer failed: ${(e as Error).message.split('\n')[0]}\n`);
    return {};
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(CSV)) {
    process.stderr.write(`[skip] replay bench: ${CSV} not found\n`);
    return [];
  }
  const out: BenchResult[] = [];
  const cases: [string, string, string][] = [
    ['ridge', '{ model: ridge, alpha: 10 }', 'ridge'],
    ['gbm', '{ model: gbm, n_estimators: 100, max_depth: 4, learning_rate: 0.05, early_stopping_rounds: 0, threads: 2 }', 'xgboost'],
  ];
  let candles: Candles | undefined;
  let features: Features | undefined;
  for (const [name, train, peer] of cases) {
    const p = steps(yaml(train));
    candles ??= await fetch.run({}, p.candles as unknown as FetchParams, ctx);
    features ??= await featuresStep.run({ candles }, p.features as unknown as FeaturesParams, ctx);
    const params = replayStep.resolve!(p.replay as unknown as ReplayParams) as ReplayParams;
    const fx = features;
    const cd = candles;
    const ms = await timed(() => replayStep.run({ features: fx, candles: cd }, params, ctx));
    const done = await replay(fx, cd, params, ctx);
    const windows = done.result.models.map((m) => [m.train.start, m.train.end]);
    const peerOut = peers(fx, windows, [peer], 10)[peer];
    const rows = done.result.end - done.result.start;
    out.push({
      name: `replay 2y H1, ${windows.length} weekly ${name} refits`,
      fxflowMs: ms,
      peer: peerOut
        ? `${peer === 'ridge' ? 'scikit-learn Ridge' : 'xgboost'} ${peerOut.version}: sum of the ${windows.length * (name === 'gbm' ? fx.targetNames.length : 1)} fits`
        : peer,
      peerMs: peerOut ? peerOut.seconds * 1000 : NaN,
      note: `${rows.toLocaleString('en-US')} bars replayed; ${name === 'ridge' ? 'target ≤ 5 s' : 'target: fxflow ≤ 1.5× peer (ratio ≥ 0.67)'}; median of ${REPEAT}`,
    });
    out.push(await followOneBar(name, cd, p, params, name === 'ridge' ? REPEAT : 1));
  }
  return out;
}

/**
 * One appended bar: the replay over all but the last bar kept (following on), then the last bar
 * extends it (timed), against the step rerun afresh over every bar (timed, following off). Median of
 * `repeat` pairs; each pair primes a fresh memory first (untimed).
 */
async function followOneBar(
  name: string,
  candles: Candles,
  p: Record<string, Record<string, unknown>>,
  params: ReplayParams,
  repeat: number,
): Promise<BenchResult> {
  const fp = p.features as unknown as FeaturesParams;
  const short = sliceFrame(candles, 0, candles.index.length - 1);
  const fShort = await featuresStep.run({ candles: short }, fp, ctx);
  const fLong = await featuresStep.run({ candles }, fp, ctx);
  const ext: number[] = [];
  const full: number[] = [];
  let logs: string[] = [];
  for (let i = 0; i < repeat; i++) {
    startFollowing();
    await replayStep.run({ features: fShort, candles: short }, params, ctx);
    logs = [];
    const logging = { ...ctx, log: (m: string) => void logs.push(m) };
    let t = performance.now();
    await replayStep.run({ features: fLong, candles }, params, logging);
    ext.push(performance.now() - t);
    stopFollowing();
    setFollowHooks({});
    t = performance.now();
    await replayStep.run({ features: fLong, candles }, params, ctx);
    full.push(performance.now() - t);
  }
  if (!logs.some((l) => l.startsWith('following: 1 new bar replayed'))) throw new Error(`the ${name} replay was not extended: ${logs.join(' | ')}`);
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
  return {
    name: `replay 2y H1 (${name}), 1 bar appended: walk extended`,
    fxflowMs: med(ext),
    peer: 'the same replay rerun over all the bars',
    peerMs: med(full),
    note: `${fLong.index.length.toLocaleString('en-US')} feature rows; median of ${repeat}; load ${loadavg()[0].toFixed(1)}`,
  };
}
