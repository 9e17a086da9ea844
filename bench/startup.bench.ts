/**
 * Start-up (issue 18): wall time of a process that does nothing (`node -e 0`, the floor any Node
 * CLI starts from) against `fxflow --version`, `--help`, `validate` of the quickstart, and a
 * rerun of the quickstart whose steps are all cached. The cases run in turn, round after round,
 * so a load that changes during the run weighs on each alike; the median of the rounds is shown.
 * `npm run bench -- startup`; FXFLOW_BENCH_ROUNDS sets the rounds (default 9).
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
  try {
    cpSync(path.join(REPO, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true });
    const cases: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['fxflow --version', [BIN, '--version']],
      ['fxflow --help', [BIN, '--help']],
      ['fxflow validate quickstart', [BIN, 'validate', 'pipelines/quickstart.yaml']],
      ['fxflow run quickstart, all cached', [BIN, 'run', 'pipelines/quickstart.yaml']],
    ];
    // Fill the cache (and warm the OS file cache for every case) before timing.
    for (const [, args] of cases) timed(args, dir);
    const ms = new Map(cases.map(([name]) => [name, [] as number[]]));
    for (let r = 0; r < ROUNDS; r++) for (const [name, args] of cases) ms.get(name)!.push(timed(args, dir));
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
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
