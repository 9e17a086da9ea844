import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Artifact, Dataset, Model, Report, RowRange } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { foldFeatures } from '../evaluation/scalers.js';
import { sampleForecast } from '../core/distribution.js';

/**
 * A step's output as a table, written as CSV or Parquet (by the file extension). Each artifact
 * type has one tabular view: the frame of Candles/Features; a Dataset's rows with `segment` and
 * `fold`; a Model's out-of-sample predictions per target with ts, segment and fold (and its forecast
 * distribution: quantile columns `q05_<target>` …, sample summaries, or the Gaussian's sd); a Report's
 * per-bar position and equity; a `predict` step's predictions per target and signal.
 */

export interface Table {
  /** Column names; the first is `ts` (ISO-8601 UTC). */
  names: string[];
  columns: (Float64Array | ArrayLike<number> | string[])[];
  rows: number;
}

function isoColumn(index: Float64Array): string[] {
  const out = new Array<string>(index.length);
  for (let i = 0; i < index.length; i++) out[i] = new Date(index[i]).toISOString();
  return out;
}

export function artifactTable(a: Artifact): Table {
  switch (a.type) {
    case 'Candles':
    case 'Features': {
      const names = Object.keys(a.columns);
      return { names: ['ts', ...names], columns: [isoColumn(a.index), ...names.map((n) => a.columns[n])], rows: a.index.length };
    }
    case 'Dataset':
      return datasetTable(a);
    case 'Model':
      return modelTable(a);
    case 'Report':
      return reportTable(a);
    case 'Predictions': {
      const names = a.targetNames;
      const q = a.distribution?.quantiles;
      const L = q?.levels.length ?? 0;
      const qNames = q ? names.flatMap((t) => q.levels.map((l) => `${quantileName(l)}_${t}`)) : [];
      const qCols = q ? names.flatMap((t) => q.levels.map((_, j) => Float64Array.from({ length: a.index.length }, (_, r) => q.values[t][r * L + j]))) : [];
      return {
        names: ['ts', ...names.map((t) => `pred_${t}`), ...qNames, 'signal', ...(a.size ? ['size'] : [])],
        columns: [isoColumn(a.index), ...names.map((t) => a.values[t]), ...qCols, a.signal, ...(a.size ? [a.size] : [])],
        rows: a.index.length,
      };
    }
  }
}

function datasetTable(d: Dataset): Table {
  const p = d.featureNames.length;
  const q = d.targetNames.length;
  // One row per (fold, row) that belongs to a segment of that fold; purged rows belong to none.
  // A fold's training/test rows may be several ranges (purged k-fold, CPCV), and its features are
  // scaled with its own scaler (walk-forward and the others keep the unscaled matrix for that).
  const m = d.folds.reduce(
    (a, f) => a + [f.trainRanges ?? [f.train], [f.val], f.testRanges ?? [f.test]].flat().reduce((b, r) => b + Math.max(0, r.end - r.start), 0),
    0,
  );
  const ts = new Array<string>(m);
  const seg = new Array<string>(m);
  const fold = new Float64Array(m);
  const feats = d.featureNames.map(() => new Float64Array(m));
  const targs = d.targetNames.map(() => new Float64Array(m));
  let r = 0;
  d.folds.forEach((f, k) => {
    const X = foldFeatures(d, k);
    const ranges: [string, RowRange[]][] = [
      ['train', f.trainRanges ?? [f.train]],
      ['val', [f.val]],
      ['test', f.testRanges ?? [f.test]],
    ];
    for (const [s, rs] of ranges) {
      for (const range of rs) {
        for (let i = range.start; i < range.end; i++, r++) {
          ts[r] = new Date(d.index[i]).toISOString();
          seg[r] = s;
          fold[r] = k;
          for (let j = 0; j < p; j++) feats[j][r] = X[i * p + j];
          for (let t = 0; t < q; t++) targs[t][r] = d.Y[i * q + t];
        }
      }
    }
  });
  return {
    names: ['ts', 'segment', 'fold', ...d.featureNames, ...d.targetNames],
    columns: [ts, seg, fold, ...feats, ...targs],
    rows: m,
  };
}

function modelTable(m: Model): Table {
  const p = m.predictions;
  const segName = Array.from(p.segment, (s) => ['train', 'val', 'test'][s] ?? String(s));
  const names = Object.keys(p.values);
  const out: Table = {
    names: ['ts', 'segment', 'fold', ...names.map((t) => `pred_${t}`)],
    columns: [isoColumn(p.index), segName, p.fold, ...names.map((t) => p.values[t])],
    rows: p.index.length,
  };
  // The forecast distribution: a column per quantile level (`q05_<target>` …), or per target the
  // samples' mean, sd and 5/50/95% quantiles, or the Gaussian's sd.
  const d = p.distribution;
  const n = p.index.length;
  for (const t of names) {
    const q = d?.quantiles?.values[t];
    const s = d?.samples?.values[t];
    const g = d?.gaussian?.sd[t];
    if (q) {
      const L = d!.quantiles!.levels.length;
      d!.quantiles!.levels.forEach((level, j) => {
        out.names.push(`${quantileName(level)}_${t}`);
        out.columns.push(Float64Array.from({ length: n }, (_, r) => q[r * L + j]));
      });
    } else if (s) {
      const c = d!.samples!.count;
      const cols = { mean: new Float64Array(n), sd: new Float64Array(n), q05: new Float64Array(n), q50: new Float64Array(n), q95: new Float64Array(n) };
      for (let r = 0; r < n; r++) {
        const f = sampleForecast(s.subarray(r * c, (r + 1) * c));
        let m = 0;
        for (let i = r * c; i < (r + 1) * c; i++) m += s[i];
        cols.mean[r] = m / c;
        cols.sd[r] = f.sd();
        cols.q05[r] = f.quantile(0.05);
        cols.q50[r] = f.quantile(0.5);
        cols.q95[r] = f.quantile(0.95);
      }
      for (const [k, v] of Object.entries(cols)) {
        out.names.push(`${k}_${t}`);
        out.columns.push(v);
      }
    } else if (g) {
      out.names.push(`sd_${t}`);
      out.columns.push(g);
    }
  }
  return out;
}

/** Column name of a quantile level: 0.05 → q05, 0.5 → q50, 0.975 → q97.5. */
export function quantileName(level: number): string {
  const pct = Number((level * 100).toPrecision(12));
  return `q${pct < 10 ? '0' : ''}${pct}`;
}

function reportTable(r: Report): Table {
  const names = ['ts', 'position', 'equity', 'benchmark'];
  const columns: Table['columns'] = [isoColumn(r.index), r.position, r.equity, r.benchmark];
  // Backtest v2+ reports also carry the per-bar net return and costs.
  if (r.net && r.net.length === r.index.length) {
    names.push('net');
    columns.push(r.net);
  }
  if (r.cost && r.cost.length === r.index.length) {
    names.push('cost');
    columns.push(r.cost);
  }
  return { names, columns, rows: r.index.length };
}

function cell(v: number | string): string {
  if (typeof v === 'string') return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  return Number.isFinite(v) ? String(v) : '';
}

async function writeCsv(t: Table, file: string): Promise<void> {
  const out = createWriteStream(file);
  // One error listener for the stream's life; `once` removes its own listeners when the drain
  // comes (a listener added per drain piled up: MaxListenersExceededWarning on wide exports).
  let failed: Error | undefined;
  out.on('error', (e) => (failed = e));
  const write = async (s: string): Promise<void> => {
    if (failed) throw failed;
    if (!out.write(s)) await once(out, 'drain');
  };
  await write(`${t.names.join(',')}\n`);
  let buf = '';
  for (let r = 0; r < t.rows; r++) {
    let line = '';
    for (let c = 0; c < t.columns.length; c++) line += (c ? ',' : '') + cell(t.columns[c][r] as number | string);
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

export async function exportTable(t: Table, file: string): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return writeCsv(t, file);
  if (ext !== '.parquet') {
    throw new RunError(`cannot export to \`${path.basename(file)}\`: unknown format \`${ext || '(none)'}\``, { hint: 'use a .csv or .parquet file name' });
  }
  // Parquet through DuckDB: the CSV is an exact intermediate (shortest round-trip decimals).
  const dir = await mkdtemp(path.join(tmpdir(), 'fxflow-export-'));
  try {
    const csv = path.join(dir, 'table.csv');
    await writeCsv(t, csv);
    const types = t.names.map((n, i) => {
      if (n === 'ts') return `'${n}': 'TIMESTAMP'`;
      const col = t.columns[i];
      return `'${n.replace(/'/g, "''")}': '${Array.isArray(col) ? 'VARCHAR' : 'DOUBLE'}'`;
    });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
      await conn.run(
        `COPY (SELECT * FROM read_csv(${q(csv)}, header = true, auto_detect = false, columns = {${types.join(', ')}})) TO ${q(path.resolve(file))} (FORMAT parquet)`,
      );
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
