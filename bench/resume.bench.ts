/**
 * Is it worth storing the follower state so that a *new* process (`fxflow run` after a feed
 * appended a bar) can extend instead of recomputing (issue 21, part 2)? On two years of EURUSD M1
 * (2018 + 2019 HistData, 745k bars), a pipeline of `fetch` + `features` (the indicators that
 * continue from their state, as bench/incremental.bench.ts):
 *
 * - today: `fxflow run` in a new process after one bar was appended (wall clock of the process:
 *   start-up, cache keys (the file's hash), the whole file parsed, every feature recomputed, both
 *   artifacts written), the store holding the run before the append;
 * - extending from a stored state, a lower bound of what such a process must still do: start-up
 *   (a `fxflow validate` process), the cache keys, reading and decoding the previous run's candles
 *   and features artifacts from the store (an extension writes past them), the extension itself
 *   (FetchFollower `ends` + FeaturesFollower: the in-process cost, as if the indicator states were
 *   loaded for free), and encoding and writing the two new artifacts.
 *
 * The ratio is today / that bound: the most a stored follower state could save.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Candles, Features } from '../src/core/artifacts.js';
import { unpack } from '../src/data/files.js';
import { loadPlan } from '../src/pipeline.js';
import { decodeArtifact, encodeArtifactParts } from '../src/runtime/codec.js';
import { computeKeys } from '../src/runtime/keys.js';
import { Store } from '../src/runtime/store.js';
import { FetchFollower } from '../src/steps/fetch/follow.js';
import type { FetchParams } from '../src/steps/fetch/params.js';
import { FeaturesFollower } from '../src/steps/features/follow.js';
import type { FeaturesParams } from '../src/steps/features/params.js';
import type { BenchResult } from './run.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FOREX = fileURLToPath(new URL('../../shared/data/forex', import.meta.url));
const ZIPS = ['HISTDATA_COM_ASCII_EURUSD_M12018.zip', 'HISTDATA_COM_ASCII_EURUSD_M12019.zip'].map((f) => path.join(FOREX, f));

const PIPELINE = `version: 1
name: resume
steps:
  candles:
    uses: fetch
    with: { source: csv, path: data.csv, symbol: EURUSD, timeframe: 1m }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
        - ema: { period: 20 }
        - sma: { period: 50 }
        - macd: { fast: 12, slow: 26, signal: 9 }
        - atr: { period: 14 }
        - natr: { period: 14 }
        - cmo: { period: 14 }
        - willr: { period: 14 }
        - cci: { period: 20 }
        - roc: { period: 10 }
        - aroonosc: { period: 14 }
        - linearreg: { period: 14 }
        - candle: {}
      returns: [1, 4, 24]
      volatility: [24]
      zscores: [20]
      calendar: true
      sessions: true
      target: { forward_return: { horizons: [1] } }
`;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cli = (dir: string, ...args: string[]): void => {
  execFileSync(process.execPath, [path.join(REPO, 'bin', 'fxflow.js'), ...args], { cwd: dir, stdio: 'ignore', env: { ...process.env, CI: '1' } });
};
const timed = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};

export async function run(): Promise<BenchResult[]> {
  if (!ZIPS.every((z) => existsSync(z))) {
    process.stderr.write(`resume: ${FOREX} has no EURUSD M1 zips; skipped\n`);
    return [];
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-resume-'));
  try {
    const text = Buffer.concat(ZIPS.flatMap((z) => unpack(z, readFileSync(z)).map((p) => p.bytes)));
    const ends: number[] = [];
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) ends.push(i + 1);
    const reps = 3;
    let at = ends.length - reps - 1;
    const data = path.join(dir, 'data.csv');
    const yaml = path.join(dir, 'resume.yaml');
    writeFileSync(data, text.subarray(0, ends[at - 1]));
    writeFileSync(yaml, PIPELINE);
    const store = path.join(dir, '.fxflow');
    cli(dir, 'run', 'resume.yaml', '--store', store);

    const today: number[] = [];
    const bound: number[] = [];
    const parts: string[] = [];
    for (let r = 0; r < reps; r++) {
      // The keys of the run before the append: what an extending process would start from.
      const before = await computeKeys(await loadPlan(yaml, undefined, { execute: true }));
      const prev = { candles: before.get('candles')!.key, features: before.get('features')!.key };
      appendFileSync(data, text.subarray(ends[at - 1], ends[at]));
      at++;
      today.push(timed(() => cli(dir, 'run', 'resume.yaml', '--store', store)));

      // The lower bound of an extending process (see the head of this file).
      const startMs = timed(() => cli(dir, 'validate', 'resume.yaml'));
      let t0 = performance.now();
      const plan = await loadPlan(yaml, undefined, { execute: true });
      await computeKeys(plan);
      const keysMs = performance.now() - t0;
      t0 = performance.now();
      const s = await Store.open(store, { readOnly: true });
      const candles = decodeArtifact<Candles>((await s.getArtifactBytes(prev.candles))!);
      const features = decodeArtifact<Features>((await s.getArtifactBytes(prev.features))!);
      await s.close();
      const loadMs = performance.now() - t0;
      // The extension, from followers made beforehand (their states loaded for free).
      const fetchNode = plan.nodes.find((n) => n.id === 'candles')!;
      const featNode = plan.nodes.find((n) => n.id === 'features')!;
      const fp = { ...(fetchNode.params as unknown as FetchParams), path: data };
      writeFileSync(path.join(dir, 'grow.csv'), readFileSync(data).subarray(0, ends[at - 2]));
      const ff = new FetchFollower({ ...fp, path: path.join(dir, 'grow.csv') }, path.join(dir, 'grow.csv'), 'ends');
      const fe = new FeaturesFollower(featNode.params as unknown as FeaturesParams, ff.candles());
      fe.init(ff.candles());
      appendFileSync(path.join(dir, 'grow.csv'), text.subarray(ends[at - 2], ends[at - 1]));
      t0 = performance.now();
      ff.update();
      const ext = fe.extend(ff.candles());
      const extendMs = performance.now() - t0;
      t0 = performance.now();
      const scratch = path.join(dir, `scratch-${r}`);
      const w = await Store.open(scratch);
      const meta = { metrics: {}, warnings: [] };
      await w.putArtifact('c', { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, encodeArtifactParts(ff.candles()));
      await w.putArtifact('f', { type: 'Features', kind: 'features', stepVersion: 1, meta }, encodeArtifactParts(ext));
      await w.close();
      const writeMs = performance.now() - t0;
      rmSync(scratch, { recursive: true, force: true });
      bound.push(startMs + keysMs + loadMs + extendMs + writeMs);
      parts.push(
        `start ${startMs.toFixed(0)} + keys ${keysMs.toFixed(0)} + read previous artifacts ${loadMs.toFixed(0)} (${candles.index.length} bars, ${features.featureNames.length} columns) + extend ${extendMs.toFixed(1)} + write ${writeMs.toFixed(0)} ms`,
      );
    }
    const i = bound.indexOf(median(bound));
    return [
      {
        name: 'new process after 1 M1 bar appended to 745k: extend from a stored state (lower bound)',
        fxflowMs: median(bound),
        peer: '`fxflow run` today (recompute fetch + features)',
        peerMs: median(today),
        note: `median of ${reps}; today ${today.map((x) => x.toFixed(0)).join('/')} ms; bound ${bound.map((x) => x.toFixed(0)).join('/')} ms = ${parts[i]}; load ${loadavg()[0].toFixed(1)}`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
