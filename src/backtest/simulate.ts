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
  /** Position held on each bar: a view of the input's positions (the traded prefix), not a copy. */
  position: Float64Array;
  /** position × ln(open[bar+1] / open[bar]) (0 when flat); derived on first read (the step never reads it). */
  gross: Float64Array;
  /** Costs paid on this bar (entry/adjustment at its open, exit at the next open when closed), return units. */
  cost: Float64Array;
  /** gross − cost. */
  net: Float64Array;
  /** Buy-and-hold return of the bar: ln(open[bar+1] / open[bar]). */
  benchmark: Float64Array;
  /** 1 where a non-flat position was entered at this bar's open (a flip counts as one entry); derived from the trades on first read. */
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
  // Signals are traded up to the first whose next two bars do not exist; with increasing bars
  // (checked below, before anything is returned) that is a scan back from the end.
  let traded = nSignals;
  while (traded > 0 && !(signalBar[traded - 1] + 2 < open.length)) traded--;
  const notIncreasing = (i: number): RangeError => new RangeError(`signal bars must be strictly increasing (signal ${i}: bar ${signalBar[i]} after ${signalBar[i - 1]})`);
  for (let i = Math.max(traded, 1); i < nSignals; i++) {
    if (!(signalBar[i] > signalBar[i - 1])) throw notIncreasing(i);
  }

  // Every per-bar array is written once, in the single pass below. The positions are not copied:
  // the simulation's `position` is a view of the input's traded prefix; `gross` and `entry`, which
  // the backtest step never reads, are derived on first use (at a million bars each fresh array
  // costs about a millisecond in page faults and zeroing, more than its share of the loop).
  const bar = new Int32Array(traded);
  const cost = new Float64Array(traded);
  const net = new Float64Array(traded);
  const benchmark = new Float64Array(traded);

  // Trades: count them first (a trade starts at every non-flat signal that is not the same-sign
  // continuation of the one before it), so their arrays are allocated once at their exact size.
  // Counted with 0/1 comparisons: a branch per signal mispredicts wherever positions change at random.
  // The same pass checks that the traded signals' bars increase.
  let nTrades = 0;
  for (let i = 0, p = 0; i < traded; i++) {
    const q = position[i];
    if (i > 0 && signalBar[i - 1] + 1 !== signalBar[i]) {
      if (!(signalBar[i] > signalBar[i - 1])) throw notIncreasing(i);
      p = 0;
    }
    nTrades += +(q !== 0) & (+(p === 0) | +(q > 0 !== p > 0));
    p = q;
  }
  const tStart = new Int32Array(nTrades);
  const tBars = new Int32Array(nTrades);
  const tPos = new Float64Array(nTrades);
  const tPnl = new Float64Array(nTrades);
  const tPips = new Float64Array(nTrades);
  const tAcc = new Float64Array(nTrades);
  const tCost = new Float64Array(nTrades);

  // The open trade's state in plain locals (no closures: V8 keeps captured, mutated lets in a heap
  // context and boxes their doubles). Each fill pays, per unit of |Δposition|, `unit` price units:
  // c = unit × |Δq| / price in return units, unit × |Δunits| in account currency. Its pips are
  // summed in price units (moves less fill costs) and divided by the pip once, at its close.
  let k = 0;
  let turnover = 0;
  let tStartI = 0;
  let tQ = 0;
  let units = 0;
  let pnl = 0;
  let move = 0;
  let acc = 0;
  let tc = 0;
  let prev = 0;
  let gPrev = 0;
  // One step past the last signal: the end is a gap with nothing after it, so the final exit takes
  // the gap-exit path below.
  for (let i = 0; i <= traded; i++) {
    const end = i === traded;
    const b = end ? -1 : signalBar[i] + 1;
    if (i > 0) {
      if ((end || bar[i - 1] + 1 !== b) && prev !== 0) {
        // A gap or the end: exit at the open after the last held bar, booked on that bar.
        const at = bar[i - 1] + 1;
        const dq = Math.abs(prev);
        const unit = priceCost + (priceCostAt ? priceCostAt[at] : 0) + notionalCost * open[at];
        const up = unit * dq;
        const c = up / open[at];
        turnover += dq;
        pnl -= c;
        tc += c;
        move -= up;
        acc -= Math.abs(units) * unit;
        cost[i - 1] += c;
        tStart[k] = tStartI;
        tBars[k] = i - tStartI;
        tPos[k] = tQ;
        tPnl[k] = pnl;
        tPips[k] = move / pip;
        tAcc[k] = acc;
        tCost[k] = tc;
        k++;
        prev = 0;
      }
      // Bar i−1's costs are final now (only a gap exit could still be booked on it).
      net[i - 1] = gPrev - cost[i - 1];
    }
    if (end) break;
    const q = position[i];
    bar[i] = b;
    const ob = open[b];
    const o1 = open[b + 1];
    const r = Math.log(o1 / ob);
    benchmark[i] = r;
    const g = q === 0 ? 0 : q * r;
    if (q !== prev) {
      const unit = priceCost + (priceCostAt ? priceCostAt[b] : 0) + notionalCost * ob;
      let ci = 0;
      if (prev !== 0 && (q === 0 || q > 0 !== prev > 0)) {
        // A close or a flip: the closing trade pays for its own exit.
        const dq = Math.abs(prev);
        const up = unit * dq;
        const c = up / ob;
        turnover += dq;
        pnl -= c;
        tc += c;
        move -= up;
        acc -= Math.abs(units) * unit;
        ci += c;
        tStart[k] = tStartI;
        tBars[k] = i - tStartI;
        tPos[k] = tQ;
        tPnl[k] = pnl;
        tPips[k] = move / pip;
        tAcc[k] = acc;
        tCost[k] = tc;
        k++;
        prev = 0;
      }
      if (prev === 0) {
        if (q !== 0) {
          tStartI = i;
          tQ = q;
          units = (q * account) / ob;
          const dq = Math.abs(q);
          const up = unit * dq;
          const c = up / ob;
          turnover += dq;
          // 0 − x, not −x: the same signed zeros as a fresh trade paying its entry.
          pnl = 0 - c;
          tc = 0 + c;
          move = 0 - up;
          acc = 0 - Math.abs(units) * unit;
          ci += c;
        }
      } else {
        // Same direction, another size: pay for the difference; units follow the new size at this price.
        const u1 = (q * account) / ob;
        const dq = Math.abs(q - prev);
        const up = unit * dq;
        const c = up / ob;
        turnover += dq;
        pnl -= c;
        tc += c;
        move -= up;
        acc -= Math.abs(u1 - units) * unit;
        ci += c;
        units = u1;
      }
      cost[i] += ci;
    }
    // Unconditional: a flat bar adds 0 to pnl and move and a stale trade's units × move to acc,
    // harmless as the open trade's sums are reset at its entry and written out only at its close
    // (a branch on q here mispredicts wherever flat and held bars alternate at random).
    pnl += g;
    move += q * (o1 - ob);
    acc += units * (o1 - ob);
    prev = q;
    gPrev = g;
  }
  if (k !== nTrades) throw new Error(`simulate: counted ${nTrades} trades, closed ${k}`);

  const pos = position.subarray(0, traded);
  let gross: Float64Array | undefined;
  let entry: Uint8Array | undefined;
  return {
    bar,
    position: pos,
    get gross(): Float64Array {
      // The loop's own expression, so the values are the ones net was computed from.
      if (!gross) {
        gross = new Float64Array(traded);
        for (let i = 0; i < traded; i++) gross[i] = pos[i] === 0 ? 0 : pos[i] * benchmark[i];
      }
      return gross;
    },
    cost,
    net,
    benchmark,
    get entry(): Uint8Array {
      // Entries are the trades' first bars.
      if (!entry) {
        entry = new Uint8Array(traded);
        for (let j = 0; j < nTrades; j++) entry[tStart[j]] = 1;
      }
      return entry;
    },
    turnover,
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
