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

  // Trades: count them first (a trade starts at every non-flat signal that is not the same-sign
  // continuation of the one before it), so their arrays are allocated once at their exact size:
  // at a million bars, seven bar-sized scratch arrays and their trimmed copies cost more than the
  // simulation itself.
  let nTrades = 0;
  for (let i = 0; i < traded; i++) {
    const q = position[i];
    if (q === 0) continue;
    const p = i > 0 && signalBar[i - 1] + 1 === signalBar[i] ? position[i - 1] : 0;
    if (p === 0 || q > 0 !== p > 0) nTrades++;
  }
  const tStart = new Int32Array(nTrades);
  const tBars = new Int32Array(nTrades);
  const tPos = new Float64Array(nTrades);
  const tPnl = new Float64Array(nTrades);
  const tPips = new Float64Array(nTrades);
  const tAcc = new Float64Array(nTrades);
  const tCost = new Float64Array(nTrades);
  // Mutable state in one typed array (not closure-captured lets, which V8 keeps in a slow context):
  // trades so far, turnover, and the open trade's start, position, units, pnl, pips, account, cost.
  const st = new Float64Array(9);
  const NT = 0, TURN = 1, START = 2, Q = 3, UNITS = 4, PNL = 5, PIPS = 6, ACC = 7, COST = 8;
  const closeTrade = (end: number): void => {
    const k = st[NT]++;
    tStart[k] = st[START];
    tBars[k] = end - st[START];
    tPos[k] = st[Q];
    tPnl[k] = st[PNL];
    tPips[k] = st[PIPS];
    tAcc[k] = st[ACC];
    tCost[k] = st[COST];
  };
  /** Pays for |dq| units at open[at] (dUnits of base currency), attributed to the open trade; returns the cost in return units. */
  const pay = (dq: number, dUnits: number, at: number): number => {
    const unit = priceCost + (priceCostAt ? priceCostAt[at] : 0) + notionalCost * open[at];
    const up = unit * dq;
    const c = up / open[at];
    st[TURN] += dq;
    st[PNL] -= c;
    st[COST] += c;
    st[PIPS] -= up / pip;
    st[ACC] -= dUnits * unit;
    return c;
  };

  let prev = 0;
  for (let i = 0; i < traded; i++) {
    const b = signalBar[i] + 1;
    if (prev !== 0 && i > 0 && bar[i - 1] + 1 !== b) {
      // A gap: exit at the open after the last held bar, booked on that bar.
      cost[i - 1] += pay(Math.abs(prev), Math.abs(st[UNITS]), bar[i - 1] + 1);
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
    const g = q === 0 ? 0 : q * r;
    gross[i] = g;
    if (q !== prev) {
      let ci = 0;
      if (prev !== 0 && (q === 0 || q > 0 !== prev > 0)) {
        // A close or a flip: the closing trade pays for its own exit.
        ci += pay(Math.abs(prev), Math.abs(st[UNITS]), b);
        closeTrade(i);
        prev = 0;
      }
      if (prev === 0) {
        if (q !== 0) {
          st[START] = i;
          st[Q] = q;
          st[UNITS] = (q * account) / ob;
          st[PNL] = 0;
          st[PIPS] = 0;
          st[ACC] = 0;
          st[COST] = 0;
          ci += pay(Math.abs(q), Math.abs(st[UNITS]), b);
          entry[i] = 1;
        }
      } else {
        // Same direction, another size: pay for the difference; units follow the new size at this price.
        const units = (q * account) / ob;
        ci += pay(Math.abs(q - prev), Math.abs(units - st[UNITS]), b);
        st[UNITS] = units;
      }
      cost[i] += ci;
    }
    if (q !== 0) {
      st[PNL] += g;
      st[PIPS] += (q * (o1 - ob)) / pip;
      st[ACC] += st[UNITS] * (o1 - ob);
    }
    prev = q;
  }
  if (traded > 0 && prev !== 0) {
    cost[traded - 1] += pay(Math.abs(prev), Math.abs(st[UNITS]), bar[traded - 1] + 1);
    closeTrade(traded);
  }
  if (st[NT] !== nTrades) throw new Error(`simulate: counted ${nTrades} trades, closed ${st[NT]}`);
  for (let i = 0; i < traded; i++) net[i] = gross[i] - cost[i];

  return {
    bar,
    position: pos,
    gross,
    cost,
    net,
    benchmark,
    entry,
    turnover: st[TURN],
    trades: { start: tStart, bars: tBars, position: tPos, pnl: tPnl, pips: tPips, account: tAcc, cost: tCost },
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
