import type { Candles, Features } from '../core/artifacts.js';
import { makeRng } from '../data/rng.js';

/**
 * The leakage probe: a feature row of time t may depend on bars up to t only. For a sample of
 * timestamps t, the features are recomputed from the candles truncated at t (bar t included), and
 * the row of t is compared with the row computed from the full data. Any difference means the
 * feature read a bar after t: the probe names the feature and the first timestamp where it differs.
 *
 * The code computing the features is passed in (one compute function, or, from the split step, the
 * pipeline's own steps between the candles and the split rerun by the runtime: built-in and plugin
 * steps alike), so the probe tests exactly what the pipeline runs, and names the step whose output
 * first has the looking-ahead column.
 *
 * Sampling: `samples` distinct rows drawn uniformly with a fixed seed (deterministic). Each costs one
 * rerun of the chain on the bars up to it, so about samples / 2 full reruns in all. A column that
 * reads later bars at every row is caught by any sample; one that does so at k of n rows is missed
 * with probability C(n − k, s) / C(n, s) ≈ (1 − k/n)^s.
 *
 * A features step drops trailing rows whose forward target is not known yet, which would drop row t
 * itself. So the truncated candles get `pad` extra bars after t that carry no information about the
 * real future: a flat, slowly rising price (close_t · (1 + 10⁻³·j) for the j-th padded bar). A
 * feature that reads bar t + j sees a different value there than in the real data, and its row t
 * changes; a feature of bars ≤ t cannot tell the pad from the real future.
 */

export interface LeakFinding {
  feature: string;
  /** The step whose output first has the differing column (absent for a probe of one compute function). */
  step?: { id: string; kind: string };
  /** The first sampled timestamp (UTC epoch ms) where the row differs. */
  ts: number;
  /** The feature's value computed from the full data. */
  full: number;
  /** Its value computed from data truncated at ts. */
  truncated: number;
  /** How many sampled timestamps differ for this feature. */
  count: number;
  /**
   * Set when a rerun on the full data does not give the given full-data value back (`StepsProbe.full`
   * given): the step is not reproducible from its inputs, which the truncation cannot tell from
   * look-ahead. The rerun's value at `ts`.
   */
  rerun?: number;
}

export interface ProbeResult {
  /** The sampled timestamps, ascending. */
  timestamps: number[];
  /** Features compared (those of the probed output). */
  features: string[];
  /** One finding per leaking column: by step in `StepsProbe.steps` order, then in featureNames order. */
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
  if (end <= 0) pad = 0; // nothing to continue from
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
  const result = await probeSteps(
    {
      sources: new Map([['candles', candles]]),
      steps: [{ id: 'features', kind: 'features' }],
      compute: async (src) => new Map([['features', await compute(src.get('candles')!)]]),
    },
    opts,
  );
  // One compute function: no step to name.
  return { ...result, leaks: result.leaks.map(({ step: _, ...l }) => l) };
}

/** A chain of steps between candles and the features a split reads (the runtime's lineage of its input). */
export interface StepsProbe {
  /** The candles everything is made from, by source step id: each is truncated at every sampled time. */
  sources: ReadonlyMap<string, Candles>;
  /** The steps producing Features, inputs first; the last one's rows are sampled. */
  steps: readonly { id: string; kind: string }[];
  /** Each step's Features output made from these sources (truncated ones, or the originals). */
  compute(sources: ReadonlyMap<string, Candles>): Promise<Map<string, Features>>;
  /** The outputs from the full data, when known already (else `compute` of the full sources). */
  full?: ReadonlyMap<string, Features>;
}

/**
 * The probe over a chain of steps. For each sampled row time t of the last step, every source is cut
 * after its last bar at or before t and padded, the chain is recomputed, and every step's row t is
 * compared with its full-data row. A differing column is reported at the first step (in `steps`
 * order) whose output has it, so the step that made a looking-ahead column is named, not the steps
 * that merely pass it on.
 */
export async function probeSteps(probe: StepsProbe, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const full = probe.full ?? (await probe.compute(probe.sources));
  const last = probe.steps[probe.steps.length - 1];
  const final = full.get(last.id);
  if (!final) throw new Error(`probe: step ${last.id} made no features`);
  const names = final.featureNames;
  const pad = opts.pad ?? Math.max(1, ...[...full.values()].flatMap((f) => f.targetHorizons));
  const rows = final.index.length;
  const want = Math.min(rows, opts.samples ?? 20);
  // A seeded sample of distinct rows, plus any requested timestamps.
  const rng = makeRng(opts.seed ?? 0);
  const picked = new Set<number>();
  while (picked.size < want) picked.add(rng.int(rows));
  const tsSet = new Set<number>([...picked].map((r) => final.index[r]));
  for (const t of opts.include ?? []) tsSet.add(t);
  const timestamps = [...tsSet].sort((a, b) => a - b);

  // step id → column → finding
  const found = new Map<string, Map<string, LeakFinding>>();
  for (const t of timestamps) {
    const cut = new Map<string, Candles>();
    for (const [id, c] of probe.sources) cut.set(id, truncateCandles(c, lastAtOrBefore(c.index, t) + 1, pad));
    if ([...cut.values()].every((c) => c.index.length === 0)) throw new Error(`probe: timestamp ${new Date(t).toISOString()} is before every candle`);
    const part = await probe.compute(cut);
    for (const { id, kind } of probe.steps) {
      const f = full.get(id);
      const r = f ? findRow(f.index, t) : -1;
      if (!f || r < 0) continue; // this step has no row at t (e.g. dropped as warm-up)
      const p = part.get(id);
      const pr = p ? findRow(p.index, t) : -1;
      for (const name of f.featureNames) {
        if (inSampleAt(f, name, t)) continue;
        const a = f.columns[name][r];
        const b = pr < 0 || !p!.columns[name] ? NaN : p!.columns[name][pr];
        if (same(a, b)) continue;
        let byName = found.get(id);
        if (!byName) found.set(id, (byName = new Map()));
        const l = byName.get(name);
        if (l) l.count++;
        else byName.set(name, { feature: name, step: { id, kind }, ts: t, full: a, truncated: b, count: 1 });
      }
    }
  }
  // A column that differs already in an earlier step's output is that step's finding.
  const leaks: LeakFinding[] = [];
  const reported = new Set<string>();
  for (const { id } of probe.steps) {
    const byName = found.get(id);
    const f = full.get(id);
    if (!byName || !f) continue;
    for (const name of f.featureNames) {
      const l = byName.get(name);
      if (l && !reported.has(name)) leaks.push(l);
    }
    for (const name of byName.keys()) reported.add(name);
  }
  // Only on a finding (so a clean probe costs nothing more): does a rerun on the full data give the
  // given outputs back? If not, the difference is the step's own randomness, not look-ahead.
  if (leaks.length && probe.full) {
    const again = await probe.compute(probe.sources);
    for (const l of leaks) {
      const f = full.get(l.step!.id)!;
      const g = again.get(l.step!.id);
      const gr = g ? findRow(g.index, l.ts) : -1;
      const v = gr < 0 || !g!.columns[l.feature] ? NaN : g!.columns[l.feature][gr];
      if (!same(f.columns[l.feature][findRow(f.index, l.ts)], v)) l.rerun = v;
    }
  }
  return { timestamps, features: [...names], leaks };
}

/**
 * Whether row t of the column lies in a fit window (Features.inSample: a regime model fitted on the
 * rows up to `until`): such a row depends on the whole window by design, as a scaler fitted on the
 * training rows does, so only rows from `until` on are compared.
 */
function inSampleAt(f: Features, name: string, t: number): boolean {
  return f.inSample?.some((s) => t < s.until && s.columns.includes(name)) ?? false;
}

/** Index of the last bar at or before t, −1 if none. */
function lastAtOrBefore(index: Float64Array, t: number): number {
  let lo = 0;
  let hi = index.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (index[mid] <= t) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
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
  return result.leaks.map((l) => {
    const step = l.step ? `step \`${l.step.id}\` (${l.step.kind}): ` : '';
    const at = new Date(l.ts).toISOString();
    if (l.rerun !== undefined) {
      return `${step}feature \`${l.feature}\` is not reproducible: at ${at} this run has ${l.full}, but a rerun on the same data gives ${l.rerun}, so the probe cannot tell whether it looks ahead`;
    }
    return `${step}feature \`${l.feature}\` looks ahead: at ${at} it is ${l.full} on the full data but ${l.truncated} on data truncated there (${l.count} of ${result.timestamps.length} sampled timestamps differ)`;
  });
}

/**
 * The features as a live system knows them at the close of row `row`: rows ≤ row only, and each
 * target NaN where its label window (the next `horizon` bars) ends after `row`. A replay rerun on
 * them must give the same decisions and the same prediction of row `row` as the replay over all
 * rows: anything else read the future (the replay's leakage probe, test/replay/probe.test.ts).
 */
export function knownAt(features: Features, row: number): Features {
  const end = row + 1;
  const columns: Record<string, Float64Array> = {};
  for (const [name, col] of Object.entries(features.columns)) columns[name] = col.slice(0, end);
  features.targetNames.forEach((name, k) => {
    const h = features.targetHorizons[k];
    const c = columns[name];
    for (let r = Math.max(0, end - h); r < end; r++) c[r] = NaN;
  });
  return { ...features, index: features.index.slice(0, end), columns };
}
