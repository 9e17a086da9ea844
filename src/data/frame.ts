import type { Frame } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';

/** Number of rows of a frame (the length of its index). */
export function frameLength(f: Frame): number {
  return f.index.length;
}

/**
 * Rows [start, end) of a frame, as views that share memory with the original (no copy). Negative or
 * out-of-range bounds are clamped like `Array.prototype.slice`. Other fields of `f` (e.g. a Candles'
 * symbol) are kept.
 */
export function sliceFrame<F extends Frame>(f: F, start: number, end: number = f.index.length): F {
  const n = f.index.length;
  const s = clampIndex(start, n);
  const e = Math.max(s, clampIndex(end, n));
  const columns: Record<string, Float64Array> = {};
  for (const [name, col] of Object.entries(f.columns)) columns[name] = col.subarray(s, e);
  return { ...f, index: f.index.subarray(s, e), columns };
}

function clampIndex(i: number, n: number): number {
  if (i < 0) return Math.max(0, n + i);
  return Math.min(i, n);
}

/**
 * Throws a RunError unless every column has the index's length and the index is finite and strictly
 * increasing. `what` names the frame in the message (e.g. a file or step id).
 */
export function checkFrame(f: Frame, what = 'frame'): void {
  const n = f.index.length;
  for (const [name, col] of Object.entries(f.columns)) {
    if (col.length !== n) {
      throw new RunError(`${what}: column "${name}" has ${col.length} rows but the index has ${n}`, {
        hint: 'every column of a frame must have one value per index row',
      });
    }
  }
  const idx = f.index;
  for (let i = 0; i < n; i++) {
    const t = idx[i];
    if (!Number.isFinite(t)) {
      throw new RunError(`${what}: index value at row ${i} is ${t}`, { hint: 'timestamps must be finite epoch ms' });
    }
    if (i > 0 && t <= idx[i - 1]) {
      throw new RunError(`${what}: index is not strictly increasing at row ${i} (${isoUtc(idx[i - 1])} then ${isoUtc(t)})`, {
        hint: 'sort the rows by time and remove duplicate timestamps',
      });
    }
  }
}

/** `YYYY-MM-DD HH:MM` (UTC) of an epoch-ms timestamp, for messages and summaries. */
export function isoUtc(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}
