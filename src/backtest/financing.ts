import { parseZone } from '../data/tz.js';
import type { Simulation } from './simulate.js';

/**
 * Overnight financing (swap, rollover) of positions held through the daily rollover: 17:00 New
 * York time (DST included), the FX market's day boundary. A position open at that instant is
 * charged — or credited — one night, three on the triple day (Wednesday for most pairs: spot
 * settles T+2, so Wednesday's rollover carries the weekend), none on Saturday and Sunday.
 * Holidays are not modelled (a broker's extra triple days around them are not in this table).
 *
 * A held bar (from open[b] to open[b + 1]) pays for the rollovers in (time[b], time[b + 1]]: a
 * position entered at the rollover instant is not charged that night, one closed at it is.
 * Financing is booked on its own line (positive = paid, as costs), apart from trading costs.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Swap rates, per night and per unit of position, in `unit`; positive credits the account, negative charges it (MetaTrader's sign). */
export interface SwapRates {
  /** Rate of a long position: one value, or one per candle bar (a rates column). */
  long: number | Float64Array;
  /** Rate of a short position: one value, or one per candle bar. */
  short: number | Float64Array;
  /** `points`/`pips`: price units per unit of base currency (× point or pip); `annual_pct`: % a year of the notional. */
  unit: 'points' | 'pips' | 'annual_pct';
  /** Price of one point (MetaTrader's smallest quote step). */
  point: number;
  /** Price of one pip. */
  pip: number;
  /** Day of the week (0 Sunday … 6 Saturday) whose rollover counts three nights. */
  tripleDay: number;
  /** Days a year for `annual_pct` (360 for most currencies' money markets, 365 for GBP, AUD, …). */
  dayCount: number;
}

/** Nights charged at each rollover from `from` to `to` (UTC ms): the rollover instants ascending and their weights. */
export function rollovers(from: number, to: number, tripleDay: number): { at: Float64Array; nights: Uint8Array } {
  const ny = parseZone('America/New_York');
  const first = Math.floor((from + ny.offsetAt(from)) / DAY) - 1;
  const last = Math.floor((to + ny.offsetAt(to)) / DAY) + 1;
  const n = Math.max(0, last - first + 1);
  const at = new Float64Array(n);
  const nights = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const day = first + k;
    at[k] = ny.toUtc(day * DAY + 17 * HOUR);
    // 1970-01-01, day 0, was a Thursday.
    const weekday = (((day + 4) % 7) + 7) % 7;
    nights[k] = weekday === 0 || weekday === 6 ? 0 : weekday === tripleDay ? 3 : 1;
  }
  return { at, nights };
}

const rateAt = (r: number | Float64Array, b: number): number => (typeof r === 'number' ? r : r[b]);

/**
 * The simulation with financing applied: each held bar's net return, and its trade's PnL (log
 * return, pips, account currency), less the financing of the nights it held through. Returns the
 * new simulation (the input is not changed), the financing of each held bar (return units,
 * positive = paid) and the nights counted.
 */
export function applyFinancing(
  sim: Simulation,
  candles: { open: Float64Array; time: Float64Array },
  rates: SwapRates,
  account: number,
): { sim: Simulation; financing: Float64Array; nights: number } {
  const { open, time } = candles;
  const bars = sim.bar;
  const n = bars.length;
  const financing = new Float64Array(n);
  const net = Float64Array.from(sim.net);
  const t = sim.trades;
  const pnl = Float64Array.from(t.pnl);
  const pips = Float64Array.from(t.pips);
  const acc = Float64Array.from(t.account);
  let nightsTotal = 0;
  if (n > 0) {
    const { at, nights } = rollovers(time[bars[0]], time[bars[n - 1] + 1], rates.tripleDay);
    let k = 0;
    let trade = 0;
    for (let i = 0; i < n; i++) {
      const b = bars[i];
      const t0 = time[b];
      const t1 = time[b + 1];
      while (k < at.length && at[k] <= t0) k++;
      let w = 0;
      for (let j = k; j < at.length && at[j] <= t1; j++) w += nights[j];
      const q = sim.position[i];
      if (q === 0 || w === 0) continue;
      while (trade < t.start.length && t.start[trade] + t.bars[trade] <= i) trade++;
      const r = rateAt(q > 0 ? rates.long : rates.short, b);
      // Credit per night per unit of base currency, in price units.
      const credit = rates.unit === 'points' ? r * rates.point : rates.unit === 'pips' ? r * rates.pip : (r / 100 / rates.dayCount) * open[b];
      const paid = (-Math.abs(q) * w * credit) / open[b];
      financing[i] = paid;
      net[i] -= paid;
      nightsTotal += w;
      if (trade < t.start.length && t.start[trade] <= i) {
        pnl[trade] -= paid;
        pips[trade] += (Math.abs(q) * w * credit) / rates.pip;
        // The trade's units were fixed at entry: |q| × account / its entry price.
        const units = (Math.abs(q) * account) / open[bars[t.start[trade]]];
        acc[trade] += units * w * credit;
      }
    }
  }
  const trades = { ...t, pnl, pips, account: acc };
  return { sim: { ...sim, net, trades }, financing, nights: nightsTotal };
}
