import type { Candles } from '../core/artifacts.js';
import { makeRng } from './rng.js';
import { pipSize, priceDecimals } from './symbols.js';
import { formatTimeframe } from './timeframe.js';

/**
 * A seeded, FX-like candle generator so a quickstart runs with no download. Not a market model to
 * research on; it reproduces the stylised facts that trip up pipelines on real data: volatility
 * clustering, an intraday volatility cycle, weekend gaps and tick-volume that follows volatility.
 */

export interface SyntheticOptions {
  symbol: string;
  /** Bar length in ms. */
  timeframeMs: number;
  /** Number of bars to generate. */
  bars: number;
  seed: number;
  /** Open time of the first bar (epoch ms); default 2020-01-05T22:00Z, Sunday 17:00 New York. */
  start?: number;
  /** Open of the first bar; default a typical level for the symbol. */
  startPrice?: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** Sunday 1970-01-04 22:00 UTC: weeks of the FX market start here (epoch day 0 was a Thursday). */
const WEEK_OPEN_EPOCH = 3 * DAY + 22 * HOUR;
/** The market is open for 5 days from Sunday 22:00 UTC to Friday 22:00 UTC. */
const OPEN_SPAN = 5 * DAY;

export const DEFAULT_SYNTHETIC_START = Date.UTC(2020, 0, 5, 22, 0, 0);

/** Daily volatility of log returns (0.6%, EURUSD-like). */
const DAILY_VOL = 0.006;
/** Std of the log return across a weekend close, as a fraction of daily vol. */
const WEEKEND_GAP_VOL = 0.3;
/** Sub-steps simulated inside each bar: high/low come from this path, so the range is realistic. */
const SUBSTEPS = 16;
/** Mean tick volume per minute at average volatility. */
const TICKS_PER_MINUTE = 40;

/**
 * Relative volatility (std) by UTC hour: quiet Asian session and the hours around the New York
 * close, a London open pick-up and the busiest London/New York overlap 12:00–16:00.
 */
const VOL_BY_HOUR = [0.55, 0.6, 0.6, 0.55, 0.5, 0.5, 0.65, 1.0, 1.15, 1.05, 0.95, 0.95, 1.25, 1.45, 1.5, 1.35, 1.05, 0.8, 0.7, 0.65, 0.6, 0.45, 0.45, 0.5];
/** The same as variance multipliers whose mean over the day is 1, so DAILY_VOL holds on average. */
const VAR_BY_HOUR: Float64Array = (() => {
  const v = Float64Array.from(VOL_BY_HOUR, (x) => x * x);
  const mean = v.reduce((s, x) => s + x, 0) / 24;
  return v.map((x) => x / mean);
})();
const SD_BY_HOUR: Float64Array = VAR_BY_HOUR.map(Math.sqrt);

const TYPICAL_PRICE: Record<string, number> = {
  EURUSD: 1.12,
  GBPUSD: 1.3,
  AUDUSD: 0.7,
  NZDUSD: 0.65,
  USDCHF: 0.97,
  USDCAD: 1.32,
  USDJPY: 108.5,
  EURJPY: 121.5,
  GBPJPY: 141.0,
  EURGBP: 0.86,
};

function typicalPrice(symbol: string): number {
  const s = symbol.trim().toUpperCase();
  return TYPICAL_PRICE[s] ?? (pipSize(s) === 0.01 ? 100 : 1);
}

/** True when a bar opening at `t` falls inside the weekly session (Sunday 22:00 → Friday 22:00 UTC). */
export function isMarketOpen(t: number): boolean {
  return mod(t - WEEK_OPEN_EPOCH, WEEK) < OPEN_SPAN;
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

/**
 * GARCH(1,1) persistence and reaction per bar, from hourly values (α = 0.05, α + β = 0.985) scaled
 * to the bar length, so clusters last about as long in wall-clock time whatever the timeframe.
 */
function garchParams(timeframeMs: number): { alpha: number; beta: number } {
  const hours = timeframeMs / HOUR;
  const persistence = Math.min(0.9997, Math.max(0.5, Math.pow(0.985, hours)));
  const alpha = Math.min(0.1, Math.max(0.002, 0.05 * Math.sqrt(hours)));
  return { alpha, beta: Math.max(0, persistence - alpha) };
}

export function syntheticCandles(opts: SyntheticOptions): Candles {
  const { symbol, timeframeMs, bars, seed } = opts;
  if (!(Number.isFinite(timeframeMs) && timeframeMs > 0)) throw new Error(`timeframeMs must be > 0, got ${timeframeMs}`);
  if (!(Number.isInteger(bars) && bars >= 0)) throw new Error(`bars must be a non-negative integer, got ${bars}`);
  const rng = makeRng(seed);
  const decimals = priceDecimals(symbol);
  const scale = Math.pow(10, decimals);
  const round = (x: number): number => Math.round(x * scale) / scale;

  const index = new Float64Array(bars);
  const open = new Float64Array(bars);
  const high = new Float64Array(bars);
  const low = new Float64Array(bars);
  const close = new Float64Array(bars);
  const volume = new Float64Array(bars);

  const { alpha, beta } = garchParams(timeframeMs);
  const omega = 1 - alpha - beta; // unconditional mean of h is 1
  const dt = timeframeMs / SUBSTEPS;
  // Variance of one sub-step at average hour and average h.
  const subVar = (DAILY_VOL * DAILY_VOL * dt) / DAY;
  const gapSd = WEEKEND_GAP_VOL * DAILY_VOL;
  const ticksPerBar = TICKS_PER_MINUTE * (timeframeMs / 60_000);

  let t = opts.start ?? DEFAULT_SYNTHETIC_START;
  let logP = Math.log(opts.startPrice ?? typicalPrice(symbol));
  let prevClose = round(Math.exp(logP));
  let h = 1;
  let first = true;

  for (let i = 0; i < bars; i++) {
    // Skip closed market time straight to the first bar time at or after the next week's open.
    let gap = false;
    if (!isMarketOpen(t)) {
      const untilOpen = WEEK - mod(t - WEEK_OPEN_EPOCH, WEEK);
      if (first) {
        // A start inside the weekend snaps to the week open, which then anchors the bar grid.
        t += untilOpen;
      } else {
        t += Math.ceil(untilOpen / timeframeMs) * timeframeMs;
        while (!isMarketOpen(t)) t += timeframeMs;
      }
      gap = !first;
    }
    if (gap) {
      logP += gapSd * rng.normal();
      prevClose = round(Math.exp(logP));
    }
    index[i] = t;
    const o = prevClose;
    // Extremes are tracked in log space and rounded once: exp and rounding are monotone, so this
    // equals the max/min of the rounded path prices (and keeps high >= open, close >= low).
    let hiLog = logP;
    let loLog = logP;
    let sumVar = 0; // expected variance of this bar given h, for the standardised shock
    let sumSq = 0; // realised variance
    let sumRet = 0;
    const barVar = subVar * h;
    const barSd = Math.sqrt(barVar);
    let msInDay = mod(t + 0.5 * dt, DAY); // mid-point of the sub-step, stepped without a modulo
    for (let k = 0; k < SUBSTEPS; k++) {
      const hour = (msInDay / HOUR) | 0;
      msInDay += dt;
      while (msInDay >= DAY) msInDay -= DAY;
      const r = barSd * SD_BY_HOUR[hour] * rng.normal();
      sumVar += barVar * VAR_BY_HOUR[hour];
      sumSq += r * r;
      sumRet += r;
      logP += r;
      if (logP > hiLog) hiLog = logP;
      if (logP < loLog) loLog = logP;
    }
    const c = round(Math.exp(logP));
    open[i] = o;
    high[i] = Math.max(o, c, round(Math.exp(hiLog)));
    low[i] = Math.min(o, c, round(Math.exp(loLog)));
    close[i] = c;
    // Tick activity follows both the expected and the realised variance; lognormal noise on top.
    const expectedRatio = sumVar / (subVar * SUBSTEPS);
    const realisedRatio = sumSq / (subVar * SUBSTEPS);
    const intensity = 0.6 * expectedRatio + 0.4 * realisedRatio;
    volume[i] = Math.max(1, Math.round(ticksPerBar * intensity * Math.exp(0.25 * rng.normal() - 0.03125)));

    // GARCH update on the bar's standardised shock (z² has mean 1 given h).
    const z2 = (sumRet * sumRet) / sumVar;
    h = omega + alpha * z2 * h + beta * h;
    prevClose = c;
    first = false;
    t += timeframeMs;
  }

  return {
    type: 'Candles',
    symbol,
    timeframe: formatTimeframe(timeframeMs),
    source: `synthetic(seed=${seed})`,
    pip: pipSize(symbol),
    quality: [],
    index,
    columns: { open, high, low, close, volume },
  };
}

/** Parameters of an AR(1)–GARCH(1,1) return series (see arGarch). */
export interface ArGarchParams {
  /** Unconditional level c of r[t] = c + φ·r[t−1] + ε[t]. */
  c: number;
  /** AR(1) coefficient φ, |φ| < 1. */
  phi: number;
  /** GARCH(1,1): σ²[t] = ω + α·ε²[t−1] + β·σ²[t−1], α + β < 1. */
  omega: number;
  alpha: number;
  beta: number;
}

/** An AR(1)–GARCH(1,1) series with its true conditional distribution at every step. */
export interface ArGarchSeries {
  /** The returns r[0…n−1]. */
  r: Float64Array;
  /** E[r[t] | r[0…t−1]] = c + φ·r[t−1]. */
  mean: Float64Array;
  /** sd(r[t] | r[0…t−1]) = σ[t]; r[t] ~ N(mean[t], sd[t]²). */
  sd: Float64Array;
}

/**
 * Simulates n steps of r[t] = c + φ·r[t−1] + σ[t]·z[t], z ~ N(0, 1) i.i.d. (seeded), after `burn`
 * discarded steps from the stationary mean and variance. The conditional distribution of each
 * r[t] given the past is exactly N(mean[t], sd[t]²): the reference for probabilistic forecasts'
 * calibration and CRPS tests (a model's forecast made at t − 1 for r[t]).
 */
export function arGarch(n: number, prm: ArGarchParams, seed: number, burn = 500): ArGarchSeries {
  const { c, phi, omega, alpha, beta } = prm;
  if (!(Math.abs(phi) < 1) || !(alpha >= 0 && beta >= 0 && alpha + beta < 1) || !(omega > 0)) {
    throw new RangeError('arGarch needs |phi| < 1, omega > 0, alpha, beta ≥ 0 and alpha + beta < 1');
  }
  const rng = makeRng(seed);
  const r = new Float64Array(n);
  const mean = new Float64Array(n);
  const sd = new Float64Array(n);
  let prevR = c / (1 - phi);
  let prevE2 = omega / (1 - alpha - beta);
  let prevS2 = prevE2;
  for (let t = -burn; t < n; t++) {
    const s2 = omega + alpha * prevE2 + beta * prevS2;
    const m = c + phi * prevR;
    const e = Math.sqrt(s2) * rng.normal();
    const x = m + e;
    if (t >= 0) {
      r[t] = x;
      mean[t] = m;
      sd[t] = Math.sqrt(s2);
    }
    prevR = x;
    prevE2 = e * e;
    prevS2 = s2;
  }
  return { r, mean, sd };
}
