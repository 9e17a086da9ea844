/**
 * Start-up (issue 18): wall time of a process that does nothing (`node -e 0`, the floor any Node
 * CLI starts from) against `fxflow --version`, `--help`, `validate` of the quickstart, and a
 * rerun of the quickstart whose steps are all cached. The cases run in turn, round after round,
 * so a load that changes during the run weighs on each alike; the median of the rounds is shown.
 * `npm run bench -- startup`; FXFLOW_BENCH_ROUNDS sets the rounds (default 9). FXFLOW_BENCH_BASE, the
 * folder of another built checkout (e.g. the commit before a change), adds its cached rerun and
 * `--version` to the same rounds, each against its own cache: before and after under one load.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(REPO, 'bin', 'fxflow.js');
const ROUNDS = Number(process.env.FXFLOW_BENCH_ROUNDS ?? 9);
const BASE = process.env.FXFLOW_BENCH_BASE;

/** Milliseconds from spawn to exit; fails on a non-zero exit (a broken case must not read as fast). */
function timed(args: string[], cwd: string): number {
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
  const baseDir = mkdtempSync(path.join(tmpdir(), 'fxflow-startup-bench-base-'));
  try {
    cpSync(path.join(REPO, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true });
    cpSync(path.join(REPO, 'pipelines'), path.join(baseDir, 'pipelines'), { recursive: true });
    const cases: [string, string[], string][] = [
      ['node -e 0', ['-e', '0'], dir],
      ['fxflow --version', [BIN, '--version'], dir],
      ['fxflow --help', [BIN, '--help'], dir],
      ['fxflow validate quickstart', [BIN, 'validate', 'pipelines/quickstart.yaml'], dir],
      ['fxflow run quickstart, all cached', [BIN, 'run', 'pipelines/quickstart.yaml'], dir],
    ];
    const baseBin = BASE && path.join(path.resolve(BASE), 'bin', 'fxflow.js');
    if (baseBin) {
      cases.push(['base: fxflow --version', [baseBin, '--version'], baseDir]);
      cases.push(['base: fxflow run quickstart, all cached', [baseBin, 'run', 'pipelines/quickstart.yaml'], baseDir]);
    }
    // Fill the cache (and warm the OS file cache for every case) before timing.
    for (const [, args, cwd] of cases) timed(args, cwd);
    const ms = new Map(cases.map(([name]) => [name, [] as number[]]));
    for (let r = 0; r < ROUNDS; r++) for (const [name, args, cwd] of cases) ms.get(name)!.push(timed(args, cwd));
    const m = (name: string): number => median(ms.get(name)!);
    const node = m('node -e 0');
    const version = m('fxflow --version');
    const load = `load ${loadavg()[0].toFixed(1)} on ${ROUNDS} rounds`;
    const range = (name: string): string => `min ${Math.min(...ms.get(name)!).toFixed(0)} ms`;
    return [
      ...cases.slice(1, 4).map(([name]) => ({
        name,
        fxflowMs: m(name),
        peer: 'node -e 0',
        peerMs: node,
        note: `${(m(name) / node).toFixed(1)}× node -e 0 · ${range(name)} · ${load}`,
      })),
      {
        name: 'fxflow run quickstart, all cached',
        fxflowMs: m('fxflow run quickstart, all cached'),
        peer: 'fxflow --version',
        peerMs: version,
        note: `${(m('fxflow run quickstart, all cached') / version).toFixed(1)}× --version, ${(m('fxflow run quickstart, all cached') / node).toFixed(1)}× node -e 0 · ${range('fxflow run quickstart, all cached')} · ${load}`,
      },
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
    rmSync(dir, { recursive: true, force: true });
    rmSync(baseDir, { recursive: true, force: true });
  }
}
