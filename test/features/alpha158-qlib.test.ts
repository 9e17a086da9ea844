/**
 * Alpha158 against Qlib's own definitions (qlib/data/ops.py): Rsquare and Corr are NaN where a
 * rolling std is ≤ 2e-5 (`np.isclose(series.rolling(N, min_periods=1).std(), 0, atol=2e-05)`), and
 * the features step fills those with 0 (Qlib's Fillna). Also: `preset: alpha158` means Alpha158's
 * own columns, not the `indicators`/`returns` defaults.
 */
import { describe, expect, it } from 'vitest';
import { alpha158, alpha158Lookbacks, alpha158Names } from '../../src/indicators/alpha158.js';
import { parsePipelineText } from '../../src/parser/index.js';
import features from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import { testContext } from '../helpers/ctx.js';
import * as R from '../indicators/reference.js';
import { hourly } from './fixtures.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);
const names = alpha158Names();
const col = (cols: Float64Array[], name: string): Float64Array => cols[names.indexOf(name)];

/** pandas' rolling std (ddof 1) of the d values ending at t. */
function std(x: number[], t: number, d: number): number {
  const w = x.slice(t - d + 1, t + 1);
  const m = w.reduce((a, b) => a + b, 0) / d;
  return Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / (d - 1));
}
/** Pearson correlation of two windows. */
function pearson(a: number[], b: number[]): number {
  const d = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / d;
  const mb = b.reduce((s, v) => s + v, 0) / d;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < d; i++) (ab += (a[i] - ma) * (b[i] - mb)), (aa += (a[i] - ma) ** 2), (bb += (b[i] - mb) ** 2);
  return ab / Math.sqrt(aa * bb);
}
const flat = (s: number): boolean => Math.abs(s) <= 2e-5; // np.isclose(s, 0, atol=2e-5, rtol≥0)

/** Qlib's Rsquare($close, d): R² of the window against 0…d−1, NaN where the close's std is flat. */
function rsqrRef(close: number[], d: number): number[] {
  const u = Array.from({ length: d }, (_, i) => i);
  return close.map((_, t) => (t < d - 1 || flat(std(close, t, d)) ? NaN : pearson(u, close.slice(t - d + 1, t + 1)) ** 2));
}
/** Qlib's Corr(a, b, d), NaN where either std is flat; windows start at `from`. */
function corrRef(a: number[], b: number[], d: number, from: number): number[] {
  return a.map((_, t) => (t < from || flat(std(a, t, d)) || flat(std(b, t, d)) ? NaN : pearson(a.slice(t - d + 1, t + 1), b.slice(t - d + 1, t + 1))));
}

/** Same NaN rows, values within 1e-9 (absolute: R² and correlations lie in [−1, 1]). */
function expectQlib(label: string, got: Float64Array, want: number[]): number {
  let nans = 0;
  for (let t = 0; t < want.length; t++) {
    const [g, w] = [got[t], want[t]];
    if (Number.isNaN(w)) nans++;
    if (Number.isNaN(g) !== Number.isNaN(w) || (!Number.isNaN(w) && !(Math.abs(g - w) <= 1e-9))) {
      throw new Error(`${label} at ${t}: got ${g}, Qlib ${w}`);
    }
  }
  return nans;
}

describe('alpha158 RSQR, CORR, CORD: Qlib NaN over a flat window', () => {
  it('hand-worked: a flat close gives NaN RSQR5/CORR5, a close with std just above 2e-5 gives R² = 0 exactly', () => {
    // Bars 0–4 flat at 1.1 (std 0); bars 5–9 = 1.1 + [1,0,1,0,1]·3e-5: Σ(y−ȳ)² = 1.2·9e-10, std
    // √(1.08e-9/4) = 1.64e-5 ≤ 2e-5 (flat); bars 10–14 = 1.1 + [0,1,0,1,0]·4e-5: std √(1.92e-9/4) =
    // 2.19e-5 (not flat), and against u = 0…4, Σ(u−2)(y−ȳ) = 0, so R² = 0.
    const close = [1.1, 1.1, 1.1, 1.1, 1.1, ...[1, 0, 1, 0, 1].map((k) => 1.1 + k * 3e-5), ...[0, 1, 0, 1, 0].map((k) => 1.1 + k * 4e-5)];
    const n = close.length;
    const volume = close.map((_, i) => 100 + ((i * 37) % 11) * 10);
    const cols = alpha158(f64(close), f64(close), f64(close), f64(close), f64(volume));
    expect(std(close, 4, 5)).toBe(0);
    expect(std(close, 9, 5)).toBeCloseTo(1.643e-5, 8);
    expect(std(close, 14, 5)).toBeCloseTo(2.191e-5, 8);
    const r = col(cols, 'RSQR5');
    expect(r[4]).toBeNaN();
    expect(r[9]).toBeNaN();
    expect(r[14]).toBeCloseTo(0, 12);
    expect(col(cols, 'CORR5')[4]).toBeNaN(); // was 0 before
    expect(col(cols, 'CORR5')[9]).toBeNaN();
    expect(Number.isNaN(col(cols, 'CORR5')[14])).toBe(false);
    expect(n).toBe(15);
  });

  it('constant volume (FX data without volume): CORR and CORD are NaN everywhere, as Qlib', () => {
    const c = R.randomCandles(200, 3, 1.1, 0.0008);
    const cols = alpha158(f64(c.open), f64(c.high), f64(c.low), f64(c.close), f64(c.close.map(() => 0)));
    for (const d of [5, 60]) {
      expect(Array.from(col(cols, `CORR${d}`)).every(Number.isNaN)).toBe(true);
      expect(Array.from(col(cols, `CORD${d}`)).every(Number.isNaN)).toBe(true);
    }
  });

  it('M1-like bars (moves of ~1e-5, ties): RSQR/CORR/CORD equal Qlib definitions row by row, many NaN', () => {
    const c = R.randomCandles(3000, 21, 1.1, 0.00002);
    // Prices on a 1e-5 grid as quoted: many flat windows, as on M1 data.
    const close = c.close.map((v) => Math.round(v * 1e5) / 1e5);
    const vol = c.volume.map((v, i) => (i % 50 < 10 ? 100 : v)); // stretches of constant volume too
    const cols = alpha158(f64(c.open), f64(c.high), f64(c.low), f64(close), f64(vol));
    const lv = vol.map((v) => Math.log(v + 1));
    const ret = close.map((v, i) => (i === 0 ? NaN : v / close[i - 1]));
    const lvr = vol.map((v, i) => (i === 0 ? NaN : Math.log(v / (vol[i - 1] + 1e-12) + 1)));
    let nans = 0;
    for (const d of [5, 10, 20, 30, 60]) {
      nans += expectQlib(`RSQR${d}`, col(cols, `RSQR${d}`), rsqrRef(close, d)) - (d - 1);
      nans += expectQlib(`CORR${d}`, col(cols, `CORR${d}`), corrRef(close, lv, d, d - 1)) - (d - 1);
      nans += expectQlib(`CORD${d}`, col(cols, `CORD${d}`), corrRef(ret, lvr, d, d)) - d;
    }
    // Not vacuous: the rule does fire on such data.
    expect(nans).toBeGreaterThan(500);
  });

  it('every column starts at its documented lookback on NaN-free data', () => {
    const c = R.randomCandles(300, 5, 1.1, 0.0008);
    const cols = alpha158(f64(c.open), f64(c.high), f64(c.low), f64(c.close), f64(c.volume));
    const lb = alpha158Lookbacks();
    expect(lb).toHaveLength(names.length);
    cols.forEach((x, j) => {
      let k = 0;
      while (k < x.length && Number.isNaN(x[k])) k++;
      expect(k, names[j]).toBe(lb[j]);
    });
  });
});

/** Features params completed by the pipeline validator, as a pipeline would give them. */
function validated(withYaml: string): FeaturesParams {
  const text = `version: 1\nname: t\nsteps:\n  c:\n    uses: fetch\n    with: { source: synthetic }\n  f:\n    uses: features\n    with: ${withYaml}\n`;
  const r = parsePipelineText(text, '/tmp/alpha.yaml');
  if (!r.spec) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.spec.steps[1].with as unknown as FeaturesParams;
}

describe('features step with preset alpha158', () => {
  it('gives Alpha158 columns only (no rsi_14, no ret_1) and logs that VWAP0 is left out', async () => {
    const ctx = testContext();
    const out = await features.run({ candles: hourly(300) }, validated('{ preset: alpha158 }'), ctx);
    expect(out.featureNames).toEqual(names);
    expect(out.featureNames).toHaveLength(157);
    expect(ctx.logs.some((l) => /VWAP0 left out/.test(l))).toBe(true);
  });
  it('adds rsi_14 / ret_1 only when written out; without a preset the defaults still apply', async () => {
    const out = await features.run(
      { candles: hourly(300) },
      validated('{ preset: alpha158, indicators: [{ rsi: { period: 14 } }], returns: [1] }'),
      testContext(),
    );
    expect(out.featureNames).toEqual(expect.arrayContaining(['rsi_14', 'ret_1', ...names]));
    expect(out.featureNames).toHaveLength(159);
    const plain = await features.run({ candles: hourly(300) }, validated('{}'), testContext());
    expect(plain.featureNames).toEqual(['rsi_14', 'ret_1']);
  });
  it('fills Qlib-undefined CORR/CORD with 0 (FX data without volume), keeps rows NaN-free, and counts them in the log', async () => {
    const ctx = testContext();
    const candles = hourly(300, () => 0);
    const out = await features.run({ candles }, validated('{ preset: alpha158 }'), ctx);
    expect(out.warmupDropped).toBe(60); // the longest window (60, lagged), not the whole series
    for (const name of out.featureNames) for (const v of out.columns[name]) if (Number.isNaN(v)) throw new Error(`${name} has NaN`);
    expect(Array.from(out.columns.CORR5).every((v) => v === 0)).toBe(true);
    const line = ctx.logs.find((l) => /filled with 0/.test(l));
    expect(line).toMatch(/CORR5 296\b/); // bars 4…299
    expect(line).toMatch(/CORD60 240\b/); // bars 60…299
  });
});
