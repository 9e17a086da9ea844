import type { ColumnNames } from '../../data/columns.js';
import type { QualityParams } from '../../data/quality.js';

export type { ColumnNames, QualityParams };

/** Parameters of the `fetch` step: where the candles come from, their clock, range and quality policy. */
export interface FetchParams {
  /**
   * Where the bars come from: `synthetic` (a seeded FX-like generator, no download), `csv` (text files: see `format`; .zip and .gz read directly), `parquet` (a Parquet file), `duckdb` (a table in a DuckDB database file, selected by symbol and timeframe), or `postgres` (a table in a PostgreSQL database: see `url_env`).
   * @default "synthetic"
   */
  source: 'csv' | 'synthetic' | 'parquet' | 'duckdb' | 'postgres';
  /**
   * The data file(s), relative to the pipeline file: one path, a list, or a glob such as `data/EURUSD_M1_*.zip`; several files are concatenated in time order. For `duckdb`, the database file.
   */
  path?: string | string[];
  /**
   * Text format (source `csv`): `histdata` (HistData ASCII M1, `YYYYMMDD HHMMSS;O;H;L;C;V`), `metatrader` (MT4 history export or MT5 Export Bars), `dukascopy` (JForex export, `Gmt time`), `generic` (a header row; see `columns`, `time_format`), or `auto` (detected from the first line, and logged).
   * @default "auto"
   */
  format: 'auto' | 'histdata' | 'metatrader' | 'dukascopy' | 'generic';
  /** Column names, when they are not found by name: e.g. `{ time: "Date", close: "Bid Close" }` (formats `generic`, sources `parquet`, `duckdb` and `postgres`). */
  columns?: ColumnNames;
  /**
   * Timestamp pattern of a `generic` file with the tokens YYYY MM DD HH mm ss SSS, e.g. `DD/MM/YYYY HH:mm`, or `unix_s` / `unix_ms`; detected from the first row when absent.
   */
  time_format?: string;
  /**
   * The clock of the source's timestamps: `UTC`, a fixed offset such as `UTC-5` or `UTC+02:00`, or an IANA zone such as `America/New_York` (daylight saving honoured). Converted to UTC once, here. When absent: `America/New_York` for HistData files, UTC otherwise (the log says which). Timestamps that carry `Z` or `±hh:mm` are those instants; a declared zone that contradicts them is an error.
   */
  timezone?: string;
  /**
   * Currency pair, e.g. EURUSD; JPY-quoted pairs get a pip of 0.01. Selects the rows of a `duckdb` or `postgres` table (or a `parquet` file with a symbol column).
   * @default "EURUSD"
   */
  symbol: string;
  /**
   * Bar length of the source: a positive integer and a unit among ms, s, m, h, d, w (e.g. 100ms, 30s, 1m, 5m, 15m, 1h, 4h, 1d, 1w).
   * @default "1h"
   * @pattern ^[1-9][0-9]*(ms|s|m|h|d|w)$
   */
  timeframe: string;
  /**
   * Resample to this longer bar (open first, high max, low min, close last, volume sum), labelled by open time; empty periods are dropped. Same form as `timeframe`; below a day it must divide the day, above it only 1w.
   * @pattern ^[1-9][0-9]*(ms|s|m|h|d|w)$
   */
  resample?: string;
  /**
   * Where daily and weekly bars of `resample` start: `ny17` (the FX convention: days end at 17:00 New York, weeks open Sunday 17:00 New York) or `utc` (midnight UTC; weeks from Sunday).
   * @default "ny17"
   */
  day_close: 'ny17' | 'utc';
  /** First bar to keep (UTC, inclusive), e.g. 2019-01-01 or 2019-01-01T08:00. */
  from?: string;
  /** Keep bars opening before this instant (UTC, exclusive), e.g. 2020-01-01. */
  to?: string;
  /**
   * Keep the last N days: bars opening at or after the latest bar's open minus N days.
   * @exclusiveMinimum 0
   * @maximum 100000
   */
  days?: number;
  /**
   * What to do with each kind of data defect found. Every kind found is counted, printed and stored with the run.
   * @default {}
   */
  quality: QualityParams;
  /** The table (sources `duckdb` and `postgres`), e.g. `candles` or `market.candles`. */
  table?: string;
  /**
   * Source `postgres`: the environment variable holding the connection string (`postgres://user:password@host:5432/db`), so that no password is written in the pipeline or stored with the run. When absent: `FXFLOW_PG_URL` if set, else libpq's `PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD` (and ~/.pgpass).
   * @pattern ^[A-Za-z_][A-Za-z0-9_]*$
   */
  url_env?: string;
  /**
   * Source `postgres`, under `fxflow watch`: how often the table is polled for new or deleted rows and a changed last row (its row count, last time and last row's hash: about one count(*) on the server), e.g. `2s` or `1m`. Not part of the cache key. Default 5s.
   * @pattern ^[1-9][0-9]*(ms|s|m|h)$
   */
  poll?: string;
  /** Source `postgres`: a connection string without a password, e.g. `postgres://fx@db.lan/market` (the password from PGPASSWORD or ~/.pgpass). Overrides `url_env`. */
  url?: string;
  /**
   * Number of bars to generate (source `synthetic`).
   * @default 20000
   * @integer
   * @minimum 100
   * @maximum 10000000
   */
  bars: number;
  /** Open time of the first synthetic bar, UTC, e.g. 2020-01-05T22:00; a weekend start moves to Sunday 22:00 (source `synthetic`). */
  start?: string;
}
