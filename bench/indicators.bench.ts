/**
 * Indicator throughput on the 2018 EURUSD M1 series (HistData, 372,607 bars), measured side by side
 * in this run:
 * - against the npm `technicalindicators` package (installed in bench/ only), the library a JS user
 *   reaches for, on the indicators both have, with the same periods;
 * - against TA-Lib's C library (0.6, the sources npm `talib` 2.0.5 ships, built by
 *   bench/setup-talib.sh into bench/.talib with gcc -O3 and driven by bench/talib/driver.c) on the
 *   whole suite: same bars, same params, same output columns. Every column TA-Lib writes is compared
 *   with fxflow's, so both sides compute the same thing;
 * - fxflow's whole `features` step and whole `fxflow run` (fetch the zip + features, fresh store)
 *   on the same suite, through the built CLI, since that is what a user waits for.
 *
 * Rows against technicalindicators: median of 3 timed runs after one warm-up, in this process. Rows
 * against C: the best of 5 timed runs after one warm-up on each side (the C driver times itself the
 * same way), medians in the note: on this shared 2-core machine the best run is the stable number.
 * CLI rows: best of 2 runs, each on a fresh store.
 *
 * The zip is read here with `unzip -p` (not through src/data), so the kernel rows measure only the
 * kernels. HistData's volume is 0; the kernel rows use a synthetic tick count so volume indicators
 * do real work, while the CLI rows use the file as it is.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INDICATORS, type IndicatorName, type IndicatorParamsMap } from '../src/indicators/index.js';
import type { BenchResult } from './run.js';

const FOREX = fileURLToPath(new URL('../../shared/data/forex', import.meta.url));
const ZIP = path.join(FOREX, 'HISTDATA_COM_ASCII_EURUSD_M12018.zip');
const BIN = fileURLToPath(new URL('../bin/fxflow.js', import.meta.url));
const SETUP_TALIB = fileURLToPath(new URL('./setup-talib.sh', import.meta.url));

interface Ohlcv {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** `YYYYMMDD HHMMSS;O;H;L;C;V` rows, no header. Volume is 0 in these files; we use a synthetic tick count so volume indicators do real work. */
function load(): Ohlcv {
  const text = execFileSync('unzip', ['-p', ZIP, '*.csv'], { maxBuffer: 1 << 30 }).toString('latin1');
  const lines = text.split('\n').filter((l) => l.length > 10);
  const n = lines.length;
  const o: Ohlcv = { open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const p = lines[i].split(';');
    o.open[i] = Number(p[1]);
    o.high[i] = Number(p[2]);
    o.low[i] = Number(p[3]);
    o.close[i] = Number(p[4]);
    o.volume[i] = 50 + ((i * 7919) % 400);
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Timed runs of the whole suite on each side (after one warm-up). */
const SUITE_RUNS = 5;

function time(f: () => unknown, reps = 3): number {
  f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

type Entry = { [K in IndicatorName]: [K, IndicatorParamsMap[K]] }[IndicatorName];

/** The fxflow suite: every indicator with TA-Lib's default params (outputs counted per column). */
const SUITE: Entry[] = [
  ['sma', { period: 30, on: 'close' }],
  ['ema', { period: 30, on: 'close' }],
  ['wma', { period: 30, on: 'close' }],
  ['dema', { period: 30, on: 'close' }],
  ['tema', { period: 30, on: 'close' }],
  ['trima', { period: 30, on: 'close' }],
  ['kama', { period: 30, on: 'close' }],
  ['t3', { period: 5, vfactor: 0.7, on: 'close' }],
  ['rsi', { period: 14, on: 'close' }],
  ['macd', { fast: 12, slow: 26, signal: 9, on: 'close' }],
  ['ppo', { fast: 12, slow: 26, ma: 'sma', on: 'close' }],
  ['mom', { period: 10, on: 'close' }],
  ['roc', { period: 10, on: 'close' }],
  ['cmo', { period: 14, on: 'close' }],
  ['trix', { period: 30, on: 'close' }],
  ['stoch', { fastk: 5, slowk: 3, slowd: 3, ma: 'sma' }],
  ['stochf', { fastk: 5, fastd: 3, ma: 'sma' }],
  ['stochrsi', { period: 14, fastk: 5, fastd: 3, ma: 'sma', on: 'close' }],
  ['willr', { period: 14 }],
  ['cci', { period: 14 }],
  ['adx', { period: 14 }],
  ['adxr', { period: 14 }],
  ['plus_di', { period: 14 }],
  ['minus_di', { period: 14 }],
  ['aroon', { period: 14 }],
  ['aroonosc', { period: 14 }],
  ['ultosc', { period1: 7, period2: 14, period3: 28 }],
  ['bop', {}],
  ['mfi', { period: 14 }],
  ['obv', { on: 'close' }],
  ['ad', {}],
  ['adosc', { fast: 3, slow: 10 }],
  ['atr', { period: 14 }],
  ['natr', { period: 14 }],
  ['trange', {}],
  ['bbands', { period: 20, nbdev_up: 2, nbdev_dn: 2, ma: 'sma', on: 'close' }],
  ['stddev', { period: 5, nbdev: 1, on: 'close' }],
  ['var', { period: 5, on: 'close' }],
  ['linearreg', { period: 14, on: 'close' }],
  ['sar', { acceleration: 0.02, maximum: 0.2 }],
];

function fx(d: Ohlcv, e: Entry): Float64Array[] {
  const def = INDICATORS[e[0]] as unknown as { compute(c: Ohlcv, p: unknown): Float64Array[] };
  return def.compute(d, e[1]);
}

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(ZIP)) {
    process.stderr.write(`[skip] indicators.bench: ${ZIP} not found\n`);
    return [];
  }
  const require = createRequire(import.meta.url);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ti = require('technicalindicators') as any;
  const d = load();
  const n = d.close.length;
  const close = Array.from(d.close);
  const high = Array.from(d.high);
  const low = Array.from(d.low);
  const volume = Array.from(d.volume);
  const byName = new Map(SUITE.map((e) => [e[0], e]));
  const one = (name: IndicatorName) => () => fx(d, byName.get(name)!);

  // [label, fxflow thunk, peer thunk, outputs]
  const shared: [string, () => unknown, () => unknown, number][] = [
    ['SMA 30', one('sma'), () => ti.SMA.calculate({ period: 30, values: close }), 1],
    ['EMA 30', one('ema'), () => ti.EMA.calculate({ period: 30, values: close }), 1],
    ['WMA 30', one('wma'), () => ti.WMA.calculate({ period: 30, values: close }), 1],
    ['RSI 14', one('rsi'), () => ti.RSI.calculate({ period: 14, values: close }), 1],
    [
      'MACD 12/26/9 (3 outputs)',
      one('macd'),
      () => ti.MACD.calculate({ values: close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }),
      3,
    ],
    ['ROC 10', one('roc'), () => ti.ROC.calculate({ period: 10, values: close }), 1],
    ['TRIX 30', one('trix'), () => ti.TRIX.calculate({ period: 30, values: close }), 1],
    ['STOCH 5/3 (2 outputs)', one('stochf'), () => ti.Stochastic.calculate({ high, low, close, period: 5, signalPeriod: 3 }), 2],
    [
      'STOCHRSI 14/14/3/3 (2)',
      () => fx(d, ['stochrsi', { period: 14, fastk: 14, fastd: 3, ma: 'sma', on: 'close' }]),
      () => ti.StochasticRSI.calculate({ values: close, rsiPeriod: 14, stochasticPeriod: 14, kPeriod: 3, dPeriod: 3 }),
      2,
    ],
    ['WILLR 14', one('willr'), () => ti.WilliamsR.calculate({ high, low, close, period: 14 }), 1],
    ['CCI 14', one('cci'), () => ti.CCI.calculate({ high, low, close, period: 14 }), 1],
    ['ADX 14 (+DI, −DI: 3)', () => [one('adx')(), one('plus_di')(), one('minus_di')()], () => ti.ADX.calculate({ high, low, close, period: 14 }), 3],
    ['ATR 14', one('atr'), () => ti.ATR.calculate({ high, low, close, period: 14 }), 1],
    ['TRANGE', one('trange'), () => ti.TrueRange.calculate({ high, low, close }), 1],
    ['BBANDS 20/2 (3 outputs)', one('bbands'), () => ti.BollingerBands.calculate({ period: 20, values: close, stdDev: 2 }), 3],
    ['MFI 14', one('mfi'), () => ti.MFI.calculate({ high, low, close, volume, period: 14 }), 1],
    ['OBV', one('obv'), () => ti.OBV.calculate({ close, volume }), 1],
    ['AD', one('ad'), () => ti.ADL.calculate({ high, low, close, volume }), 1],
    ['SAR 0.02/0.2', one('sar'), () => ti.PSAR.calculate({ high, low, step: 0.02, max: 0.2 }), 1],
  ];

  const rows: BenchResult[] = [];
  let fxTotal = 0;
  let peerTotal = 0;
  let sharedOutputs = 0;
  for (const [label, f, p, outs] of shared) {
    const fxMs = time(f);
    const peerMs = time(p, 1);
    fxTotal += fxMs;
    peerTotal += peerMs;
    sharedOutputs += outs;
    rows.push({
      name: `indicators: ${label}`,
      fxflowMs: fxMs,
      peer: 'technicalindicators',
      peerMs,
      note: `${((outs * n) / fxMs / 1000).toFixed(0)} M values/s`,
    });
  }
  // The whole fxflow suite (every indicator once, TA-Lib defaults).
  const suite = SUITE.flatMap((e) => fx(d, e));
  const columns = SUITE.flatMap((e) => (INDICATORS[e[0]] as unknown as { outputs(p: unknown): string[] }).outputs(e[1]));
  // Timed like the C driver: one warm-up, then 5 runs; the suite's best and median run, each indicator's best.
  const perFx = new Array<number>(SUITE.length).fill(Infinity);
  const totals: number[] = [];
  for (let r = 0; r <= SUITE_RUNS; r++) {
    const t0 = performance.now();
    SUITE.forEach((e, k) => {
      const t = performance.now();
      fx(d, e);
      if (r) perFx[k] = Math.min(perFx[k], performance.now() - t);
    });
    if (r) totals.push(performance.now() - t0);
  }
  const suiteMs = Math.min(...totals);
  const suiteMedian = median(totals);
  rows.push({
    name: `indicators: ${shared.length} shared (${sharedOutputs} outputs) × ${n.toLocaleString('en')} M1 bars`,
    fxflowMs: fxTotal,
    peer: 'technicalindicators',
    peerMs: peerTotal,
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-bench-ind-'));
  try {
    const c = talibC(d, dir);
    const label = `full suite, ${SUITE.length} indicators, ${suite.length} outputs × ${n.toLocaleString('en')} bars`;
    if ('error' in c) {
      process.stderr.write(`[skip] TA-Lib C: ${c.error}\n`);
      rows.push({ name: `indicators: ${label}, kernels (warm)`, fxflowMs: suiteMs, peer: 'TA-Lib C (not built)', peerMs: NaN, note: c.error });
    } else {
      const agree = compare(columns, suite, c.outputs);
      // Where the time goes: each indicator, fxflow against C, the largest gaps first.
      const gaps = SUITE.map((e, k) => ({ name: e[0], fx: perFx[k], c: c.perIndicator[k] ?? NaN })).sort((a, b) => b.fx - b.c - (a.fx - a.c));
      process.stderr.write(
        `per indicator, best of ${SUITE_RUNS} runs (fxflow ms / TA-Lib C ms):\n${gaps.map((g) => `  ${g.name.padEnd(10)} ${g.fx.toFixed(1).padStart(7)} ${g.c.toFixed(1).padStart(7)}`).join('\n')}\n`,
      );
      const top = gaps
        .slice(0, 5)
        .map((g) => `${g.name} ${g.fx.toFixed(0)}/${g.c.toFixed(0)}`)
        .join(', ');
      const peer = `TA-Lib C ${c.version.split(' ')[0]} (gcc -O3)`;
      rows.push({
        name: `indicators: ${label}, kernels (warm)`,
        fxflowMs: suiteMs,
        peer,
        peerMs: c.ms,
        note: `best of ${SUITE_RUNS} (medians ${suiteMedian.toFixed(0)} vs ${c.median.toFixed(0)} ms); ${((suite.length * n) / suiteMs / 1000).toFixed(1)} vs ${((suite.length * n) / c.ms / 1000).toFixed(1)} M values/s; ${agree}; largest gaps (fxflow/C ms): ${top}`,
      });
      const cli = features(dir);
      rows.push({
        name: `indicators: same suite, whole \`features\` step (${cli.summary})`,
        fxflowMs: cli.featuresMs,
        peer,
        peerMs: c.ms,
        note: 'step as `fxflow run --json` reports it, best of 2',
      });
      rows.push({
        name: 'indicators: same suite, whole `fxflow run` (fetch zip + features, fresh store)',
        fxflowMs: cli.wallMs,
        peer,
        peerMs: c.ms,
        note: `wall clock incl. Node start and fetch (${cli.fetchMs.toFixed(0)} ms), best of 2`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Builds (once) and runs bench/.talib/talib-bench on the same bars: its suite time and every output column. */
function talibC(d: Ohlcv, dir: string): { ms: number; median: number; version: string; outputs: Float64Array[]; perIndicator: number[] } | { error: string } {
  let bin: string;
  try {
    process.stderr.write('building TA-Lib C (bench/setup-talib.sh; once)…\n');
    bin = execFileSync('bash', [SETUP_TALIB], { stdio: ['ignore', 'pipe', 'inherit'] })
      .toString()
      .trim()
      .split('\n')
      .pop()!;
  } catch (e) {
    return { error: `bench/setup-talib.sh failed (${(e as Error).message.split('\n')[0]})` };
  }
  const n = d.close.length;
  const bars = new Float64Array(5 * n);
  [d.open, d.high, d.low, d.close, d.volume].forEach((col, k) => bars.set(col, k * n));
  const input = path.join(dir, 'bars.f64');
  const output = path.join(dir, 'talib.f64');
  writeFileSync(input, bars);
  const res = JSON.parse(execFileSync(bin, [input, output]).toString()) as {
    bars: number;
    outputs: number;
    best_ms: number;
    median_ms: number;
    version: string;
    best_per_indicator_ms: Record<string, number>;
  };
  const raw = readFileSync(output);
  const all = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
  const outputs = Array.from({ length: res.outputs }, (_, k) => all.subarray(k * n, (k + 1) * n));
  return { ms: res.best_ms, median: res.median_ms, version: res.version, outputs, perIndicator: Object.values(res.best_per_indicator_ms) };
}

/**
 * Column by column: the same NaN positions, and every other value within 1e-9 of |TA-Lib's value|
 * plus the column's mean magnitude. The kernels follow TA-Lib's arithmetic but not always its order
 * of operations, so where a value is a small difference of large ones (CCI near 0: ±7e-10 on a
 * column of magnitude ≈ 100) the last bits differ; a wrong formula is off by far more.
 */
function compare(names: string[], fxOut: Float64Array[], cOut: Float64Array[]): string {
  if (fxOut.length !== cOut.length) return `OUTPUTS DIFFER: fxflow ${fxOut.length} columns, TA-Lib ${cOut.length}`;
  const bad: string[] = [];
  let worst = 0;
  for (let k = 0; k < fxOut.length; k++) {
    const a = fxOut[k];
    const b = cOut[k];
    let sum = 0;
    let count = 0;
    for (let i = 0; i < b.length; i++) if (!Number.isNaN(b[i])) (sum += Math.abs(b[i])), count++;
    const scale = count ? sum / count : 0;
    let nanDiff = 0;
    let off = 0;
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) nanDiff++;
      else if (!Number.isNaN(a[i])) {
        const rel = Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + scale || 1);
        if (rel > worst) worst = rel;
        if (rel > 1e-9) off++;
      }
    }
    if (nanDiff || off) bad.push(`${names[k]} (${nanDiff} NaN, ${off} values off)`);
  }
  return bad.length
    ? `OUTPUTS DIFFER: ${bad.join(', ')}`
    : `all ${fxOut.length} columns agree with TA-Lib's (max diff ${worst.toExponential(1)} of the column's magnitude)`;
}

/** The suite as a pipeline (fetch the zip, features), run twice on fresh stores through the built CLI. */
function features(dir: string): { featuresMs: number; fetchMs: number; wallMs: number; summary: string } {
  const yaml = `version: 1
name: bench-indicators
steps:
  candles:
    uses: fetch
    with: { source: csv, format: histdata, path: ${JSON.stringify(path.relative(dir, ZIP))}, symbol: EURUSD, timeframe: 1m }
  features:
    uses: features
    from: candles
    with:
      indicators:
${SUITE.map((e) => `        - ${JSON.stringify({ [e[0]]: e[1] })}`).join('\n')}
`;
  writeFileSync(path.join(dir, 'ind.yaml'), yaml);
  const best = { featuresMs: Infinity, fetchMs: Infinity, wallMs: Infinity, summary: '' };
  for (let r = 0; r < 2; r++) {
    const store = path.join(dir, `store-${r}`);
    const t0 = performance.now();
    const out = execFileSync(process.execPath, [BIN, '--store', store, 'run', 'ind.yaml', '--json'], {
      cwd: dir,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
    const wall = performance.now() - t0;
    rmSync(store, { recursive: true, force: true });
    const run = JSON.parse(out) as { status: string; steps: { id: string; durationMs: number; summary?: string }[] };
    if (run.status !== 'succeeded') throw new Error(`bench-indicators pipeline ${run.status}`);
    const step = (id: string) => run.steps.find((s) => s.id === id)!;
    best.featuresMs = Math.min(best.featuresMs, step('features').durationMs);
    best.fetchMs = Math.min(best.fetchMs, step('candles').durationMs);
    best.wallMs = Math.min(best.wallMs, wall);
    best.summary = step('features').summary ?? '';
  }
  return best;
}
