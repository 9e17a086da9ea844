/** Parameters of the `split` step: how feature rows become train/val/test segments and how they are scaled. */
export interface SplitParams {
  /**
   * How rows are assigned to segments: `temporal` keeps time order (train, then val, then test).
   * @default "temporal"
   */
  method: 'temporal';
  /**
   * Shares of the rows for train, val and test, in time order; each above 0, summing to 1.
   * @default [0.6,0.2,0.2]
   * @minItems 3
   * @maxItems 3
   */
  ratios: number[];
  /**
   * Feature scaling fitted on the training rows only: `zscore` (mean 0, population std 1) or `none`.
   * @default "zscore"
   */
  scale: 'zscore' | 'none';
}
