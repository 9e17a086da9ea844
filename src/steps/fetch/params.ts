/** Parameters of the `fetch` step: where the candles come from. */
export interface FetchParams {
  /**
   * Where the bars come from: `synthetic` (a seeded FX-like generator, no download) or `csv` (a file
   * with a header row).
   * @default "synthetic"
   */
  source: 'csv' | 'synthetic';
  /** The CSV file (source `csv`), relative to the pipeline file. */
  path?: string;
  /**
   * Currency pair, e.g. EURUSD; JPY-quoted pairs get a pip of 0.01.
   * @default "EURUSD"
   */
  symbol: string;
  /**
   * Bar length: a positive integer and a unit among ms, s, m, h, d, w (e.g. 5m, 1h, 4h, 1d).
   * @default "1h"
   */
  timeframe: string;
  /**
   * Number of bars to generate (source `synthetic`).
   * @default 20000
   * @integer
   * @minimum 100
   */
  bars: number;
  /** Open time of the first synthetic bar, UTC, e.g. 2020-01-05T22:00; a weekend start moves to Sunday 22:00 (source `synthetic`). */
  start?: string;
}
