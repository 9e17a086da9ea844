import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BarPredictions, Candles, Model } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { parseTimestamp } from '../../data/dates.js';
import { isoUtc, sliceFrame } from '../../data/frame.js';
import { formatTimeframe, parseTimeframe } from '../../data/timeframe.js';
import { artifactTable, exportTable, quantileName } from '../../runtime/export.js';
import { MODEL_REF_HELP } from '../../runtime/history.js';
import { decodeArtifact } from '../../runtime/codec.js';
import { STORE_FILE, type Store } from '../../runtime/store.js';
import type { BacktestParams } from '../../steps/backtest/params.js';
import { makeStepContext } from '../../steps/define.js';
import fetchStep, { medianSpacing } from '../../steps/fetch/index.js';
import type { FetchParams } from '../../steps/fetch/params.js';
import type { FeaturesParams } from '../../steps/features/params.js';
import { predictBars, type SignalParams } from '../../steps/predict/core.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { styleFor, table } from '../format.js';
import { loadArtifact, modelLineage, type ModelLineage } from '../model-lineage.js';
import { loadReplayModel, modelId, parseReplayKey, resolveAnyModel } from '../replay-models.js';

/** Currency codes a pair in a file name is made of (EURUSD_H1.csv, HISTDATA_COM_ASCII_GBPUSD_M12019.zip). */
const CURRENCIES = new Set([
  'EUR',
  'USD',
  'GBP',
  'JPY',
  'CHF',
  'AUD',
  'NZD',
  'CAD',
  'SEK',
  'NOK',
  'DKK',
  'SGD',
  'HKD',
  'MXN',
  'ZAR',
  'TRY',
  'PLN',
  'CNH',
  'XAU',
  'XAG',
]);

/** The currency pair a file's name names, if one. */
function pairInName(file: string): string | undefined {
  const name = path.basename(file).toUpperCase();
  for (const m of name.matchAll(/(?=([A-Z]{6}))/g)) {
    const w = m[1];
    if (CURRENCIES.has(w.slice(0, 3)) && CURRENCIES.has(w.slice(3)) && w.slice(0, 3) !== w.slice(3)) return w;
  }
  return undefined;
}

/** The source kind a file's extension says. */
function sourceOf(file: string): FetchParams['source'] {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.duckdb' || ext === '.db') return 'duckdb';
  return 'csv';
}

interface SourceOptions {
  candles?: string;
  format?: string;
  table?: string;
  symbol?: string;
}

/**
 * The fetch params for the new candles: the recorded fetch's (clock, quality policy, resampling,
 * `from`), with the path (and source kind) of `--candles`; `to` and `days` are dropped so newer
 * bars are read. Without `--candles`, the recorded fetch as it was (its file read again, or the
 * same synthetic bars).
 */
function fetchParams(lin: ModelLineage, opts: SourceOptions): { params: FetchParams; dir: string } {
  const recorded = lin.fetch!.params as unknown as FetchParams;
  const pipelineDir = path.dirname(path.resolve(lin.run.file));
  if (opts.candles === undefined) {
    if (opts.format !== undefined || opts.table !== undefined) throw new UsageError('`--format` and `--table` go with `--candles FILE`');
    return { params: { ...recorded, ...(opts.symbol ? { symbol: opts.symbol } : {}) }, dir: pipelineDir };
  }
  const file = path.resolve(opts.candles);
  if (!existsSync(file))
    throw new RunError(`no candles file ${opts.candles}`, { hint: 'give the path of a CSV (any format fetch reads), Parquet or DuckDB file' });
  const source = sourceOf(file);
  const same = source === recorded.source;
  const {
    to: _to,
    days: _days,
    bars: _bars,
    start: _start,
    path: _path,
    format: _format,
    time_format: _tf,
    columns: _columns,
    table: _table,
    timezone: _tz,
    ...kept
  } = recorded;
  const params: FetchParams = {
    ...kept,
    bars: recorded.bars,
    source,
    path: file,
    format: (opts.format as FetchParams['format'] | undefined) ?? (same && source === 'csv' ? recorded.format : 'auto'),
    ...(same && recorded.time_format !== undefined && opts.format === undefined ? { time_format: recorded.time_format } : {}),
    ...(same && recorded.columns !== undefined ? { columns: recorded.columns } : {}),
    ...(recorded.source !== 'synthetic' && recorded.timezone !== undefined ? { timezone: recorded.timezone } : {}),
    ...(source === 'duckdb' ? { table: opts.table ?? recorded.table } : {}),
    ...(opts.symbol ? { symbol: opts.symbol } : {}),
  };
  return { params, dir: path.dirname(file) };
}

/** Loads the candles to predict, checked against what the model was trained on. */
async function loadCandles(store: Store, lin: ModelLineage, opts: SourceOptions, warn: (m: string) => void): Promise<{ candles: Candles; volume?: boolean }> {
  const recorded = lin.fetch!.params as unknown as FetchParams;
  if (opts.symbol && opts.symbol !== recorded.symbol) warn(`the model was trained on ${recorded.symbol}; predicting ${opts.symbol} as asked (--symbol)`);
  else if (opts.candles !== undefined) {
    const pair = pairInName(opts.candles);
    if (pair && pair !== recorded.symbol.toUpperCase()) {
      throw new RunError(`the source ${path.basename(opts.candles)} looks like ${pair} (its name), but the model was trained on ${recorded.symbol}`, {
        hint: `give ${recorded.symbol} candles, or add \`--symbol ${pair}\` to use the model on ${pair} deliberately`,
      });
    }
  }
  const { params, dir } = fetchParams(lin, opts);
  const issues = fetchStep.check!(params);
  if (issues.length) {
    const i = issues[0];
    throw new RunError(`the candles source: ${i.path.join('.')}: ${i.message}`, { hint: i.hint });
  }
  const fetchWarnings: string[] = [];
  const ctx = makeStepContext({ stepId: 'fetch', seed: lin.fetch!.seed ?? lin.run.seed, pipelineDir: dir, warn: (m) => fetchWarnings.push(m) });
  let candles = await fetchStep.run({}, params, ctx);
  // The bar length the model was trained on: a source of other bars gives other features.
  const want = parseTimeframe(recorded.resample ?? recorded.timeframe);
  const spacing = medianSpacing(candles.index);
  if (Number.isFinite(spacing) && spacing !== want.ms) {
    throw new RunError(`the source's bars are ${formatTimeframe(spacing)} apart (median), but the model was trained on ${want.canonical} bars`, {
      hint: `give ${want.canonical} candles of ${recorded.symbol}${recorded.resample ? ` (or ${recorded.timeframe} bars, which are resampled to ${recorded.resample})` : ''}`,
    });
  }
  for (const w of fetchWarnings) warn(`fetch: ${w}`);
  // Recursive indicators (EMA, RSI, MACD…) and cumulative ones (OBV, AD) depend on the first bar
  // they start from: features equal the training run's when they start at the same bar.
  const trained = await trainingCandles(store, lin);
  const origin = trained.start;
  if (origin === undefined && (recorded.from === undefined || recorded.days !== undefined))
    warn(
      `the training run's candles are no longer in the store (\`fxflow gc\`): features start at the source's first bar, so recursive indicators (EMA, RSI, MACD…) may differ slightly from the training run's`,
    );
  if (origin !== undefined && candles.index.length) {
    if (candles.index[0] < origin) {
      let i = 0;
      while (i < candles.index.length && candles.index[i] < origin) i++;
      candles = sliceFrame(candles, i);
      warn(
        `features computed from ${isoUtc(origin)}, the first bar the model's training data had (as in training), ${i} earlier bar(s) of the source left out`,
      );
    } else if (candles.index[0] > origin) {
      warn(
        `the source starts at ${isoUtc(candles.index[0])}, after the training data (${isoUtc(origin)}): recursive indicators (EMA, RSI, MACD…) start from other values, so predictions on bars the training run saw may differ from its own slightly`,
      );
    }
  }
  return { candles, volume: trained.volume };
}

/** The first bar of the candles the model was trained on and whether they had volumes, when that artifact is still in the store. */
async function trainingCandles(store: Store, lin: ModelLineage): Promise<{ start?: number; volume?: boolean }> {
  if (!lin.fetch) return {};
  const bytes = await store.getArtifactBytes(lin.fetch.key);
  if (!bytes) return {};
  const c = decodeArtifact<Candles>(bytes);
  return { start: c.index.length ? c.index[0] : undefined, volume: c.columns.volume?.some((v) => v !== 0) ?? false };
}

function dateOpt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTimestamp(v);
  if (!Number.isFinite(t)) throw new UsageError(`--${name}: cannot read the date ${JSON.stringify(v)} (write e.g. 2020-06-01 or 2020-06-01T08:00)`);
  return t;
}

const num = (x: number): string => (Number.isFinite(x) ? x.toPrecision(5) : String(x));
const SIGNAL_WORD: Record<number, string> = { 1: 'long', [-1]: 'short', 0: 'flat' };

async function cmdPredict(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    candles: { type: 'string' },
    format: { type: 'string' },
    table: { type: 'string' },
    symbol: { type: 'string' },
    step: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    last: { type: 'string' },
    json: { type: 'boolean' },
    csv: { type: 'string' },
    parquet: { type: 'string' },
  });
  if (values.help) return printUsage(predictCommand, io);
  const ref = positionals[0];
  if (!ref) throw new UsageError(`\`fxflow predict\` needs a model: ${MODEL_REF_HELP}`);
  if (positionals.length > 1) throw new UsageError(`\`fxflow predict\` takes one model, got ${positionals.length} arguments (the candles go after --candles)`);
  const outputs = [values.json, values.csv, values.parquet].filter((x) => x !== undefined && x !== false).length;
  if (outputs > 1) throw new UsageError('give one of --json, --csv FILE, --parquet FILE');
  let last: number | undefined;
  if (values.last !== undefined) {
    last = Number(values.last);
    if (!Number.isSafeInteger(last) || last < 1) throw new UsageError(`--last takes a whole number of bars ≥ 1, got \`${values.last}\``);
  }
  const from = dateOpt(values.from, 'from');
  const to = dateOpt(values.to, 'to');
  if (from !== undefined && to !== undefined && from >= to) throw new UsageError('--to must be after --from');
  const formats = ['auto', 'histdata', 'metatrader', 'dukascopy', 'generic'];
  if (values.format !== undefined && !formats.includes(values.format)) throw new UsageError(`--format takes ${formats.join(', ')}; got \`${values.format}\``);

  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE)))
    throw new RunError(`no store at ${dir}`, { hint: 'run a pipeline first (`fxflow run FILE`), or point `--store DIR` at one' });
  const store = await openStore(dir, io);
  const notes: string[] = [];
  const warn = (m: string): void => {
    notes.push(m);
    io.err.write(`note: ${m}\n`);
  };
  let model: Model;
  let lin: ModelLineage;
  let result: BarPredictions;
  let replayBacktest: Record<string, unknown> | undefined;
  try {
    const { key, runId } = await resolveAnyModel(store, ref, { step: values.step });
    const replayed = parseReplayKey(key);
    // A replay's model: its lineage is the replay step's (fetch → features → replay), under its own key.
    lin = { ...(await modelLineage(store, replayed ? replayed.report : key, runId)), key };
    if (lin.broken || !lin.fetch || !lin.features) {
      throw new RunError(`cannot recompute the model's features: ${lin.broken ?? 'its features step is not recorded'}`, {
        hint: 'predict follows fetch → features → split → train; a model trained on an encoded dataset or a plugin step’s output is not supported',
      });
    }
    if (replayed) {
      // A replay's champion: the replay's features recipe, this model's scaler and state, the replay's trading rule.
      const loaded = await loadReplayModel(store, key);
      [model, replayBacktest] = [loaded.model, loaded.backtest];
    } else model = await loadArtifact<Model>(store, key, 'the model');
    const { candles, volume } = await loadCandles(store, lin, values, warn);
    const bt = lin.backtests[0];
    let signal: SignalParams;
    if (replayBacktest) signal = replayBacktest as unknown as BacktestParams;
    else if (bt) signal = bt.params as unknown as BacktestParams;
    else {
      signal = { rule: 'threshold', entry_threshold: 0, quantile: 0.2, holding: 'bar', segments: ['test'] } as unknown as SignalParams;
      warn(`no backtest step of run ${lin.run.id} reads this model: signal by the default rule (threshold 0, the sign of the prediction)`);
    }
    const ctx = makeStepContext({ stepId: 'predict', seed: lin.run.seed, pipelineDir: process.cwd(), warn });
    result = await predictBars(
      model,
      candles,
      { features: lin.features.params as unknown as FeaturesParams, signal, from, to, last, now: Date.now(), trainedWithVolume: volume },
      ctx,
    );
  } finally {
    await store.close();
  }

  const head = {
    model: { id: modelId(lin.key, 12), key: lin.key, kind: model.kind, run: lin.run.id, pipeline: lin.run.pipeline, step: lin.train.nodeId },
    symbol: result.symbol,
    timeframe: result.timeframe,
    fold: result.fold,
    folds: model.state.length,
    signal: { rule: result.rule, target: result.signalTarget, backtestStep: replayBacktest ? lin.train.nodeId : (lin.backtests[0]?.nodeId ?? null) },
  };
  const n = result.index.length;
  if (values.csv || values.parquet) {
    const file = (values.csv || values.parquet) as string;
    const want = values.csv ? '.csv' : '.parquet';
    if (path.extname(file).toLowerCase() !== want) throw new UsageError(`--${want.slice(1)} needs a file name ending in ${want}`);
    await exportTable(artifactTable(result), file);
    io.out.write(`wrote ${file}: ${n} bar(s) × ${result.targetNames.length} target(s) + signal\n`);
    return 0;
  }
  if (values.json) {
    const rows = Array.from({ length: n }, (_, i) => {
      const row: Record<string, unknown> = { ts: new Date(result.index[i]).toISOString() };
      for (const t of result.targetNames) {
        const v = result.values[t][i];
        row[t] = Number.isFinite(v) ? v : null;
        const q = result.distribution?.quantiles;
        q?.levels.forEach((l, j) => (row[`${quantileName(l)}_${t}`] = q.values[t][i * q.levels.length + j]));
      }
      row.signal = result.signal[i];
      if (result.size) row.size = result.size[i];
      return row;
    });
    io.out.write(`${JSON.stringify({ ...head, notes, rows }, null, 2)}\n`);
    return 0;
  }
  io.out.write(
    `model ${head.model.id} (${model.kind}) of run ${lin.run.id}, step ${lin.train.nodeId} · ${result.symbol} ${result.timeframe} · fold ${result.fold + 1} of ${model.state.length} · signal: ${result.rule}\n`,
  );
  if (n === 0) {
    io.out.write('no bars to predict in the range asked\n');
    return 0;
  }
  io.out.write(
    `${table(
      ['time (UTC)', ...result.targetNames, 'signal', ...(result.size ? ['size'] : [])],
      Array.from({ length: n }, (_, i) => [
        isoUtc(result.index[i]),
        ...result.targetNames.map((t) => num(result.values[t][i])),
        SIGNAL_WORD[result.signal[i]],
        ...(result.size ? [num(result.size[i])] : []),
      ]),
      styleFor(io.out),
    )}\n`,
  );
  return 0;
}

export const predictCommand: Command = {
  usage: `Usage: fxflow predict MODEL [--candles FILE] [--format FMT] [--table NAME] [--symbol PAIR] [--step ID]
                      [--from DATE] [--to DATE] [--last N] [--json | --csv FILE | --parquet FILE] [--store DIR]

Scores bars with a trained model. MODEL is ${MODEL_REF_HELP};
a replay's champion is REPORTID.mN (the replay's features, that model's state, the replay's rule).

The features are recomputed exactly as the model was trained on them: the params of the features
step recorded with the run that trained it, from the first bar its training data had, so every
warm-up is covered; the newest fold's scaler (fitted on its training rows) and state score them.
Each row: the bar's open time (UTC; the prediction is made at its close), a prediction per target,
and the signal (long/short/flat, JSON and CSV 1/−1/0) the rule of the run's backtest step would take
(rules \`probability\` and \`quantile_band\` on each bar's forecast distribution, against its costs), and
with a \`kelly\`, \`forecast_vol\` or \`vol_target\` sizing the size it would hold (\`size\`).

--candles FILE   the bars: a CSV/zip/gz in any format fetch reads (--format to force one), a .parquet,
                 or a .duckdb file (--table). The recorded fetch's clock, quality policy, resampling
                 and \`from\` apply. Without it, the training run's own fetch is read again.
--symbol PAIR    predict another pair than the model's on purpose (the file name must not contradict it).
--from/--to      the bars to predict (UTC, \`to\` exclusive); --last N the newest N of them.
--json | --csv FILE | --parquet FILE   the rows as JSON on stdout, or written to a file.

A bar still forming (its close after now) is dropped, with a note. Notes go to stderr.`,
  run: cmdPredict,
};
