/**
 * Bar-by-bar simulation of a one-instrument strategy from per-bar signals, with these rules:
 *
 * - Timing. A signal for bar t is known at bar t's CLOSE, so it is filled at bar t+1's OPEN — never
 *   at close[t], which would trade on a price the signal already saw. The position is held for one
 *   bar, until open[t+2], where the next signal takes over; its gross log return is
 *   position × ln(open[t+2] / open[t+1]). Close prices are never read.
 * - Costs. Every change of position pays, per unit of |Δposition|, `priceCost` (+ `priceCostAt[bar]`)
 *   in price units — half the spread, slippage, a per-lot commission — divided by the fill price,
 *   plus `notionalCost`, a fraction of the notional traded (a commission per million). Buying pays
 *   half the spread above mid, selling half below, so a round trip (flat → long → flat) costs one
 *   full spread; a flip (long → short, |Δ| = 2) pays for the exit of one position and the entry of
 *   the other.
 * - Gaps and the end. When the next signal is not for the next bar (a gap, e.g. between the folds
 *   of a stitched walk-forward), or there is none, the position is closed at the open after its bar
 *   and that exit cost is booked on that bar: the simulation never carries an unpriced position,
 *   and it ends flat.
 * - A signal whose next two bars do not exist (the end of the data) is not traded.
 * - Trades. A trade is a maximal run of bars with a position of one sign; a flip closes one trade
 *   and opens another. Its PnL is the sum of its bars' gross returns less its entry cost, any
 *   resizing costs and its exit cost.
 * - Account currency. A trade entered with position q at price P holds q × account / P units of the
 *   base currency (a fixed notional of q × account at entry, not compounded); its PnL in the quote
 *   (account) currency is units × price change less costs × units.
 */

export interface SimulationInput {
  /** Open price of every candle bar. */
  open: Float64Array;
  /** Candle bar t of each signal (known at that bar's close), strictly increasing. */
  signalBar: Int32Array;
  /** Wanted position of each signal: −1 short, 0 flat, +1 long, or any size. */
  position: Float64Array;
  /** Cost of one unit of position change in price units (half the spread + slippage + per-lot commission / lot size). */
  priceCost: number;
  /** Per candle bar, an extra price-unit cost per unit of position change (e.g. half of a per-bar spread). */
  priceCostAt?: Float64Array;
  /** Cost of one unit of position change as a fraction of the notional (commission per million / 1e6). */
  notionalCost?: number;
  /** Account size in the quote currency, for the account-currency PnL (default 1). */
  account?: number;
  /** Pip size, for the PnL in pips (default 0.0001). */
  pip?: number;
}

/** The trades of a simulation, one entry per trade (parallel arrays). */
export interface Trades {
  /** Index (into the simulation's per-bar arrays) of the trade's first held bar. */
  start: Int32Array;
  /** Bars held. */
  bars: Int32Array;
  /** Signed position of the trade at entry. */
  position: Float64Array;
  /** Net log return: gross returns of its bars − entry, resize and exit costs. */
  pnl: Float64Array;
  /** Net PnL in pips: position × price change / pip − costs in pips. */
  pips: Float64Array;
  /** Net PnL in the account (quote) currency. */
  account: Float64Array;
  /** Costs paid by the trade, return units. */
  cost: Float64Array;
}

export interface Simulation {
  /** Candle bar held (t + 1) of each traded signal: the position is held from its open to the next open. */
  bar: Int32Array;
  position: Float64Array;
  /** position × ln(open[bar+1] / open[bar]). */
  gross: Float64Array;
  /** Costs paid on this bar (entry/adjustment at its open, exit at the next open when closed), return units. */
  cost: Float64Array;
  /** gross − cost. */
  net: Float64Array;
  /** Buy-and-hold return of the bar: ln(open[bar+1] / open[bar]). */
  benchmark: Float64Array;
  /** 1 where a non-flat position was entered at this bar's open (a flip counts as one entry). */
  entry: Uint8Array;
  /** Sum over the simulation of |Δposition| at every fill, including exits before gaps and at the end. */
  turnover: number;
  trades: Trades;
  /** Signals left untraded because their next two bars do not exist. */
  untraded: number;
}

interface OpenTrade {
  start: number;
  position: number;
  units: number;
  pnl: number;
  pips: number;
  account: number;
  cost: number;
}

export function simulate(input: SimulationInput): Simulation {
  const { open, signalBar, position } = input;
  const priceCost = input.priceCost;
  const priceCostAt = input.priceCostAt;
  const notionalCost = input.notionalCost ?? 0;
  const account = input.account ?? 1;
  const pip = input.pip ?? 0.0001;
  const nSignals = signalBar.length;
  if (position.length !== nSignals) throw new RangeError(`${position.length} positions for ${nSignals} signals`);
  for (let i = 1; i < nSignals; i++) {
    if (!(signalBar[i] > signalBar[i - 1])) throw new RangeError(`signal bars must be strictly increasing (signal ${i}: bar ${signalBar[i]} after ${signalBar[i - 1]})`);
  }
  let traded = 0;
  while (traded < nSignals && signalBar[traded] + 2 < open.length) traded++;

  const bar = new Int32Array(traded);
  const pos = new Float64Array(traded);
  const gross = new Float64Array(traded);
  const cost = new Float64Array(traded);
  const net = new Float64Array(traded);
  const benchmark = new Float64Array(traded);
  const entry = new Uint8Array(traded);

  const tStart: number[] = [];
  const tBars: number[] = [];
  const tPos: number[] = [];
  const tPnl: number[] = [];
  const tPips: number[] = [];
  const tAcc: number[] = [];
  const tCost: number[] = [];
  let turnover = 0;
  let cur: OpenTrade | undefined;

  /** Price-unit cost of one unit of position change at bar b's open. */
  const unitPrice = (b: number): number => priceCost + (priceCostAt ? priceCostAt[b] : 0) + notionalCost * open[b];

  /** Pays |dq| at open[b], booked on simulated bar m; attributed to the open trade. */
  const pay = (m: number, dq: number, b: number, units: number): void => {
    const up = unitPrice(b) * Math.abs(dq);
    const c = up / open[b];
    cost[m] += c;
    turnover += Math.abs(dq);
    if (cur) {
      cur.pnl -= c;
      cur.cost += c;
      cur.pips -= up / pip;
      cur.account -= Math.abs(units) * unitPrice(b);
    }
  };
  const closeTrade = (end: number): void => {
    const t = cur!;
    tStart.push(t.start);
    tBars.push(end - t.start);
    tPos.push(t.position);
    tPnl.push(t.pnl);
    tPips.push(t.pips);
    tAcc.push(t.account);
    tCost.push(t.cost);
    cur = undefined;
  };

  let prev = 0;
  for (let i = 0; i < traded; i++) {
    const b = signalBar[i] + 1;
    if (i > 0 && bar[i - 1] + 1 !== b && prev !== 0) {
      // A gap: exit at the open after the last held bar, booked on that bar.
      pay(i - 1, prev, bar[i - 1] + 1, cur!.units);
      closeTrade(i);
      prev = 0;
    }
    const q = position[i];
    bar[i] = b;
    pos[i] = q;
    const ob = open[b];
    const o1 = open[b + 1];
    const r = Math.log(o1 / ob);
    benchmark[i] = r;
    gross[i] = q === 0 ? 0 : q * r;
    if (q !== prev) {
      const flip = prev !== 0 && (q === 0 || (q > 0) !== (prev > 0));
      if (flip || prev === 0) {
        if (prev !== 0) {
          pay(i, prev, b, cur!.units);
          closeTrade(i);
        }
        if (q !== 0) {
          cur = { start: i, position: q, units: (q * account) / ob, pnl: 0, pips: 0, account: 0, cost: 0 };
          pay(i, q, b, cur.units);
          entry[i] = 1;
        }
      } else {
        // Same direction, another size: pay for the difference; units follow the new size at this price.
        const units = (q * account) / ob;
        pay(i, q - prev, b, units - cur!.units);
        cur!.units = units;
      }
    }
    if (cur) {
      cur.pnl += gross[i];
      cur.pips += (q * (o1 - ob)) / pip;
      cur.account += cur.units * (o1 - ob);
    }
    prev = q;
  }
  if (traded > 0 && prev !== 0) {
    pay(traded - 1, prev, bar[traded - 1] + 1, cur!.units);
    closeTrade(traded);
  }
  for (let i = 0; i < traded; i++) net[i] = gross[i] - cost[i];

  return {
    bar,
    position: pos,
    gross,
    cost,
    net,
    benchmark,
    entry,
    turnover,
    trades: {
      start: Int32Array.from(tStart),
      bars: Int32Array.from(tBars),
      position: Float64Array.from(tPos),
      pnl: Float64Array.from(tPnl),
      pips: Float64Array.from(tPips),
      account: Float64Array.from(tAcc),
      cost: Float64Array.from(tCost),
    },
    untraded: nSignals - traded,
  };
}

/** −1 / 0 / +1 from predicted returns: long above +threshold, short below −threshold, else (and for NaN) flat. */
export function positionsFromPredictions(pred: ArrayLike<number>, threshold: number): Float64Array {
  const out = new Float64Array(pred.length);
  for (let i = 0; i < pred.length; i++) {
    const v = pred[i];
    out[i] = v > threshold ? 1 : v < -threshold ? -1 : 0;
  }
  return out;
}

/** Running sum: the equity curve (in log-return units) of per-bar returns. */
export function cumsum(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) out[i] = s += x[i];
  return out;
}
