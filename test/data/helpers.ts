import type { FetchParams } from '../../src/steps/fetch/params.js';

/** FetchParams with every schema default filled (as the parser would) and `timezone: UTC` declared, plus overrides. */
export function params(extra: Omit<Partial<FetchParams>, 'quality'> & { quality?: Partial<FetchParams['quality']> } = {}): FetchParams {
  const { quality, ...rest } = extra;
  return {
    source: 'csv',
    format: 'auto',
    timezone: 'UTC',
    symbol: 'EURUSD',
    timeframe: '1h',
    day_close: 'ny17',
    bars: 20000,
    ...rest,
    quality: {
      zero_rows: 'drop',
      nonpositive: 'error',
      ohlc: 'error',
      backwards: 'sort',
      duplicates: 'keep-last',
      gaps: 'warn',
      clock: 'warn',
      max_gap: '1h',
      ...quality,
    },
  };
}
