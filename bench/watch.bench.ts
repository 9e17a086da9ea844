/**
 * Watch-mode latency: save → change seen, save → first recomputed step started, save → run done,
 * for an edit of the last step of the quickstart (`entry_threshold`), with the default debounce.
 * The "peer" is the target: 300 ms from save to the first step started.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = 5;

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-watch-bench-'));
  cpSync(path.join(REPO, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true });
  const file = path.join(dir, 'pipelines', 'quickstart.yaml');
  const text = readFileSync(file, 'utf8');
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'fxflow.js'), 'watch', 'pipelines/quickstart.yaml'], {
    cwd: dir,
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const marks: { at: number; len: number }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    marks.push({ at: performance.now(), len: out.length });
  });
  // When did `pattern` first appear after offset `from`?
  const when = (from: number, pattern: RegExp): number | undefined => {
    const i = out.slice(from).search(pattern);
    if (i < 0) return undefined;
    return marks.find((m) => m.len > from + i)?.at;
  };
  const waitFor = async (from: number, pattern: RegExp): Promise<number> => {
    for (let t = 0; t < 600; t++) {
      const at = when(from, pattern);
      if (at !== undefined) return at;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`watch bench: ${pattern} never appeared:\n${out}`);
  };
  try {
    await waitFor(0, /watching \d+ files? for changes/);
    const seen: number[] = [];
    const started: number[] = [];
    const done: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      await new Promise((res) => setTimeout(res, 300));
      const from = out.length;
      const t0 = performance.now();
      writeFileSync(file, text.replace('entry_threshold: 0.00005', `entry_threshold: 0.000${1 + r}`));
      seen.push((await waitFor(from, /changed:/)) - t0);
      started.push((await waitFor(from, /▸ report/)) - t0);
      done.push((await waitFor(from, /watching \d+ files? for changes/)) - t0);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return [
      { name: 'watch: save → change seen (median of 5)', fxflowMs: median(seen), peer: 'target', peerMs: 300 },
      { name: 'watch: save → first recomputed step started', fxflowMs: median(started), peer: 'target', peerMs: 300, note: 'debounce 50 ms included' },
      {
        name: 'watch: save → run done (report recomputed)',
        fxflowMs: median(done),
        peer: '—',
        peerMs: Number.NaN,
        note: 'includes reading 4 cached steps and the backtest',
      },
    ];
  } finally {
    child.kill('SIGINT');
  }
}
