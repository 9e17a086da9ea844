/**
 * A replay following bars appended to its data (src/replay/loop.ts ReplayWalk.extend, the replay
 * step's ReplayMemory under the follow hooks of `fxflow watch`): after each append the result must be
 * the one a replay run afresh over the longer data gives, bit for bit — the loop's predictions,
 * models and events, and the step's whole Report (trades, equity, timeline, the champions the
 * registry takes) compared as the bytes the store would write. The expectation is that fresh run
 * (the loop as it ran before it could be resumed); a change anywhere but the end replays afresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Candles, Features, Report } from '../../src/core/artifacts.js';
import { sliceFrame } from '../../src/data/frame.js';
import { ReplayWalk, replayLoop, type Learner, type ReplayData, type ReplayPolicy, type ReplayResult } from '../../src/replay/loop.js';
import { encodeArtifact } from '../../src/runtime/codec.js';
import featuresStep from '../../src/steps/features/index.js';
import type { FeaturesParams } from '../../src/steps/features/params.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { followHooks, setFollowHooks } from '../../src/steps/follow-hooks.js';
import { startFollowing, stopFollowing } from '../../src/steps/following.js';
import replayStep from '../../src/steps/replay/index.js';
import type { ReplayParams } from '../../src/steps/replay/params.js';
import { testContext } from '../helpers/ctx.js';
import { H1 } from '../helpers/h1-model.js';
import { everyTriggerPipeline, stepParams } from './helpers.js';

/** Bitwise equality of two loop results (NaN, −0 and all). */
function sameResult(a: ReplayResult, b: ReplayResult): void {
  expect([a.start, a.end, a.skipped]).toEqual([b.start, b.end, b.skipped]);
  expect(Buffer.from(encodeArtifact(a)).equals(Buffer.from(encodeArtifact(b))), 'loop results differ').toBe(true);
}

describe('the replay loop, resumed on appended rows (fake learner, hand-built data)', () => {
  // One feature x, target y = x; model s predicts SIGNS[s]·x (as in loop.test.ts), so challengers win and lose.
  const SIGNS = [-1, 1, 0.5, 1, -1, 1, 0.5, -1];
  const learner: Learner = {
    fit: async (d) => d.seq % SIGNS.length,
    predict: (state, X, m) => [Float64Array.from({ length: m }, (_, i) => SIGNS[state as number] * X[i])],
  };
  let s = 12345;
  const N = 420;
  const x = Float64Array.from({ length: N }, (_, r) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 31 - 1 + (r >= 330 ? 4 : 0);
  });
  const data = (n: number, edit?: number): ReplayData => {
    const raw = x.slice(0, n);
    if (edit !== undefined) raw[edit] += 1e-9;
    return { index: Float64Array.from({ length: n }, (_, i) => i * 3_600_000), raw, p: 1, Y: raw.slice(), k: 1, featureNames: ['x'], target: 0, perYear: 6240 };
  };
  const policy = (n: number): ReplayPolicy => ({
    window: 'expanding',
    trainBars: 100,
    valBars: 50,
    horizon: 1,
    scale: 'none',
    // The schedule as the step gives it: read off the rows there are.
    schedule: [150, 200, 210, 250, 300, 350, 400].filter((t) => t < n),
    checkEvery: 5,
    cooldown: 5,
    drift: { window: 60, bins: 10, psi: 0.5, pool: 'any', columns: [0] },
    challenger: { metric: 'ic', margin: 0.1, shadow: 20 },
  });

  it('walks on from its last row: 1, 1, 5 rows (into and across a shadow period and a retrain), then many, equal a fresh walk', async () => {
    const walk = new ReplayWalk(data(203), policy(203), learner);
    sameResult(await walk.walk(), await replayLoop(data(203), policy(203), learner));
    for (const n of [204, 205, 210, 226, 331, N]) {
      const followed = await walk.extend(data(n), policy(n), learner);
      expect(followed, `${n} rows extend the walk`).toBeDefined();
      const afresh = await replayLoop(data(n), policy(n), learner);
      sameResult(followed!, afresh);
    }
    const all = await replayLoop(data(N), policy(N), learner);
    // What the walk went through: a shadow cut by the end at 203 (model 1, rows 200–219), a skipped retrain, drift.
    expect(all.events.some((e) => e.decision === 'shadow' && e.row === 200)).toBe(true);
    expect(all.skipped).toBeGreaterThan(0);
    expect(all.events.some((e) => e.reason === 'drift')).toBe(true);
  });

  it('a kind that scores a row with the rows before it in the same call (a sequence model) gives the fresh walk’s bits too', async () => {
    // Each prediction reads the first row of its call: the last block must be predicted again in one call.
    const windowed: Learner = {
      ...learner,
      predict: (state, X, m) => [Float64Array.from({ length: m }, (_, i) => SIGNS[state as number] * X[i] + 0.001 * X[0])],
    };
    const walk = new ReplayWalk(data(203), policy(203), windowed);
    await walk.walk();
    for (const n of [204, 205, 210, 226, 331, N])
      sameResult((await walk.extend(data(n), policy(n), windowed))!, await replayLoop(data(n), policy(n), windowed));
  });

  it('refuses what is not an append: an earlier row edited, fewer rows, another policy', async () => {
    const walk = new ReplayWalk(data(300), policy(300), learner);
    await walk.walk();
    expect(await walk.extend(data(301, 120), policy(301), learner)).toBeUndefined();
    expect(await walk.extend(data(299), policy(299), learner)).toBeUndefined();
    expect(await walk.extend(data(301), { ...policy(301), cooldown: 6 }, learner)).toBeUndefined();
    // Refusals leave it as it was.
    sameResult((await walk.extend(data(305), policy(305), learner))!, await replayLoop(data(305), policy(305), learner));
  });
});

/** The step, run with following on (the memory under its key) and off (afresh), compared as stored bytes. */
async function followAndCompare(opts: {
  candles: Candles;
  fp: FeaturesParams;
  rp: ReplayParams;
  seed: number;
  /** Candle counts, in order: the first replays afresh, each later one extends. */
  counts: number[];
}): Promise<{ logs: string[][]; reports: Report[] }> {
  const logs: string[][] = [];
  const reports: Report[] = [];
  startFollowing();
  const hooks = followHooks();
  for (const c of opts.counts) {
    const bars = sliceFrame(opts.candles, 0, c);
    const feats = (await featuresStep.run({ candles: bars }, opts.fp, testContext())) as Features;
    const ctx = testContext({ seed: opts.seed, stepId: 'replay' });
    const followed = await replayStep.run({ features: feats, candles: bars }, opts.rp, ctx);
    setFollowHooks({});
    const afresh = await replayStep.run({ features: feats, candles: bars }, opts.rp, testContext({ seed: opts.seed, stepId: 'replay' }));
    setFollowHooks(hooks);
    expect(Buffer.from(encodeArtifact(followed)).equals(Buffer.from(encodeArtifact(afresh))), `${c} bars: the reports differ`).toBe(true);
    logs.push(ctx.logs);
    reports.push(followed);
  }
  return { logs, reports };
}

/** Candle count whose features have `rows` rows (warm-up and target tail dropped). */
const barsFor = (f: Features, rows: number) => rows + f.warmupDropped + f.tailDropped;

describe('the replay step, following appended bars (synthetic bars, every trigger)', () => {
  afterEach(() => stopFollowing());
  const yaml = everyTriggerPipeline('replay-follow');

  it('1, 1, 5 bars across a scheduled retrain, then 300: each report equals the fresh replay’s; an edited earlier bar replays afresh', async () => {
    const p = stepParams(yaml);
    const candles = await fetch.run({}, p.candles as unknown as FetchParams, testContext());
    const fp = featuresStep.resolve!(p.features as unknown as FeaturesParams) as FeaturesParams;
    const rp = p.replay as unknown as ReplayParams;
    const full = (await featuresStep.run({ candles }, fp, testContext())) as Features;
    const all = (await replayStep.run({ features: full, candles }, rp, testContext({ seed: 3 }))).retrain!;
    // A scheduled retrain well inside the data: start 3 rows before it.
    const R = all.events.find((e) => e.reason === 'schedule' && e.ts > full.index[800])!;
    const row = full.index.indexOf(R.ts);
    const c0 = barsFor(full, row - 3);
    const { logs, reports } = await followAndCompare({ candles, fp, rp, seed: 3, counts: [c0, c0 + 1, c0 + 2, c0 + 7, c0 + 307] });
    expect(logs[1].some((l) => l.startsWith('following: 1 new bar replayed'))).toBe(true);
    expect(logs[2].some((l) => l.startsWith('following: 1 new bar replayed'))).toBe(true);
    expect(logs[3].some((l) => l.startsWith('following: 5 new bars replayed'))).toBe(true);
    // The scheduled retrain happened in the extension, and the log says so with its decision.
    expect(logs[3].some((l) => l.startsWith(`retrain at ${new Date(R.ts).toISOString().slice(0, 16).replace('T', ' ')}: schedule`))).toBe(true);
    expect(logs[3].filter((l) => l.startsWith('bar ')).length).toBe(5);
    expect(reports[3].retrain!.events.length).toBeGreaterThan(reports[2].retrain!.events.length);
    expect(logs[4].some((l) => l.startsWith('following: 300 new bars replayed'))).toBe(true);

    // An earlier bar edited (its close): not an append, replayed afresh (no `following:` line), still equal.
    const edited: Candles = { ...candles, columns: { ...candles.columns, close: candles.columns.close.slice() } };
    edited.columns.close[900] *= 1.0001;
    startFollowing();
    const f0 = sliceFrame(candles, 0, c0);
    const ctx0 = testContext({ seed: 3, stepId: 'replay' });
    await replayStep.run({ features: (await featuresStep.run({ candles: f0 }, fp, testContext())) as Features, candles: f0 }, rp, ctx0);
    const e1 = sliceFrame(edited, 0, c0 + 1);
    const fe = (await featuresStep.run({ candles: e1 }, fp, testContext())) as Features;
    const ctx1 = testContext({ seed: 3, stepId: 'replay' });
    const followed = await replayStep.run({ features: fe, candles: e1 }, rp, ctx1);
    expect(ctx1.logs.some((l) => l.startsWith('following:'))).toBe(false);
    stopFollowing();
    const afresh = await replayStep.run({ features: fe, candles: e1 }, rp, testContext({ seed: 3, stepId: 'replay' }));
    expect(Buffer.from(encodeArtifact(followed)).equals(Buffer.from(encodeArtifact(afresh)))).toBe(true);
  }, 300_000);
});

describe.skipIf(!H1)('the replay step, following appended bars (EURUSD H1, MetaTrader)', () => {
  if (!H1) console.warn('skipped: ../shared/data/forex/EURUSD_H1.csv is absent');
  afterEach(() => stopFollowing());
  const yaml = `version: 1
name: replay-follow-h1
seed: 42
steps:
  candles:
    uses: fetch
    with: { source: csv, path: ${JSON.stringify(H1 ?? 'missing.csv')}, symbol: EURUSD, timeframe: 1h, from: "2018-01-01", to: "2019-07-01" }
  features:
    uses: features
    from: candles
    with:
      indicators: [{ rsi: { period: 14 } }, { ema: { period: 20 } }, { macd: { fast: 12, slow: 26, signal: 9 } }]
      returns: [1, 4, 24]
      volatility: [24]
      target: { forward_return: { horizons: [1, 4] } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: { model: ridge, alpha: 10 }
      retrain:
        every: 1w
        window: rolling
        train_bars: 4000
        val_bars: 500
        cooldown: 48
        drift: { window: 500, psi: 1.0, features: [rsi_14, ret_24, vol_24] }
        challenger: { metric: ic, margin: 0.01 }
      backtest: { entry_threshold: 0.0001, costs: { spread_pips: 0.8 } }
`;

  it('1, 1, 5 bars across a weekly retrain (the week’s first bar): each report equals the fresh replay’s', async () => {
    const p = stepParams(yaml);
    const candles = await fetch.run({}, p.candles as unknown as FetchParams, testContext());
    const fp = featuresStep.resolve!(p.features as unknown as FeaturesParams) as FeaturesParams;
    const rp = p.replay as unknown as ReplayParams;
    const full = (await featuresStep.run({ candles }, fp, testContext())) as Features;
    const all = (await replayStep.run({ features: full, candles }, rp, testContext({ seed: 42 }))).retrain!;
    const R = all.events.filter((e) => e.reason === 'schedule').at(-3)!;
    const row = full.index.indexOf(R.ts);
    const c0 = barsFor(full, row - 2);
    const { logs } = await followAndCompare({ candles, fp, rp, seed: 42, counts: [c0, c0 + 1, c0 + 2, c0 + 7] });
    expect(logs[3].some((l) => l.startsWith('following: 5 new bars replayed'))).toBe(true);
    expect(logs[3].some((l) => l.startsWith('retrain at ') && l.includes(': schedule'))).toBe(true);
  }, 300_000);
});
