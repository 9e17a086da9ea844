import type { Candles, Features } from '../core/artifacts.js';
import { makeRng } from '../data/rng.js';

/**
 * The leakage probe: a feature row of time t may depend on bars up to t only. For a sample of
 * timestamps t, the features are recomputed from the candles truncated at t (bar t included), and
 * the row of t is compared with the row computed from the full data. Any difference means the
 * feature read a bar after t: the probe names the feature and the first timestamp where it differs.
 *
 * The code computing the features is passed in (the features step's own `run`, a plugin's, or one
 * indicator kernel), so the probe tests exactly what the pipeline runs.
 *
 * A features step drops trailing rows whose forward target is not known yet, which would drop row t
 * itself. So the truncated candles get `pad` extra bars after t that carry no information about the
 * real future: a flat, slowly rising price (close_t · (1 + 10⁻³·j) for the j-th padded bar). A
 * feature that reads bar t + j sees a different value there than in the real data, and its row t
 * changes; a feature of bars ≤ t cannot tell the pad from the real future.
 */

export interface LeakFinding {
  feature: string;
  /** The first sampled timestamp (UTC epoch ms) where the row differs. */
  ts: number;
  /** The feature's value computed from the full data. */
  full: number;
  /** Its value computed from data truncated at ts. */
  truncated: number;
  /** How many sampled timestamps differ for this feature. */
  count: number;
}

export interface ProbeResult {
  /** The sampled timestamps, ascending. */
  timestamps: number[];
  /** Features compared. */
  features: string[];
  /** One finding per leaking feature, in featureNames order. */
  leaks: LeakFinding[];
}

export interface ProbeOptions {
  /** How many timestamps to sample (default 20; all rows if fewer). */
  samples?: number;
  /** Seed of the sample (default 0). */
  seed?: number;
  /** Bars padded after each truncation point; default the longest target horizon of the full features (at least 1). */
  pad?: number;
  /** Also sample these timestamps (e.g. the first and last row). */
  include?: number[];
}

/** Bars [0, end) of the candles, then `pad` flat bars continuing from the close of bar end − 1. */
export function truncateCandles(candles: Candles, end: number, pad: number): Candles {
  const n = end + pad;
  const index = new Float64Array(n);
  index.set(candles.index.subarray(0, end));
  const spacing = end >= 2 ? candles.index[end - 1] - candles.index[end - 2] : candles.index.length >= 2 ? candles.index[1] - candles.index[0] : 3_600_000;
  for (let j = 1; j <= pad; j++) index[end - 1 + j] = candles.index[end - 1] + j * spacing;
  const columns: Record<string, Float64Array> = {};
  const last = candles.columns.close[end - 1];
  for (const [name, col] of Object.entries(candles.columns)) {
    const c = new Float64Array(n);
    c.set(col.subarray(0, end));
    for (let j = 1; j <= pad; j++) c[end - 1 + j] = name === 'volume' ? col[end - 1] : last * (1 + 1e-3 * j);
    columns[name] = c;
  }
  return { ...candles, index, columns, quality: [] };
}

/** Same number, NaN equal to NaN and −0 equal to 0. */
function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

export async function leakageProbe(candles: Candles, compute: (c: Candles) => Features | Promise<Features>, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const full = await compute(candles);
  const names = full.featureNames;
  const pad = opts.pad ?? Math.max(1, ...full.targetHorizons);
  const rows = full.index.length;
  const want = Math.min(rows, opts.samples ?? 20);
  // A seeded sample of distinct rows, plus any requested timestamps.
  const rng = makeRng(opts.seed ?? 0);
  const picked = new Set<number>();
  while (picked.size < want) picked.add(rng.int(rows));
  const tsSet = new Set<number>([...picked].map((r) => full.index[r]));
  for (const t of opts.include ?? []) tsSet.add(t);
  const timestamps = [...tsSet].sort((a, b) => a - b);

  const fullRow = new Map<number, number>();
  full.index.forEach((t, r) => fullRow.set(t, r));
  const barOf = new Map<number, number>();
  candles.index.forEach((t, i) => barOf.set(t, i));

  const found = new Map<string, LeakFinding>();
  for (const t of timestamps) {
    const r = fullRow.get(t);
    const bar = barOf.get(t);
    if (r === undefined || bar === undefined) throw new Error(`probe: timestamp ${new Date(t).toISOString()} is not a row of the features`);
    const part = await compute(truncateCandles(candles, bar + 1, pad));
    const pr = findRow(part.index, t);
    for (const name of names) {
      const a = full.columns[name][r];
      const b = pr < 0 || !part.columns[name] ? NaN : part.columns[name][pr];
      if (same(a, b)) continue;
      const f = found.get(name);
      if (f) f.count++;
      else found.set(name, { feature: name, ts: t, full: a, truncated: b, count: 1 });
    }
  }
  return { timestamps, features: [...names], leaks: names.filter((n) => found.has(n)).map((n) => found.get(n)!) };
}

function findRow(index: Float64Array, t: number): number {
  let lo = 0;
  let hi = index.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (index[mid] === t) return mid;
    if (index[mid] < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** One line per leaking feature: what differs, where first, and how often. */
export function describeLeaks(result: ProbeResult): string[] {
  return result.leaks.map(
    (l) =>
      `feature \`${l.feature}\` looks ahead: at ${new Date(l.ts).toISOString()} it is ${l.full} on the full data but ${l.truncated} on data truncated there ` +
      `(${l.count} of ${result.timestamps.length} sampled timestamps differ)`,
  );
}
