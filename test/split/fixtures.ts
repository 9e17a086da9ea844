import type { Features } from '../../src/core/artifacts.js';
import { parsePipelineText } from '../../src/parser/index.js';
import type { SplitParams } from '../../src/steps/split/params.js';

export const H = 3_600_000;
export const T0 = Date.UTC(2021, 0, 4, 0, 0, 0);

/** n rows: f_lin = i, f_sq = (i·i) mod 7, f_const = 5; targets fwd_ret_1 = i/100, fwd_ret_2 = −i/50 (longest horizon 2). */
export function features(n: number): Features {
  const col = (f: (i: number) => number): Float64Array => Float64Array.from({ length: n }, (_, i) => f(i));
  return {
    type: 'Features',
    symbol: 'EURUSD',
    timeframe: '1h',
    index: col((i) => T0 + i * H),
    columns: { f_lin: col((i) => i), f_sq: col((i) => (i * i) % 7), f_const: col(() => 5), fwd_ret_1: col((i) => i / 100), fwd_ret_2: col((i) => -i / 50) },
    featureNames: ['f_lin', 'f_sq', 'f_const'],
    targetNames: ['fwd_ret_1', 'fwd_ret_2'],
    targetHorizons: [1, 2],
    warmupDropped: 0,
    tailDropped: 2,
  };
}

/** The split params a pipeline gets when it writes none: filled by the validator from the schema. */
export const defaults: SplitParams = (() => {
  const parsed = parsePipelineText('version: 1\nname: d\nsteps:\n  s: { uses: split }\n', '/tmp/defaults.yaml');
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
  return parsed.spec.steps[0].with as unknown as SplitParams;
})();
