/**
 * The pipeline the watch-following tests run over a growing M1 source (test/follow/watch.test.ts on
 * a CSV file, watch-postgres.test.ts on a table): candles and features that follow the source, a
 * champion trained on its first bars only (`to:`), and a predict step that follows.
 */
import { expect } from 'vitest';
import { loadPlan } from '../../src/pipeline.js';
import { computeKeys } from '../../src/runtime/keys.js';
import { runPipeline } from '../../src/runtime/pipeline-run.js';
import { SilentProgress, type ProgressReporter } from '../../src/runtime/progress.js';
import { Store } from '../../src/runtime/store.js';
import { watchPipeline, type WatchEvent, type Watcher } from '../../src/runtime/watch.js';
import { followHooks, setFollowHooks } from '../../src/steps/follow-hooks.js';

/** `source` is the fetch step's source fields (without `to:`); `follow` its extra fields when followed (e.g. `poll:`). */
export function followedPipeline(name: string, source: string, follow = ''): string {
  return `version: 1
name: ${name}
steps:
  candles:
    uses: fetch
    with: { ${source}${follow ? `, ${follow}` : ''} }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
        - macd: {}
        - sma: { period: 30 }
        - willr: {}
        - adx: {}
      returns: [1, 5]
      target: { forward_return: { horizons: [1, 10] } }
  # The champion: trained on the first bars only (\`to:\`: a change after them retrains it to the same bits).
  history:
    uses: fetch
    with: { ${source}, to: "2019-01-15" }
  hfeatures:
    uses: features
    from: history
    with:
      indicators:
        - rsi: { period: 14 }
        - macd: {}
        - sma: { period: 30 }
      returns: [1, 5]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: hfeatures
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: ridge }
  signal:
    uses: predict
    from: { model: model, candles: candles }
    with: { rule: sign }
`;
}

/** A silent progress that records each step's log lines as `step: message`. */
export function logging(lines: string[]): ProgressReporter {
  const p: ProgressReporter = new SilentProgress();
  p.stepLog = (id, message) => void lines.push(`${id}: ${message}`);
  return p;
}

/** A watcher on `file` whose events and per-run step logs are recorded; `next(type)` resolves on the next event of that type. */
export interface RecordedWatch {
  watcher: Watcher;
  events: WatchEvent[];
  /** One array of `step: message` lines per run, in order. */
  progress: string[][];
  next(type: WatchEvent['type']): Promise<WatchEvent>;
  /** The idle event after the first run. */
  firstIdle: Promise<WatchEvent>;
}

export async function recordedWatch(file: string, storeDir: string): Promise<RecordedWatch> {
  const progress: string[][] = [];
  const events: WatchEvent[] = [];
  let notify: ((e: WatchEvent) => void) | undefined;
  const next = (type: WatchEvent['type']) =>
    new Promise<WatchEvent>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no ${type} event in 120 s; events: ${JSON.stringify(events.map((e) => e.type))}`)), 120_000);
      notify = (e) => {
        if (e.type === type) {
          clearTimeout(guard);
          resolve(e);
        }
      };
    });
  const firstIdle = next('idle');
  const watcher = await watchPipeline(file, {
    storeDir,
    progress: () => {
      const lines: string[] = [];
      progress.push(lines);
      return logging(lines);
    },
    onEvent: (e) => {
      events.push(e);
      notify?.(e);
    },
    load: (f) => loadPlan(f, undefined, { execute: true }),
    debounceMs: 50,
  });
  return { watcher, events, progress, next, firstIdle };
}

/**
 * The watcher's last run stored, for each of `ids`, the bytes a run without following stores: the
 * pipeline run afresh in a store at `freshDir`, following off in this process meanwhile. The
 * watcher must be idle or closed (the watched store is opened here).
 */
export async function expectSameAsFullRun(file: string, events: WatchEvent[], watchedDir: string, freshDir: string, ids: string[]): Promise<void> {
  const runs = events.filter((e) => e.type === 'run');
  const last = runs[runs.length - 1];
  if (last?.type !== 'run') throw new Error('no run');
  expect(last.result.status).toBe('succeeded');
  const plan = await loadPlan(file, undefined, { execute: true });
  const keys = await computeKeys(plan);
  const hooks = followHooks();
  setFollowHooks({});
  const fresh = await Store.open(freshDir);
  const watched = await Store.open(watchedDir);
  try {
    const full = await runPipeline(plan, { store: fresh, keys, progress: new SilentProgress() });
    expect(full.result.status).toBe('succeeded');
    for (const id of ids) {
      const key = last.result.steps.find((s) => s.id === id)!.key;
      expect(full.result.steps.find((s) => s.id === id)!.key, `${id}: key`).toBe(key);
      const a = await watched.getArtifactBytes(key);
      const b = await fresh.getArtifactBytes(key);
      expect(a, id).toBeDefined();
      expect(Buffer.from(a!).equals(Buffer.from(b!)), `${id}: the stored bytes differ`).toBe(true);
    }
  } finally {
    await fresh.close();
    await watched.close();
    setFollowHooks(hooks);
  }
}
