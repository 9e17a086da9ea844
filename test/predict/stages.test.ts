import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/core/diagnostics.js';
import { loadPlan } from '../../src/pipeline.js';
import { currentStages, recordStage, stageHistory, stageHolder } from '../../src/runtime/history.js';
import { Store } from '../../src/runtime/store.js';

/** The stage history's rules, in-process on a temp store (the CLI round trip is in predict.test.ts). */

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-stages-'));
  store = await Store.open(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model stages', () => {
  it('one champion and one challenger at a time; earlier holders archived, every event kept in order', async () => {
    await recordStage(store, { key: 'a'.repeat(32), stage: 'champion', by: 'ann', at: 1_000 });
    await recordStage(store, { key: 'b'.repeat(32), stage: 'challenger', by: 'bob', at: 2_000 });
    const added = await recordStage(store, { key: 'b'.repeat(32), stage: 'champion', by: 'bob', note: 'wins', at: 3_000 });
    expect(added.map((e) => [e.key[0], e.stage, e.note])).toEqual([
      ['a', 'archived', 'superseded as champion by bbbbbbbbbbbb'],
      ['b', 'champion', 'wins'],
    ]);
    expect(await stageHolder(store, 'champion')).toBe('b'.repeat(32));
    // b left `challenger` by becoming champion: nobody holds it now.
    expect(await stageHolder(store, 'challenger')).toBeUndefined();
    await recordStage(store, { key: 'c'.repeat(32), stage: 'challenger', by: 'cy', at: 4_000 });
    expect(Object.fromEntries(await currentStages(store))).toEqual({
      ['a'.repeat(32)]: 'archived',
      ['b'.repeat(32)]: 'champion',
      ['c'.repeat(32)]: 'challenger',
    });
    const all = await stageHistory(store);
    expect(all.map((e) => [e.seq, e.key[0], e.stage, e.by])).toEqual([
      [1, 'a', 'champion', 'ann'],
      [2, 'b', 'challenger', 'bob'],
      [3, 'a', 'archived', 'bob'],
      [4, 'b', 'champion', 'bob'],
      [5, 'c', 'challenger', 'cy'],
    ]);
    expect(all[0].at).toBe('1970-01-01 00:00:01');
    expect((await stageHistory(store, 'a'.repeat(32))).map((e) => e.stage)).toEqual(['champion', 'archived']);
  });

  it('the history survives closing and reopening the store', async () => {
    await recordStage(store, { key: 'a'.repeat(32), stage: 'champion', by: 'ann' });
    await store.close();
    store = await Store.open(dir);
    expect(await stageHolder(store, 'champion')).toBe('a'.repeat(32));
  });
});

describe('the predict step in a pipeline', () => {
  const pipeline = (predictWith: string): string => `version: 1
name: p
steps:
  candles: { uses: fetch, with: { source: synthetic, bars: 2000 } }
  features: { uses: features, from: candles, with: { indicators: [ { rsi: { period: 14 } } ], returns: [1] } }
  dataset: { uses: split, from: features }
  model: { uses: train, from: dataset, with: { model: ridge } }
  live:
    uses: predict
    from: { model: model, candles: candles }
    with: ${predictWith}
`;
  const load = async (text: string) => {
    const file = path.join(dir, 'p.yaml');
    writeFileSync(file, text);
    return loadPlan(file);
  };

  it('takes the features params of the features step upstream of its model', async () => {
    const plan = await load(pipeline('{ last: 5 }'));
    const node = plan.byId.get('live')!;
    expect((node.params as { features: unknown }).features).toEqual({
      indicators: [{ rsi: { period: 14, on: 'close' } }],
      returns: [1],
      volatility: [],
      zscores: [],
      calendar: false,
      sessions: false,
      target: { forward_return: { horizons: [1] } },
    });
  });

  it('refuses `features` written by hand, and exit_threshold above entry_threshold, at their lines', async () => {
    const err = await load(pipeline('{ features: { returns: [2] }, entry_threshold: 0.001, exit_threshold: 0.002 }')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    const msgs = (err as DiagnosticError).diagnostics.map((d) => `${d.loc?.line}: ${d.message}`);
    expect(msgs).toEqual([expect.stringMatching(/^11: `features` is filled in/), expect.stringMatching(/^11: exit_threshold \(0.002\) is above/)]);
  });
});
