/**
 * Indicator throughput on the 2018 EURUSD M1 series (HistData, 372,607 bars): fxflow's TA-Lib-exact
 * kernels against the npm `technicalindicators` package (installed in bench/ only), the library a JS
 * user reaches for, on the indicators both have, with the same periods.
 *
 * Each row: median of 3 timed runs after one warm-up, in this process. The suite row sums the
 * shared indicators; its note gives fxflow's throughput over its whole ~40-output suite in output
 * values per second (TA-Lib's C build does about 57 M/s on this kind of machine).
 *
 * The zip is read here with `unzip -p` (not through src/data), so the benchmark measures only the
 * kernels.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INDICATORS, type IndicatorName, type IndicatorParamsMap } from '../src/indicators/index.js';
import type { BenchResult } from './run.js';

const FOREX = fileURLToPath(new URL('../../shared/data/forex', import.meta.url));
const ZIP = path.join(FOREX, 'HISTDATA_COM_ASCII_EURUSD_M12018.zip');

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
    ['MACD 12/26/9 (3 outputs)', one('macd'), () => ti.MACD.calculate({ values: close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }), 3],
    ['ROC 10', one('roc'), () => ti.ROC.calculate({ period: 10, values: close }), 1],
    ['TRIX 30', one('trix'), () => ti.TRIX.calculate({ period: 30, values: close }), 1],
    ['STOCH 5/3 (2 outputs)', one('stochf'), () => ti.Stochastic.calculate({ high, low, close, period: 5, signalPeriod: 3 }), 2],
    ['STOCHRSI 14/14/3/3 (2)', () => fx(d, ['stochrsi', { period: 14, fastk: 14, fastd: 3, ma: 'sma', on: 'close' }]), () => ti.StochasticRSI.calculate({ values: close, rsiPeriod: 14, stochasticPeriod: 14, kPeriod: 3, dPeriod: 3 }), 2],
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
    rows.push({ name: `indicators: ${label}`, fxflowMs: fxMs, peer: 'technicalindicators', peerMs, note: `${((outs * n) / fxMs / 1000).toFixed(0)} M values/s` });
  }
  // The whole fxflow suite (every indicator once, TA-Lib defaults).
  let suiteOutputs = 0;
  for (const e of SUITE) suiteOutputs += fx(d, e).length;
  const suiteMs = time(() => {
    for (const e of SUITE) fx(d, e);
  });
  rows.push({
    name: `indicators: ${shared.length} shared (${sharedOutputs} outputs) × ${n.toLocaleString('en')} M1 bars`,
    fxflowMs: fxTotal,
    peer: 'technicalindicators',
    peerMs: peerTotal,
    note: `fxflow full suite: ${SUITE.length} indicators, ${suiteOutputs} outputs in ${suiteMs.toFixed(0)} ms = ${((suiteOutputs * n) / suiteMs / 1000).toFixed(1)} M values/s`,
  });
  return rows;
}
