/**
 * The cold end-to-end run of issue 18, as a user runs it, against the seed system's stack doing the
 * same work: `fxflow run bench/pipelines/e2e.yaml --json --store <fresh folder>` (2 years of
 * HistData EURUSD M1 → 5m, 10 indicators × 3 timeframes + 3 return lags = 48 features, 3-bar
 * forward return, temporal 60/20/20 with z-scores, ridge, threshold backtest with spread) against
 * `/usr/bin/python3 bench/e2e_pandas.py` (pandas + NumPy + scikit-learn: read_csv of the zips,
 * resample, rolling/ewm indicators, merge_asof, StandardScaler, Ridge, a vectorised backtest).
 *
 * Each side's whole command is timed (spawn to exit: start-up, imports, reading, computing, and
 * for fxflow storing every artifact in a new store and closing it), and its peak RSS is read by
 * GNU time (`/usr/bin/time -f %M`, the child's ru_maxrss; Debian package `time`). The sides run in
 * turn, round after round (FXFLOW_BENCH_ROUNDS, default 3), so a changing machine load weighs on
 * both alike; the median and the range are shown, with the load average. Both print the bars,
 * rows, features and trades, which must agree (else the bench fails), and a few metrics.
 *
 * Peer: Debian's python3-pandas, python3-sklearn (NumPy comes with them), run with /usr/bin/python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'bin', 'fxflow.js');
const PIPELINE = path.join(REPO, 'bench', 'pipelines', 'e2e.yaml');
const PEER = path.join(REPO, 'bench', 'e2e_pandas.py');
const DATA = path.resolve(REPO, '..', 'shared', 'data', 'forex');
const ZIPS = ['HISTDATA_COM_ASCII_EURUSD_M12018.zip', 'HISTDATA_COM_ASCII_EURUSD_M12019.zip'].map((f) => path.join(DATA, f));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const TIME = '/usr/bin/time';
const ROUNDS = Number(process.env.FXFLOW_BENCH_ROUNDS ?? 3);
/** Must match bench/pipelines/e2e.yaml's backtest. */
const THRESHOLD = 0.00003;
const SPREAD_PIPS = 0.8;

interface Measured {
  ms: number;
  rssMb: number;
  /** Minor page faults: memory touched for the first time (4 KiB each); a count the machine's load does not change. */
  faults: number;
  stdout: string;
}

/** Runs `cmd args` under GNU time: wall ms (spawn to exit) and the child's peak RSS; fails on a non-zero exit. */
function measure(cmd: string, args: string[], cwd: string): Measured {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-e2e-time-'));
  const out = path.join(dir, 'rss');
  try {
    const t0 = performance.now();
    const r = spawnSync(TIME, ['-f', '%M %R', '-o', out, cmd, ...args], {
      cwd,
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-2000)}`);
    const [kb, faults] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { ms, rssMb: kb / 1024, faults, stdout: r.stdout.toString() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface FxflowJson {
  status: string;
  timings: { startupMs: number; storeOpenMs: number; runMs: number; closeMs: number; totalMs: number };
  steps: { id: string; computeMs: number; storeMs: number; loadMs: number }[];
  metrics: Record<string, Record<string, number>>;
}

interface PeerJson {
  bars: number;
  rows: number;
  features: number;
  trades: number;
  total_return: number;
  sharpe: number;
  stages_ms: Record<string, number>;
  versions: Record<string, string>;
}

interface Round {
  fx: Measured & { json: FxflowJson; storeMb: number };
  py: Measured & { json: PeerJson };
}

function duMb(dir: string): number {
  const r = spawnSync('du', ['-sk', dir]);
  return r.status === 0 ? Number(r.stdout.toString().split('\t')[0]) / 1024 : NaN;
}

function runFxflow(): Round['fx'] {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-e2e-'));
  try {
    const store = path.join(dir, 'store');
    const m = measure(process.execPath, [BIN, 'run', PIPELINE, '--json', '--store', store], dir);
    const json = JSON.parse(m.stdout) as FxflowJson;
    if (json.status !== 'succeeded') throw new Error(`fxflow run ended ${json.status}`);
    return { ...m, json, storeMb: duMb(store) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runPeer(): Round['py'] {
  const m = measure(PYTHON, [PEER, ...ZIPS, '--threshold', String(THRESHOLD), '--spread-pips', String(SPREAD_PIPS)], REPO);
  return { ...m, json: JSON.parse(m.stdout) as PeerJson };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs: number[], d = 0): string => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
/** Minor page faults as MB of memory first touched. */
const mb = (faults: number): string => ((faults * 4) / 1024).toFixed(0);
const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/** Rows, features and trades must be equal; returns the agreement text. */
function agreement(fx: FxflowJson, py: PeerJson): string {
  const m = fx.metrics;
  const pairs: [string, number, number][] = [
    ['bars', m.candles.bars, py.bars],
    ['rows', m.features.rows, py.rows],
    ['features', m.features.features, py.features],
    ['trades', m.report.trades, py.trades],
  ];
  const bad = pairs.filter(([, a, b]) => a !== b);
  if (bad.length) throw new Error(`fxflow and the pandas peer disagree: ${bad.map(([k, a, b]) => `${k} ${a} vs ${b}`).join(', ')}`);
  return (
    `agree: ${pairs.map(([k, a]) => `${k} ${a}`).join(', ')}; total return rel. diff ${rel(m.report.total_return, py.total_return).toExponential(0)}, ` +
    `Sharpe ${rel(m.report.sharpe, py.sharpe).toExponential(0)}`
  );
}

export async function run(): Promise<BenchResult[]> {
  const missing = ZIPS.filter((z) => !existsSync(z));
  if (missing.length) {
    process.stderr.write(`e2e bench skipped: data not found (${missing.join(', ')}); see ../shared/data/forex/SOURCES.md\n`);
    return [];
  }
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to read each side's peak RSS: apt-get install -y time`);
  const py0 = spawnSync(PYTHON, ['-c', 'import pandas, sklearn']);
  if (py0.status !== 0) throw new Error(`${PYTHON} lacks pandas/scikit-learn: apt-get install -y python3-pandas python3-sklearn`);

  const loadBefore = loadavg()[0];
  // One unmeasured round of each: fills the OS file cache (zips, node_modules, Python modules).
  runFxflow();
  runPeer();
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const fx = runFxflow();
    const py = runPeer();
    rounds.push({ fx, py });
    const st = fx.json.steps;
    process.stderr.write(
      `  round ${r + 1}: fxflow ${(fx.ms / 1000).toFixed(2)} s ${fx.rssMb.toFixed(0)} MB, ${mb(fx.faults)} MB faulted (startup ${fx.json.timings.startupMs.toFixed(0)}, store open ${fx.json.timings.storeOpenMs.toFixed(0)}, ` +
        `steps compute ${st.map((s) => `${s.id} ${s.computeMs.toFixed(0)}`).join(' ')}; store ${st.reduce((a, s) => a + s.storeMs, 0).toFixed(0)}, close ${fx.json.timings.closeMs.toFixed(0)} ms; store ${fx.storeMb.toFixed(0)} MB) · ` +
        `pandas ${(py.ms / 1000).toFixed(2)} s ${py.rssMb.toFixed(0)} MB, ${mb(py.faults)} MB faulted (${Object.entries(py.json.stages_ms)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(' ')} ms) · load ${loadavg()[0].toFixed(1)}\n`,
    );
  }
  const agree = rounds.map((r) => agreement(r.fx.json, r.py.json))[0];
  const loadAfter = loadavg()[0];
  const fxMs = rounds.map((r) => r.fx.ms);
  const pyMs = rounds.map((r) => r.py.ms);
  const fxRss = rounds.map((r) => r.fx.rssMb);
  const pyRss = rounds.map((r) => r.py.rssMb);
  const wallRatio = rounds.map((r) => r.fx.ms / r.py.ms);
  const rssRatio = rounds.map((r) => r.fx.rssMb / r.py.rssMb);
  const v = rounds[0].py.json.versions;
  const peer = `pandas ${v.pandas} + scikit-learn ${v.sklearn}`;
  const load = `load ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}, ${ROUNDS} rounds`;
  const compute = median(rounds.map((r) => r.fx.json.steps.reduce((a, s) => a + s.computeMs + s.loadMs, 0)));
  const store = median(rounds.map((r) => r.fx.json.steps.reduce((a, s) => a + s.storeMs, 0) + r.fx.json.timings.storeOpenMs + r.fx.json.timings.closeMs));
  return [
    {
      name: 'e2e cold run, wall (2y EURUSD M1 → 5m, 48 features, ridge, backtest)',
      fxflowMs: median(fxMs),
      peer,
      peerMs: median(pyMs),
      note:
        `fxflow/peer wall ${median(wallRatio).toFixed(2)}× (range ${range(wallRatio, 2)}; target ≤ 0.1×) · fxflow ${range(fxMs)} ms, of which steps' compute ${compute.toFixed(0)} ms, ` +
        `store open + writes + close ${store.toFixed(0)} ms · peer ${range(pyMs)} ms · ${agree} · ${load}`,
    },
    {
      name: 'e2e cold run, peak RSS (MB in the ms columns)',
      fxflowMs: median(fxRss),
      peer,
      peerMs: median(pyRss),
      note: `fxflow/peer peak RSS ${median(rssRatio).toFixed(2)}× (range ${range(rssRatio, 2)}; target ≤ 1×) · fxflow ${range(fxRss)} MB, peer ${range(pyRss)} MB (GNU time %M) · memory first touched (minor page faults × 4 KiB) fxflow ${mb(median(rounds.map((r) => r.fx.faults)))} MB, peer ${mb(median(rounds.map((r) => r.py.faults)))} MB`,
    },
  ];
}
