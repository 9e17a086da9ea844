/**
 * Parabolic SAR, TA_SAR exact (0.6). The first bar only sets the initial extreme point: the
 * direction is short if bar 1's −DM (low[0] − low[1]) is positive and larger than its +DM, else
 * long; the first SAR (written at bar 1) is low[0] when long, high[0] when short, with ep = high[1]
 * (long) or low[1] (short). Then each bar: if the bar penetrates the SAR, reverse (the SAR becomes
 * the ep, clamped to the last two bars' range, af resets), else output the SAR, move ep/af, and
 * step SAR += af·(ep − SAR) clamped so it never enters the last two bars' range. Lookback 1.
 */
import { firstValidAll, nanArray } from './util.js';

export function sar(high: Float64Array, low: Float64Array, acceleration: number, maximum: number): Float64Array {
  const n = high.length;
  const out = nanArray(n);
  const f = firstValidAll(high, low);
  let today = f + 1;
  if (today >= n) return out;
  let accel = acceleration;
  if (accel > maximum) accel = maximum;
  let af = accel;
  const up = high[today] - high[today - 1];
  const down = low[today - 1] - low[today];
  let isLong = !(down > 0 && up < down);
  let ep: number;
  let s: number;
  if (isLong) {
    ep = high[today];
    s = low[today - 1];
  } else {
    ep = low[today];
    s = high[today - 1];
  }
  let newLow = low[today];
  let newHigh = high[today];
  while (today < n) {
    const prevLow = newLow;
    const prevHigh = newHigh;
    newLow = low[today];
    newHigh = high[today];
    const o = today++;
    if (isLong) {
      if (newLow <= s) {
        isLong = false;
        s = ep;
        if (s < prevHigh) s = prevHigh;
        if (s < newHigh) s = newHigh;
        out[o] = s;
        af = accel;
        ep = newLow;
        s = s + af * (ep - s);
        if (s < prevHigh) s = prevHigh;
        if (s < newHigh) s = newHigh;
      } else {
        out[o] = s;
        if (newHigh > ep) {
          ep = newHigh;
          af += accel;
          if (af > maximum) af = maximum;
        }
        s = s + af * (ep - s);
        if (s > prevLow) s = prevLow;
        if (s > newLow) s = newLow;
      }
    } else if (newHigh >= s) {
      isLong = true;
      s = ep;
      if (s > prevLow) s = prevLow;
      if (s > newLow) s = newLow;
      out[o] = s;
      af = accel;
      ep = newHigh;
      s = s + af * (ep - s);
      if (s > prevLow) s = prevLow;
      if (s > newLow) s = newLow;
    } else {
      out[o] = s;
      if (newLow < ep) {
        ep = newLow;
        af += accel;
        if (af > maximum) af = maximum;
      }
      s = s + af * (ep - s);
      if (s < prevHigh) s = prevHigh;
      if (s < newHigh) s = newHigh;
    }
  }
  return out;
}
