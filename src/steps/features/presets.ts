/**
 * Ready-made feature sets (`preset:`), merged before the user's own entries; a column produced by
 * both is produced once.
 */
import type { IndicatorSpec } from './params.js';

export interface Preset {
  indicators: IndicatorSpec[];
  returns: number[];
  volatility: number[];
  zscores: number[];
  calendar: boolean;
  sessions: boolean;
  /** Qlib Alpha158 operator columns. */
  alpha158: boolean;
}

/** Params of a preset entry are complete (the validator does not fill defaults inside code). */
const DEFAULT: Preset = {
  indicators: [
    { rsi: { period: 14, on: 'close' } },
    { ema: { period: 20, on: 'close' } },
    { sma: { period: 50, on: 'close' } },
    { macd: { fast: 12, slow: 26, signal: 9, on: 'close' } },
    { adx: { period: 14 } },
    { plus_di: { period: 14 } },
    { minus_di: { period: 14 } },
    { atr: { period: 14 } },
    { natr: { period: 14 } },
    { bbands: { period: 20, nbdev_up: 2, nbdev_dn: 2, ma: 'sma', on: 'close' } },
    { stoch: { fastk: 14, slowk: 3, slowd: 3, ma: 'sma' } },
    { cci: { period: 20 } },
    { willr: { period: 14 } },
    { roc: { period: 10, on: 'close' } },
    { cmo: { period: 14, on: 'close' } },
    { aroonosc: { period: 14 } },
    { ultosc: { period1: 7, period2: 14, period3: 28 } },
    { linearreg: { period: 14, on: 'close' } },
    { candle: {} },
  ],
  returns: [1, 4, 24],
  volatility: [24],
  zscores: [20],
  calendar: true,
  sessions: true,
  alpha158: false,
};

const ALPHA158: Preset = {
  indicators: [],
  returns: [],
  volatility: [],
  zscores: [],
  calendar: false,
  sessions: false,
  alpha158: true,
};

export const PRESETS: Record<'default' | 'alpha158', Preset> = { default: DEFAULT, alpha158: ALPHA158 };
