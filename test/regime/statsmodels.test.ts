import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { logReturn } from '../../src/indicators/returns.js';
import { filterHmm, fitHmm, type GaussianHmm } from '../../src/regimes/hmm.js';
import { fetchCandles } from '../helpers/candles.js';
import { sharedFile } from '../helpers/ctx.js';

/**
 * The Markov-switching mean/variance model against statsmodels' MarkovRegression (trend 'c',
 * switching or shared variance), the reference implementation of Hamilton's model: same returns,
 * same starting values, same convention for the regime before the first row (the chain's stationary distribution).
 * statsmodels maximises the likelihood (EM, then BFGS); fxflow runs EM to a tight tolerance. The
 * oracle is bench/regime_statsmodels.py, run with Debian's python3-statsmodels.
 */

const PYTHON = '/usr/bin/python3';
const ORACLE = path.resolve(import.meta.dirname, '../../bench/regime_statsmodels.py');
const hasStatsmodels = spawnSync(PYTHON, ['-c', 'import statsmodels'], { encoding: 'utf8' }).status === 0;
if (!hasStatsmodels)
  console.warn(`[skip] statsmodels not importable by ${PYTHON} (apt install python3-statsmodels): the Markov-switching oracle tests are skipped`);

interface Params {
  trans: number[];
  means: number[];
  variances: number[];
}
interface OracleOut {
  llf: number;
  fit: Params;
  loglike_at?: number;
  fit_ms: number;
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-regime-oracle-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function oracle(job: { y: number[]; k: number; switching_variance: boolean; start: Params; at?: Params }): OracleOut {
  const file = path.join(dir, `job-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(job));
  const r = spawnSync(PYTHON, [ORACLE, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleOut;
}

function toModel(p: Params): GaussianHmm {
  const K = p.means.length;
  return {
    K,
    d: 1,
    covariance: 'diag',
    trans: Float64Array.from(p.trans),
    means: Float64Array.from(p.means),
    covs: Float64Array.from(p.variances),
  };
}
const fromModel = (m: GaussianHmm): Params => ({ trans: Array.from(m.trans), means: Array.from(m.means), variances: Array.from(m.covs) });

/** The same parameters with states renumbered by ascending variance, then mean (fxflow's order). */
function ordered(p: Params): Params {
  const K = p.means.length;
  const o = Array.from({ length: K }, (_, k) => k).sort((a, b) => p.variances[a] - p.variances[b] || p.means[a] - p.means[b]);
  return {
    trans: o.flatMap((i) => o.map((j) => p.trans[i * K + j])),
    means: o.map((k) => p.means[k]),
    variances: o.map((k) => p.variances[k]),
  };
}

/** Fits both from `start` and compares; returns the numbers for the report. */
function compare(y: Float64Array, start: Params, shared: boolean): { llFx: number; llSm: number; maxParamDiff: number; filterDiff: number } {
  const K = start.means.length;
  const fit = fitHmm(y, y.length, 1, { K, covariance: 'diag', seed: 0, start: toModel(start), sharedCovariance: shared, tol: 1e-14, maxIter: 100_000 });
  const mine = fromModel(fit.model);
  const sm = oracle({ y: Array.from(y), k: K, switching_variance: !shared, start, at: mine });
  // The filters agree at the same parameters: statsmodels' log-likelihood at fxflow's estimate.
  const filterDiff = Math.abs(sm.loglike_at! - fit.logLik) / Math.abs(fit.logLik);
  expect(filterDiff).toBeLessThan(1e-10);
  const a = ordered(mine);
  const b = ordered(sm.fit);
  const diffs = [...a.trans.map((v, i) => v - b.trans[i]), ...a.means.map((v, i) => v - b.means[i]), ...a.variances.map((v, i) => v - b.variances[i])];
  const maxParamDiff = Math.max(...diffs.map(Math.abs));
  const rel = Math.abs(sm.llf - fit.logLik) / Math.abs(sm.llf);
  console.log(
    `[oracle] n=${y.length} K=${K}${shared ? ' shared variance' : ''}: ℓ fxflow ${fit.logLik.toFixed(6)} (${fit.iterations} EM iterations) vs statsmodels ${sm.llf.toFixed(6)} (rel. diff ${rel.toExponential(2)}); max |param diff| ${maxParamDiff.toExponential(2)}; filter at equal params rel. diff ${filterDiff.toExponential(2)}`,
  );
  expect(rel).toBeLessThan(1e-6);
  expect(maxParamDiff).toBeLessThan(1e-4);
  // fxflow's EM never ends below the likelihood statsmodels reaches by more than the tolerance.
  expect(fit.logLik).toBeGreaterThan(sm.llf - 1e-6 * Math.abs(sm.llf));
  return { llFx: fit.logLik, llSm: sm.llf, maxParamDiff, filterDiff };
}

/** Returns of a two-regime chain with known parameters (percent units, like H1 returns × 100). */
function synthetic(n: number, seed: number, mu = [0.01, -0.02], sd = [0.1, 0.3]): Float64Array {
  const rng = makeRng(seed);
  const y = new Float64Array(n);
  let s = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0 && rng.next() < (s === 0 ? 0.02 : 0.05)) s = 1 - s;
    y[t] = mu[s] + sd[s] * rng.normal();
  }
  return y;
}

describe.skipIf(!hasStatsmodels)('Markov-switching regression vs statsmodels MarkovRegression', () => {
  const start2: Params = { trans: [0.9, 0.1, 0.1, 0.9], means: [0, 0], variances: [0.005, 0.05] };

  it('synthetic two regimes, switching mean and variance: same optimum', () => {
    compare(synthetic(3000, 8), start2, false);
  });

  it('synthetic two regimes, switching mean, one shared variance: same optimum', () => {
    // Regimes that differ in their mean only (with equal variances the likelihood cannot tell regimes apart by variance).
    compare(synthetic(3000, 9, [0.15, -0.15], [0.2, 0.2]), { ...start2, means: [0.1, -0.1], variances: [0.05, 0.05] }, true);
  });

  const eurusd = sharedFile('EURUSD_H1.csv');
  it.skipIf(!eurusd)(
    'EURUSD H1 returns ×100: 2 regimes on 5,000 bars, 3 on 3,000: same optimum',
    async () => {
      const c = await fetchCandles({ source: 'csv', path: eurusd, symbol: 'EURUSD', timeframe: '1h' });
      const r = logReturn(c.columns.close, 1);
      const y = Float64Array.from(r.subarray(1, 5001), (v) => v * 100);
      compare(y, start2, false);
      // 3 regimes on the first 3,000 bars: statsmodels' BFGS to gtol 1e-9 is the slow part of this test.
      compare(y.subarray(0, 3000), { trans: [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8], means: [0, 0, 0], variances: [0.005, 0.02, 0.08] }, false);
    },
    400_000,
  );

  it('the filter alone: statsmodels’ log-likelihood at given parameters', () => {
    const y = synthetic(500, 4);
    const p: Params = { trans: [0.95, 0.05, 0.1, 0.9], means: [0.01, -0.03], variances: [0.01, 0.09] };
    const sm = oracle({ y: Array.from(y), k: 2, switching_variance: true, start: p, at: p });
    const ll = filterHmm(toModel(p), y, y.length).logLik;
    expect(Math.abs(sm.loglike_at! - ll) / Math.abs(ll)).toBeLessThan(1e-12);
  });
});
