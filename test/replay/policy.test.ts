import { describe, expect, it } from 'vitest';
import { PSI_FLOOR, psi, psiBins } from '../../src/evaluation/drift.js';
import { walkForwardFolds } from '../../src/evaluation/folds.js';
import { decideChallenger, retrainWindow } from '../../src/replay/policy.js';
import { parseEvery, scheduleRows } from '../../src/replay/schedule.js';

const sorted = (a: number[]): Float64Array => Float64Array.from(a).sort();

describe('PSI (hand-worked)', () => {
  it('two bins: reference 1…10, sample [1, 2, 3, 8]', () => {
    // Cut at the median of 1…10 = 5.5: the reference has 1/2 on each side; the sample 3/4 and 1/4.
    // PSI = (3/4 − 1/2)·ln((3/4)/(1/2)) + (1/4 − 1/2)·ln((1/4)/(1/2)) = ¼·ln 1.5 + ¼·ln 2 = ¼·ln 3.
    const b = psiBins(sorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 2);
    expect(Array.from(b.cuts)).toEqual([5.5]);
    expect(Array.from(b.expected)).toEqual([0.5, 0.5]);
    expect(psi(b, [1, 2, 3, 8])).toBeCloseTo(0.25 * Math.log(3), 15);
    expect(psi(b, [1, 2, 3, 8])).toBeCloseTo(0.27465307216702745, 15);
  });

  it('four bins, empty sample bins floored at 1e-4', () => {
    // Reference 1…8: quartile cuts at positions 1.75, 3.5, 5.25 of the order statistics → 2.75, 4.5,
    // 6.25; a quarter in each bin. Sample [1, 1, 1, 9]: shares 3/4, 0, 0, 1/4.
    // PSI = (3/4 − 1/4)·ln 3 + 2·(1e-4 − 1/4)·ln(1e-4 / (1/4)) + 0 = 0.549306… + 3.910458… = 4.459764…
    const b = psiBins(sorted([1, 2, 3, 4, 5, 6, 7, 8]), 4);
    expect(Array.from(b.cuts)).toEqual([2.75, 4.5, 6.25]);
    expect(PSI_FLOOR).toBe(1e-4);
    const want = 0.5 * Math.log(3) + 2 * (1e-4 - 0.25) * Math.log(1e-4 / 0.25);
    expect(want).toBeCloseTo(4.459764, 6);
    expect(psi(b, [1, 1, 1, 9])).toBeCloseTo(want, 14);
  });

  it('ties in the reference stay in one bin; the same distribution gives 0; NaN is skipped', () => {
    // Reference [0,0,0,0,1,1]: the median cut is 0, so bins are {x ≤ 0} (4/6) and {x > 0} (2/6).
    const b = psiBins(sorted([0, 0, 0, 0, 1, 1]), 2);
    expect(Array.from(b.expected)).toEqual([4 / 6, 2 / 6]);
    expect(psi(b, [0, 0, 1, NaN, 0, 0, 1])).toBe(0);
    const want = (1e-4 - 4 / 6) * Math.log(1e-4 / (4 / 6)) + (1 - 2 / 6) * Math.log(1 / (2 / 6));
    expect(psi(b, [1, 1, 1])).toBeCloseTo(want, 14);
  });
});

describe('retrain schedule', () => {
  const H = 3_600_000;
  const hourly = (from: string, hours: number): Float64Array => Float64Array.from({ length: hours }, (_, i) => Date.parse(from) + i * H);
  const iso = (index: Float64Array, rows: number[]): string[] => rows.map((r) => new Date(index[r]).toISOString().slice(0, 16));

  it('parses `1w`, `2d`, `500 bars`, `1 bar`, and nothing else', () => {
    expect(parseEvery('1w')).toEqual({ weeks: 1 });
    expect(parseEvery(' 2D ')).toEqual({ days: 2 });
    expect(parseEvery('500 bars')).toEqual({ bars: 500 });
    expect(parseEvery('1 bar')).toEqual({ bars: 1 });
    for (const bad of ['0w', 'w', '1m', '1.5w', '500']) expect(parseEvery(bad)).toBeUndefined();
  });

  it('weekly: the first bar of every FX week, Sunday 17:00 New York — 22:00 UTC in winter, 21:00 UTC after the DST change', () => {
    // Hourly bars round the clock from Wednesday 2021-03-03; US daylight saving began Sunday 2021-03-14.
    const index = hourly('2021-03-03T00:00Z', 24 * 20);
    expect(iso(index, scheduleRows(index, 5, { weeks: 1 }))).toEqual(['2021-03-03T05:00', '2021-03-07T22:00', '2021-03-14T21:00', '2021-03-21T21:00']);
    expect(iso(index, scheduleRows(index, 5, { weeks: 2 }))).toEqual(['2021-03-03T05:00', '2021-03-14T21:00']);
  });

  it('weekly over a weekend gap: the first bar after the close, whatever hour it is', () => {
    // Bars stop Friday 2021-01-08 21:00 UTC and resume Monday 2021-01-11 00:00 UTC (a feed without Sunday bars).
    const fri = hourly('2021-01-06T00:00Z', 70);
    const mon = hourly('2021-01-11T00:00Z', 30);
    const index = Float64Array.from([...fri, ...mon]);
    expect(iso(index, scheduleRows(index, 0, { weeks: 1 }))).toEqual(['2021-01-06T00:00', '2021-01-11T00:00']);
  });

  it('daily: the FX day turns at 17:00 New York (22:00 UTC in January); bars: every N rows from the first', () => {
    const index = hourly('2021-01-05T00:00Z', 60);
    expect(iso(index, scheduleRows(index, 3, { days: 1 }))).toEqual(['2021-01-05T03:00', '2021-01-05T22:00', '2021-01-06T22:00']);
    expect(scheduleRows(index, 3, { bars: 25 })).toEqual([3, 28, 53]);
  });
});

describe('retrain window', () => {
  it('is the walk-forward fold whose test rows start at t', () => {
    for (const window of ['expanding', 'rolling'] as const) {
      for (const val of [0, 40]) {
        const folds = walkForwardFolds(1000, { train: 300, val, test: 100, step: 100, window }, 4);
        for (const f of folds) {
          const w = retrainWindow(f.test[0].start, { window, trainBars: 300, valBars: val, horizon: 4 });
          expect(w.train).toEqual(f.train[0]);
          expect(w.val).toEqual(f.val);
        }
      }
    }
    // By hand: t = 500, rolling 300, val 40, horizon 4 → e = 460; train [160, 456), val [460, 496).
    expect(retrainWindow(500, { window: 'rolling', trainBars: 300, valBars: 40, horizon: 4 })).toEqual({
      train: { start: 160, end: 456 },
      val: { start: 460, end: 496 },
    });
  });
});

describe('champion/challenger decision', () => {
  it('the challenger must beat the champion by more than the margin', () => {
    expect(decideChallenger('ic', 0.5, 0.875, 0.25)).toEqual({ accept: true, gain: 0.375 });
    expect(decideChallenger('ic', 0.5, 0.75, 0.25)).toEqual({ accept: false, gain: 0.25 }); // exactly the margin: not more
    expect(decideChallenger('da', 0.5, 0.625, 0)).toEqual({ accept: true, gain: 0.125 });
    expect(decideChallenger('da', 0.5, 0.5, 0)).toEqual({ accept: false, gain: 0 });
    // RMSE: lower is better, the gain is champion − challenger.
    expect(decideChallenger('rmse', 1, 0.5, 0.25)).toEqual({ accept: true, gain: 0.5 });
    expect(decideChallenger('rmse', 0.5, 1, 0)).toEqual({ accept: false, gain: -0.5 });
    // NaN: a challenger without a score never wins; one against a champion without a score does.
    expect(decideChallenger('ic', 0.5, NaN, 0).accept).toBe(false);
    expect(decideChallenger('ic', NaN, 0.1, 0.25).accept).toBe(true);
  });
});
