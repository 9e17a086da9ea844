/**
 * Start-up (issue 18): wall time of a process that does nothing (`node -e 0`, the floor any Node
 * CLI starts from) against `fxflow --version`, `--help`, `validate` of the quickstart, and a
 * rerun of the quickstart whose steps are all cached: from the plan memo (src/runtime/plan-memo.ts,
 * the rerun of an unchanged pipeline) and without it (its memo removed before each round, as
 * after an edit: parse, validate, compile, keys). With the shared HistData files present, the
 * cached rerun of bench/pipelines/e2e.yaml (2 years of M1; its cold run first fills a store of its
 * own) too. The target is a cached rerun ≤ 1.5× `--version`. The cases run in turn, round after round,
 * so a load that changes during the run weighs on each alike; the median of the rounds is shown,
 * with the load average before and after.
 * `npm run bench -- startup`; FXFLOW_BENCH_ROUNDS sets the rounds (default 9). FXFLOW_BENCH_BASE, the
 * folder of another built checkout (e.g. the commit before a change), adds its cached rerun and
 * `--version` to the same rounds, each against its own cache: before and after under one load.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'bin', 'fxflow.js');
const ROUNDS = Number(process.env.FXFLOW_BENCH_ROUNDS ?? 9);
const BASE = process.env.FXFLOW_BENCH_BASE;
/** The shared data bench/pipelines/e2e.yaml reads (../shared/data/forex from the repo root). */
const DATA = path.join(REPO, '..', 'shared', 'data', 'forex');
const E2E_DATA = ['HISTDATA_COM_ASCII_EURUSD_M12018.zip', 'HISTDATA_COM_ASCII_EURUSD_M12019.zip'];

/** Milliseconds from spawn to exit; fails on a non-zero exit (a broken case must not read as fast). `before` runs untimed. */
function timed(args: string[], cwd: string, before?: () => void): number {
  before?.();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, CI: '1', NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`startup bench: node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-startup-bench-'));
  const noMemoDir = mkdtempSync(path.join(tmpdir(), 'fxflow-startup-bench-nomemo-'));
  const baseDir = mkdtempSync(path.join(tmpdir(), 'fxflow-startup-bench-base-'));
  const e2eStore = mkdtempSync(path.join(tmpdir(), 'fxflow-startup-bench-e2e-'));
  try {
    for (const d of [dir, noMemoDir, baseDir]) cpSync(path.join(REPO, 'pipelines'), path.join(d, 'pipelines'), { recursive: true });
    const CACHED = 'fxflow run quickstart, all cached';
    const NO_MEMO = 'fxflow run quickstart, all cached, no memo';
    const E2E = 'fxflow run e2e (2 years of M1), all cached';
    const cases: [string, string[], string, (() => void)?][] = [
      ['node -e 0', ['-e', '0'], dir],
      ['fxflow --version', [BIN, '--version'], dir],
      ['fxflow --help', [BIN, '--help'], dir],
      ['fxflow validate quickstart', [BIN, 'validate', 'pipelines/quickstart.yaml'], dir],
      [CACHED, [BIN, 'run', 'pipelines/quickstart.yaml'], dir],
      [NO_MEMO, [BIN, 'run', 'pipelines/quickstart.yaml'], noMemoDir, () => rmSync(path.join(noMemoDir, '.fxflow', 'memo'), { recursive: true, force: true })],
    ];
    const e2e = E2E_DATA.every((f) => existsSync(path.join(DATA, f)));
    if (e2e) cases.push([E2E, [BIN, 'run', 'bench/pipelines/e2e.yaml', '--store', e2eStore], REPO]);
    else process.stderr.write(`startup bench: ${DATA} lacks the HistData zips of bench/pipelines/e2e.yaml: its cached rerun is skipped\n`);
    const baseBin = BASE && path.join(path.resolve(BASE), 'bin', 'fxflow.js');
    if (baseBin) {
      cases.push(['base: fxflow --version', [baseBin, '--version'], baseDir]);
      cases.push(['base: fxflow run quickstart, all cached', [baseBin, 'run', 'pipelines/quickstart.yaml'], baseDir]);
    }
    // Fill the cache (the e2e's cold run takes a while) and warm the OS file cache for every case before timing.
    for (const [, args, cwd, before] of cases) timed(args, cwd, before);
    const loadBefore = loadavg()[0];
    const ms = new Map(cases.map(([name]) => [name, [] as number[]]));
    for (let r = 0; r < ROUNDS; r++) for (const [name, args, cwd, before] of cases) ms.get(name)!.push(timed(args, cwd, before));
    const m = (name: string): number => median(ms.get(name)!);
    const node = m('node -e 0');
    const version = m('fxflow --version');
    const load = `load ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)} (${availableParallelism()} cores), ${ROUNDS} rounds`;
    const range = (name: string): string => `min ${Math.min(...ms.get(name)!).toFixed(0)} ms`;
    // Each round's own ratio (both sides measured back to back), then their median: steadier under a changing load.
    const ratio = (name: string): string => {
      const v = ms.get('fxflow --version')!;
      return `${median(ms.get(name)!.map((x, i) => x / v[i])).toFixed(2)}× --version (median of rounds' ratios; target ≤ 1.5×)`;
    };
    const cached = (name: string) => ({
      name,
      fxflowMs: m(name),
      peer: 'fxflow --version',
      peerMs: version,
      note: `${ratio(name)}, ${(m(name) / node).toFixed(1)}× node -e 0 · ${range(name)} · ${load}`,
    });
    return [
      ...cases.slice(1, 4).map(([name]) => ({
        name,
        fxflowMs: m(name),
        peer: 'node -e 0',
        peerMs: node,
        note: `${(m(name) / node).toFixed(1)}× node -e 0 · ${range(name)} · ${load}`,
      })),
      cached(CACHED),
      cached(NO_MEMO),
      ...(e2e ? [cached(E2E)] : []),
      ...(baseBin
        ? [
            {
              name: `base ${BASE}: run quickstart, all cached`,
              fxflowMs: m('base: fxflow run quickstart, all cached'),
              peer: 'base --version',
              peerMs: m('base: fxflow --version'),
              note: `${(m('base: fxflow run quickstart, all cached') / m('base: fxflow --version')).toFixed(1)}× its --version; this checkout's cached rerun is ${(m('base: fxflow run quickstart, all cached') / m('fxflow run quickstart, all cached')).toFixed(1)}× faster · ${load}`,
            },
          ]
        : []),
    ];
  } finally {
    for (const d of [dir, noMemoDir, baseDir, e2eStore]) rmSync(d, { recursive: true, force: true });
  }
}
