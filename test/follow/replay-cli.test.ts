/**
 * `fxflow replay FILE --follow` (the built CLI) on a CSV file a feed appends to: after each append
 * it prints the new bars and the retrain decisions, the replay step having walked on from its last
 * bar (its log says `following:`; the plan has a second heavy step, so a worker pool runs beside it
 * and the replay must stay out of it), and stops on SIGINT. What it stored for the replay equals, byte
 * for byte, what `fxflow run` stores for the same file in a store of its own (the full recompute).
 * `fxflow watch` on the same pipeline extends the replay too.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { fxflow, parseRun, spawnFxflow } from '../helpers/cli.js';

const PIPELINE = `version: 1
name: replay-follow-cli
seed: 5
steps:
  candles:
    uses: fetch
    with: { source: csv, path: data.csv, symbol: EURUSD, timeframe: 1h }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1, 4], volatility: [24], target: { forward_return: { horizons: [1] } } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: { model: ridge, alpha: 1 }
      retrain: { every: 1d, window: rolling, train_bars: 300, val_bars: 100, challenger: { metric: ic, margin: 0.0 } }
      backtest: { entry_threshold: 0.00005 }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2] }
  model:
    uses: train
    from: dataset
    with: { model: ridge }
`;

/** A spawned command's output, and a promise per awaited line: the CLI's own lines are the events. */
function watchOutput(proc: ChildProcess) {
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  /** Resolves with the output after `from` once it matches `re`. */
  const printed = (re: RegExp, from: number, ms = 60_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const look = (): boolean => {
        const tail = out.slice(from);
        if (!re.test(tail)) return false;
        proc.stdout!.off('data', look);
        proc.stderr!.off('data', look);
        clearTimeout(guard);
        resolve(tail);
        return true;
      };
      const guard = setTimeout(() => reject(new Error(`no ${re} in ${ms / 1000} s; output:\n${out}`)), ms);
      if (!look()) {
        proc.stdout!.on('data', look);
        proc.stderr!.on('data', look);
      }
    });
  return { proc, printed, text: () => out, exited };
}

/** The first 1,201 lines of `all.csv` as data.csv, and `p.yaml`. */
function start(dir: string, lines: string[]): string {
  const data = path.join(dir, 'data.csv');
  writeFileSync(data, `${lines.slice(0, 1201).join('\n')}\n`);
  writeFileSync(path.join(dir, 'p.yaml'), PIPELINE);
  return data;
}

describe('fxflow replay --follow', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-replay-follow-'));
  let kill = (): void => {};
  // 1,300 synthetic H1 bars as a CSV (header first), written once.
  let exported: Promise<string[]> | undefined;
  const csvLines = (): Promise<string[]> =>
    (exported ??= (async () => {
      writeFileSync(path.join(dir, 'gen.yaml'), 'version: 1\nname: gen\nsteps:\n  c: { uses: fetch, with: { bars: 1300, start: "2021-01-04" } }\n');
      expect((await fxflow(['export', 'gen.yaml', 'c', '--out', 'all.csv'], { cwd: dir })).code).toBe(0);
      return readFileSync(path.join(dir, 'all.csv'), 'utf8').trimEnd().split('\n');
    })());
  afterAll(() => {
    kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints each appended bar and the retrains it brings, stores what a full run stores, stops on SIGINT', { timeout: 240_000 }, async () => {
    const lines = await csvLines();
    const data = start(dir, lines);

    const { proc, printed, text, exited } = watchOutput(spawnFxflow(['replay', 'p.yaml', '--follow'], { cwd: dir }));
    kill = () => proc.kill('SIGKILL');
    const waiting = /waiting for new bars…\n/;

    const first = await printed(waiting, 0);
    expect(first).toMatch(/replay: .*models? fitted/);
    // The watcher adds the data file after the first run: touch it until a change is seen (a touch
    // changes no byte: every step is cached).
    for (let t = 1; !/changed: data\.csv/.test(text()); t++) {
      const from = text().length;
      utimesSync(data, new Date(), new Date(Date.now() + t * 1000));
      await printed(/changed: data\.csv/, from, 500).catch(() => undefined);
    }
    await printed(waiting, text().lastIndexOf('changed: data.csv'));

    let from = text().length;
    appendFileSync(data, `${lines[1201]}\n`);
    let cycle = await printed(waiting, from);
    expect(cycle).toContain('replay: following: 1 new bar replayed');
    expect(cycle.match(/^replay: bar /gm)?.length).toBe(1);

    // 30 bars: a day turns (the daily schedule retrains), each printed with its decision.
    from = text().length;
    appendFileSync(data, `${lines.slice(1202, 1232).join('\n')}\n`);
    cycle = await printed(waiting, from);
    expect(cycle).toContain('replay: following: 30 new bars replayed');
    expect(cycle).toMatch(/^replay: retrain at \d{4}-\d\d-\d\d \d\d:\d\d: schedule \(scheduled\) → model \d+ (promoted|kept)/m);
    expect(cycle.match(/^replay: bar /gm)?.length).toBe(20);
    expect(cycle).toContain('replay: … 10 bars before');

    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(text()).toContain('stopped following');

    // The full recompute: the same file, `fxflow run`, a store of its own.
    const run = parseRun(await fxflow(['run', 'p.yaml', '--json', '--store', 'fresh'], { cwd: dir }));
    expect(run.status).toBe('succeeded');
    const key = run.steps.find((s) => s.id === 'replay')!.key;
    const artifact = (store: string) => readFileSync(path.join(dir, store, 'artifacts', key.slice(0, 2), key));
    expect(artifact('.fxflow').equals(artifact('fresh')), 'the replay stored while following differs from the full run').toBe(true);
  });
  it('fxflow watch extends the replay the same way (its log says so)', { timeout: 240_000 }, async () => {
    const lines = await csvLines();
    rmSync(path.join(dir, '.fxflow'), { recursive: true, force: true });
    const data = start(dir, lines);
    const { proc, printed, text, exited } = watchOutput(spawnFxflow(['watch', 'p.yaml'], { cwd: dir }));
    kill = () => proc.kill('SIGKILL');
    const idle = /watching \d+ files? for changes/;
    await printed(idle, 0);
    for (let t = 1; !/changed: .*data\.csv/.test(text()); t++) {
      const from = text().length;
      utimesSync(data, new Date(), new Date(Date.now() + t * 1000));
      await printed(/changed: .*data\.csv/, from, 500).catch(() => undefined);
    }
    await printed(idle, text().lastIndexOf('changed:'));
    const from = text().length;
    appendFileSync(data, `${lines[1201]}\n`);
    const cycle = await printed(idle, from);
    expect(cycle).toMatch(/replay +\(replay\) +following: 1 new bar replayed/);
    expect(cycle).toMatch(/replay +\(replay\) +bar \d{4}-\d\d-\d\d \d\d:\d\d: fwd_ret_1 /);
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
