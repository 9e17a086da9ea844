import { UnitPhases } from '../core/threads.js';

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
  /** Candle bar held (t + 1) of each traded signal: the position is held from its open to the next open; derived on first read. */
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

/**
 * Arguments of the simulation kernels below, SharedArrayBuffer-backed when they run on several
 * threads. The signals are cut into chunks at points where the simulation is flat whatever came
 * before (after a flat signal, or at a gap, where an open position is closed), so each chunk starts
 * from the state a fresh simulation starts from and chunks can be simulated in any order, on any
 * thread, with the same result as one pass.
 */
interface SimData {
  open: Float64Array;
  signalBar: Int32Array;
  position: Float64Array;
  priceCostAt: Float64Array | null;
  /** priceCost, notionalCost, account, pip. */
  prm: Float64Array;
  /** Chunk c covers signals [chunks[c], chunks[c + 1]). */
  chunks: Int32Array;
  /** Trades of each chunk (countTrades), then its first trade slot (the caller's prefix sum). */
  kFirst: Int32Array;
  /** Turnover of each chunk. */
  turn: Float64Array;
  /** [trades in all]. */
  nTrades: Int32Array;
  cost: Float64Array;
  net: Float64Array;
  benchmark: Float64Array;
  tStart: Int32Array;
  tBars: Int32Array;
  tPos: Float64Array;
  tPnl: Float64Array;
  tPips: Float64Array;
  tAcc: Float64Array;
  tCost: Float64Array;
}

/**
 * Counts chunk c's trades into kFirst[c] (a trade starts at every non-flat signal that is not the
 * same-sign continuation of the one before it) and checks that its signals' bars increase (the
 * traded ones; simulate checks the rest).
 * Counted with 0/1 comparisons: a branch per signal mispredicts wherever positions change at random.
 * Self-contained (it also runs in pooled workers, as source).
 */
function countTrades(c: number, d: SimData): void {
  const signalBar = d.signalBar;
  const position = d.position;
  const s = d.chunks[c];
  const e = d.chunks[c + 1];
  let n = 0;
  // From the signal before the chunk, as one pass would: its first bar's order is checked too (a
  // chunk starts at a gap or after a flat signal, so the trade count is a fresh start's).
  for (let i = s, p = s > 0 ? position[s - 1] : 0; i < e; i++) {
    const q = position[i];
    if (i > 0 && signalBar[i - 1] + 1 !== signalBar[i]) {
      if (!(signalBar[i] > signalBar[i - 1]))
        throw new RangeError(`signal bars must be strictly increasing (signal ${i}: bar ${signalBar[i]} after ${signalBar[i - 1]})`);
      p = 0;
    }
    n += +(q !== 0) & (+(p === 0) | +(q > 0 !== p > 0));
    p = q;
  }
  d.kFirst[c] = n;
}

/**
 * Simulates chunk c: its bars' costs, net and benchmark returns, and its trades into the slots
 * from kFirst[c]. Self-contained (it also runs in pooled workers, as source).
 */
function simulateChunk(c: number, d: SimData): void {
  const { open, signalBar, position, cost, net, benchmark, tStart, tBars, tPos, tPnl, tPips, tAcc, tCost } = d;
  const priceCostAt = d.priceCostAt;
  const priceCost = d.prm[0];
  const notionalCost = d.prm[1];
  const account = d.prm[2];
  const pip = d.prm[3];
  const s = d.chunks[c];
  const e = d.chunks[c + 1];
  const kEnd = c + 1 < d.kFirst.length ? d.kFirst[c + 1] : d.nTrades[0];
  // The open trade's state in plain locals (no closures: V8 keeps captured, mutated lets in a heap
  // context and boxes their doubles). Each fill pays, per unit of |Δposition|, `unit` price units:
  // c = unit × |Δq| / price in return units, unit × |Δunits| in account currency. Its pips are
  // summed in price units (moves less fill costs) and divided by the pip once, at its close.
  let k = d.kFirst[c];
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
  // One step past the chunk's last signal: its end is flat or a gap (see SimData), so the exit
  // there takes the gap-exit path below.
  for (let i = s; i <= e; i++) {
    const end = i === e;
    const b = end ? -1 : signalBar[i] + 1;
    if (i > s) {
      if ((end || signalBar[i - 1] + 2 !== b) && prev !== 0) {
        // A gap or the end: exit at the open after the last held bar, booked on that bar.
        const at = signalBar[i - 1] + 2;
        const dq = Math.abs(prev);
        const unit = priceCost + (priceCostAt ? priceCostAt[at] : 0) + notionalCost * open[at];
        const up = unit * dq;
        const cx = up / open[at];
        turnover += dq;
        pnl -= cx;
        tc += cx;
        move -= up;
        acc -= Math.abs(units) * unit;
        cost[i - 1] += cx;
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
        const cx = up / ob;
        turnover += dq;
        pnl -= cx;
        tc += cx;
        move -= up;
        acc -= Math.abs(units) * unit;
        ci += cx;
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
          const cx = up / ob;
          turnover += dq;
          // 0 − x, not −x: the same signed zeros as a fresh trade paying its entry.
          pnl = 0 - cx;
          tc = 0 + cx;
          move = 0 - up;
          acc = 0 - Math.abs(units) * unit;
          ci += cx;
        }
      } else {
        // Same direction, another size: pay for the difference; units follow the new size at this price.
        const u1 = (q * account) / ob;
        const dq = Math.abs(q - prev);
        const up = unit * dq;
        const cx = up / ob;
        turnover += dq;
        pnl -= cx;
        tc += cx;
        move -= up;
        acc -= Math.abs(u1 - units) * unit;
        ci += cx;
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
  if (k !== kEnd) throw new Error(`simulate: counted ${kEnd - d.kFirst[c]} trades in chunk ${c}, closed ${k - d.kFirst[c]}`);
  d.turn[c] = turnover;
}

/** Signals per chunk: chunks exist only above this, so small simulations are one pass. */
const CHUNK = 1 << 17;
/** Fewer signals than this stay on one thread (a worker's hand-off would cost more than it saves). */
const MIN_PARALLEL = 1 << 18;

/**
 * Chunk starts for `traded` signals: every CHUNK signals, moved forward to the next point where a
 * chunk can start flat (after a flat signal, or at a gap); a cut that finds none within the chunk
 * is dropped. Depends on the data only, never on the thread count, so the result (turnover is
 * summed per chunk) is the same on any number of threads.
 */
function chunkStarts(signalBar: Int32Array, position: Float64Array, traded: number): Int32Array {
  const cuts = [0];
  for (let t = CHUNK; t < traded; t += CHUNK) {
    const from = Math.max(t, cuts[cuts.length - 1] + 1);
    const to = Math.min(traded, from + CHUNK);
    for (let m = from; m < to; m++) {
      if (position[m - 1] === 0 || signalBar[m] !== signalBar[m - 1] + 1) {
        cuts.push(m);
        break;
      }
    }
  }
  cuts.push(traded);
  return Int32Array.from(cuts);
}

/**
 * Shared memory reused by the simulations that run on several threads. Fresh SharedArrayBuffers
 * are never recycled by the allocator: at a million bars their first touch (page faults, in both
 * threads at once) cost more than the second thread saved. The arena is kept while simulations
 * keep coming (dropped after 30 s without one); results are copied out of it, so a Simulation never
 * points into it.
 */
const arena = { buf: undefined as SharedArrayBuffer | undefined, at: 0, gen: 0, timer: undefined as ReturnType<typeof setTimeout> | undefined };

function arenaReset(bytes: number): void {
  if (!arena.buf || arena.buf.byteLength < bytes) arena.buf = new SharedArrayBuffer(Math.ceil((bytes * 1.25) / 4096) * 4096);
  arena.at = 0;
  arena.gen++;
  if (arena.timer) clearTimeout(arena.timer);
  arena.timer = setTimeout(() => {
    arena.buf = undefined;
  }, 30_000);
  arena.timer.unref?.();
}

function arenaTake<T extends Float64Array | Int32Array>(
  ctor: { new (b: SharedArrayBuffer, off: number, n: number): T; BYTES_PER_ELEMENT: number },
  n: number,
): T {
  const buf = arena.buf as SharedArrayBuffer;
  const off = arena.at;
  arena.at = off + Math.ceil((n * ctor.BYTES_PER_ELEMENT) / 64) * 64;
  return new ctor(buf, off, n);
}

/** The shared views a parallel simulation left in the arena, while no later one has reused it (for backtestMetrics). */
const sharedViews = new WeakMap<
  Simulation,
  { gen: number; net: Float64Array; cost: Float64Array; benchmark: Float64Array; position: Float64Array; trades: Trades }
>();

/** The simulation's arrays in shared memory when they are still there (a parallel simulation, the latest), else undefined. */
export function sharedArrays(
  sim: Simulation,
): { net: Float64Array; cost: Float64Array; benchmark: Float64Array; position: Float64Array; trades: Trades } | undefined {
  const v = sharedViews.get(sim);
  return v && v.gen === arena.gen && arena.buf !== undefined && v.net.buffer === arena.buf ? v : undefined;
}

/**
 * Simulates the signals (see the rules at the top). `threads` > 1 lets a long simulation (≥ 2^18
 * signals) run its chunks on pooled worker threads too; the result is the same for every value.
 */
export function simulate(input: SimulationInput, threads = 1): Simulation {
  const { open, signalBar, position } = input;
  const nSignals = signalBar.length;
  if (position.length !== nSignals) throw new RangeError(`${position.length} positions for ${nSignals} signals`);
  // Signals are traded up to the first whose next two bars do not exist; with increasing bars
  // (checked below, before anything is returned) that is a scan back from the end.
  let traded = nSignals;
  while (traded > 0 && !(signalBar[traded - 1] + 2 < open.length)) traded--;
  for (let i = Math.max(traded, 1); i < nSignals; i++) {
    if (!(signalBar[i] > signalBar[i - 1]))
      throw new RangeError(`signal bars must be strictly increasing (signal ${i}: bar ${signalBar[i]} after ${signalBar[i - 1]})`);
  }
  const chunks = chunkStarts(signalBar, position, traded);
  const nChunks = chunks.length - 1;
  const parallel = threads > 1 && traded >= MIN_PARALLEL && nChunks > 1;
  const nPca = input.priceCostAt?.length ?? 0;
  if (parallel) arenaReset(8 * open.length + 12 * traded + 8 * nPca + 28 * traded + 48 * traded + 64 * 24 + 16 * nChunks);
  const f64 = (n: number): Float64Array => (parallel ? arenaTake(Float64Array, n) : new Float64Array(n));
  const i32 = (n: number): Int32Array => (parallel ? arenaTake(Int32Array, n) : new Int32Array(n));
  const copyF64 = (x: Float64Array): Float64Array => {
    const y = f64(x.length);
    y.set(x);
    return y;
  };
  const copyI32 = (x: Int32Array): Int32Array => {
    const y = i32(x.length);
    y.set(x);
    return y;
  };
  const none = new Float64Array(0);
  const none32 = new Int32Array(0);
  // Every per-bar array is written once, by the chunk that owns the bar. The positions are not
  // copied (unless for other threads): the simulation's `position` is a view of the input's traded
  // prefix; `gross` and `entry`, which the backtest step never reads, are derived on first use (at
  // a million bars each fresh array costs about a millisecond in page faults and zeroing).
  const d: SimData = {
    open: parallel ? copyF64(open) : open,
    signalBar: parallel ? copyI32(signalBar.subarray(0, traded)) : signalBar,
    position: parallel ? copyF64(position.subarray(0, traded)) : position,
    priceCostAt: input.priceCostAt ? (parallel ? copyF64(input.priceCostAt) : input.priceCostAt) : null,
    prm: f64(4),
    chunks: parallel ? copyI32(chunks) : chunks,
    kFirst: i32(nChunks),
    turn: f64(nChunks),
    nTrades: i32(1),
    cost: f64(traded),
    net: f64(traded),
    benchmark: f64(traded),
    tStart: none32,
    tBars: none32,
    tPos: none,
    tPnl: none,
    tPips: none,
    tAcc: none,
    tCost: none,
  };
  const allocTrades = (n: number): void => {
    d.tStart = i32(n);
    d.tBars = i32(n);
    d.tPos = f64(n);
    d.tPnl = f64(n);
    d.tPips = f64(n);
    d.tAcc = f64(n);
    d.tCost = f64(n);
  };
  if (parallel) {
    // Room for a trade per signal, so the workers get every array with the session (a phase's
    // data cannot change after it starts); the counted prefix is copied out. The arena is
    // reused: the costs the kernels add into start from 0.
    allocTrades(traded);
    d.cost.fill(0);
  }
  d.prm.set([input.priceCost, input.notionalCost ?? 0, input.account ?? 1, input.pip ?? 0.0001]);

  // Two phases: count each chunk's trades (their slots: a prefix sum), then simulate.
  const p = new UnitPhases(parallel ? threads : 1, [countTrades, simulateChunk], d);
  let nTrades = 0;
  try {
    p.run(0, nChunks);
    for (let c = 0; c < nChunks; c++) {
      const n = d.kFirst[c];
      d.kFirst[c] = nTrades;
      nTrades += n;
    }
    d.nTrades[0] = nTrades;
    // On one thread, at their exact size.
    if (!parallel) allocTrades(nTrades);
    p.run(1, nChunks);
  } finally {
    p.close();
  }
  let turnover = 0;
  for (let c = 0; c < nChunks; c++) turnover += d.turn[c];

  const pos = position.subarray(0, traded);
  // Out of the arena (see there): the results are the caller's.
  const out = <T extends Float64Array | Int32Array>(x: T, n: number): T => (parallel ? (x.slice(0, n) as T) : x);
  const cost = out(d.cost, traded);
  const net = out(d.net, traded);
  const benchmark = out(d.benchmark, traded);
  const tStart = out(d.tStart, nTrades);
  const trades: Trades = {
    start: tStart,
    bars: out(d.tBars, nTrades),
    position: out(d.tPos, nTrades),
    pnl: out(d.tPnl, nTrades),
    pips: out(d.tPips, nTrades),
    account: out(d.tAcc, nTrades),
    cost: out(d.tCost, nTrades),
  };
  let bar: Int32Array | undefined;
  let gross: Float64Array | undefined;
  let entry: Uint8Array | undefined;
  const sim: Simulation = {
    get bar(): Int32Array {
      // The bar after each signal's: derived on first read, like gross and entry.
      if (!bar) {
        bar = new Int32Array(traded);
        for (let i = 0; i < traded; i++) bar[i] = signalBar[i] + 1;
      }
      return bar;
    },
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
    trades,
    untraded: nSignals - traded,
  };
  if (parallel)
    sharedViews.set(sim, {
      gen: arena.gen,
      net: d.net,
      cost: d.cost,
      benchmark: d.benchmark,
      position: d.position.subarray(0, traded),
      trades: {
        start: d.tStart.subarray(0, nTrades),
        bars: d.tBars.subarray(0, nTrades),
        position: d.tPos.subarray(0, nTrades),
        pnl: d.tPnl.subarray(0, nTrades),
        pips: d.tPips.subarray(0, nTrades),
        account: d.tAcc.subarray(0, nTrades),
        cost: d.tCost.subarray(0, nTrades),
      },
    });
  return sim;
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
