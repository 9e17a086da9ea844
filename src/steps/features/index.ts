import type { Candles, Features } from '../../core/artifacts.js';
import { CancelledError, RunError } from '../../core/diagnostics.js';
import { isoUtc } from '../../data/frame.js';
import {
  computeIndicator,
  forwardLogReturn,
  forwardReturnColumn,
  indicatorLookback,
  indicatorOutputs,
  INDICATOR_NAMES,
  isIndicatorName,
  logReturn,
  returnColumn,
  type IndicatorName,
  type IndicatorParamsMap,
  type PriceSource,
} from '../../indicators/index.js';
import { defineStep, paramsOf, type ParamIssue } from '../define.js';
import type { EmaParams, FeaturesParams, IndicatorSpec, MacdParams, RsiParams } from './params.js';

export type { FeaturesParams, IndicatorSpec, RsiParams, EmaParams, MacdParams, TargetSpec } from './params.js';

// Compile-time link between the documented params (schema source) and the indicator table: adding
// an indicator to one and not the other, or changing a field in one only, fails the typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SpecKeys<S> = S extends unknown ? keyof S : never;
const paramsMatchTable: Same<RsiParams, IndicatorParamsMap['rsi']> &
  Same<EmaParams, IndicatorParamsMap['ema']> &
  Same<MacdParams, IndicatorParamsMap['macd']> &
  Same<SpecKeys<IndicatorSpec>, IndicatorName> = true;
void paramsMatchTable;

type ResolvedIndicator = { [K in IndicatorName]: { name: K; params: IndicatorParamsMap[K] } }[IndicatorName];

function resolveIndicator(spec: IndicatorSpec, i: number): ResolvedIndicator {
  const keys = Object.keys(spec);
  const name = keys[0];
  if (keys.length !== 1 || !isIndicatorName(name)) {
    throw new RunError(`indicators[${i}]: expected one indicator name as the only key, got ${JSON.stringify(keys)}`, {
      hint: `write e.g. \`- rsi: { period: 14 }\`; known indicators: ${INDICATOR_NAMES.join(', ')}`,
    });
  }
  const given = (spec as Record<string, object | null | undefined>)[name] ?? {};
  // Defaults were filled by the validator (schema `@default`s), so the params are complete here.
  return { name, params: given } as ResolvedIndicator;
}

function resolveIndicators(params: FeaturesParams): ResolvedIndicator[] {
  return (params.indicators ?? []).map(resolveIndicator);
}

function lagsOf(params: FeaturesParams): number[] {
  return params.returns ?? [1];
}

function horizonsOf(params: FeaturesParams): number[] {
  return params.target?.forward_return?.horizons ?? [1];
}

/** `19950` → `19,950`, independent of the machine's locale. */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The price columns the requested features read: used to check them once, with a located message. */
function columnsRead(sources: PriceSource[], needClose: boolean): string[] {
  const need = new Set<string>();
  if (needClose) need.add('close');
  for (const on of sources) {
    if (on === 'hl2') ['high', 'low'].forEach((c) => need.add(c));
    else if (on === 'hlc3') ['high', 'low', 'close'].forEach((c) => need.add(c));
    else if (on === 'ohlc4') ['open', 'high', 'low', 'close'].forEach((c) => need.add(c));
    else need.add(on);
  }
  return [...need];
}

/**
 * Kernels propagate a NaN forever (an EMA never recovers from one), and ln of a non-positive price
 * is not a return: refuse such candles up front, naming the first bad bar.
 */
function checkCandles(candles: Candles, names: string[]): void {
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
    for (let i = 0; i < c.length; i++) {
      const v = c[i];
      if (!(v > 0) || v === Infinity) {
        throw new RunError(`candles column \`${name}\` has ${v} at bar ${i} (${isoUtc(candles.index[i])}); prices must be finite and positive`, {
          hint: 'fix or drop that bar in the data before `features` (missing bars must be removed, not left as NaN or 0)',
        });
      }
    }
  }
}

export default defineStep({
  kind: 'features',
  version: 1,
  description: 'Compute indicator features (TA-Lib exact), lagged log returns and forward-return targets from candles.',
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

    let resolved: ResolvedIndicator[];
    try {
      resolved = resolveIndicators(params);
    } catch (e) {
      return [{ path: ['indicators'], message: (e as Error).message, hint: (e as RunError).hint }];
    }
    resolved.forEach((ind, i) => {
      if (ind.name === 'macd' && ind.params.fast >= ind.params.slow) {
        const { fast, slow } = ind.params;
        issues.push({
          path: ['indicators', i, 'macd', 'fast'],
          message:
            fast === slow
              ? `macd fast (${fast}) equals slow (${slow}): the MACD line would be 0 everywhere`
              : `macd fast (${fast}) must be below slow (${slow})`,
          hint: fast === slow ? 'choose a shorter fast period, e.g. fast: 12, slow: 26' : `swap them: fast: ${slow}, slow: ${fast}`,
        });
      }
      for (const col of indicatorOutputs(ind.name, ind.params)) claim(col, ['indicators', i], `indicators[${i}]`);
    });
    lagsOf(params).forEach((lag, j) => claim(returnColumn(lag), ['returns', j], `returns[${j}]`));
    horizonsOf(params).forEach((h, k) =>
      claim(forwardReturnColumn(h), ['target', 'forward_return', 'horizons', k], `target.forward_return.horizons[${k}]`),
    );
    if (resolved.length === 0 && lagsOf(params).length === 0) {
      issues.push({
        path: ['indicators'],
        message: 'no features: both `indicators` and `returns` are empty',
        hint: 'add an indicator (e.g. `- rsi: { period: 14 }`) or a return lag (e.g. `returns: [1]`)',
      });
    }
    return issues;
  },

  async run({ candles }, params: FeaturesParams, ctx): Promise<Features> {
    const n = candles.index.length;
    const indicators = resolveIndicators(params);
    const lags = lagsOf(params);
    const horizons = horizonsOf(params);
    if (n === 0) throw new RunError('the candles are empty', { hint: 'check the fetch step: it produced no bars' });
    checkCandles(candles, columnsRead(indicators.map((d) => d.params.on), lags.length > 0 || horizons.length > 0));

    const columns: Record<string, Float64Array> = {};
    const featureNames: string[] = [];
    const targetNames: string[] = [];
    const total = indicators.length + lags.length + horizons.length;
    let done = 0;
    const step = (): void => {
      if (ctx.signal.aborted) throw new CancelledError();
      ctx.progress(++done / total);
    };
    // Longest warm-up, for the log line: which feature needs the most history.
    let longest = { col: '', rows: -1 };
    const add = (name: string, col: Float64Array, lookback: number): void => {
      if (name in columns) throw new RunError(`column \`${name}\` is produced twice`, { hint: 'remove the duplicate from `with`' });
      columns[name] = col;
      featureNames.push(name);
      if (lookback > longest.rows) longest = { col: name, rows: lookback };
    };

    for (const ind of indicators) {
      const names = indicatorOutputs(ind.name, ind.params);
      const out = computeIndicator(ind.name, candles.columns, ind.params);
      const lookback = indicatorLookback(ind.name, ind.params);
      names.forEach((name, j) => add(name, out[j], lookback));
      step();
    }
    const close = candles.columns.close;
    for (const lag of lags) {
      add(returnColumn(lag), logReturn(close, lag), lag);
      step();
    }
    for (const h of horizons) {
      const name = forwardReturnColumn(h);
      if (name in columns) throw new RunError(`column \`${name}\` is produced twice`, { hint: 'remove the duplicate horizon' });
      columns[name] = forwardLogReturn(close, h);
      targetNames.push(name);
      step();
    }

    // Warm-up: leading rows where some feature is NaN. Tail: trailing rows where some target is NaN.
    let start = 0;
    for (const name of featureNames) {
      const c = columns[name];
      let i = 0;
      while (i < n && Number.isNaN(c[i])) i++;
      if (i > start) start = i;
    }
    let end = n;
    for (const name of targetNames) {
      const c = columns[name];
      let i = n;
      while (i > 0 && Number.isNaN(c[i - 1])) i--;
      if (i < end) end = i;
    }
    if (start >= end) {
      throw new RunError(
        `not enough bars: ${n} candles, but the warm-up needs ${start} (${longest.col}) and the targets drop ${n - end} at the end`,
        { hint: 'use more bars, or shorter indicator periods / horizons' },
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

    const out: Record<string, Float64Array> = {};
    for (const name of [...featureNames, ...targetNames]) out[name] = columns[name].slice(start, end);
    ctx.log(`warm-up: dropped ${start} leading rows (longest: ${longest.col}, lookback ${longest.rows})`);
    ctx.log(`tail: dropped ${n - end} trailing rows (forward horizon up to ${horizons.length ? Math.max(...horizons) : 0} bars)`);

    return {
      type: 'Features',
      symbol: candles.symbol,
      timeframe: candles.timeframe,
      index: candles.index.slice(start, end),
      columns: out,
      featureNames,
      targetNames,
      targetHorizons: [...horizons],
      warmupDropped: start,
      tailDropped: n - end,
    };
  },

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
