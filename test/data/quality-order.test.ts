import { describe, expect, it } from 'vitest';
import { applyQuality, policyOf, stableSortByTime } from '../../src/data/quality.js';
import { emptyRaw, type RawBars } from '../../src/data/reader.js';

const POLICY = policyOf({
  zero_rows: 'drop',
  nonpositive: 'error',
  ohlc: 'error',
  backwards: 'sort',
  duplicates: 'keep-last',
  gaps: 'warn',
  clock: 'warn',
  max_gap: '1h',
});
const M = 60_000;
const T0 = Date.UTC(2021, 2, 2); // a Tuesday: no weekend closure in these few minutes

describe('stableSortByTime (natural merge sort)', () => {
  it('orders like a stable sort by time (ties in row order) for runs of every shape', () => {
    let s = 7;
    const rand = (k: number): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % k;
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + rand(400);
      // Non-decreasing runs of random lengths, restarting lower: a DST repeat, overlapping files.
      const t = new Float64Array(m);
      let v = rand(50);
      for (let i = 0; i < m; i++) {
        if (rand(trial % 3 === 0 ? 5 : 60) === 0) v -= rand(80);
        else v += rand(3);
        t[i] = v;
      }
      const order = Int32Array.from({ length: m }, (_, i) => i);
      // Reference: Array.prototype.sort, stable since ES2019.
      const want = Array.from(order).sort((a, b) => t[a] - t[b]);
      expect(Array.from(stableSortByTime(order, t))).toEqual(want);
    }
  });
});

/** Raw bars from (minute, close) rows, in file order; open = high = low = close. */
function rawOf(rows: [number, number][]): RawBars {
  const raw = emptyRaw(rows.length + 3); // room to spare, as the reader leaves
  rows.forEach(([min, c], i) => {
    raw.t[i] = T0 + min * M;
    raw.open[i] = raw.high[i] = raw.low[i] = raw.close[i] = c;
    raw.line[i] = i + 1;
  });
  raw.n = rows.length;
  raw.files.push('f.csv');
  return raw;
}

describe('applyQuality: the clean bars gathered into the raw arrays (reuseRaw)', () => {
  // A repeated stretch (minutes 2–3 again, as in HistData's 2019 DST hour) and a zero row.
  const rows: [number, number][] = [
    [0, 1.1],
    [1, 1.2],
    [2, 1.3],
    [3, 1.4],
    [2, 1.31],
    [3, 1.41],
    [4, 0],
    [5, 1.5],
  ];
  // By hand: sorted 0, 1, 2, 2', 3, 3', 4 (zero row dropped first), 5; keep-last takes 2' and 3'.
  const want = { minutes: [0, 1, 2, 3, 5], close: [1.1, 1.2, 1.31, 1.41, 1.5], line: [1, 2, 5, 6, 8] };

  for (const reuse of [false, true]) {
    it(`${reuse ? 'in place' : 'into new arrays'}: sorted, keep-last, zero row dropped`, () => {
      const raw = rawOf(rows);
      const { bars, notes } = applyQuality(raw, POLICY, M, reuse);
      expect(Array.from(bars.index, (t) => (t - T0) / M)).toEqual(want.minutes);
      expect(Array.from(bars.close)).toEqual(want.close);
      expect(Array.from(bars.line)).toEqual(want.line);
      expect(notes.map((q) => [q.kind, q.count])).toEqual([
        ['zero_rows', 1],
        ['backwards', 1],
        ['duplicates', 2],
      ]);
      // In place: views of raw's arrays (no second copy); otherwise arrays of their own.
      expect(bars.close.buffer === raw.close.buffer).toBe(reuse);
    });
  }

  it('a row that must move later is gathered into new arrays even when reuse is allowed', () => {
    // Minute 5 first, then 0–2: the sort moves row 0 to the end (final[k] < k), which an in-place
    // gather would overwrite before reading.
    const raw = rawOf([
      [5, 1.5],
      [0, 1.0],
      [1, 1.1],
      [2, 1.2],
    ]);
    const { bars } = applyQuality(raw, POLICY, M, true);
    expect(Array.from(bars.close)).toEqual([1.0, 1.1, 1.2, 1.5]);
    expect(bars.close.buffer === raw.close.buffer).toBe(false);
  });
});
