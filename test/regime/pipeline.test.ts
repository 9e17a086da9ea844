import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fxflow } from '../helpers/cli.js';

/**
 * The regime step in a real run (the built CLI): the split's leakage probe reruns features and
 * regime on truncated candles. A fit window fixed by date passes; a share of the rows (`fit_rows`),
 * which moves with the history's length, is reported, with the way out.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-regime-it-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pipeline(fit: string): string {
  return `version: 1
name: regime-probe
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 1500, start: "2020-01-01" }
  features:
    uses: features
    from: candles
    with: { returns: [1], volatility: [24], target: { forward_return: { horizons: [1] } } }
  regimes:
    uses: regime
    from: features
    with: { columns: [ret_1, vol_24], states: 2, max_iter: 100, ${fit} }
  dataset:
    uses: split
    from: regimes
    with: { ratios: [0.6, 0.2, 0.2], probe: true, probe_samples: 8 }
`;
}

describe('regime step under the leakage probe (CLI run)', () => {
  it('passes with fit_until, and the run records the fit', async () => {
    writeFileSync(path.join(dir, 'ok.yaml'), pipeline('fit_until: "2020-02-05"'));
    const r = await fxflow(['run', 'ok.yaml', '--store', 'ok.duckdb'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hmm 2 states on ret_1, vol_24, fitted on [\d,]+ rows to 2020-02-04/);
    expect(r.stdout).toMatch(/leakage probe: \d+ timestamps × \d+ features of `features`, `regimes`, no look-ahead/);
  }, 120_000);

  it('fails with fit_rows, naming the regime columns and pointing to fit_until', async () => {
    writeFileSync(path.join(dir, 'moving.yaml'), pipeline('fit_rows: 0.5'));
    const r = await fxflow(['run', 'moving.yaml', '--store', 'moving.duckdb'], { cwd: dir });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/step `regimes` \(regime\): feature `regime_p0` looks ahead/);
    expect(out).toContain('give it `fit_until: <date>`');
  }, 120_000);
});
