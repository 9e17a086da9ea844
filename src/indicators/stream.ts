/**
 * Indicators over a series that gains bars at its end, equal bit for bit to computing them over the
 * whole series again (test/features/follow.test.ts checks every indicator on real M1 data). Three
 * ways, per indicator:
 * - `state`: recursive kernels (EMA, SMA's running sum, Wilder's RSI/CMO, MACD, ATR, NATR, the
 *   directional family ADX, DX, +DI, −DI) keep
 *   what their loop carries from row to row and run the kernel's own loop (its `…Advance`) over the
 *   new rows only: same code, same state, same values.
 * - `window`: kernels whose value at t is computed afresh from rows t − lookback … t (extremes,
 *   per-bar sums recomputed in order, pointwise formulas) are rerun over the new rows plus their
 *   lookback. CCI's sum order depends on the row's position modulo the period: its window starts on
 *   a multiple of the period.
 * - `full`: the others (running sums with subtraction, chained smoothings) are recomputed over the
 *   whole series, which is what a full recompute does.
 */
import { atr, atrAdvance, directionalAdvance, directionalState, natrOf, trange, type DirectionalSeries, type DirectionalState } from './dm.js';
import { ema, emaAdvance } from './ema.js';
import { computeIndicator, indicatorLookback, type IndicatorName, type IndicatorParamsMap } from './index.js';
import { smaAdvance, smaState } from './ma.js';
import { macdAdvance, macdState, type MacdState } from './macd.js';
import type * as P from './params.js';
import { priceSource, type PriceColumns, type PriceSource } from './price.js';
import { wilderAdvance, wilderOscillatorState, type WilderState } from './rsi.js';

export type StreamMode = 'state' | 'window' | 'full';

export interface IndicatorStream {
  readonly mode: StreamMode;
  /** The outputs over every row of `cols` (computeIndicator's), keeping what `advance` needs. */
  init(cols: PriceColumns): Float64Array[];
  /**
   * Writes rows [from, to) of each output into `outs` (arrays of at least `to` values whose rows
   * before `from` hold the earlier outputs); `cols` hold rows 0 … to − 1, unchanged before `from`.
   */
  advance(cols: PriceColumns, from: number, to: number, outs: Float64Array[]): void;
}

/** Rows [lo, to) of every column. */
function sliceCols(cols: PriceColumns, lo: number, to: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(cols)) out[k] = v.subarray(lo, to);
  return out;
}

/** The price source over rows [lo, to), at its own row numbers (rows before lo are 0: not read). */
function sourceTail(cols: PriceColumns, on: PriceSource, lo: number, to: number): Float64Array {
  if (on === 'close' || on === 'open' || on === 'high' || on === 'low') return priceSource(cols, on);
  const x = new Float64Array(to);
  x.set(priceSource(sliceCols(cols, lo, to), on), lo);
  return x;
}

/** Recomputed over all rows; the new rows copied out. */
function fullStream(compute: (cols: PriceColumns) => Float64Array[]): IndicatorStream {
  return {
    mode: 'full',
    init: compute,
    advance(cols, from, to, outs) {
      const r = compute(sliceCols(cols, 0, to));
      r.forEach((c, j) => outs[j].set(c.subarray(from, to), from));
    },
  };
}

/** Rerun over the new rows and `back` rows before them, the window's start a multiple of `align`. */
function windowStream(compute: (cols: PriceColumns) => Float64Array[], back: number, align = 1): IndicatorStream {
  return {
    mode: 'window',
    init: compute,
    advance(cols, from, to, outs) {
      let lo = Math.max(0, from - back);
      lo -= lo % align;
      const r = compute(sliceCols(cols, lo, to));
      r.forEach((c, j) => outs[j].set(c.subarray(from - lo, to - lo), from));
    },
  };
}

/**
 * A `state` stream: `start` computes the outputs and the state (null while the kernel has no
 * value yet: then the next rows are computed over the whole series again).
 */
function stateStream<S>(
  start: (cols: PriceColumns) => { outs: Float64Array[]; state: S | null },
  step: (cols: PriceColumns, state: S, from: number, to: number, outs: Float64Array[]) => void,
): IndicatorStream {
  let state: S | null = null;
  return {
    mode: 'state',
    init(cols) {
      const r = start(cols);
      state = r.state;
      return r.outs;
    },
    advance(cols, from, to, outs) {
      if (state === null) {
        const r = start(sliceCols(cols, 0, to));
        state = r.state;
        r.outs.forEach((c, j) => outs[j].set(c.subarray(from, to), from));
        return;
      }
      step(cols, state, from, to, outs);
    },
  };
}

function emaStream(p: P.EmaParams): IndicatorStream {
  return stateStream<{ prev: number }>(
    (cols) => {
      const out = ema(priceSource(cols, p.on), p.period);
      const prev = out[out.length - 1];
      return { outs: [out], state: prev === prev ? { prev } : null };
    },
    (cols, s, from, to, [out]) => {
      s.prev = emaAdvance(sourceTail(cols, p.on, from, to), 2.0 / (p.period + 1), s.prev, from, to, out);
    },
  );
}

function smaStream(p: P.SmaParams): IndicatorStream {
  return stateStream<{ total: number }>(
    (cols) => {
      const r = smaState(priceSource(cols, p.on), p.period);
      return { outs: [r.out], state: r.state };
    },
    (cols, s, from, to, [out]) => smaAdvance(sourceTail(cols, p.on, from - p.period + 1, to), p.period, s, from, to, out),
  );
}

function wilderStream(p: P.RsiParams | P.CmoParams, cmo: boolean): IndicatorStream {
  return stateStream<WilderState>(
    (cols) => {
      const r = wilderOscillatorState(priceSource(cols, p.on), p.period, cmo);
      return { outs: [r.out], state: r.state };
    },
    (cols, s, from, to, [out]) => wilderAdvance(sourceTail(cols, p.on, from - 1, to), p.period, cmo, s, from, to, out),
  );
}

function macdStream(p: P.MacdParams): IndicatorStream {
  return stateStream<MacdState>(
    (cols) => {
      const r = macdState(priceSource(cols, p.on), p.fast, p.slow, p.signal);
      return { outs: [r.result.macd, r.result.signal, r.result.hist], state: r.state };
    },
    (cols, s, from, to, [line, signal, hist]) =>
      macdAdvance(sourceTail(cols, p.on, from, to), p.fast, p.slow, p.signal, s, from, to, { macd: line, signal, hist }),
  );
}

function atrStream(period: number, normalised: boolean): IndicatorStream {
  // NATR's state is the ATR before normalising: kept in an array of its own that grows.
  let a: Float64Array = new Float64Array(0);
  return stateStream<{ prev: number }>(
    (cols) => {
      a = atr(cols.high, cols.low, cols.close, period);
      const prev = a[a.length - 1];
      if (!normalised) return { outs: [a], state: prev === prev ? { prev } : null };
      const out = a.slice();
      natrOf(a, cols.close, 0, a.length, out);
      return { outs: [out], state: prev === prev ? { prev } : null };
    },
    (cols, s, from, to, [out]) => {
      if (!normalised) {
        atrAdvance(cols.high, cols.low, cols.close, period, from, to, out);
        s.prev = out[to - 1];
        return;
      }
      if (a.length < to) {
        const b = new Float64Array(Math.max(to, 2 * a.length));
        b.set(a.subarray(0, from));
        a = b;
      }
      atrAdvance(cols.high, cols.low, cols.close, period, from, to, a);
      natrOf(a, cols.close, from, to, out);
      s.prev = a[to - 1];
    },
  );
}

/** One series of Wilder's directional family; the loop writes all four, the others into scratch that grows. */
function directionalStream(period: number, which: keyof DirectionalSeries): IndicatorStream {
  const scratch: DirectionalSeries = { plusDi: new Float64Array(0), minusDi: new Float64Array(0), dx: new Float64Array(0), adx: new Float64Array(0) };
  return stateStream<DirectionalState>(
    (cols) => {
      const r = directionalState(cols.high, cols.low, cols.close, period);
      return { outs: [r.series[which]], state: r.state };
    },
    (cols, s, from, to, [out]) => {
      for (const k of Object.keys(scratch) as (keyof DirectionalSeries)[])
        if (scratch[k].length < to) scratch[k] = new Float64Array(Math.max(to, 2 * scratch[k].length));
      directionalAdvance(cols.high, cols.low, cols.close, period, s, from, to, { ...scratch, [which]: out });
    },
  );
}

/** The stream of one indicator with its params. */
export function indicatorStream<K extends IndicatorName>(name: K, params: IndicatorParamsMap[K]): IndicatorStream {
  const compute = (cols: PriceColumns) => computeIndicator(name, cols, params);
  const back = indicatorLookback(name, params);
  switch (name) {
    case 'ema':
      return emaStream(params as P.EmaParams);
    case 'sma':
      return smaStream(params as P.SmaParams);
    case 'rsi':
      return wilderStream(params as P.RsiParams, false);
    case 'cmo':
      return wilderStream(params as P.CmoParams, true);
    case 'macd':
      return macdStream(params as P.MacdParams);
    case 'atr': {
      const { period } = params as P.AtrParams;
      return period === 1 ? windowStream((c) => [trange(c.high, c.low, c.close)], 1) : atrStream(period, false);
    }
    case 'natr':
      return atrStream((params as P.NatrParams).period, true);
    case 'adx':
      return directionalStream((params as P.AdxParams).period, 'adx');
    case 'dx':
      return directionalStream((params as P.DxParams).period, 'dx');
    case 'plus_di':
      return directionalStream((params as P.PlusDiParams).period, 'plusDi');
    case 'minus_di':
      return directionalStream((params as P.MinusDiParams).period, 'minusDi');
    case 'cci':
      return windowStream(compute, back, (params as P.CciParams).period);
    case 'mom':
    case 'roc':
    case 'willr':
    case 'aroon':
    case 'aroonosc':
    case 'bop':
    case 'candle':
    case 'trange':
    case 'linearreg':
      return windowStream(compute, back);
    default:
      return fullStream(compute);
  }
}
