/**
 * Models benchmark: fxflow's gbm against XGBoost (tree_method=hist, 2 threads) and scikit-learn's
 * HistGradientBoostingRegressor, and fxflow's ridge against scikit-learn's Ridge, on the same
 * seeded synthetic nonlinear problem (90k rows × 40 features, validation on 20k more), in the same
 * run. gbm settings on every side: 200 trees, depth 6, learning rate 0.05, 256 bins (255 for
 * sklearn and fxflow, plus their NaN bin), λ = 1, min child weight 1, no subsampling, no early
 * stopping.
 *
 * Peers' setup (Debian): apt-get update && apt-get install -y python3-sklearn python3-xgboost
 * They run under /usr/bin/python3 via bench/models_peer.py (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
 * are unset for that child only). Without them the peer columns read "—".
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binFold, fitGbm, gbmPredict, type GbmParams } from '../src/models/gbm/gbm.js';
import { resolveThreads } from '../src/core/threads.js';
import { gbm, gbmParamsOf } from '../src/models/kinds.js';
import { rmse } from '../src/models/metrics.js';
import { fitRidge, predictLinear } from '../src/models/ridge.js';
import type { BenchResult } from './run.js';
import { makeProblem, writeProblem } from './models-data.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PY = process.env.FXFLOW_BENCH_PYTHON ?? '/usr/bin/python3';
/** Ridge fits in tens of ms: both sides run RIDGE_WARM unmeasured fits, then report the best and the median of RIDGE_REPEAT. */
const RIDGE_WARM = 3;
const RIDGE_REPEAT = 15;

interface PeerOut {
  seconds: number;
  /** ridge: median of the timed fits. */
  median?: number;
  rmse: number;
  version?: string;
}

function runPeers(spec: string): Record<string, PeerOut> {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  try {
    return JSON.parse(execFileSync(PY, [path.join(HERE, 'models_peer.py'), spec], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Record<
      string,
      PeerOut
    >;
  } catch (e) {
    process.stderr.write(`models bench: the Python peers did not run (${(e as Error).message.split('\n')[0]}); install python3-sklearn python3-xgboost\n`);
    return {};
  }
}

/** The gbm kind's defaults (200 trees, depth 6, lr 0.05, 255 bins…) without early stopping. */
/** Fits per gbm side (xgboost, sklearn, fxflow): the best is reported. */
const GBM_REPEAT = 3;

export const GBM_BENCH_PARAMS: GbmParams = { ...gbmParamsOf(gbm.defaults), earlyStoppingRounds: 0 };

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env.FXFLOW_BENCH_ROWS ?? 90_000);
  const p = 40;
  const nVal = 20_000;
  const pb = makeProblem(n, p, nVal, 7);
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-bench-models-'));
  try {
    const spec = writeProblem(pb, dir, {
      which: ['xgboost', 'sklearn_hgb', 'ridge'],
      trees: 200,
      depth: 6,
      lr: 0.05,
      bins: 256,
      threads: 2,
      alpha: 1,
      repeat: GBM_REPEAT,
      ridge_warm: RIDGE_WARM,
      ridge_repeat: RIDGE_REPEAT,
    });
    const peers = runPeers(spec);

    // fxflow gbm: one dataset holding train then val rows, as the train step sees a fold.
    const X = new Float64Array((n + nVal) * p);
    X.set(pb.X);
    X.set(pb.Xv, n * p);
    const Y = new Float64Array(n + nVal);
    Y.set(pb.y);
    Y.set(pb.yv, n);
    const train = { start: 0, end: n };
    const val = { start: n, end: n + nVal };
    // The peers' protocol: best of GBM_REPEAT fits (the first, with its JIT warm-up, included).
    let gbmMs = Infinity;
    let gbmFirst = NaN;
    let g!: ReturnType<typeof fitGbm>;
    for (let i = 0; i < GBM_REPEAT; i++) {
      const t0 = performance.now();
      const binned = binFold(X, p, train, GBM_BENCH_PARAMS.maxBins);
      g = fitGbm(X, p, Y, 1, 0, train, val, binned, GBM_BENCH_PARAMS, 1);
      const ms = performance.now() - t0;
      if (i === 0) gbmFirst = ms;
      gbmMs = Math.min(gbmMs, ms);
    }
    const gbmRmse = rmse(gbmPredict(g, pb.Xv, nVal, p), pb.yv);

    // Ridge: same protocol as the peer (warm-up fits, then best and median of RIDGE_REPEAT).
    const firstStart = performance.now();
    let rf = fitRidge(pb.X, n, p, pb.y, 1);
    const ridgeFirstMs = performance.now() - firstStart;
    for (let i = 1; i < RIDGE_WARM; i++) rf = fitRidge(pb.X, n, p, pb.y, 1);
    const ridgeTimes: number[] = [];
    for (let i = 0; i < RIDGE_REPEAT; i++) {
      const r0 = performance.now();
      rf = fitRidge(pb.X, n, p, pb.y, 1);
      ridgeTimes.push(performance.now() - r0);
    }
    const ridgeMs = Math.min(...ridgeTimes);
    const ridgeMedian = [...ridgeTimes].sort((a, b) => a - b)[RIDGE_REPEAT >> 1];
    const ridgeRmse = rmse(predictLinear(pb.Xv, nVal, p, rf.coef, rf.intercept), pb.yv);

    // fxflow's gbm runs on `threads` (default one per core) like XGBoost's 2 here.
    const acc = (peer?: PeerOut): string =>
      `best of ${GBM_REPEAT} fits each (fxflow 1st ${gbmFirst.toFixed(0)} ms), fxflow ${resolveThreads(GBM_BENCH_PARAMS.threads)} threads, ` +
      (peer
        ? `val RMSE ${gbmRmse.toFixed(4)} vs ${peer.rmse.toFixed(4)} (${(((gbmRmse - peer.rmse) / peer.rmse) * 100).toFixed(2)}%)`
        : `val RMSE ${gbmRmse.toFixed(4)}`);
    return [
      {
        name: `gbm fit ${n / 1000}k×${p}, 200 trees d6`,
        fxflowMs: gbmMs,
        peer: `xgboost ${peers.xgboost?.version ?? ''} hist 2 threads`.trim(),
        peerMs: (peers.xgboost?.seconds ?? NaN) * 1000,
        note: acc(peers.xgboost),
      },
      {
        name: `gbm fit ${n / 1000}k×${p}, 200 trees d6`,
        fxflowMs: gbmMs,
        peer: `sklearn ${peers.sklearn_hgb?.version ?? ''} HistGradientBoosting`.trim(),
        peerMs: (peers.sklearn_hgb?.seconds ?? NaN) * 1000,
        note: acc(peers.sklearn_hgb),
      },
      {
        name: `ridge fit ${n / 1000}k×${p}`,
        fxflowMs: ridgeMs,
        peer: 'sklearn Ridge',
        peerMs: (peers.ridge?.seconds ?? NaN) * 1000,
        note:
          `best of ${RIDGE_REPEAT} after ${RIDGE_WARM} warm-up fits; medians ${ridgeMedian.toFixed(1)} vs ${peers.ridge?.median !== undefined ? (peers.ridge.median * 1000).toFixed(1) : '—'} ms; ` +
          `fxflow 1st fit ${ridgeFirstMs.toFixed(1)} ms, ${resolveThreads(0)} threads; ` +
          (peers.ridge ? `val RMSE ${ridgeRmse.toFixed(4)} vs ${peers.ridge.rmse.toFixed(4)}` : `val RMSE ${ridgeRmse.toFixed(4)}`),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
