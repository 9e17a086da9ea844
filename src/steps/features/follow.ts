/**
 * The `features` step over candles that gain bars at their end: `FeaturesFollower.start` computes
 * every column once and keeps each one's state; `extend` computes the new bars only (plus a
 * window's lookback, or the whole series for the indicators that cannot continue: see
 * src/indicators/stream.ts) and returns the Features a full run of the step would give, bit for
 * bit (test/features/follow.test.ts). Targets look ahead, so the rows whose future arrived are
 * recomputed too. Columns live in storage that grows by doubling; a result views it, and an
 * extension writes only past the rows earlier results hold, so they stay as they were.
 */
import type { Candles, Features } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { isoUtc } from '../../data/frame.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { alpha158, alpha158Lookbacks, alpha158Names, isQlibFlatNaN } from '../../indicators/alpha158.js';
import { calendarFeatures, sessionFeatures } from '../../indicators/calendar.js';
import { computeIndicator, indicatorOutputs, logReturn, returnColumn } from '../../indicators/index.js';
import { rollingVolatility, rollingZscore } from '../../indicators/rolling.js';
import { indicatorStream, type StreamMode } from '../../indicators/stream.js';
import { tripleBarrier } from '../../indicators/targets.js';
import { checkCandles, planOf, readsOf, targetsOf, tfColumn, type FeaturesParams } from './index.js';
import { higherFrame, joinToBase } from './mtf.js';

/** Bars as the producers read them: the index and the candle columns, rows 0 … n − 1. */
interface Bars {
  index: Float64Array;
  columns: Record<string, Float64Array>;
}

/** Some columns of the features and how they follow the bars. */
interface Producer {
  names: string[];
  mode: StreamMode;
  init(b: Bars): Float64Array[];
  /** Rows [from − rewrite, to) into outs (targets rewrite the rows whose future arrived). */
  advance(b: Bars, from: number, to: number, outs: Float64Array[]): void;
}

function slice(b: Bars, lo: number, to: number): Bars {
  const columns: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(b.columns)) columns[k] = v.subarray(lo, to);
  return { index: b.index.subarray(lo, to), columns };
}

/** Recomputed over rows [from − back, to): a value at t depends on rows t − back … t only. */
function windowed(names: string[], back: number, compute: (b: Bars) => Float64Array[]): Producer {
  return {
    names,
    mode: 'window',
    init: compute,
    advance(b, from, to, outs) {
      const lo = Math.max(0, from - back);
      compute(slice(b, lo, to)).forEach((c, j) => outs[j].set(c.subarray(from - lo, to - lo), from));
    },
  };
}

/** A target looking `ahead` bars forward: rows from − ahead … to − 1 are (re)computed from rows ≥ their own. */
function ahead(names: string[], h: number, compute: (b: Bars) => Float64Array[]): Producer {
  return {
    names,
    mode: 'window',
    init: compute,
    advance(b, from, to, outs) {
      const lo = Math.max(0, from - h);
      compute(slice(b, lo, to)).forEach((c, j) => outs[j].set(c, lo));
    },
  };
}

function full(names: string[], compute: (b: Bars) => Float64Array[]): Producer {
  return {
    names,
    mode: 'full',
    init: compute,
    advance(b, from, to, outs) {
      compute(slice(b, 0, to)).forEach((c, j) => outs[j].set(c.subarray(from, to), from));
    },
  };
}

/** The producers of the step's columns, in the step's order (features, then targets). */
function producersOf(params: FeaturesParams, candles: Candles): { features: Producer[]; targets: Producer[]; horizons: number[] } {
  const plan = planOf(params);
  const base = parseTimeframe(candles.timeframe);
  const features: Producer[] = [];
  for (const p of plan.indicators) {
    const names = indicatorOutputs(p.ind.name, p.ind.params as never);
    for (const tf of p.timeframes.length ? p.timeframes : [base.canonical]) {
      if (tf === base.canonical) {
        const s = indicatorStream(p.ind.name, p.ind.params as never);
        features.push({ names, mode: s.mode, init: (b) => s.init(b.columns), advance: (b, from, to, outs) => s.advance(b.columns, from, to, outs) });
      } else {
        const ms = parseTimeframe(tf).ms;
        features.push(
          full(
            names.map((n) => tfColumn(n, tf)),
            (b) => {
              const hf = higherFrame({ ...candles, index: b.index, columns: b.columns }, base.ms, ms);
              return computeIndicator(p.ind.name, hf.columns, p.ind.params as never).map((c) => joinToBase(c, hf.map));
            },
          ),
        );
      }
    }
  }
  for (const lag of plan.returns) features.push(windowed([returnColumn(lag)], lag, (b) => [logReturn(b.columns.close, lag)]));
  for (const w of plan.volatility) features.push(windowed([`vol_${w}`], w, (b) => [rollingVolatility(b.columns.close, w)]));
  for (const w of plan.zscores) features.push(windowed([`zscore_${w}`], w - 1, (b) => [rollingZscore(b.columns.close, w)]));
  if (plan.calendar)
    features.push(
      windowed(['hour_sin', 'hour_cos', 'dow_sin', 'dow_cos'], 0, (b) => {
        const c = calendarFeatures(b.index);
        return [c.hourSin, c.hourCos, c.dowSin, c.dowCos];
      }),
    );
  if (plan.sessions)
    features.push(
      windowed(['session_tokyo', 'session_london', 'session_newyork', 'overlap_tokyo_london', 'overlap_london_newyork'], 0, (b) => {
        const s = sessionFeatures(b.index);
        return [s.tokyo, s.london, s.newYork, s.tokyoLondon, s.londonNewYork];
      }),
    );
  if (plan.alpha158) {
    const lookbacks = alpha158Lookbacks();
    const names = alpha158Names();
    features.push(
      full(names, (b) => {
        const c = b.columns;
        const cols = alpha158(c.open, c.high, c.low, c.close, c.volume);
        // As the step: Qlib's flat-window NaNs filled with 0 after the warm-up.
        names.forEach((name, j) => {
          if (!isQlibFlatNaN(name)) return;
          const col = cols[j];
          for (let i = lookbacks[j]; i < col.length; i++) if (Number.isNaN(col[i])) col[i] = 0;
        });
        return cols;
      }),
    );
  }
  const targets: Producer[] = [];
  const horizons: number[] = [];
  for (const t of targetsOf(params)) {
    horizons.push(t.horizon);
    if (t.name.startsWith('tb_')) {
      // Triple barrier: ATR at the entry (recursive: a stream of its own) and the next max_bars bars.
      const tb = params.target.triple_barrier!;
      const s = indicatorStream('atr', { period: tb.atr_period });
      let a: Float64Array = new Float64Array(0);
      const label = (b: Bars, atrRows: Float64Array) =>
        tripleBarrier(b.columns.high, b.columns.low, b.columns.close, atrRows, tb.profit_take, tb.stop_loss, tb.max_bars);
      targets.push({
        names: [t.name],
        mode: 'state',
        init(b) {
          a = s.init(b.columns)[0];
          return [label(b, a)];
        },
        advance(b, from, to, [out]) {
          if (a.length < to) {
            const g = new Float64Array(Math.max(to, 2 * a.length));
            g.set(a.subarray(0, from));
            a = g;
          }
          s.advance(b.columns, from, to, [a]);
          const lo = Math.max(0, from - tb.max_bars);
          out.set(label(slice(b, lo, to), a.subarray(lo, to)), lo);
        },
      });
    } else targets.push(ahead([t.name], t.horizon, (b) => [t.compute({ ...candles, index: b.index, columns: b.columns })]));
  }
  return { features, targets, horizons };
}

/** A growing column: `buf` holds rows 0 … n − 1, with room to grow. */
interface Column {
  name: string;
  buf: Float64Array;
}

export class FeaturesFollower {
  private readonly reads: Set<string>;
  private readonly producers: Producer[];
  private readonly featureNames: string[];
  private readonly targetNames: string[];
  private readonly horizons: number[];
  private readonly cols: Column[][] = [];
  private index: Float64Array = new Float64Array(0);
  private n = 0;
  private start = 0;
  private end = 0;
  private symbol = '';
  private timeframe = '';
  /** The candles seen last (views), to check that the next ones extend them. */
  private seen: Candles | null = null;

  /** How each column follows the bars (for the log and the docs). */
  readonly modes: Record<string, StreamMode> = {};

  constructor(params: FeaturesParams, candles: Candles) {
    const plan = planOf(params);
    const targets = targetsOf(params);
    this.reads = readsOf(plan, targets, parseTimeframe(candles.timeframe).canonical);
    const p = producersOf(params, candles);
    this.producers = [...p.features, ...p.targets];
    this.featureNames = p.features.flatMap((x) => x.names);
    this.targetNames = p.targets.flatMap((x) => x.names);
    this.horizons = p.horizons;
    for (const x of this.producers) for (const name of x.names) this.modes[name] = x.mode;
    const all = [...this.featureNames, ...this.targetNames];
    if (new Set(all).size !== all.length) throw new RunError('a column is produced twice', { hint: 'remove the duplicate from `with`' });
    this.symbol = candles.symbol;
    this.timeframe = candles.timeframe;
  }

  /** Rows of the candles followed so far. */
  get rows(): number {
    return this.n;
  }

  /** How many columns continue from their state, rerun over their window, are recomputed in full. */
  modeSummary(): string {
    const count = (m: StreamMode) => Object.values(this.modes).filter((x) => x === m).length;
    return `${count('state')} columns continued from their state, ${count('window')} over their window, ${count('full')} recomputed in full`;
  }

  /** The features of `candles` computed in full (the first call). */
  init(candles: Candles): Features {
    const n = candles.index.length;
    if (n === 0) throw new RunError('the candles are empty', { hint: 'check the fetch step: it produced no bars' });
    checkCandles(candles, this.reads);
    const b: Bars = { index: candles.index, columns: candles.columns };
    this.cols.length = 0;
    for (const p of this.producers) {
      const outs = p.init(b);
      this.cols.push(outs.map((o, j) => ({ name: p.names[j], buf: grown(o, n, n) })));
    }
    this.index = grown(candles.index, n, n);
    this.n = n;
    this.bounds(0);
    this.seen = candles;
    return this.result();
  }

  /**
   * True when `candles` are the ones seen last plus bars at the end (same rows, byte for byte,
   * and the same symbol and timeframe).
   */
  extendsSeen(candles: Candles): boolean {
    const s = this.seen;
    if (!s || candles.symbol !== s.symbol || candles.timeframe !== s.timeframe || candles.index.length < this.n) return false;
    const same = (a: Float64Array, b: Float64Array) => Buffer.from(a.buffer, a.byteOffset, this.n * 8).equals(Buffer.from(b.buffer, b.byteOffset, this.n * 8));
    if (!same(candles.index, s.index)) return false;
    for (const k of Object.keys(s.columns)) if (!candles.columns[k] || !same(candles.columns[k], s.columns[k])) return false;
    return true;
  }

  /** The features of `candles`, which extend the candles seen last (see extendsSeen). */
  extend(candles: Candles): Features {
    const from = this.n;
    const to = candles.index.length;
    if (to === from) return this.result();
    checkCandles(candles, this.reads, from);
    const b: Bars = { index: candles.index, columns: candles.columns };
    this.index = room(this.index, from, to);
    this.index.set(candles.index.subarray(from, to), from);
    this.producers.forEach((p, k) => {
      const cs = this.cols[k];
      for (const c of cs) c.buf = room(c.buf, from, to);
      p.advance(
        b,
        from,
        to,
        cs.map((c) => c.buf),
      );
    });
    this.n = to;
    const oldEnd = this.end;
    this.bounds(oldEnd);
    this.seen = candles;
    return this.result();
  }

  /** Warm-up and tail as the step finds them; rows from `checkFrom` on are checked for NaN. */
  private bounds(checkFrom: number): void {
    const n = this.n;
    let start = 0;
    const all = this.cols.flat();
    for (const c of all) {
      let i = 0;
      while (i < n && Number.isNaN(c.buf[i])) i++;
      if (i > start) start = i;
    }
    let end = n;
    for (const c of all.slice(all.length - this.targetNames.length)) {
      let i = n;
      while (i > 0 && Number.isNaN(c.buf[i - 1])) i--;
      if (i < end) end = i;
    }
    if (start >= end) {
      throw new RunError(`not enough bars: the candles have ${n}, and the features' warm-up and the targets' horizon leave no row`, {
        hint: 'use more bars, or shorter indicator periods / horizons / higher timeframes',
      });
    }
    for (const c of all) {
      for (let i = Math.max(start, checkFrom); i < end; i++) {
        if (Number.isNaN(c.buf[i])) throw new RunError(`internal error: \`${c.name}\` is NaN at bar ${i} (${isoUtc(this.index[i])}) after the warm-up`);
      }
    }
    this.start = start;
    this.end = end;
  }

  private result(): Features {
    const { start, end } = this;
    const columns: Record<string, Float64Array> = {};
    for (const c of this.cols.flat()) columns[c.name] = c.buf.subarray(start, end);
    return {
      type: 'Features',
      symbol: this.symbol,
      timeframe: this.timeframe,
      index: this.index.subarray(start, end),
      columns,
      featureNames: [...this.featureNames],
      targetNames: [...this.targetNames],
      targetHorizons: [...this.horizons],
      warmupDropped: start,
      tailDropped: this.n - end,
    };
  }
}

/** A copy of a's first n values with room for `cap` (at least twice n). */
function grown(a: Float64Array, n: number, cap: number): Float64Array {
  const b = new Float64Array(Math.max(16, cap * 2));
  b.set(a.subarray(0, n));
  return b;
}

/** buf with room for `to` rows, rows before `from` kept (a new buffer when it must grow). */
function room(buf: Float64Array, from: number, to: number): Float64Array {
  return to <= buf.length ? buf : grown(buf, from, to);
}
