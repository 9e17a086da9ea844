/**
 * Bar-by-bar simulation of a one-instrument strategy from per-bar signals, with these rules:
 *
 * - Timing. A signal for bar t is known at bar t's CLOSE, so it is filled at bar t+1's OPEN — never
 *   at close[t], which would trade on a price the signal already saw. The position is held for one
 *   bar, until open[t+2], where the next signal takes over; its gross log return is
 *   position × ln(open[t+2] / open[t+1]). Close prices are never read.
 * - Costs. Every change of position pays |Δposition| × halfSpread / price at the fill price, in
 *   return units: buying pays half the spread above mid, selling half below, so a round trip
 *   (flat → long → flat) costs one full spread; a flip (long → short, |Δ| = 2) pays two half
 *   spreads, the exit of one position and the entry of the other.
 * - Gaps and the end. When the next signal is not for the next bar (a gap), or there is none, the
 *   position is closed at the open after its bar and that exit cost is booked on that bar: the
 *   simulation never carries an unpriced position, and it ends flat.
 * - A signal whose next two bars do not exist (the end of the data) is not traded.
 */

export interface SimulationInput {
  /** Open price of every candle bar. */
  open: Float64Array;
  /** Candle bar t of each signal (known at that bar's close), strictly increasing. */
  signalBar: Int32Array;
  /** Wanted position of each signal: −1 short, 0 flat, +1 long (other sizes work the same way). */
  position: Float64Array;
  /** Cost of one unit of position change, in price units: half the spread. */
  halfSpread: number;
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
  /** Signals left untraded because their next two bars do not exist. */
  untraded: number;
}

export function simulate(input: SimulationInput): Simulation {
  const { open, signalBar, position, halfSpread } = input;
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

  // Exit cost of position q closed at open[at], booked on traded bar m.
  const closeOut = (m: number, q: number, at: number): void => {
    cost[m] += (Math.abs(q) * halfSpread) / open[at];
  };

  let prev = 0;
  for (let i = 0; i < traded; i++) {
    const b = signalBar[i] + 1;
    if (i > 0 && bar[i - 1] + 1 !== b && prev !== 0) {
      closeOut(i - 1, prev, bar[i - 1] + 1);
      prev = 0;
    }
    const q = position[i];
    bar[i] = b;
    pos[i] = q;
    benchmark[i] = Math.log(open[b + 1] / open[b]);
    gross[i] = q === 0 ? 0 : q * benchmark[i];
    cost[i] += (Math.abs(q - prev) * halfSpread) / open[b];
    if (q !== 0 && q !== prev) entry[i] = 1;
    prev = q;
  }
  if (traded > 0 && prev !== 0) closeOut(traded - 1, prev, bar[traded - 1] + 1);
  for (let i = 0; i < traded; i++) net[i] = gross[i] - cost[i];

  return { bar, position: pos, gross, cost, net, benchmark, entry, untraded: nSignals - traded };
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
