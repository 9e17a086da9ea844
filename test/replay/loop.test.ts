import { describe, expect, it } from 'vitest';
import { replayLoop, type Learner, type ReplayData, type ReplayPolicy } from '../../src/replay/loop.js';

/**
 * The loop's decisions on data built so that every answer is known by hand: one feature x, one
 * target y, and a fake learner whose model number s predicts SIGNS[s]·x, so each model's rank IC on
 * any rows is exactly +1 or −1 against y = x.
 */

const SIGNS = [-1, 1, 0.5, 1, 1, 1];
const learner: Learner = {
  fit: async (d) => d.seq,
  predict: (state, X, m) => [Float64Array.from({ length: m }, (_, i) => SIGNS[state as number] * X[i])],
};

function data(n: number, y: (r: number, x: number) => number = (_, x) => x, shiftAt = Infinity): ReplayData {
  // Distinct, irregular x: a fixed linear congruential sequence in (−1, 1).
  let s = 12345;
  const x = Float64Array.from({ length: n }, (_, r) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 31 - 1 + (r >= shiftAt ? 5 : 0);
  });
  return {
    index: Float64Array.from({ length: n }, (_, i) => i * 3_600_000),
    raw: x,
    p: 1,
    Y: Float64Array.from(x, (v, r) => y(r, v)),
    k: 1,
    featureNames: ['x'],
    target: 0,
    perYear: 6240,
  };
}

const base: ReplayPolicy = {
  window: 'expanding',
  trainBars: 100,
  valBars: 50,
  horizon: 1,
  scale: 'none',
  schedule: [150, 200, 250],
  checkEvery: 1000,
  cooldown: 0,
};

describe('replay loop: champion/challenger', () => {
  it('promotes a challenger that wins by more than the margin, keeps the champion otherwise, and logs the numbers', async () => {
    const d = data(300);
    const r = await replayLoop(d, { ...base, challenger: { metric: 'ic', margin: 0.1, shadow: 0 } }, learner);
    expect(r.events.map((e) => [e.row, e.reason, e.model, e.decision])).toEqual([
      [150, 'start', 0, 'champion'],
      [200, 'schedule', 1, 'promoted'], // IC −1 (champion) vs +1: gain 2 > 0.1
      [250, 'schedule', 2, 'kept'], // +1 vs +1: gain 0, not > 0.1
    ]);
    const c = r.events[1].compare!;
    expect([c.metric, c.champion, c.challenger, c.margin]).toEqual(['ic', -1, 1, 0.1]);
    expect(c.rows).toEqual({ start: 150, end: 199 }); // the challenger's validation rows [t − 50, t − 1)
    // Rows 150–199 by model 0 (−x), then model 1 (+x) to the end.
    for (let t = 150; t < 300; t++) {
      expect(r.servedBy[t]).toBe(t < 200 ? 0 : 1);
      expect(r.pred[0][t]).toBe(t < 200 ? -d.raw[t] : d.raw[t]);
    }
    expect(r.models.map((m) => m.served)).toEqual([50, 100, 0]);
  });

  it('with a shadow period, the champion keeps trading until the challenger wins again on the shadow rows', async () => {
    const d = data(300);
    const r = await replayLoop(d, { ...base, schedule: [150, 200, 210, 250], challenger: { metric: 'ic', margin: 0.1, shadow: 20 } }, learner);
    // Model 1 wins at 200 and shadows rows 200–219; the retrain asked for at 210 is skipped; at 220
    // (row 219's 1-bar target is known) it is judged on rows 200–219: IC +1 vs −1 → promoted.
    expect(r.events.map((e) => [e.row, e.reason, e.model, e.decision])).toEqual([
      [150, 'start', 0, 'champion'],
      [200, 'schedule', 1, 'shadow'],
      [220, 'shadow', 1, 'promoted'],
      [250, 'schedule', 2, 'kept'],
    ]);
    expect(r.events[2].compare).toMatchObject({ rows: { start: 200, end: 220 }, champion: -1, challenger: 1 });
    expect(r.skipped).toBe(1);
    for (let t = 150; t < 300; t++) expect(r.servedBy[t]).toBe(t < 220 ? 0 : 1);
  });

  it('without a challenger policy every retrain replaces the champion', async () => {
    const r = await replayLoop(data(300), base, learner);
    expect(r.events.map((e) => e.decision)).toEqual(['champion', 'champion', 'champion']);
    expect(r.servedBy[299]).toBe(2);
  });
});

describe('replay loop: triggers', () => {
  it('drift: fires once x shifts by +5 at row 300, never before', async () => {
    const d = data(400, undefined, 300);
    // 100 live rows in 10 bins: sampling noise alone gives a PSI near (10 − 1)/100 ≈ 0.09. After the
    // shift, a share f of the window lands in the top bin: PSI ≈ 0.73 at f = 0.4 (by hand), so it fires by row 340.
    const r = await replayLoop(
      d,
      { ...base, schedule: [150], checkEvery: 5, cooldown: 0, drift: { window: 100, bins: 10, psi: 0.5, pool: 'any', columns: [0] } },
      learner,
    );
    const drift = r.events.filter((e) => e.reason === 'drift');
    expect(drift.length).toBeGreaterThan(0);
    expect(drift[0].row).toBeGreaterThanOrEqual(300);
    expect(drift[0].row).toBeLessThanOrEqual(340);
    expect(drift[0].numbers.psi).toBeGreaterThan(0.5);
    expect(drift[0].detail).toMatch(/^PSI [\d.]+ \(x\) > 0\.5 over the last 100 rows$/);
  });

  it('decay: fires when the relation flips (y = −x from row 300) and the IC over the known rows falls below 0', async () => {
    const d = data(400, (r, x) => (r >= 300 ? -x : x));
    // Model 1 predicts +x: IC +1 before row 300.
    const r = await replayLoop(
      d,
      { ...base, schedule: [150], checkEvery: 1, cooldown: 0, decay: { window: 20, metric: 'ic', below: 0 } },
      {
        ...learner,
        fit: async () => 1,
      },
    );
    const decay = r.events.filter((e) => e.reason === 'decay');
    // Known rows at t are ≤ t − 1: the window [t − 20, t − 1] has more flipped rows than not from t = 311.
    expect(decay[0].row).toBeGreaterThan(300);
    expect(decay[0].row).toBeLessThanOrEqual(312);
    expect(decay[0].numbers.ic).toBeLessThan(0);
  });

  it('cooldown: no trigger within `cooldown` rows of a retrain', async () => {
    const d = data(400, undefined, 300);
    const r = await replayLoop(
      d,
      { ...base, schedule: [150], checkEvery: 1, cooldown: 30, drift: { window: 100, bins: 10, psi: 0.5, pool: 'any', columns: [0] } },
      learner,
    );
    expect(r.events.length).toBeGreaterThan(2);
    const rows = r.events.map((e) => e.row);
    for (let i = 1; i < rows.length; i++) expect(rows[i] - rows[i - 1]).toBeGreaterThanOrEqual(30);
  });
});
