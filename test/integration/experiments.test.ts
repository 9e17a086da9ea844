import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/runtime/store.js';
import { fxflow, parseRun, spawnFxflow, workdir, type CliResult } from '../helpers/cli.js';

/** Sweeps, selection, run comparison, interruption and retention, through the CLI a user types. */

interface SweepJson {
  runId: string;
  status: string;
  steps: { id: string; step: string; kind: string; key: string; cached: boolean; status: string; variants: Record<string, unknown>[] }[];
  metrics: Record<string, Record<string, number>>;
  variants: { index: number; values: Record<string, unknown>; score?: number; selected: boolean; metrics: Record<string, number> }[];
  selected?: number;
}

function pipelineText(opts: { bars?: number; matrix?: string; select?: string; alpha?: string; threshold?: string; name?: string } = {}): string {
  return `version: 1
name: ${opts.name ?? 'sweep'}
seed: 11
${opts.matrix ? `matrix:\n${opts.matrix}\n` : ''}${opts.select ? `select: ${opts.select}\n` : ''}steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: ${opts.bars ?? 3000} }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } }, { ema: { period: 10 } } ]
      returns: [1, 4]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: ${opts.alpha ?? '"${matrix.alpha}"'} }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: ${opts.threshold ?? '"${matrix.threshold}"'} }
`;
}

const MATRIX = '  alpha: [0.1, 10, 1000]\n  threshold: [0, 0.0001]';

function write(dir: string, name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

function sweepOf(r: CliResult): SweepJson {
  return parseRun(r) as unknown as SweepJson;
}

describe('a 3×2 sweep over model and backtest params', () => {
  const dir = workdir();
  const file = write(dir, 'sweep.yaml', pipelineText({ matrix: MATRIX, select: '{ metric: report.sharpe, on: val, mode: max }' }));
  let first: SweepJson;

  it('computes fetch, features and split once, each model once, and lists every node once with its variants', async () => {
    first = sweepOf(await fxflow(['run', file, '--json', '--jobs', '2'], { cwd: dir }));
    expect(first.status).toBe('succeeded');
    const computed = (step: string) => first.steps.filter((s) => s.step === step && !s.cached).length;
    expect([computed('candles'), computed('features'), computed('dataset'), computed('model'), computed('report'), computed('report@val')]).toEqual([
      1, 1, 1, 3, 6, 6,
    ]);
    expect(first.steps).toHaveLength(18);
    expect(new Set(first.steps.map((s) => s.id)).size).toBe(18);
    expect(new Set(first.steps.map((s) => s.key)).size).toBe(18);
    const candles = first.steps.find((s) => s.id === 'candles')!;
    expect(candles.variants).toHaveLength(6);
    expect(first.steps.find((s) => s.id === 'model[alpha=10]')!.variants).toEqual([
      { alpha: 10, threshold: 0 },
      { alpha: 10, threshold: 0.0001 },
    ]);
    expect(first.variants.map((v) => v.values)).toEqual([
      { alpha: 0.1, threshold: 0 },
      { alpha: 0.1, threshold: 0.0001 },
      { alpha: 10, threshold: 0 },
      { alpha: 10, threshold: 0.0001 },
      { alpha: 1000, threshold: 0 },
      { alpha: 1000, threshold: 0.0001 },
    ]);
  });

  it('select picks the variant with the highest val Sharpe, and marks it', async () => {
    const scores = first.variants.map((v) => v.metrics['report@val.sharpe']);
    expect(first.variants.map((v) => v.score)).toEqual(scores);
    const best = scores.indexOf(Math.max(...scores));
    expect(first.selected).toBe(best);
    expect(first.variants.filter((v) => v.selected).map((v) => v.index)).toEqual([best]);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { id: string; variants: { index: number; selected: boolean }[] }[];
    expect(runs[0].variants.find((v) => v.selected)!.index).toBe(best);
    const text = (await fxflow(['runs'], { cwd: dir })).stdout;
    expect(text).toContain(`leaderboard of ${first.runId} (sweep) · 6 variants · select report.sharpe on val (max)`);
    const v = first.variants[best].values;
    expect(text).toMatch(new RegExp(`\\n\\s+1\\s+★\\s+${v.alpha}\\s+${v.threshold}\\s`));
  });

  it('a variant computes what the same pipeline without a matrix computes (same keys, same metrics)', async () => {
    const v = first.variants[first.selected!].values;
    const plain = write(dir, 'plain.yaml', pipelineText({ name: 'sweep', alpha: String(v.alpha), threshold: String(v.threshold) }));
    const run = parseRun(await fxflow(['run', plain, '--json'], { cwd: dir }));
    expect(run.steps.every((s) => s.cached)).toBe(true);
    const node = first.steps.find(
      (s) => s.step === 'report' && s.variants.length === 1 && s.variants[0].alpha === v.alpha && s.variants[0].threshold === v.threshold,
    )!;
    expect(run.steps.find((s) => s.id === 'report')!.key).toBe(node.key);
    expect(run.metrics.report).toEqual(first.metrics[node.id]);
  });

  it('a rerun is all cache hits with the same selection', async () => {
    const again = sweepOf(await fxflow(['run', file, '--json'], { cwd: dir }));
    expect(again.steps.every((s) => s.cached)).toBe(true);
    expect(again.selected).toBe(first.selected);
    expect(again.variants).toEqual(first.variants);
  });

  it('a bad matrix is a located error, exit 2', async () => {
    const bad = write(
      dir,
      'bad.yaml',
      pipelineText({ matrix: '  alpha: [1]\n  threshold: [0]\n  exclude: [{ alhpa: 1 }]' }).replace('${matrix.threshold}', '${matrix.thresold}'),
    );
    const r = await fxflow(['run', bad], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yaml:7:15: error: unknown matrix dimension `alhpa` in exclude (at matrix.exclude[0].alhpa)');
    expect(r.stderr).toContain('hint: did you mean `alpha`?');
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: error: undefined variable `matrix\.thresold`/);
    expect(r.stderr).toContain('hint: did you mean `threshold`?');
  });
});

describe('diff, show and runs on two runs differing in one param', () => {
  it('names the param with its YAML path, the metric deltas and the recomputed step', async () => {
    const dir = workdir();
    const f = write(dir, 'p.yaml', pipelineText({ name: 'plain', alpha: '1', threshold: '0.0001' }));
    const a = parseRun(await fxflow(['run', f, '--json'], { cwd: dir }));
    const textA = readFileSync(path.join(dir, f), 'utf8');
    write(dir, f, pipelineText({ name: 'plain', alpha: '1', threshold: '0.0002' }));
    const b = parseRun(await fxflow(['run', f, '--json'], { cwd: dir }));

    const d = JSON.parse((await fxflow(['diff', a.runId, 'latest', '--json'], { cwd: dir })).stdout) as {
      params: { step: string; yamlPath: string; from: unknown; to: unknown }[];
      metrics: { name: string; a: number | null; b: number | null; delta: number | null }[];
      steps: { recomputed: string[]; cached: string[] };
    };
    // exit_threshold left out is entry_threshold, resolved before the key: it changes with it.
    expect(d.params).toEqual([
      { step: 'report', path: 'entry_threshold', yamlPath: 'steps.report.with.entry_threshold', from: 0.0001, to: 0.0002 },
      { step: 'report', path: 'exit_threshold', yamlPath: 'steps.report.with.exit_threshold', from: 0.0001, to: 0.0002 },
    ]);
    expect(d.steps.recomputed).toEqual(['report']);
    expect(d.steps.cached.sort()).toEqual(['candles', 'dataset', 'features', 'model']);
    const sharpe = d.metrics.find((m) => m.name === 'report.sharpe')!;
    expect(sharpe).toEqual({
      name: 'report.sharpe',
      a: a.metrics.report.sharpe,
      b: b.metrics.report.sharpe,
      delta: b.metrics.report.sharpe - a.metrics.report.sharpe,
    });
    // Metrics of steps that did not change are equal, delta 0.
    expect(d.metrics.find((m) => m.name === 'model.val_ic_fwd_ret_1')!.delta).toBe(0);

    const text = (await fxflow(['diff', 'latest~1', 'latest'], { cwd: dir })).stdout;
    expect(text).toMatch(/steps\.report\.with\.entry_threshold\s+0\.0001\s+0\.0002\s+report/);
    expect(text).toContain('recomputed in B: report');

    const runs = (await fxflow(['runs'], { cwd: dir })).stdout;
    expect(runs).toContain('report.entry_threshold 0.0001 → 0.0002');

    // show --pipeline prints the file as it was for that run.
    expect((await fxflow(['show', a.runId, '--pipeline'], { cwd: dir })).stdout).toBe(textA);
    const show = await fxflow(['show', 'latest'], { cwd: dir });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`run ${b.runId}`);
    expect(show.stdout).toMatch(/report\s+backtest\s+computed/);
    expect(show.stdout).toContain('entry_threshold: 0.0002');
    const missing = await fxflow(['show', 'nope'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: no run `nope` in this store');
  });
});

/** Starts a run and sends `signal` once stdout matches `when`. */
function runAndSignal(
  dir: string,
  args: string[],
  when: RegExp,
  signal: NodeJS.Signals,
): Promise<{ stdout: string; code: number | null; signal: NodeJS.Signals | null; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawnFxflow(args, { cwd: dir });
    let stdout = '';
    let sent = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && when.test(stdout)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ stdout, code, signal: sig, sent }));
  });
}

describe('interruption', () => {
  const big = (): string => pipelineText({ bars: 40000, matrix: '  alpha: [0.1, 10]\n  threshold: [0, 0.0001]' });

  it('SIGINT ends the run as interrupted (exit 130); the rerun reuses what completed', async () => {
    const dir = workdir();
    const f = write(dir, 's.yaml', big());
    const r = await runAndSignal(dir, ['run', f, '--jobs', '1'], /✓ features\s/, 'SIGINT');
    expect(r.sent).toBe(true);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { status: string }[];
    if (r.code === 0) return; // the run finished before the signal landed: nothing to check
    expect(r.code).toBe(130);
    expect(runs[0].status).toBe('interrupted');
    const rerun = sweepOf(await fxflow(['run', f, '--json'], { cwd: dir }));
    expect(rerun.status).toBe('succeeded');
    expect(rerun.steps.find((s) => s.id === 'features')!.cached).toBe(true);
  }, 120_000);

  it('kill -9 mid-sweep, then rerun: results identical to an uninterrupted sweep', async () => {
    const ref = workdir();
    const reference = sweepOf(await fxflow(['run', write(ref, 's.yaml', big()), '--json'], { cwd: ref }));
    expect(reference.status).toBe('succeeded');

    const dir = workdir();
    const f = write(dir, 's.yaml', big());
    const r = await runAndSignal(dir, ['run', f, '--jobs', '1'], /✓ model\[/, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    const rerun = sweepOf(await fxflow(['run', f, '--json'], { cwd: dir }));
    expect(rerun.status).toBe('succeeded');
    // Work finished before the kill is reused; the rest is computed now.
    expect(rerun.steps.find((s) => s.id === 'candles')!.cached).toBe(true);
    expect(rerun.steps.some((s) => !s.cached)).toBe(true);
    expect(rerun.steps.map((s) => [s.id, s.key])).toEqual(reference.steps.map((s) => [s.id, s.key]));
    expect(rerun.metrics).toEqual(reference.metrics);
    expect(rerun.variants).toEqual(reference.variants);
    expect(rerun.selected).toBe(reference.selected);
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['succeeded', 'interrupted']);
  }, 240_000);
});

/** Child processes of `pid` running the pool's worker, with the CPU ticks each has used (Linux /proc). */
function poolWorkers(pid: number): { pid: number; ticks: number }[] {
  const out: { pid: number; ticks: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, …, utime (14th), stime (15th).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== pid || !readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('worker.js')) continue;
      out.push({ pid: Number(d), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether a process is gone (or a zombie no one has reaped yet: it runs nothing). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('SIGKILL of a sweep with --jobs 2', () => {
  it.skipIf(!existsSync('/proc/self/stat'))(
    'its worker processes, busy fitting, exit at once and print nothing',
    async () => {
      const dir = workdir();
      // Two random-forest fits far longer than the test: a worker left running would be seen.
      const text = pipelineText({ bars: 40000, alpha: '1', threshold: '0.0001', matrix: '  depth: [7, 8]' }).replace(
        'with: { model: ridge, alpha: 1 }',
        'with: { model: random_forest, n_estimators: 20000, max_depth: "${matrix.depth}" }',
      );
      const f = write(dir, 's.yaml', text);
      const child = spawnFxflow(['run', f, '--jobs', '2'], { cwd: dir });
      let stdout = '';
      let stderr = '';
      let afterKill = '';
      let killed = false;
      const closed = new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        // 'close': every holder of the stdio pipes is gone, the workers (which inherit stderr) too.
        child.on('close', () => resolve());
      });
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (killed) afterKill += d.toString();
      });
      // Synchronise on the workers computing: both fits started and each worker has used 1.5 s of CPU.
      let workers: { pid: number; ticks: number }[] = [];
      await expect
        .poll(
          () => {
            workers = poolWorkers(child.pid!);
            return workers.length === 2 && /▸ model\[.*\n[^]*▸ model\[/.test(stdout) && workers.every((w) => w.ticks >= 150);
          },
          { timeout: 120_000, interval: 200 },
        )
        .toBe(true);
      killed = true;
      child.kill('SIGKILL');
      try {
        // Generous for a loaded CI, far below the minutes the fits would take.
        await expect.poll(() => workers.every((w) => gone(w.pid)), { timeout: 20_000, interval: 100 }).toBe(true);
      } finally {
        // Never leave a stray fit running on the machine if the check failed.
        for (const w of workers) if (!gone(w.pid)) process.kill(w.pid, 'SIGKILL');
      }
      await closed;
      expect(afterKill, `stderr after the kill:\n${afterKill}\n(all stderr: ${stderr})`).toBe('');
    },
    180_000,
  );
});

describe('gc', () => {
  it('removes only artifacts no kept run references, and reports them', async () => {
    const dir = workdir();
    const f = write(dir, 'p.yaml', pipelineText({ name: 'plain', alpha: '1', threshold: '0.0001' }));
    const a = parseRun(await fxflow(['run', f, '--json'], { cwd: dir }));
    write(dir, f, pipelineText({ name: 'plain', alpha: '1', threshold: '0.0002' }));
    const b = parseRun(await fxflow(['run', f, '--json'], { cwd: dir }));
    const aReport = a.steps.find((s) => s.id === 'report')!.key;

    // Nothing is unreferenced while both runs are kept.
    const none = JSON.parse((await fxflow(['gc', '--json'], { cwd: dir })).stdout) as { removed: { key: string }[] };
    expect(none.removed).toEqual([]);
    const dry = JSON.parse((await fxflow(['gc', '--keep-last', '1', '--dry-run', '--json'], { cwd: dir })).stdout) as { removed: { key: string }[] };
    expect(dry.removed.map((x) => x.key)).toEqual([aReport]);

    const r = await fxflow(['gc', '--keep-last', '1'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kept 1 of 2 runs · removed 1 of 6 artifacts \(\d+(\.\d)? KiB\): 1 backtest/);
    const store = await Store.open(path.join(dir, '.fxflow'));
    try {
      const keys = (await store.query('SELECT key FROM artifacts')).map((x) => String(x.key)).sort();
      expect(keys).toEqual(b.steps.map((s) => s.key).sort());
      expect(await store.orphanChunks()).toEqual([]);
    } finally {
      await store.close();
    }
    // The kept run is still all cache hits; the collected one recomputes only its report.
    expect(parseRun(await fxflow(['run', f, '--json'], { cwd: dir })).steps.every((s) => s.cached)).toBe(true);
    write(dir, f, pipelineText({ name: 'plain', alpha: '1', threshold: '0.0001' }));
    const again = parseRun(await fxflow(['run', f, '--json'], { cwd: dir }));
    expect(again.steps.filter((s) => !s.cached).map((s) => s.id)).toEqual(['report']);
    expect(again.metrics).toEqual(a.metrics);
    // --older-than keeps recent runs.
    const recent = JSON.parse((await fxflow(['gc', '--older-than', '30d', '--json'], { cwd: dir })).stdout) as { keptRuns: number; removed: unknown[] };
    expect(recent).toMatchObject({ keptRuns: 4, removed: [] });
    // Nine CLI processes, each ≈ 2.3 s on a loaded 2-core machine (21 s measured): 60 s was too
    // close on a busy CI.
  }, 240_000);
});
