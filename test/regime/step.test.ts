import { describe, expect, it } from 'vitest';
import type { Candles, Features } from '../../src/core/artifacts.js';
import { syntheticCandles } from '../../src/data/synthetic.js';
import { describeLeaks, probeSteps } from '../../src/evaluation/probe.js';
import { parsePipelineText } from '../../src/parser/index.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import regime from '../../src/steps/regime/index.js';
import split from '../../src/steps/split/index.js';
import type { SplitParams } from '../../src/steps/split/params.js';
import type { RegimeParams } from '../../src/steps/regime/params.js';
import { fetchCandles } from '../helpers/candles.js';
import { sharedFile, testContext } from '../helpers/ctx.js';

/** A step's params completed by the pipeline validator exactly as a pipeline would (defaults filled in). */
function paramsOf<P>(kind: string, withParams: Record<string, unknown>): P {
  const text = `version: 1\nname: t\nsteps:\n  s:\n    uses: ${kind}\n    with: ${JSON.stringify(withParams)}\n`;
  const parsed = parsePipelineText(text, '/tmp/regime.yaml');
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => `${d.message} ${d.hint ?? ''}`).join('; '));
  return parsed.spec.steps[0].with as unknown as P;
}

const featureParams = paramsOf<FeaturesParams>('features', {
  returns: [1],
  volatility: [24],
  indicators: [{ adx: { period: 14 } }],
  target: { forward_return: { horizons: [1] } },
});

/** Rows [0, end) of a features frame: the same frame as if later bars had not happened yet. */
function head(f: Features, end: number): Features {
  const columns: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(f.columns)) columns[k] = v.slice(0, end);
  return { ...f, index: f.index.slice(0, end), columns };
}

describe('regime step: params', () => {
  it('fills documented defaults and rejects another method’s parameter, at its key', () => {
    const p = paramsOf<RegimeParams>('regime', { columns: ['ret_1'] });
    expect(p).toMatchObject({ method: 'hmm', states: 2, covariance: 'diag', fit_rows: 0.6, prefix: 'regime', tol: 1e-8, max_iter: 500 });
    const issues = regime.check!(
      { ...p, method: 'markov_switching', columns: ['ret_1', 'vol_24'] },
      { upstream: () => undefined, written: (path) => path[0] === 'covariance' },
    );
    expect(issues.map((i) => i.path[0])).toEqual(['covariance', 'columns']);
    expect(issues[0].message).toContain('`covariance` is a parameter of `method: hmm`');
  });

  it('names a missing column and the ones there are', async () => {
    const candles = syntheticCandles({ symbol: 'EURUSD', timeframeMs: 3_600_000, bars: 600, seed: 2 });
    const f = await features.run({ candles }, featureParams, testContext());
    const p = paramsOf<RegimeParams>('regime', { columns: ['ret_2'] });
    await expect(regime.run({ features: f }, p, testContext())).rejects.toThrow(/`ret_2` not in the features/);
  });
});

const eurusd = sharedFile('EURUSD_H1.csv');

describe.skipIf(!eurusd)('regime step on EURUSD H1 (shared data)', () => {
  let full: Features;
  const load = async (): Promise<Features> => {
    if (!full) {
      const candles = await fetchCandles({ source: 'csv', path: eurusd, symbol: 'EURUSD', timeframe: '1h' });
      full = await features.run({ candles }, featureParams, testContext());
    }
    return full;
  };

  for (const method of ['hmm', 'markov_switching'] as const) {
    it(`${method}: appending future bars never changes a past filtered probability or state`, async () => {
      const f = await load();
      const p = paramsOf<RegimeParams>('regime', {
        method,
        states: 3,
        columns: method === 'hmm' ? ['ret_1', 'vol_24'] : ['ret_1'],
        fit_until: '2016-01-01',
        max_iter: 200,
      });
      const out = await regime.run({ features: f }, p, testContext());
      const names = ['regime_p0', 'regime_p1', 'regime_p2', 'regime_state'];
      expect(out.featureNames.slice(-4)).toEqual(names);
      const n = f.index.length;
      const fitRows = out.regimes![0].fitRows;
      expect(out.index[fitRows - 1]).toBeLessThan(Date.UTC(2016, 0, 1));
      expect(out.index[fitRows]).toBeGreaterThanOrEqual(Date.UTC(2016, 0, 1));
      // States ordered by volatility: the first column's variance grows with the state number.
      const v = out.regimes![0].variances;
      const d = method === 'hmm' ? 2 : 1;
      expect(v[0]).toBeLessThan(v[d]);
      expect(v[d]).toBeLessThan(v[2 * d]);
      for (const end of [fitRows + 1, fitRows + 1234, n - 1]) {
        const part = await regime.run({ features: head(f, end) }, p, testContext());
        for (const c of names) expect(Array.from(part.columns[c]), `${c}, first ${end} rows`).toEqual(Array.from(out.columns[c].subarray(0, end)));
      }
      // The probabilities are probabilities, and the state is their argmax.
      for (let t = 0; t < n; t += 997) {
        const ps = [0, 1, 2].map((k) => out.columns[`regime_p${k}`][t]);
        expect(ps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(out.columns.regime_state[t]).toBe(ps.indexOf(Math.max(...ps)));
      }
    }, 120_000);
  }

  it('rules: volatility band × ADX trend, warm-up rows dropped', async () => {
    const f = await load();
    const p = paramsOf<RegimeParams>('regime', { method: 'rules', columns: ['vol_24'], trend_column: 'adx_14', window: 500, vol_thresholds: [0.8] });
    const out = await regime.run({ features: f }, p, testContext());
    expect(out.index.length).toBe(f.index.length - 499);
    expect(out.warmupDropped).toBe(f.warmupDropped + 499);
    // Row 0 of the output is input row 499: its state from the rule written out by hand.
    const vol = f.columns.vol_24;
    const below = Array.from(vol.subarray(0, 500)).filter((x) => x <= vol[499]).length / 500;
    const want = (below >= 0.8 ? 2 : 0) + (f.columns.adx_14[499] >= 25 ? 1 : 0);
    expect(out.columns.regime_state[0]).toBe(want);
    expect(out.columns[`regime_p${want}`][0]).toBe(1);
    expect(out.regimes![0].share.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(regime.summary!(out)).toMatch(/^rules 4 states on vol_24, adx_14/);
  }, 120_000);
});

describe('leakage probe over features → regime', () => {
  const candles = syntheticCandles({ symbol: 'EURUSD', timeframeMs: 3_600_000, bars: 1500, seed: 7 });
  const fitUntil = new Date(candles.index[900]).toISOString();
  const chain = (p: RegimeParams) => async (src: ReadonlyMap<string, Candles>) => {
    const f = await features.run({ candles: src.get('c')! }, featureParams, testContext());
    const r = await regime.run({ features: f }, p, testContext());
    return new Map<string, Features>([
      ['f', f],
      ['r', r],
    ]);
  };
  const probe = (p: RegimeParams) =>
    probeSteps(
      {
        sources: new Map([['c', candles]]),
        steps: [
          { id: 'f', kind: 'features' },
          { id: 'r', kind: 'regime' },
        ],
        compute: chain(p),
      },
      // An early timestamp too: the rerun then ends before the fit window does.
      { samples: 12, seed: 1, include: [candles.index[60], candles.index[1400]] },
    );

  it('finds no look-ahead in the filtered columns after a fixed fit window (fit_until)', async () => {
    const p = paramsOf<RegimeParams>('regime', { columns: ['ret_1', 'vol_24'], fit_until: fitUntil, max_iter: 100 });
    const res = await probe(p);
    expect(describeLeaks(res)).toEqual([]);
    expect(res.features).toContain('regime_p1');
  }, 60_000);

  it('reports a fit window that moves with the data’s length (fit_rows) as look-ahead in the regime columns', async () => {
    const p = paramsOf<RegimeParams>('regime', { columns: ['ret_1', 'vol_24'], fit_rows: 0.6, max_iter: 100 });
    const res = await probe(p);
    const leaking = res.leaks.map((l) => l.feature);
    expect(leaking).toContain('regime_p0');
    expect(res.leaks.every((l) => l.step?.id === 'r')).toBe(true);
  }, 60_000);
});

describe('split refuses regime columns fitted on its evaluation rows', () => {
  const candles = syntheticCandles({ symbol: 'EURUSD', timeframeMs: 3_600_000, bars: 2000, seed: 5 });
  const sp = paramsOf<SplitParams>('split', { ratios: [0.6, 0.2, 0.2] });

  it('accepts a fit window that ends at the validation rows and refuses one that reaches into them', async () => {
    const f = await features.run({ candles }, featureParams, testContext());
    // split's temporal ratios: the validation rows start at row ⌊0.6·n⌋ (the purge trims training rows, not these).
    const valStart = Math.floor(0.6 * f.index.length);
    const ok = await regime.run({ features: f }, paramsOf<RegimeParams>('regime', { columns: ['ret_1'], fit_rows: 0.6 }), testContext());
    const ds = await split.run({ features: ok }, sp, testContext());
    expect(ds.folds[0].val.start).toBe(valStart);
    expect(ds.featureNames).toContain('regime_state');
    const late = await regime.run({ features: f }, paramsOf<RegimeParams>('regime', { columns: ['ret_1'], fit_rows: 0.7 }), testContext());
    await expect(split.run({ features: late }, sp, testContext())).rejects.toThrow(
      /regime_p0, regime_p1, regime_state were fitted on rows up to .* but evaluation rows start at row/,
    );
  }, 60_000);
});
