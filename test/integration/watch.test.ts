import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fxflow, spawnFxflow, workdir } from '../helpers/cli.js';

/**
 * `fxflow watch` driven as a user would: start → edit a param (only downstream reruns) → save
 * invalid YAML (diagnostics, still alive) → fix (runs) → edit the data file (fetch onwards reruns).
 */

const PIPELINE = `version: 1
name: watched
steps:
  candles:
    uses: fetch
    with: { source: csv, path: data.csv, symbol: EURUSD, timeframe: 1h }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
  model:
    uses: train
    from: dataset
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: 0.0001 }
`;

describe('fxflow watch', () => {
  const dir = workdir();
  const file = path.join(dir, 'watch.yaml');
  const child = { kill: () => {} } as { kill: () => void };
  afterAll(() => child.kill());

  it('reruns exactly what each save invalidated and survives bad saves', async () => {
    // Data: 800 synthetic bars exported as a CSV, so the data file itself can be edited.
    writeFileSync(path.join(dir, 'gen.yaml'), 'version: 1\nname: gen\nsteps:\n  c: { uses: fetch, with: { bars: 800 } }\n');
    expect((await fxflow(['export', 'gen.yaml', 'c', '--out', 'data.csv'], { cwd: dir })).code).toBe(0);
    writeFileSync(file, PIPELINE);

    const proc = spawnFxflow(['watch', 'watch.yaml', '--debounce', '100'], { cwd: dir });
    child.kill = () => proc.kill('SIGKILL');
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    let lastOutput = Date.now();
    proc.stdout!.on('data', () => (lastOutput = Date.now()));
    proc.stderr!.on('data', () => (lastOutput = Date.now()));
    // Everything printed after `from`, once a cycle has finished and the output has gone quiet
    // (a single save can fire more than one change event; all its cycles are in the slice).
    const settle = async (from: number): Promise<string> => {
      const t0 = Date.now();
      for (;;) {
        const tail = out.slice(from);
        if (/watching \d+ files? for changes/.test(tail) && Date.now() - lastOutput > 600) return tail;
        if (Date.now() - t0 > 30_000) throw new Error(`watch did not settle:\n${out}`);
        if (proc.exitCode !== null) throw new Error(`watch exited ${proc.exitCode}:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // The states a step took in the cycles of a slice (a step may appear in several).
    const states = (slice: string, id: string) => new Set([...slice.matchAll(new RegExp(`✓ ${id}\\s+\\(\\w+\\)\\s+(computed|cached)`, 'g'))].map((m) => m[1]));
    const state = (slice: string, id: string) => [...states(slice, id)].join('+');
    const edit = async (f: () => void): Promise<string> => {
      const from = out.length;
      f();
      return settle(from);
    };

    await settle(0);
    for (const id of ['candles', 'features', 'dataset', 'model', 'report']) expect(state(out, id)).toBe('computed');
    // It watches the pipeline and the data file the fetch step reads.
    expect(out).toMatch(/watching 2 files for changes/);

    let cycle = await edit(() => writeFileSync(file, PIPELINE.replace('entry_threshold: 0.0001', 'entry_threshold: 0.0002')));
    expect(['candles', 'features', 'dataset', 'model'].map((id) => state(cycle, id))).toEqual(['cached', 'cached', 'cached', 'cached']);
    expect(states(cycle, 'report').has('computed')).toBe(true);
    expect(cycle).toContain('param `entry_threshold` 0.0001 → 0.0002');

    cycle = await edit(() => writeFileSync(file, `${PIPELINE}  broken: [\n`));
    expect(cycle).toMatch(/watch\.yaml:\d+:\d+: error: malformed YAML/);
    expect(cycle).toContain('not run: fix the file and save');
    expect(proc.exitCode).toBeNull();

    cycle = await edit(() => writeFileSync(file, PIPELINE.replace('entry_threshold: 0.0001', 'entry_threshold: 0.0002')));
    expect(cycle).toMatch(/succeeded .* 0 computed, 5 cached/);
    expect(cycle).not.toMatch(/computed +\d/);

    // Edit the data: the last bar's close moves up a little (still inside its high/low range).
    const csv = readFileSync(path.join(dir, 'data.csv'), 'utf8').trimEnd().split('\n');
    const last = csv[csv.length - 1].split(',');
    const [open, high, low] = [Number(last[1]), Number(last[2]), Number(last[3])];
    last[4] = String(Math.min(high, Math.max(low, (open + high) / 2)));
    csv[csv.length - 1] = last.join(',');
    cycle = await edit(() => writeFileSync(path.join(dir, 'data.csv'), `${csv.join('\n')}\n`));
    expect(cycle).toContain('data.csv');
    for (const id of ['candles', 'features', 'dataset', 'model', 'report']) expect(states(cycle, id).has('computed'), id).toBe(true);

    // Between runs the store is free: another command can read it.
    const runs = await fxflow(['runs', '--json'], { cwd: dir });
    expect(runs.code).toBe(0);
    // At least four cycles ran (a save can fire twice); none failed.
    const statuses = (JSON.parse(runs.stdout) as { status: string }[]).map((r) => r.status);
    expect(statuses.filter((s) => s === 'succeeded').length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 'succeeded' || s === 'cancelled' || s === 'interrupted')).toBe(true);
    proc.kill('SIGINT');
  }, 90_000);
});
