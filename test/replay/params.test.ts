import { describe, expect, it } from 'vitest';
import replay from '../../src/steps/replay/index.js';
import type { ReplayParams } from '../../src/steps/replay/params.js';
import { stepParams } from './helpers.js';

const withParams = (w: string): ReplayParams =>
  stepParams(`version: 1\nname: p\nsteps:\n  r:\n    uses: replay\n    with: ${w}\n`).r as unknown as ReplayParams;

describe('replay params', () => {
  it('fills the defaults of its train and backtest blocks from those steps’ schemas', () => {
    const p = withParams('{ train: { model: gbm }, retrain: { train_bars: 500 } }');
    expect(p.retrain).toMatchObject({ every: '1w', window: 'expanding', val_bars: 0, check_every: 24, cooldown: 24 });
    expect(p.train).toMatchObject({ model: 'gbm', n_estimators: 200, max_depth: 6 });
    expect(p.backtest).toMatchObject({ rule: 'threshold', segments: ['test'], account_size: 100000 });
    expect(p.scale).toBe('zscore');
    expect(replay.check!(p)).toEqual([]);
  });

  it('refuses what replay cannot do, at the key, with a way out', () => {
    const p = withParams(
      '{ train: { model: ridge, online: { method: rls, forgetting: 0.99 } }, retrain: { every: 1 month, train_bars: 500, drift: { window: 100 }, end: "soon" } }',
    );
    const issues = replay.check!(p).map((i) => [i.path?.join('.'), i.message, i.hint]);
    expect(issues).toEqual([
      ['train.online', '`online:` is the train step’s', 'replay refits on its `retrain:` policy instead'],
      ['retrain.every', '`1 month` is not a schedule', 'e.g. `1w`, `1d` or `500 bars`'],
      ['retrain.end', '`soon` is not a date', 'e.g. 2019-01-01'],
      ['retrain.drift', 'give `psi` or `ks` (or both): the drift trigger has no threshold', undefined],
    ]);
  });

  it('prefixes the train and backtest steps’ own checks with their block', () => {
    const p = withParams('{ train: { model: autoencoder }, retrain: { train_bars: 500 }, backtest: { entry_threshold: 0.001, exit_threshold: 0.002 } }');
    const paths = replay.check!(p).map((i) => i.path?.join('.'));
    expect(paths).toContain('backtest.exit_threshold');
    expect(paths).toContain('train.model');
  });
});
