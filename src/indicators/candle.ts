/**
 * Candle-shape features (not a TA-Lib function; TA-Lib's candlestick macros define the same parts):
 * body = close − open (signed), upper shadow = high − max(open, close), lower shadow =
 * min(open, close) − low, range = high − low, and body/upper/lower relative to the range (0 when the
 * range is zero). Lookback 0.
 */
import { nanArray } from './util.js';

export interface CandleShape {
  body: Float64Array;
  upper: Float64Array;
  lower: Float64Array;
  range: Float64Array;
  bodyRel: Float64Array;
  upperRel: Float64Array;
  lowerRel: Float64Array;
}

export function candleShape(open: Float64Array, high: Float64Array, low: Float64Array, close: Float64Array): CandleShape {
  const n = close.length;
  const r: CandleShape = {
    body: nanArray(n),
    upper: nanArray(n),
    lower: nanArray(n),
    range: nanArray(n),
    bodyRel: nanArray(n),
    upperRel: nanArray(n),
    lowerRel: nanArray(n),
  };
  for (let i = 0; i < n; i++) {
    const o = open[i];
    const h = high[i];
    const l = low[i];
    const c = close[i];
    const top = c >= o ? c : o;
    const bottom = c >= o ? o : c;
    const rg = h - l;
    const b = c - o;
    const u = h - top;
    const lw = bottom - l;
    r.body[i] = b;
    r.upper[i] = u;
    r.lower[i] = lw;
    r.range[i] = rg;
    r.bodyRel[i] = rg > 0 ? b / rg : 0.0;
    r.upperRel[i] = rg > 0 ? u / rg : 0.0;
    r.lowerRel[i] = rg > 0 ? lw / rg : 0.0;
  }
  return r;
}
