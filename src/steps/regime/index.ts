import type { Features, RegimeInfo } from '../../core/artifacts.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { thousands } from '../../core/format.js';
import { isoUtc } from '../../data/frame.js';
import { argmaxStates, filterHmm, fitHmm, type HmmFit } from '../../regimes/hmm.js';
import { ruleStateCount, ruleStates } from '../../regimes/rules.js';
import { defineStep, paramsOf, type CheckContext } from '../define.js';
import { parseUtc } from '../split/index.js';
import type { RegimeParams } from './params.js';
import { firstRowAtOrAfter } from '../../evaluation/folds.js';

/**
 * `regime`: adds regime columns to features. For each row, `<prefix>_p0 … _p{K−1}` are the
 * FILTERED probabilities Pr(state | rows ≤ t) (never smoothed, which would use later rows) and
 * `<prefix>_state` the most probable state. The hmm and markov_switching models are fitted on the
 * first rows only (`fit_rows` share or before `fit_until`), then filtered over all rows; states are
 * numbered by volatility. docs/regimes.md.
 */

const PARAMS_OF: Partial<Record<keyof RegimeParams, RegimeParams['method'][]>> = {
  covariance: ['hmm'],
  switching_variance: ['markov_switching'],
  fit_rows: ['hmm', 'markov_switching'],
  fit_until: ['hmm', 'markov_switching'],
  states: ['hmm', 'markov_switching'],
  window: ['rules'],
  vol_thresholds: ['rules'],
  trend_column: ['rules'],
  trend_threshold: ['rules'],
};

function outputNames(prefix: string, K: number): string[] {
  return [...Array.from({ length: K }, (_, k) => `${prefix}_p${k}`), `${prefix}_state`];
}

/** Row-major n × d matrix of the named columns. */
function matrixOf(features: Features, columns: string[]): Float64Array {
  const n = features.index.length;
  const d = columns.length;
  const X = new Float64Array(n * d);
  columns.forEach((c, j) => {
    const col = features.columns[c];
    for (let t = 0; t < n; t++) X[t * d + j] = col[t];
  });
  return X;
}

function missingColumns(features: Features, names: string[]): void {
  const missing = names.filter((c) => !features.columns[c]);
  if (missing.length) {
    const have = Object.keys(features.columns);
    throw new RunError(`column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `\`${c}\``).join(', ')} not in the features`, {
      hint: `the features have ${have.slice(0, 12).join(', ')}${have.length > 12 ? ', …' : ''}; add the column in the features step or choose one of these`,
    });
  }
}

/** Transitions counted between consecutive rows' states (rules), each row normalised. */
function countedTransitions(states: Int32Array, K: number): number[] {
  const P = new Array<number>(K * K).fill(0);
  for (let t = 1; t < states.length; t++) if (states[t - 1] >= 0 && states[t] >= 0) P[states[t - 1] * K + states[t]]++;
  for (let i = 0; i < K; i++) {
    const s = P.slice(i * K, (i + 1) * K).reduce((a, b) => a + b, 0);
    for (let j = 0; j < K; j++) P[i * K + j] = s > 0 ? P[i * K + j] / s : NaN;
  }
  return P;
}

function shares(states: Int32Array, K: number): number[] {
  const c = new Array<number>(K).fill(0);
  let n = 0;
  for (const s of states) if (s >= 0) c[s]++, n++;
  return c.map((x) => (n ? x / n : NaN));
}

export default defineStep({
  kind: 'regime',
  version: 1,
  description:
    'Regime columns from features: a Gaussian HMM, a Markov-switching model or threshold rules, fitted on the first rows; filtered state probabilities (no look-ahead) and the most probable state.',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<RegimeParams>(),
  seeded: true,
  metricNames: ['regime_loglik', 'regime_iterations', 'regime_share_<state>', 'regime_persistence_<state>'],

  check(params: RegimeParams, ctx?: CheckContext): ParamIssue[] {
    const issues: ParamIssue[] = [];
    for (const [key, methods] of Object.entries(PARAMS_OF) as [keyof RegimeParams, RegimeParams['method'][]][]) {
      if (!methods.includes(params.method) && ctx?.written?.([key])) {
        issues.push({
          path: [key],
          message: `\`${key}\` is a parameter of \`method: ${methods.join('` / `')}\`, not of \`method: ${params.method}\``,
          hint: `remove it, or set \`method: ${methods[0]}\``,
        });
      }
    }
    if (params.method !== 'hmm' && params.columns.length !== 1) {
      issues.push({
        path: ['columns'],
        message: `\`method: ${params.method}\` reads exactly one column (${params.method === 'rules' ? 'a volatility measure' : 'a return'}), not ${params.columns.length}`,
        hint: params.method === 'rules' ? 'e.g. columns: [vol_24]' : 'e.g. columns: [ret_1]; use `method: hmm` for several columns',
      });
    }
    if (new Set(params.columns).size !== params.columns.length)
      issues.push({ path: ['columns'], message: 'a column is listed twice', hint: 'list each column once' });
    if (params.fit_until !== undefined && Number.isNaN(parseUtc(params.fit_until))) {
      issues.push({ path: ['fit_until'], message: `\`${params.fit_until}\` is not a date`, hint: 'write e.g. "2018-01-01" or "2018-01-01T00:00Z"' });
    }
    params.vol_thresholds.forEach((c, i) => {
      if (!(c > 0 && c < 1))
        issues.push({ path: ['vol_thresholds', i], message: `cut point ${c} must be between 0 and 1 (a percentile)`, hint: 'e.g. vol_thresholds: [0.8]' });
      else if (i > 0 && c <= params.vol_thresholds[i - 1])
        issues.push({ path: ['vol_thresholds', i], message: 'cut points must be ascending', hint: 'e.g. vol_thresholds: [0.33, 0.67]' });
    });
    return issues;
  },

  async run({ features }: { features: Features }, params: RegimeParams, ctx): Promise<Features> {
    const n = features.index.length;
    const { prefix } = params;
    const read = params.method === 'rules' && params.trend_column ? [...params.columns, params.trend_column] : params.columns;
    missingColumns(features, read);

    let info: RegimeInfo;
    let probs: Float64Array; // n × K
    let states: Int32Array;
    let K: number;
    let keepFrom = 0; // rows before it are dropped (rules' warm-up)
    let inSampleUntil: number | undefined;

    if (params.method === 'rules') {
      const opts = { window: params.window, volThresholds: params.vol_thresholds, trendThreshold: params.trend_threshold };
      const trend = params.trend_column ? features.columns[params.trend_column] : undefined;
      K = ruleStateCount(opts, trend !== undefined);
      states = ruleStates(features.columns[params.columns[0]], trend, opts);
      while (keepFrom < n && states[keepFrom] < 0) keepFrom++;
      const late = states.findIndex((s, t) => t >= keepFrom && s < 0);
      if (late >= 0) {
        throw new RunError(
          `row ${late} (${isoUtc(features.index[late])}): \`${read.find((c) => Number.isNaN(features.columns[c][late]))}\` has no value after the rules' warm-up`,
          {
            hint: 'regime rules need a value in every row after the first window; fill or drop the missing rows upstream',
          },
        );
      }
      if (keepFrom >= n) {
        throw new RunError(`the rules' ${params.window}-row window never fills: the features have ${thousands(n)} rows`, { hint: 'lower `window`' });
      }
      probs = new Float64Array(n * K);
      for (let t = 0; t < n; t++) if (states[t] >= 0) probs[t * K + states[t]] = 1;
      info = {
        method: 'rules',
        columns: read,
        outputs: outputNames(prefix, K),
        states: K,
        transition: countedTransitions(states, K),
        means: [],
        variances: [],
        logLik: NaN,
        iterations: 0,
        converged: true,
        fitRows: 0,
        fitFrom: NaN,
        fitTo: NaN,
        share: shares(states, K),
      };
    } else {
      K = params.states;
      const columns = params.columns;
      const d = columns.length;
      const X = matrixOf(features, columns);
      const bad = X.findIndex((v) => v === Infinity || v === -Infinity);
      if (bad >= 0) {
        const t = Math.floor(bad / d);
        throw new RunError(`row ${t} (${isoUtc(features.index[t])}): \`${columns[bad % d]}\` is ${X[bad]}`, {
          hint: 'an infinite feature comes from a zero or missing price; let fetch drop such bars (its `quality:` policy) or leave the column out',
        });
      }
      const nFit = params.fit_until !== undefined ? firstRowAtOrAfter(features.index, parseUtc(params.fit_until)) : Math.floor(n * params.fit_rows);
      if (nFit < Math.max(2 * K, 10) && params.fit_until !== undefined && nFit === n) {
        // The history ends before the fit window does (the leakage probe's reruns on truncated
        // candles): no model yet, so every row is unknown, and in-sample.
        ctx.warn(`only ${thousands(n)} rows, all before fit_until ${params.fit_until}: too few to fit ${K} states; the regime columns are NaN`);
        return withColumns(
          features,
          prefix,
          K,
          new Float64Array(n * K).fill(NaN),
          Float64Array.from({ length: n }, () => NaN),
          0,
          Infinity,
          undefined,
        );
      }
      if (nFit < Math.max(2 * K, 10)) {
        throw new RunError(
          `the fit window has ${thousands(nFit)} rows (${params.fit_until !== undefined ? `before ${params.fit_until}` : `fit_rows ${params.fit_rows} of ${thousands(n)}`}), too few for ${K} states`,
          { hint: `fit on more rows: ${params.fit_until !== undefined ? 'a later `fit_until`' : 'a larger `fit_rows`'}, or fewer \`states\`` },
        );
      }
      let fit: HmmFit;
      try {
        fit = fitHmm(X, nFit, d, {
          K,
          covariance: params.method === 'hmm' ? params.covariance : 'diag',
          sharedCovariance: params.method === 'markov_switching' && !params.switching_variance,
          seed: params.seed ?? ctx.seed,
          tol: params.tol,
          maxIter: params.max_iter,
          aborted: () => ctx.signal.aborted,
        });
      } catch (e) {
        throw new RunError(`fitting ${K} states on ${columns.join(', ')}: ${(e as Error).message}`, {
          hint: 'fewer `states`, `covariance: diag`, or columns that are not constant or collinear over the fit window',
        });
      }
      if (ctx.signal.aborted) throw new CancelledError();
      if (!fit.converged) ctx.warn(`EM did not converge in ${params.max_iter} iterations (tol ${params.tol}); raise \`max_iter\` or \`tol\``);
      probs = filterHmm(fit.model, X, n).filtered;
      states = argmaxStates(probs, K);
      const m = fit.model;
      inSampleUntil = nFit < n ? features.index[nFit] : Infinity;
      info = {
        method: params.method,
        columns,
        outputs: outputNames(prefix, K),
        states: K,
        transition: Array.from(m.trans),
        means: Array.from(m.means),
        variances: Array.from({ length: K * d }, (_, i) => m.covs[Math.floor(i / d) * d * d + (i % d) * d + (i % d)]),
        logLik: fit.logLik,
        iterations: fit.iterations,
        converged: fit.converged,
        fitRows: nFit,
        fitFrom: features.index[0],
        fitTo: features.index[nFit - 1],
        share: shares(states, K),
      };
    }

    ctx.log(
      params.method === 'rules'
        ? `${K} rule states, ${keepFrom} warm-up rows dropped`
        : `${K} states fitted on ${thousands(info.fitRows)} rows (${isoUtc(info.fitFrom)} → ${isoUtc(info.fitTo)}), log-likelihood ${info.logLik.toFixed(2)}, ${info.iterations} EM iterations`,
    );
    return withColumns(features, prefix, K, probs, Float64Array.from(states), keepFrom, inSampleUntil, info);
  },

  metrics(out: Features): Record<string, number> {
    const r = out.regimes?.[out.regimes.length - 1];
    if (!r) return {};
    const m: Record<string, number> = { regime_iterations: r.iterations };
    if (Number.isFinite(r.logLik)) m.regime_loglik = r.logLik;
    for (let k = 0; k < r.states; k++) {
      m[`regime_share_${k}`] = r.share[k];
      m[`regime_persistence_${k}`] = r.transition[k * r.states + k];
    }
    return m;
  },

  summary(out: Features): string {
    const r = out.regimes?.[out.regimes.length - 1];
    if (!r) return `${thousands(out.index.length)} rows`;
    const K = r.states;
    const stay = Array.from({ length: K }, (_, k) => r.transition[k * K + k].toFixed(3)).join('/');
    const share = r.share.map((s) => `${(100 * s).toFixed(0)}%`).join('/');
    const fitted = r.method === 'rules' ? '' : `, fitted on ${thousands(r.fitRows)} rows to ${isoUtc(r.fitTo)}, ℓ = ${r.logLik.toFixed(1)}`;
    return `${r.method} ${K} states on ${r.columns.join(', ')}${fitted} · stay ${stay} · share ${share}`;
  },
});

/**
 * The features with the regime columns appended (probabilities n × K, states n), rows before
 * `keepFrom` dropped; `inSampleUntil`: where the fit window ends (undefined: nothing fitted).
 */
function withColumns(
  features: Features,
  prefix: string,
  K: number,
  probs: Float64Array,
  states: Float64Array,
  keepFrom: number,
  inSampleUntil: number | undefined,
  info: RegimeInfo | undefined,
): Features {
  const n = features.index.length;
  const names = outputNames(prefix, K);
  const clash = names.filter((c) => features.columns[c]);
  if (clash.length) {
    throw new RunError(`the features already have column(s) ${clash.slice(0, 3).join(', ')}`, { hint: 'set `prefix` to another name, e.g. `prefix: regime2`' });
  }
  const columns: Record<string, Float64Array> = {};
  for (const [c, v] of Object.entries(features.columns)) columns[c] = keepFrom ? v.slice(keepFrom) : v;
  for (let k = 0; k < K; k++) {
    const col = new Float64Array(n - keepFrom);
    for (let t = keepFrom; t < n; t++) col[t - keepFrom] = probs[t * K + k];
    columns[names[k]] = col;
  }
  columns[names[K]] = states.slice(keepFrom);
  return {
    ...features,
    index: keepFrom ? features.index.slice(keepFrom) : features.index,
    columns,
    featureNames: [...features.featureNames, ...names],
    warmupDropped: features.warmupDropped + keepFrom,
    ...(inSampleUntil !== undefined ? { inSample: [...(features.inSample ?? []), { columns: names, until: inSampleUntil }] } : {}),
    ...(info || features.regimes ? { regimes: [...(features.regimes ?? []), ...(info ? [info] : [])] } : {}),
  };
}
