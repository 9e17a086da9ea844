import type { QualityNote } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import type { DataPart } from './files.js';
import { applyQuality, type QualityPolicy } from './quality.js';
import { parsePartsParallel, wantParallel, type ParallelMode } from './parallel.js';
import { concatRaw, emptyRaw, layoutFor, parseInto, rowBound, type Layout, type RawBars, type ReadOptions } from './reader.js';
import { resample, type DayClose, type Ohlcv } from './resample.js';
import { convertToUtc, parseZone, type Zone } from './tz.js';

/**
 * From bytes to clean UTC candles, in one fixed order: read every part (file or zip entry) →
 * convert its clock to UTC → order the parts by their first bar and concatenate → quality policy
 * → range (`from`/`to`/`days`) → resample. Ranges apply to the source bars, after the quality
 * step, so `days` counts back from the latest good bar.
 */

export interface LoadOptions {
  read: ReadOptions;
  /** The declared clock of the files (`timezone:`); when absent, each format's own (defaultZone). */
  zone?: Zone;
  policy: QualityPolicy;
  timeframeMs: number;
  from?: number;
  to?: number;
  days?: number;
  resampleMs?: number;
  dayClose: DayClose;
}

export interface Loaded {
  bars: Ohlcv;
  notes: QualityNote[];
  /** One line per part: what format was read from it. */
  detected: string[];
  /** Rows read before any repair. */
  rowsRead: number;
}

/**
 * The clock a format's timestamps are in when no `timezone` is declared. HistData writes New York
 * time: its own notes say EST without DST, but the files follow New York's UTC-5/UTC-4 (in 2018 on
 * the US DST dates; in 2019 on the EU dates, which the week-clock check in quality.ts flags).
 */
export function defaultZone(format: Layout['format']): { zone: Zone; why: string } {
  if (format === 'histdata') return { zone: parseZone('America/New_York'), why: "HistData's New York time" };
  return { zone: parseZone('UTC'), why: 'the default' };
}

/**
 * The zone a part's wall clock is read in (null: its timestamps carry offsets) and the log text
 * saying so. The `zoneCheck` of a zoned layout has already refused offsets that contradict `zone`.
 */
function partZone(layout: Layout, zone: Zone | undefined): { zone: Zone | null; text: string } {
  if (layout.timeParser.zoned) return { zone: null, text: 'times are the instants their Z / ±hh:mm offsets give' };
  if (zone) return { zone, text: `times in ${zone.name} (timezone:)` };
  const d = defaultZone(layout.format);
  return { zone: d.zone, text: `times in ${d.zone.name} (${d.why}; set \`timezone:\` if the file's clock differs)` };
}

/** Parses the parts (files) into one RawBars, converted to UTC and ordered by first bar. */
export function readParts(parts: DataPart[], read: ReadOptions, zone: Zone | undefined): { raw: RawBars; detected: string[] } {
  const detected: string[] = [];
  const layouts = parts.map((p) => layoutFor(p.bytes, p.name, read));
  // One allocation for all parts: no concatenation copy when they come in time order.
  const raw = emptyRaw(parts.reduce((s, p) => s + rowBound(p.bytes), 0));
  raw.zones = [];
  const ranges: { start: number; end: number; first: number }[] = [];
  parts.forEach((p, k) => {
    const start = raw.n;
    raw.files.push(p.name);
    parseInto(p.bytes, p.name, layouts[k], raw, k);
    const t = raw.t.subarray(start, raw.n);
    const pz = partZone(layouts[k], zone);
    if (pz.zone) convertToUtc(t, pz.zone);
    raw.zones!.push(pz.zone);
    detected.push(`${p.name}: ${layouts[k].detail}, ${raw.n - start} rows; ${pz.text}`);
    ranges.push({ start, end: raw.n, first: raw.n > start ? raw.t[start] : Infinity });
  });
  return { raw: joinRanges(raw, ranges), detected };
}

/**
 * readParts, with the parts parsed concurrently in worker threads when worthwhile (several parts,
 * a few MB in all; see parallel.ts), else on this thread. Same bars, order, file indices, lines
 * and errors either way. `workerParts`: how many parts a worker parsed.
 */
export async function readPartsAsync(
  parts: DataPart[],
  read: ReadOptions,
  zone: Zone | undefined,
  mode: ParallelMode = 'auto',
): Promise<{ raw: RawBars; detected: string[]; workerParts: number }> {
  if (!wantParallel(parts, mode)) return { ...readParts(parts, read, zone), workerParts: 0 };
  const layouts = parts.map((p) => layoutFor(p.bytes, p.name, read));
  // One allocation, as readParts: part k from row offsets[k]; the gaps are closed below.
  const offsets: number[] = [];
  let cap = 0;
  for (const p of parts) {
    offsets.push(cap);
    cap += rowBound(p.bytes);
  }
  const raw = emptyRaw(cap);
  raw.files.push(...parts.map((p) => p.name));
  raw.zones = [];
  const { results, workerParts } = await parsePartsParallel(parts, read, layouts, raw, offsets);
  const detected: string[] = [];
  const ranges: { start: number; end: number; first: number }[] = [];
  // Errors and conversions in part order, as the serial loop meets them.
  results.forEach((r, k) => {
    if ('error' in r) throw r.error;
    const start = offsets[k];
    const t = raw.t.subarray(start, start + r.n);
    const pz = partZone(layouts[k], zone);
    if (pz.zone) convertToUtc(t, pz.zone);
    raw.zones!.push(pz.zone);
    detected.push(`${parts[k].name}: ${layouts[k].detail}, ${r.n} rows; ${pz.text}`);
    ranges.push({ start, end: start + r.n, first: r.n > 0 ? t[0] : Infinity });
  });
  return { raw: joinRanges(raw, ranges), detected, workerParts };
}

/**
 * The parts' rows (ranges of `raw`, in part order) as one RawBars: in place when the parts come in
 * time order, else ordered by first bar (ties by part order) into a new one.
 */
function joinRanges(raw: RawBars, ranges: { start: number; end: number; first: number }[]): RawBars {
  const sorted = ranges.every((r, k) => k === 0 || r.first >= ranges[k - 1].first);
  if (sorted) {
    let dst = 0;
    for (const r of ranges) {
      if (r.start !== dst) {
        for (const a of [raw.t, raw.open, raw.high, raw.low, raw.close, raw.volume, raw.line, raw.file]) a.copyWithin(dst, r.start, r.end);
      }
      dst += r.end - r.start;
    }
    raw.n = dst;
    return raw;
  }
  // Files in time order (e.g. one per year, whatever their names or the order given).
  const views = ranges
    .map((r, k) => ({ r, k }))
    .sort((a, b) => a.r.first - b.r.first || a.k - b.k)
    .map(({ r }) => sliceRaw(raw, r.start, r.end));
  const out = concatRaw(views);
  out.files = raw.files;
  out.zones = raw.zones;
  // concatRaw renumbers files per part; restore the original file indices.
  let off = 0;
  for (const v of views) {
    out.file.set(v.file.subarray(0, v.n), off);
    off += v.n;
  }
  return out;
}

function sliceRaw(raw: RawBars, a: number, b: number): RawBars {
  return {
    n: b - a,
    t: raw.t.subarray(a, b),
    open: raw.open.subarray(a, b),
    high: raw.high.subarray(a, b),
    low: raw.low.subarray(a, b),
    close: raw.close.subarray(a, b),
    volume: raw.volume.subarray(a, b),
    line: raw.line.subarray(a, b),
    file: raw.file.subarray(a, b),
    files: [],
  };
}

/**
 * Quality, range and resampling of UTC raw bars. `rawIsScratch`: the caller gives up `raw`, whose
 * arrays may then hold the clean bars (see applyQuality's `reuseRaw`).
 */
export function finish(raw: RawBars, opts: LoadOptions, rawIsScratch = false): { bars: Ohlcv; notes: QualityNote[] } {
  checkTimestamps(raw);
  const { bars, notes } = applyQuality(raw, opts.policy, opts.timeframeMs, rawIsScratch);
  let lo = 0;
  let hi = bars.index.length;
  const idx = bars.index;
  if (opts.from !== undefined) while (lo < hi && idx[lo] < opts.from) lo++;
  if (opts.to !== undefined) while (hi > lo && idx[hi - 1] >= opts.to) hi--;
  if (opts.days !== undefined && hi > lo) {
    const since = idx[hi - 1] - opts.days * 86_400_000;
    while (lo < hi && idx[lo] < since) lo++;
  }
  let out: Ohlcv = {
    index: idx.subarray(lo, hi),
    open: bars.open.subarray(lo, hi),
    high: bars.high.subarray(lo, hi),
    low: bars.low.subarray(lo, hi),
    close: bars.close.subarray(lo, hi),
    volume: bars.volume.subarray(lo, hi),
  };
  if (opts.resampleMs !== undefined) out = resample(out, opts.resampleMs, opts.dayClose);
  else if (out.index.byteOffset !== 0 || out.index.byteLength !== out.index.buffer.byteLength) {
    // Own the memory (a view of a range, or of raw's larger arrays, would keep them alive in the artifact).
    out = {
      index: out.index.slice(),
      open: out.open.slice(),
      high: out.high.slice(),
      low: out.low.slice(),
      close: out.close.slice(),
      volume: out.volume.slice(),
    };
  }
  return { bars: out, notes };
}

/** Refuses a bar without a finite timestamp, naming its file and line. */
export function checkTimestamps(raw: RawBars): void {
  for (let i = 0; i < raw.n; i++) {
    if (!Number.isFinite(raw.t[i])) {
      const file = raw.files[raw.file[i]];
      throw new RunError(`${file}:${raw.line[i]}: missing timestamp`, { hint: 'every bar needs a time', loc: { file, line: raw.line[i], col: 1 } });
    }
  }
}

/** loadParts, parsing the parts in worker threads when worthwhile (see readPartsAsync). */
export async function loadPartsAsync(parts: DataPart[], opts: LoadOptions, mode: ParallelMode = 'auto'): Promise<Loaded> {
  const { raw, detected } = await readPartsAsync(parts, opts.read, opts.zone, mode);
  const rowsRead = raw.n;
  const { bars, notes } = finish(raw, opts, true);
  return { bars, notes, detected, rowsRead };
}

/** Parts → clean candles; see the module comment. */
export function loadParts(parts: DataPart[], opts: LoadOptions): Loaded {
  const { raw, detected } = readParts(parts, opts.read, opts.zone);
  const rowsRead = raw.n;
  const { bars, notes } = finish(raw, opts, true);
  return { bars, notes, detected, rowsRead };
}
