import type { Candles, Features } from '../../core/artifacts.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { isoUtc } from '../../data/frame.js';
import { parseTimeframe } from '../../data/timeframe.js';
import { alpha158, alpha158Lookbacks, alpha158Names, isQlibFlatNaN, QLIB_FLAT_STD } from '../../indicators/alpha158.js';
import { calendarFeatures, sessionFeatures } from '../../indicators/calendar.js';
import { atr } from '../../indicators/dm.js';
import {
  computeIndicator,
  forwardLogReturn,
  forwardReturnColumn,
  indicatorLookback,
  indicatorOutputs,
  indicatorReads,
  INDICATOR_NAMES,
  isIndicatorName,
  logReturn,
  returnColumn,
  type IndicatorName,
  type IndicatorParamsMap,
} from '../../indicators/index.js';
import { rollingVolatility, rollingZscore } from '../../indicators/rolling.js';
import { directionClass, tripleBarrier } from '../../indicators/targets.js';
import { defineStep, paramsOf } from '../define.js';
import { higherFrame, joinToBase, type HigherFrame } from './mtf.js';
import type { FeaturesParams, IndicatorSpec, TimeframeSpec } from './params.js';
import { PRESETS, type Preset } from './presets.js';
import { thousands } from '../../core/format.js';
import { followHooks } from '../follow-hooks.js';

export type { FeaturesParams } from './params.js';

// Compile-time link between the documented params (schema source) and the indicator table: adding
// an indicator to one and not the other, or changing its params in one only, fails the typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SpecKeys<S> = S extends unknown ? keyof S : never;
type SpecParams<K extends IndicatorName> = Extract<IndicatorSpec, Record<K, unknown>>[K];
type AllSame = { [K in IndicatorName]: Same<SpecParams<K>, IndicatorParamsMap[K]> }[IndicatorName];
const paramsMatchTable: Same<SpecKeys<IndicatorSpec>, IndicatorName> & Same<AllSame, true> = true;
void paramsMatchTable;

type ResolvedIndicator = { [K in IndicatorName]: { name: K; params: IndicatorParamsMap[K] } }[IndicatorName];

export interface PlannedIndicator {
  ind: ResolvedIndicator;
  /** Canonical timeframes; empty = the candles' own timeframe only. */
  timeframes: string[];
  /** Where it came from, for messages: `indicators[3]` or `preset default`. */
  where: string;
  /** Path under `with` for located issues. */
  path: (string | number)[];
}

function resolveIndicator(spec: IndicatorSpec, where: string): ResolvedIndicator {
  const keys = Object.keys(spec);
  const name = keys[0];
  if (keys.length !== 1 || !isIndicatorName(name)) {
    throw new RunError(`${where}: expected one indicator name as the only key, got ${JSON.stringify(keys)}`, {
      hint: `write e.g. \`- rsi: { period: 14 }\`; known indicators: ${INDICATOR_NAMES.join(', ')}`,
    });
  }
  const given = (spec as Record<string, object | null | undefined>)[name] ?? {};
  // Defaults were filled by the validator (schema `@default`s), so the params are complete here.
  return { name, params: given } as ResolvedIndicator;
}

/** The `timeframes:` forms (list, comma string, mapping tf → true/false) → canonical timeframes. */
export function timeframesOf(spec: TimeframeSpec | undefined, where: string): string[] {
  if (spec === undefined || spec === null) return [];
  let raw: string[];
  if (typeof spec === 'string') raw = spec.split(',');
  else if (Array.isArray(spec)) raw = spec.map(String);
  else if (typeof spec === 'object')
    raw = Object.entries(spec)
      .filter(([, on]) => on === true)
      .map(([tf]) => tf);
  else throw new RunError(`${where}: timeframes must be a list, a comma string or a mapping`);
  const out: string[] = [];
  for (const r of raw.map((x) => x.trim()).filter((x) => x !== '')) {
    let tf: string;
    try {
      tf = parseTimeframe(r).canonical;
    } catch (e) {
      throw new RunError(`${where}: ${(e as Error).message}`, { hint: (e as RunError).hint });
    }
    if (!out.includes(tf)) out.push(tf);
  }
  return out;
}

/** A preset merged with the user's entries, indicators resolved to their columns. */
export interface Plan extends Omit<Preset, 'indicators'> {
  indicators: PlannedIndicator[];
}

/** `indicators` and `returns` when neither they nor a preset are given (complete params: not filled by the validator). */
const DEFAULT_INDICATORS: IndicatorSpec[] = [{ rsi: { period: 14, on: 'close' } }];
const DEFAULT_RETURNS = [1];

/** Preset and user entries merged; an entry producing exactly the columns of an earlier one is dropped. */
export function planOf(params: FeaturesParams): Plan {
  const preset = params.preset ? PRESETS[params.preset] : undefined;
  const indicators: PlannedIndicator[] = [];
  const seen = new Set<string>();
  const add = (spec: IndicatorSpec, where: string, path: (string | number)[], fromPreset: boolean): void => {
    const ind = resolveIndicator(spec, where);
    const tfs = timeframesOf((ind.params as { timeframes?: TimeframeSpec }).timeframes, where);
    const key = JSON.stringify([indicatorOutputs(ind.name, ind.params as never), tfs]);
    if (seen.has(key) && !fromPreset) {
      // The user's entry repeats a preset's: keep one (a user's own duplicate is reported by check()).
      if (indicators.some((p) => p.where.startsWith('preset') && JSON.stringify([indicatorOutputs(p.ind.name, p.ind.params as never), p.timeframes]) === key))
        return;
    }
    seen.add(key);
    indicators.push({ ind, timeframes: tfs, where, path });
  };
  (preset?.indicators ?? []).forEach((s, i) => add(s, `preset ${params.preset} indicators[${i}]`, ['preset'], true));
  // A preset means its own columns: the defaults of `indicators` and `returns` apply without one only.
  (params.indicators ?? (preset ? [] : DEFAULT_INDICATORS)).forEach((s, i) => add(s, `indicators[${i}]`, ['indicators', i], false));
  // Preset values the user did not list, then the user's as given (a user's own duplicate is reported).
  const union = (a: number[] = [], b: number[] = []): number[] => [...a.filter((x) => !b.includes(x)), ...b];
  return {
    indicators,
    returns: union(preset?.returns, params.returns ?? (preset ? [] : DEFAULT_RETURNS)),
    volatility: union(preset?.volatility, params.volatility),
    zscores: union(preset?.zscores, params.zscores),
    calendar: (preset?.calendar ?? false) || params.calendar === true,
    sessions: (preset?.sessions ?? false) || params.sessions === true,
    alpha158: preset?.alpha158 ?? false,
  };
}

export interface TargetPlan {
  name: string;
  horizon: number;
  path: (string | number)[];
  compute(candles: Candles): Float64Array;
}

/** The longest target horizon in bars these params produce (what purging and embargo must cover). */
export function maxTargetHorizon(params: FeaturesParams): number {
  return Math.max(0, ...targetsOf(params).map((t) => t.horizon));
}

export function targetsOf(params: FeaturesParams): TargetPlan[] {
  const t = params.target ?? { forward_return: { horizons: [1] } };
  const out: TargetPlan[] = [];
  (t.forward_return?.horizons ?? []).forEach((h, k) =>
    out.push({
      name: forwardReturnColumn(h),
      horizon: h,
      path: ['target', 'forward_return', 'horizons', k],
      compute: (c) => forwardLogReturn(c.columns.close, h),
    }),
  );
  const dir = t.direction;
  (dir?.horizons ?? []).forEach((h, k) =>
    out.push({
      name: `dir_${h}`,
      horizon: h,
      path: ['target', 'direction', 'horizons', k],
      compute: (c) => directionClass(c.columns.close, h, dir?.dead_zone ?? 0),
    }),
  );
  const tb = t.triple_barrier;
  if (tb) {
    out.push({
      name: `tb_${tb.profit_take}_${tb.stop_loss}_${tb.max_bars}`,
      horizon: tb.max_bars,
      path: ['target', 'triple_barrier'],
      compute: (c) => {
        const a = atr(c.columns.high, c.columns.low, c.columns.close, tb.atr_period);
        return tripleBarrier(c.columns.high, c.columns.low, c.columns.close, a, tb.profit_take, tb.stop_loss, tb.max_bars);
      },
    });
  }
  return out;
}

/**
 * Kernels propagate a NaN forever (an EMA never recovers from one), and ln of a non-positive price
 * is not a return: refuse such candles up front, naming the first bad bar. Volume may be 0.
 */
export function checkCandles(candles: Candles, names: Iterable<string>, from = 0): void {
  for (const name of names) {
    const c = candles.columns[name];
    if (!c) {
      throw new RunError(`the candles have no \`${name}\` column`, {
        hint: `the features read \`${name}\`; connect a step that outputs OHLC candles`,
      });
    }
    if (c.length !== candles.index.length) {
      throw new RunError(`candles column \`${name}\` has ${c.length} values for ${candles.index.length} bars`);
    }
    const isVolume = name === 'volume';
    for (let i = from; i < c.length; i++) {
      const v = c[i];
      if (isVolume ? !(v >= 0) || v === Infinity : !(v > 0) || v === Infinity) {
        throw new RunError(
          `candles column \`${name}\` has ${v} at bar ${i} (${isoUtc(candles.index[i])}); ${isVolume ? 'volumes must be finite and not negative' : 'prices must be finite and positive'}`,
          { hint: 'fix or drop that bar in the data before `features` (missing bars must be removed, not left as NaN or 0)' },
        );
      }
    }
  }
}

/** The candle columns the features read. */
export function readsOf(plan: Plan, targets: TargetPlan[], baseTimeframe: string): Set<string> {
  const reads = new Set<string>(['close']);
  for (const p of plan.indicators) for (const c of indicatorReads(p.ind.name, p.ind.params as never)) reads.add(c);
  if (plan.alpha158) ['open', 'high', 'low', 'volume'].forEach((c) => reads.add(c));
  if (targets.some((t) => t.name.startsWith('tb_'))) ['high', 'low'].forEach((c) => reads.add(c));
  if (plan.indicators.some((p) => p.timeframes.some((tf) => tf !== baseTimeframe))) ['open', 'high', 'low'].forEach((c) => reads.add(c));
  return reads;
}

/** Column name of an indicator output on a timeframe (the candles' own: the plain name). */
export function tfColumn(col: string, tf: string | undefined): string {
  return tf === undefined ? col : `${col}@${tf}`;
}

export default defineStep({
  kind: 'features',
  // 3: APO/PPO with EMAs seeded from the first bar, CCI summed in TA-Lib's order (issue 17).
  // 4: Alpha158 RSQR/CORR/CORD undefined over flat windows as in Qlib (filled with 0); a preset
  //    no longer adds the `indicators`/`returns` defaults (rsi_14, ret_1).
  version: 4,
  description:
    'Compute features from candles: TA-Lib-exact indicators (optionally on higher timeframes, joined without look-ahead), returns, volatility, z-scores, calendar and FX-session flags, presets; and forward-return, direction and triple-barrier targets.',
  inputs: { candles: 'Candles' },
  output: 'Features',
  params: paramsOf<FeaturesParams>(),

  check(params: FeaturesParams): ParamIssue[] {
    const issues: ParamIssue[] = [];
    const seen = new Map<string, string>(); // column → where it was first produced
    const claim = (col: string, path: (string | number)[], where: string): void => {
      const first = seen.get(col);
      if (first !== undefined) {
        issues.push({ path, message: `column \`${col}\` is produced twice (also by ${first})`, hint: 'remove one of them' });
      } else seen.set(col, where);
    };
    let plan: Plan;
    try {
      plan = planOf(params);
    } catch (e) {
      return [{ path: ['indicators'], message: (e as Error).message, hint: (e as RunError).hint }];
    }
    for (const p of plan.indicators) {
      const { ind } = p;
      if (ind.name === 'macd' || ind.name === 'ppo' || ind.name === 'apo') {
        const { fast, slow } = ind.params;
        if (fast >= slow) {
          issues.push({
            path: [...p.path, ind.name, 'fast'],
            message:
              fast === slow
                ? `${ind.name} fast (${fast}) equals slow (${slow}): the line would be 0 everywhere`
                : `${ind.name} fast (${fast}) must be below slow (${slow})`,
            hint: fast === slow ? 'choose a shorter fast period, e.g. fast: 12, slow: 26' : `swap them: fast: ${slow}, slow: ${fast}`,
          });
        }
      }
      if (ind.name === 'adosc' && ind.params.fast >= ind.params.slow) {
        issues.push({ path: [...p.path, 'adosc', 'fast'], message: `adosc fast (${ind.params.fast}) must be below slow (${ind.params.slow})` });
      }
      const cols = indicatorOutputs(ind.name, ind.params as never);
      const tfs = p.timeframes.length ? p.timeframes : [undefined];
      for (const tf of tfs) for (const col of cols) claim(tfColumn(col, tf), p.path, p.where);
    }
    plan.returns.forEach((lag, j) => claim(returnColumn(lag), ['returns', j], `returns[${j}]`));
    plan.volatility.forEach((w, j) => claim(`vol_${w}`, ['volatility', j], `volatility[${j}]`));
    plan.zscores.forEach((w, j) => claim(`zscore_${w}`, ['zscores', j], `zscores[${j}]`));
    const targets = targetsOf(params);
    for (const t of targets) claim(t.name, t.path, t.path.join('.'));
    const nFeatures = plan.indicators.length + plan.returns.length + plan.volatility.length + plan.zscores.length;
    if (nFeatures === 0 && !plan.calendar && !plan.sessions && !plan.alpha158) {
      issues.push({
        path: ['indicators'],
        message: 'no features: `indicators` and `returns` are empty and no preset is chosen',
        hint: 'add an indicator (e.g. `- rsi: { period: 14 }`), a return lag (e.g. `returns: [1]`) or `preset: default`',
      });
    }
    if (targets.length === 0) {
      issues.push({
        path: ['target'],
        message: 'no target: give `forward_return`, `direction` or `triple_barrier`',
        hint: 'e.g. `target: { forward_return: { horizons: [1] } }`',
      });
    }
    return issues;
  },

  // `indicators` and `returns` default only without a preset, so the validator cannot fill them:
  // filled here, writing a default out or leaving it out gives the same cache key.
  resolve(params: FeaturesParams): FeaturesParams {
    const none = params.preset !== undefined;
    return { ...params, indicators: params.indicators ?? (none ? [] : DEFAULT_INDICATORS), returns: params.returns ?? (none ? [] : DEFAULT_RETURNS) };
  },

  async run({ candles }, params: FeaturesParams, ctx): Promise<Features> {
    const followed = followHooks().features?.(candles, params, ctx);
    if (followed) return followed;
    const n = candles.index.length;
    const plan = planOf(params);
    const targets = targetsOf(params);
    if (n === 0) throw new RunError('the candles are empty', { hint: 'check the fetch step: it produced no bars' });
    const base = parseTimeframe(candles.timeframe);

    checkCandles(candles, readsOf(plan, targets, base.canonical));

    const columns: Record<string, Float64Array> = {};
    const featureNames: string[] = [];
    const targetNames: string[] = [];
    const targetHorizons: number[] = [];
    const total = plan.indicators.length + plan.returns.length + plan.volatility.length + plan.zscores.length + targets.length + 3;
    let done = 0;
    const step = (): void => {
      if (ctx.signal.aborted) throw new CancelledError();
      ctx.progress(Math.min(1, ++done / total));
    };
    const add = (name: string, col: Float64Array): void => {
      if (Object.hasOwn(columns, name)) throw new RunError(`column \`${name}\` is produced twice`, { hint: 'remove the duplicate from `with`' });
      columns[name] = col;
      featureNames.push(name);
    };

    // Declared warm-ups (TA-Lib lookbacks): too few bars leave a column all NaN, and then its
    // NaN count says only how many bars there were, not how many it needs.
    const lookbacks = new Map<string, number>();
    const frames = new Map<string, HigherFrame>();
    const frameOf = (tf: string): HigherFrame => {
      let f = frames.get(tf);
      if (!f) {
        f = higherFrame(candles, base.ms, parseTimeframe(tf).ms);
        frames.set(tf, f);
      }
      return f;
    };
    for (const p of plan.indicators) {
      const names = indicatorOutputs(p.ind.name, p.ind.params as never);
      const tfs = p.timeframes.length ? p.timeframes : [base.canonical];
      for (const tf of tfs) {
        if (tf === base.canonical) {
          const out = computeIndicator(p.ind.name, candles.columns, p.ind.params as never);
          names.forEach((name, j) => add(name, out[j]));
          const lb = indicatorLookback(p.ind.name, p.ind.params as never);
          for (const name of names) lookbacks.set(name, lb);
        } else {
          const hf = frameOf(tf);
          const out = computeIndicator(p.ind.name, hf.columns, p.ind.params as never);
          names.forEach((name, j) => add(tfColumn(name, tf), joinToBase(out[j], hf.map)));
        }
      }
      step();
    }
    const { close } = candles.columns;
    for (const lag of plan.returns) {
      add(returnColumn(lag), logReturn(close, lag));
      step();
    }
    for (const w of plan.volatility) {
      add(`vol_${w}`, rollingVolatility(close, w));
      step();
    }
    for (const w of plan.zscores) {
      add(`zscore_${w}`, rollingZscore(close, w));
      step();
    }
    if (plan.calendar) {
      const c = calendarFeatures(candles.index);
      add('hour_sin', c.hourSin);
      add('hour_cos', c.hourCos);
      add('dow_sin', c.dowSin);
      add('dow_cos', c.dowCos);
    }
    step();
    if (plan.sessions) {
      const s = sessionFeatures(candles.index);
      add('session_tokyo', s.tokyo);
      add('session_london', s.london);
      add('session_newyork', s.newYork);
      add('overlap_tokyo_london', s.tokyoLondon);
      add('overlap_london_newyork', s.londonNewYork);
    }
    step();
    if (plan.alpha158) {
      const c = candles.columns;
      const cols = alpha158(c.open, c.high, c.low, c.close, c.volume);
      const lookbacks = alpha158Lookbacks();
      const filled: string[] = [];
      alpha158Names().forEach((name, j) => {
        // Qlib leaves RSQR/CORR/CORD undefined over flat windows; its Fillna processor (as in its
        // Alpha158 workflows) makes them 0, and the models here need NaN-free rows after warm-up.
        if (isQlibFlatNaN(name)) {
          const col = cols[j];
          let k = 0;
          for (let i = lookbacks[j]; i < n; i++) if (Number.isNaN(col[i])) (col[i] = 0), k++;
          if (k > 0) filled.push(`${name} ${thousands(k)}`);
        }
        add(name, cols[j]);
      });
      ctx.log(`alpha158: ${alpha158Names().length} of Qlib's 158 columns; VWAP0 left out (candles carry no VWAP)`);
      if (filled.length) ctx.log(`alpha158: filled with 0 where Qlib leaves them undefined (rolling std ≤ ${QLIB_FLAT_STD}): ${filled.join(', ')}`);
    }
    step();
    for (const t of targets) {
      if (Object.hasOwn(columns, t.name)) throw new RunError(`column \`${t.name}\` is produced twice`, { hint: 'remove the duplicate target' });
      columns[t.name] = t.compute(candles);
      targetNames.push(t.name);
      targetHorizons.push(t.horizon);
      step();
    }

    // Warm-up: leading rows where some feature or target is NaN (dropped once, here). Tail: trailing
    // rows where some target is NaN (its future is not in the data).
    let start = 0;
    let longest = '';
    for (const name of [...featureNames, ...targetNames]) {
      const c = columns[name];
      let i = 0;
      while (i < n && Number.isNaN(c[i])) i++;
      // Among columns NaN throughout, the one with the longest declared warm-up explains best.
      if (i > start || (i === n && (lookbacks.get(name) ?? -1) > (lookbacks.get(longest) ?? -1))) {
        start = i;
        longest = name;
      }
    }
    let end = n;
    for (const name of targetNames) {
      const c = columns[name];
      let i = n;
      while (i > 0 && Number.isNaN(c[i - 1])) i--;
      if (i < end) end = i;
    }
    if (start >= end) {
      // A column that is NaN throughout needs more than the n bars there are: its declared lookback
      // where known, else at least n. Targets drop their horizon at the end.
      const known = start < n || lookbacks.has(longest);
      const warm = start < n ? start : Math.max(n, lookbacks.get(longest) ?? n);
      const tail = Math.max(end === 0 ? 0 : n - end, ...targetHorizons);
      const bars = (k: number): string => `${k} bar${k === 1 ? '' : 's'}`;
      throw new RunError(
        known
          ? `not enough bars: the candles have ${bars(n)}, but \`${longest}\` needs ${bars(warm)} of warm-up and the targets drop ${bars(tail)} at the end, so at least ${bars(warm + tail + 1)} are needed`
          : `not enough bars: the candles have ${bars(n)}, and \`${longest}\` needs more than that for its warm-up (the targets drop ${bars(tail)} at the end)`,
        { hint: 'use more bars, or shorter indicator periods / horizons / higher timeframes' },
      );
    }
    // The candles were checked, so a NaN after the warm-up would be a kernel bug; downstream steps
    // rely on NaN-free rows, so refuse rather than pass it on.
    for (const name of [...featureNames, ...targetNames]) {
      const c = columns[name];
      for (let i = start; i < end; i++) {
        if (Number.isNaN(c[i])) throw new RunError(`internal error: \`${name}\` is NaN at bar ${i} (${isoUtc(candles.index[i])}) after the warm-up`);
      }
    }

    // The kept rows as views of the computed columns, not copies (a copy of every column doubled the
    // step's peak memory and time), unless the dropped rows are a large share (a view keeps them
    // alive) or the column is the candles' own memory (an artifact must not share its input's).
    const few = 8 * (n - (end - start)) <= n;
    const inputs = new Set(Object.values(candles.columns).map((c) => c.buffer));
    const out: Record<string, Float64Array> = {};
    for (const name of [...featureNames, ...targetNames]) {
      const c = columns[name];
      out[name] = few && !inputs.has(c.buffer) ? c.subarray(start, end) : c.slice(start, end);
    }
    ctx.log(`warm-up: dropped ${start} leading rows (longest: ${longest})`);
    ctx.log(`tail: dropped ${n - end} trailing rows (target horizon up to ${targetHorizons.length ? Math.max(...targetHorizons) : 0} bars)`);

    return {
      type: 'Features',
      symbol: candles.symbol,
      timeframe: candles.timeframe,
      index: candles.index.slice(start, end),
      columns: out,
      featureNames,
      targetNames,
      targetHorizons,
      warmupDropped: start,
      tailDropped: n - end,
    };
  },

  metricNames: ['rows', 'features'],
  metrics(out: Features) {
    return { rows: out.index.length, features: out.featureNames.length };
  },

  summary(out: Features) {
    const f = out.featureNames.length;
    const t = out.targetNames.length;
    return (
      `${f} feature${f === 1 ? '' : 's'}, ${t} target${t === 1 ? '' : 's'}, ${thousands(out.index.length)} rows ` +
      `(warm-up ${out.warmupDropped}, tail ${out.tailDropped} dropped)`
    );
  },
});
