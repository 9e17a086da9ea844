/**
 * Successive halving against the same search without it, whole commands: `fxflow run
 * pipelines/eurusd-h1-halving.yaml --json` (27 gbm trials starting at 30 boosting rounds, the best
 * third going up ×3 to 270) and the same file with every trial at 270 rounds and no `halving:`, each
 * on a fresh store, for `method: random` and `tpe`; rounds alternate the two. The ratio is the time
 * without halving over the time with it; the note has the trials run (halving adds its promoted
 * reruns), the boosting rounds in all, and each winner's validation and test Sharpe.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PIPELINE = path.join(ROOT, 'pipelines', 'eurusd-h1-halving.yaml');
const DATA = path.join(ROOT, '..', 'shared', 'data', 'forex', 'EURUSD_H1.csv');
const ROUNDS = 2;

interface RunJson {
  variants: { values: Record<string, number>; score?: number; selected: boolean; metrics: Record<string, number> }[];
}

function once(file: string, store: string): { ms: number; out: RunJson } {
  const t0 = performance.now();
  const text = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'fxflow.js'), 'run', file, '--store', store, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return { ms: performance.now() - t0, out: JSON.parse(text) as RunJson };
}

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(DATA)) {
    process.stderr.write(`halving: ${DATA} is absent; skipped\n`);
    return [];
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-halving-'));
  try {
    const base = readFileSync(PIPELINE, 'utf8').replace('../../shared/', `${path.join(ROOT, '..', 'shared')}/`);
    const full = base.replace(/^ {2}halving:.*\n/m, '').replace('n_estimators: "${matrix.rounds}"', 'n_estimators: 270');
    const out: BenchResult[] = [];
    for (const method of ['random', 'tpe'] as const) {
      const files = [base, full].map((t, i) => {
        const f = path.join(dir, `${method}-${i}.yaml`);
        writeFileSync(f, t.replace('method: tpe', `method: ${method}`));
        return f;
      });
      const ms: [number[], number[]] = [[], []];
      const last: RunJson[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        files.forEach((f, i) => {
          const store = path.join(dir, `store-${method}-${i}-${r}`);
          const o = once(f, store);
          ms[i].push(o.ms);
          last[i] = o.out;
          rmSync(store, { recursive: true, force: true });
        });
      }
      const winner = (j: RunJson) => j.variants.find((v) => v.selected)!;
      const rounds = (j: RunJson) => j.variants.reduce((s, v) => s + (v.values.rounds ?? 270), 0);
      const [h, f] = last.map(winner);
      out.push({
        name: `27-trial ${method} search, gbm on EURUSD H1: successive halving 30 → 90 → 270 rounds (whole command, best of ${ROUNDS})`,
        fxflowMs: Math.min(...ms[0]),
        peer: 'the same search, every trial 270 rounds',
        peerMs: Math.min(...ms[1]),
        note:
          `trials ${last[0].variants.length} vs ${last[1].variants.length}, boosting rounds ${rounds(last[0])} vs ${rounds(last[1])}; ` +
          `winner val/test Sharpe ${h.score?.toFixed(2)}/${h.metrics['report.sharpe']?.toFixed(2)} vs ${f.score?.toFixed(2)}/${f.metrics['report.sharpe']?.toFixed(2)}; load ${loadavg()[0].toFixed(1)}`,
      });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
