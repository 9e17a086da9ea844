import { describe, it, expect } from 'vitest';
import {
  binomial,
  boundariesFold,
  combinations,
  contiguousGroups,
  cpcv,
  firstRowAtOrAfter,
  purgedKFold,
  purgedTrain,
  temporalFold,
  walkForwardFolds,
} from '../../src/evaluation/folds.js';

const r = (start: number, end: number) => ({ start, end });

describe('temporal', () => {
  it('20 rows, 0.6/0.2/0.2, horizon 2: train [0,10) val [12,14) test [16,20)', () => {
    // nTrain = ⌊12⌋ = 12, nVal = 4; purge 2 at the end of train (rows 10, 11) and of val (14, 15).
    expect(temporalFold(20, [0.6, 0.2, 0.2], 2)).toEqual({ train: [r(0, 10)], val: r(12, 14), test: [r(16, 20)], purged: 2 });
  });

  it('horizon 0 purges nothing', () => {
    expect(temporalFold(10, [0.5, 0.3, 0.2], 0)).toEqual({ train: [r(0, 5)], val: r(5, 8), test: [r(8, 10)], purged: 0 });
  });

  it('by boundaries: val from row 10, test from row 15, horizon 2 over 20 rows', () => {
    // train [0, 10−2), val [10, 15−2), test [15, 20)
    expect(boundariesFold(20, 10, 15, 2)).toEqual({ train: [r(0, 8)], val: r(10, 13), test: [r(15, 20)], purged: 2 });
  });

  it('a purge longer than the segment leaves it empty rather than negative', () => {
    // val [3, 3+1−2) → [3, 3)
    expect(temporalFold(6, [0.5, 0.2, 0.3], 2).val).toEqual(r(3, 3));
  });

  it('firstRowAtOrAfter finds a date boundary between rows and on a row', () => {
    const idx = [0, 10, 20, 30];
    expect(firstRowAtOrAfter(idx, 20)).toBe(2);
    expect(firstRowAtOrAfter(idx, 21)).toBe(3);
    expect(firstRowAtOrAfter(idx, -5)).toBe(0);
    expect(firstRowAtOrAfter(idx, 99)).toBe(4);
  });
});

describe('walk-forward', () => {
  const o = { train: 8, val: 3, test: 4, step: 4, window: 'expanding' as const };

  it('expanding, 20 rows, train 8, val 3, test 4, step 4, horizon 1: two folds', () => {
    // fold 0: e = 8. train [0, 8−1), val [8, 8+3−1) = [8,10), test [11, 15).
    // fold 1: e = 12. train [0, 11), val [12, 14), test [15, 19).
    // e = 16: 16+3+4 = 23 > 20, stop.
    expect(walkForwardFolds(20, o, 1)).toEqual([
      { train: [r(0, 7)], val: r(8, 10), test: [r(11, 15)], purged: 2 },
      { train: [r(0, 11)], val: r(12, 14), test: [r(15, 19)], purged: 2 },
    ]);
  });

  it('rolling: the training window keeps its length 8 (before purging)', () => {
    const f = walkForwardFolds(20, { ...o, window: 'rolling' }, 1);
    expect(f.map((x) => x.train)).toEqual([[r(0, 7)], [r(4, 11)]]);
  });

  it('max_folds keeps the most recent folds', () => {
    expect(walkForwardFolds(20, { ...o, maxFolds: 1 }, 1).map((x) => x.test)).toEqual([[r(15, 19)]]);
  });

  it('without val, the test window follows the purged training window; the last fold may end exactly at n', () => {
    // n 10, train 4, test 3, step 3, horizon 2: e = 4 → train [0,2), test [4,7); e = 7 → train [0,5), test [7,10).
    expect(walkForwardFolds(10, { train: 4, val: 0, test: 3, step: 3, window: 'expanding' }, 2)).toEqual([
      { train: [r(0, 2)], val: r(4, 4), test: [r(4, 7)], purged: 2 },
      { train: [r(0, 5)], val: r(7, 7), test: [r(7, 10)], purged: 2 },
    ]);
  });

  it('too few rows: no fold', () => {
    expect(walkForwardFolds(14, o, 1)).toEqual([]);
  });

  it('no training row ever reaches a later row’s label: train end + horizon ≤ val start, val end + horizon ≤ test start', () => {
    for (const h of [0, 1, 3, 5]) {
      for (const f of walkForwardFolds(200, { train: 50, val: 20, test: 30, step: 17, window: 'rolling' }, h)) {
        expect(f.train[0].end + h).toBeLessThanOrEqual(f.val.start);
        expect(f.val.end + h).toBeLessThanOrEqual(f.test[0].start);
      }
    }
  });
});

describe('purging and embargo', () => {
  it('purges horizon rows before and embargoes rows after each evaluation range', () => {
    // n 20, evaluation [8, 12), horizon 2, embargo 3: blocked [6, 15) → train [0,6) and [15,20); purged 2 + 3.
    expect(purgedTrain(20, [r(8, 12)], 2, 3)).toEqual({ train: [r(0, 6), r(15, 20)], purged: 5 });
  });

  it('clips at both ends and merges overlapping blocks', () => {
    // evaluation [1,3) and [6,8), horizon 2, embargo 2 over 10 rows: blocked [0,5) ∪ [4,10) = [0,10): nothing left.
    expect(purgedTrain(10, [r(1, 3), r(6, 8)], 2, 2)).toEqual({ train: [], purged: 6 });
    // a gap of one row survives: evaluation [2,4) and [8,10), horizon 1, embargo 1: blocked [1,5), [7,10) → train [0,1), [5,7)
    expect(purgedTrain(10, [r(2, 4), r(8, 10)], 1, 1)).toEqual({ train: [r(0, 1), r(5, 7)], purged: 3 });
  });
});

describe('purged k-fold', () => {
  it('20 rows, 4 folds, horizon 2, embargo 3', () => {
    // groups [0,5) [5,10) [10,15) [15,20)
    // fold 0: blocked [0, 5+3) → train [8,20), purged 3 (embargo only; nothing before row 0)
    // fold 1: blocked [5−2, 10+3) = [3,13) → train [0,3) [13,20), purged 2 + 3
    // fold 2: blocked [8,18) → train [0,8) [18,20), purged 5
    // fold 3: blocked [13,20) → train [0,13), purged 2 (nothing after the last row)
    expect(purgedKFold(20, 4, 2, 3)).toEqual([
      { train: [r(8, 20)], val: r(0, 0), test: [r(0, 5)], purged: 3 },
      { train: [r(0, 3), r(13, 20)], val: r(5, 5), test: [r(5, 10)], purged: 5 },
      { train: [r(0, 8), r(18, 20)], val: r(10, 10), test: [r(10, 15)], purged: 5 },
      { train: [r(0, 13)], val: r(15, 15), test: [r(15, 20)], purged: 2 },
    ]);
  });

  it('uneven groups: 10 rows in 3 → [0,3) [3,6) [6,10)', () => {
    // ⌊10/3⌋ = 3, ⌊20/3⌋ = 6
    expect(contiguousGroups(10, 3)).toEqual([r(0, 3), r(3, 6), r(6, 10)]);
  });

  it('the test folds cover every row exactly once', () => {
    const seen = new Array<number>(103).fill(0);
    for (const f of purgedKFold(103, 7, 3, 4)) for (const t of f.test) for (let i = t.start; i < t.end; i++) seen[i]++;
    expect(seen.every((c) => c === 1)).toBe(true);
  });
});

describe('CPCV', () => {
  it('combinations and binomials', () => {
    expect(combinations(4, 2)).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    expect(binomial(6, 2)).toBe(15);
    expect(binomial(5, 1)).toBe(5);
    expect(combinations(6, 2)).toHaveLength(15);
  });

  it('20 rows, N 4, k 2, horizon 1, embargo 1: six splits and three paths', () => {
    // groups [0,5) [5,10) [10,15) [15,20)
    const c = cpcv(20, 4, 2, 1, 1);
    expect(c.testGroups).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ]);
    // {0,1}: test [0,10) (adjacent groups merge); blocked [0,11) → train [11,20)
    // {0,2}: test [0,5) [10,15); blocked [0,6) [9,16) → train [6,9) [16,20)
    // {0,3}: test [0,5) [15,20); blocked [0,6) [14,20) → train [6,14)
    // {1,2}: test [5,15); blocked [4,16) → train [0,4) [16,20)
    // {1,3}: test [5,10) [15,20); blocked [4,11) [14,20) → train [0,4) [11,14)
    // {2,3}: test [10,20); blocked [9,20) → train [0,9)
    expect(c.folds.map((f) => f.test)).toEqual([[r(0, 10)], [r(0, 5), r(10, 15)], [r(0, 5), r(15, 20)], [r(5, 15)], [r(5, 10), r(15, 20)], [r(10, 20)]]);
    expect(c.folds.map((f) => f.train)).toEqual([[r(11, 20)], [r(6, 9), r(16, 20)], [r(6, 14)], [r(0, 4), r(16, 20)], [r(0, 4), r(11, 14)], [r(0, 9)]]);
    // Purged: {0,1}: row 10; {0,2}: rows 5, 9, 15; {0,3}: rows 5, 14; {1,2}: 4, 15; {1,3}: 4, 10, 14; {2,3}: 9.
    expect(c.folds.map((f) => f.purged)).toEqual([1, 3, 2, 2, 3, 1]);
    // C(3,1) = 3 paths. Group 0 is tested in splits 0,1,2; group 1 in 0,3,4; group 2 in 1,3,5; group 3 in 2,4,5.
    // Path j takes each group's j-th split.
    expect(c.paths).toEqual([
      [0, 0, 1, 2],
      [1, 3, 3, 4],
      [2, 4, 5, 5],
    ]);
  });

  it('every path covers every group once with a split that tested it', () => {
    const c = cpcv(120, 6, 2, 2, 3);
    expect(c.folds).toHaveLength(15);
    expect(c.paths).toHaveLength(5); // C(5, 1)
    for (const path of c.paths) path.forEach((f, g) => expect(c.testGroups[f]).toContain(g));
    // each split contributes its k = 2 groups to paths: 15 splits × 2 = 5 paths × 6 groups
    const uses = new Array<number>(15).fill(0);
    for (const path of c.paths) for (const f of path) uses[f]++;
    expect(uses.every((u) => u === 2)).toBe(true);
  });
});
