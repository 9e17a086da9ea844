import { emaAdvance, emaFrom } from './ema.js';
import { assertPeriod, firstValid, nanArray } from './util.js';

export interface MacdResult {
  /** Fast EMA minus slow EMA. */
  macd: Float64Array;
  /** EMA(signal) of the MACD line. */
  signal: Float64Array;
  /** macd - signal. */
  hist: Float64Array;
}

/** Rows before the first MACD value: (slow-1) + (signal-1), as TA_MACD_Lookback (fast/slow swapped if needed). */
export function macdLookback(fast: number, slow: number, signal: number): number {
  return Math.max(fast, slow) - 1 + (signal - 1);
}

/**
 * MACD, TA-Lib TA_MACD exact (default compatibility). If fast > slow they are swapped, as TA-Lib does.
 *
 * TA-Lib's alignment convention (TA_INT_MACD): both EMAs are computed over the same range, starting
 * at index slow-1 (the slow EMA's lookback). So the slow EMA is seeded with SMA(x[0..slow-1]) as
 * usual, but the FAST EMA is seeded with the SMA of the `fast` values ENDING at index slow-1, i.e.
 * SMA(x[slow-fast .. slow-1]), not with SMA(x[0..fast-1]); its earlier values are never computed.
 * The MACD line (fast - slow) therefore exists from index slow-1; the signal EMA is seeded with the
 * SMA of the first `signal` MACD values, x-index slow-1 .. slow+signal-2, so the first signal value
 * is at slow+signal-2. TA-Lib outputs all three lines from that index only, so the MACD line is NaN
 * before it too, even though it was computed. Lookback = (slow-1) + (signal-1).
 *
 * Leading NaNs in x are skipped: indices above are relative to the first non-NaN value.
 */
export function macd(x: Float64Array, fast: number, slow: number, signal: number): MacdResult {
  return macdState(x, fast, slow, signal).result;
}

/** The three EMAs after a row: what continuing MACD needs besides the input. */
export interface MacdState {
  fast: number;
  slow: number;
  signal: number;
}

/** macd, also returning the EMAs after the last row (null when no output exists yet). */
export function macdState(x: Float64Array, fast: number, slow: number, signal: number): { result: MacdResult; state: MacdState | null } {
  assertPeriod('macd fast', fast, 2);
  assertPeriod('macd slow', slow, 2);
  assertPeriod('macd signal', signal, 1);
  if (slow < fast) [fast, slow] = [slow, fast];
  const n = x.length;
  const line = nanArray(n);
  const sig = nanArray(n);
  const hist = nanArray(n);
  const f = firstValid(x);
  const start = f + slow - 1; // first index where both EMAs exist
  const first = start + signal - 1; // first output index
  if (first >= n) return { result: { macd: line, signal: sig, hist }, state: null };

  // Fast EMA into `line`, slow EMA into `hist` (used as scratch), then line = fast - slow in place.
  emaFrom(x, fast, start - (fast - 1), line);
  emaFrom(x, slow, f, hist);
  const state = { fast: line[n - 1], slow: hist[n - 1], signal: NaN };
  for (let i = start; i < n; i++) line[i] = line[i] - hist[i];
  emaFrom(line, signal, start, sig);
  state.signal = sig[n - 1];
  // TA-Lib outputs nothing before `first`: hide the MACD values computed only to seed the signal.
  for (let i = 0; i < first; i++) {
    line[i] = NaN;
    hist[i] = NaN;
  }
  for (let i = first; i < n; i++) hist[i] = line[i] - sig[i];
  return { result: { macd: line, signal: sig, hist }, state };
}

/**
 * MACD over rows [from, to) from the EMAs after row from − 1 (updated in place), in macdState's
 * order: fast and slow EMA, line = fast − slow, signal EMA of the line, hist = line − signal.
 */
export function macdAdvance(x: Float64Array, fast: number, slow: number, signal: number, state: MacdState, from: number, to: number, out: MacdResult): void {
  if (slow < fast) [fast, slow] = [slow, fast];
  const { macd: line, signal: sig, hist } = out;
  state.fast = emaAdvance(x, 2.0 / (fast + 1), state.fast, from, to, line);
  state.slow = emaAdvance(x, 2.0 / (slow + 1), state.slow, from, to, hist);
  for (let i = from; i < to; i++) line[i] = line[i] - hist[i];
  state.signal = emaAdvance(line, 2.0 / (signal + 1), state.signal, from, to, sig);
  for (let i = from; i < to; i++) hist[i] = line[i] - sig[i];
}
