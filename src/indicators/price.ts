import { RunError } from '../core/diagnostics.js';

/** Which price an indicator reads: a candle column or one of TA-Lib's derived prices. */
export type PriceSource = 'close' | 'open' | 'high' | 'low' | 'hl2' | 'hlc3' | 'ohlc4';

/** Candle columns by name (open, high, low, close, volume…). */
export type PriceColumns = Readonly<Record<string, Float64Array>>;

function column(cols: PriceColumns, name: string): Float64Array {
  const c = cols[name];
  if (!c) {
    throw new RunError(`the candles have no \`${name}\` column`, {
      hint: `an indicator reads \`${name}\`; connect a step that outputs OHLC candles or choose another \`on\``,
    });
  }
  return c;
}

/**
 * The price series named by `on`. Derived prices use TA-Lib's operation order (MEDPRICE, TYPPRICE,
 * AVGPRICE) so results match it bit for bit: hl2 = (h+l)/2, hlc3 = (h+l+c)/3, ohlc4 = (h+l+c+o)/4.
 * A plain column is returned as is (not copied): kernels never write to their input.
 */
export function priceSource(cols: PriceColumns, on: PriceSource): Float64Array {
  switch (on) {
    case 'close':
    case 'open':
    case 'high':
    case 'low':
      return column(cols, on);
    case 'hl2': {
      const h = column(cols, 'high');
      const l = column(cols, 'low');
      const out = new Float64Array(h.length);
      for (let i = 0; i < out.length; i++) out[i] = (h[i] + l[i]) / 2.0;
      return out;
    }
    case 'hlc3': {
      const h = column(cols, 'high');
      const l = column(cols, 'low');
      const c = column(cols, 'close');
      const out = new Float64Array(h.length);
      for (let i = 0; i < out.length; i++) out[i] = (h[i] + l[i] + c[i]) / 3.0;
      return out;
    }
    case 'ohlc4': {
      const o = column(cols, 'open');
      const h = column(cols, 'high');
      const l = column(cols, 'low');
      const c = column(cols, 'close');
      const out = new Float64Array(h.length);
      for (let i = 0; i < out.length; i++) out[i] = (h[i] + l[i] + c[i] + o[i]) / 4;
      return out;
    }
  }
}
