import { describe, expect, it } from 'vitest';
import { makeRng } from '../../src/data/rng.js';
import { knownAt } from '../../src/evaluation/probe.js';
import replayStep, { replay } from '../../src/steps/replay/index.js';
import type { ReplayParams } from '../../src/steps/replay/params.js';
import { testContext } from '../helpers/ctx.js';
import { everyTriggerPipeline, runSteps, stepParams } from './helpers.js';

/**
 * The leakage probe over replay: at sampled rows t, the replay is rerun on the features as known at
 * t's close (rows ≤ t, targets whose label window is still open set to NaN, evaluation/probe.ts
 * knownAt). Every decision up to t and the prediction of row t must be the same doubles as in the
 * replay over all rows — with every trigger and the challenger on, so each reads only the past.
 */
const yaml = everyTriggerPipeline('replay-probe');

describe('leakage probe over replay', () => {
  it('a replay rerun on the data known at t makes the same decisions and the same prediction of t', async () => {
    const full = await runSteps(yaml);
    const params = replayStep.resolve!(stepParams(yaml).replay as unknown as ReplayParams) as ReplayParams;
    const ctx = testContext({ seed: 3 });
    const all = await replay(full.features, full.candles, params, ctx);
    const reasons = new Set(all.result.events.map((e) => e.reason));
    // The run exercises what it probes.
    for (const r of ['start', 'schedule', 'drift', 'decay']) expect(reasons, `a ${r} retrain happened`).toContain(r);
    expect(all.result.events.some((e) => e.decision === 'kept')).toBe(true);
    expect(all.result.events.some((e) => e.decision === 'shadow')).toBe(true);

    const rng = makeRng(11);
    const n = full.features.index.length;
    const rows = [all.result.start, n - 1, ...Array.from({ length: 6 }, () => all.result.start + rng.int(n - all.result.start))];
    for (const t of rows) {
      const cut = await replay(knownAt(full.features, t), full.candles, params, ctx);
      for (let j = 0; j < 2; j++) expect(Object.is(cut.result.pred[j][t], all.result.pred[j][t]), `prediction ${j} of row ${t}`).toBe(true);
      expect(cut.result.servedBy[t]).toBe(all.result.servedBy[t]);
      const upTo = (ev: typeof all.result.events) => ev.filter((e) => e.row <= t).map((e) => JSON.stringify(e));
      expect(upTo(cut.result.events)).toEqual(upTo(all.result.events));
    }
  }, 120_000);

  it('knownAt hides exactly the targets whose window is open at t', () => {
    const f = {
      type: 'Features' as const,
      symbol: 'X',
      timeframe: '1h',
      index: Float64Array.from([0, 1, 2, 3, 4, 5]),
      columns: { a: Float64Array.from([1, 2, 3, 4, 5, 6]), y1: Float64Array.from([1, 1, 1, 1, 1, 1]), y3: Float64Array.from([3, 3, 3, 3, 3, 3]) },
      featureNames: ['a'],
      targetNames: ['y1', 'y3'],
      targetHorizons: [1, 3],
      warmupDropped: 0,
      tailDropped: 0,
    };
    // At row 4's close: y1 of row 4 (ends at 5) unknown; y3 of rows 2, 3, 4 unknown.
    const k = knownAt(f, 4);
    expect(Array.from(k.index)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(k.columns.a)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(k.columns.y1)).toEqual([1, 1, 1, 1, NaN]);
    expect(Array.from(k.columns.y3)).toEqual([3, 3, NaN, NaN, NaN]);
  });
});
