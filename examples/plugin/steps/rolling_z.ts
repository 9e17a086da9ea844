import { defineStep, paramsOf, type Features } from 'fxflow';

/** Parameters of the `rolling_z` step. */
export interface RollingZParams {
  /**
   * The feature column to standardise.
   * @default "ret_1"
   */
  column: string;
  /**
   * Trailing window in bars.
   * @default 24
   * @integer
   * @minimum 2
   */
  window: number;
}

/**
 * A custom feature step: adds the z-score of a feature against its own trailing window, using
 * only bars up to and including the current one (no look-ahead). The first window-1 rows have no
 * value yet and are dropped, as the features step does with its warm-up.
 */
export default defineStep({
  kind: 'rolling_z',
  version: 1,
  description: 'Adds the trailing rolling z-score of a feature column.',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<RollingZParams>(),
  check(p) {
    return p.column.length ? [] : [{ path: ['column'], message: 'column must name a feature' }];
  },
  async run({ features }, p, ctx): Promise<Features> {
    const x = features.columns[p.column];
    if (!x) throw new Error(`rolling_z: no column ${p.column}; features are ${features.featureNames.join(', ')}`);
    const n = x.length;
    const w = p.window;
    const z = new Float64Array(n).fill(Number.NaN);
    for (let t = w - 1; t < n; t++) {
      let s = 0;
      let s2 = 0;
      for (let i = t - w + 1; i <= t; i++) {
        s += x[i];
        s2 += x[i] * x[i];
      }
      const mean = s / w;
      const sd = Math.sqrt(Math.max(0, s2 / w - mean * mean));
      z[t] = sd > 0 ? (x[t] - mean) / sd : 0;
    }
    const name = `${p.column}_z${w}`;
    const drop = w - 1;
    ctx.log(`added ${name}; dropped ${drop} warm-up rows`);
    const columns: Record<string, Float64Array> = {};
    for (const [k, v] of Object.entries(features.columns)) columns[k] = v.slice(drop);
    columns[name] = z.slice(drop);
    return {
      ...features,
      index: features.index.slice(drop),
      columns,
      featureNames: [...features.featureNames, name],
      warmupDropped: features.warmupDropped + drop,
    };
  },
  summary: (f) => `${f.featureNames.length} features, ${f.index.length.toLocaleString('en-US')} rows`,
});
