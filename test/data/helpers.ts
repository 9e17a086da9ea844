import { expect } from 'vitest';
import { RunError } from '../../src/core/diagnostics.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { testContext } from '../helpers/ctx.js';

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

/** The fetch step run with `pipelineDir` as the pipeline's folder: its output and the test context. */
export async function runFetch(p: FetchParams, pipelineDir: string) {
  const ctx = testContext({ pipelineDir });
  const out = await fetch.run({}, p, ctx);
  return { out, ctx };
}

/** The RunError a fetch that must fail throws (anything else fails the test). */
export async function fetchFailure(p: FetchParams, pipelineDir: string): Promise<RunError> {
  try {
    await fetch.run({}, p, testContext({ pipelineDir }));
  } catch (e) {
    expect(e).toBeInstanceOf(RunError);
    return e as RunError;
  }
  throw new Error('expected the fetch to fail');
}
