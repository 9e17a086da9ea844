/** Which of a source's columns holds what: one mapping for CSV headers, Parquet and DuckDB tables. */
/** Names of the source's columns, by role. */
export interface ColumnNames {
  /** The timestamp (or, with `date`, the time of day). */
  time?: string;
  /** A separate date column. */
  date?: string;
  open?: string;
  high?: string;
  low?: string;
  close?: string;
  volume?: string;
  /** The symbol column (sources `duckdb`, `parquet`). */
  symbol?: string;
  /** The timeframe column (sources `duckdb`, `parquet`). */
  timeframe?: string;
}
