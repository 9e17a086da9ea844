import { describe, expect, it } from 'vitest';
import { buildWindows, buildWindowsMany, gatheredLayout, gatherTargets, gatherWindows, windowWidth, WINDOW_SD_FLOOR } from '../../src/models/nn/windows.js';

const H = 3_600_000;
const hours = (hs: number[]): Float64Array => Float64Array.from(hs, (h) => h * H);

describe('sequence windows', () => {
  it('never cross a gap larger than max gap (worked by hand)', () => {
    // Rows 0–4 hourly, then a 96 h outage, then rows 5–7 hourly.
    const index = hours([0, 1, 2, 3, 4, 100, 101, 102]);
    // lookback 3: rows 0–4 give windows ending at 2, 3, 4; after the gap the run restarts at row 5,
    // so the first full window ends at row 7.
    expect(Array.from(buildWindows(index, { start: 0, end: 8 }, 3, 72 * H))).toEqual([2, 3, 4, 7]);
    // With max gap 100 h the outage is allowed: every row from 2 on ends a window.
    expect(Array.from(buildWindows(index, { start: 0, end: 8 }, 3, 100 * H))).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('never reach before the start of their range (segment or fold boundary)', () => {
    const index = hours([0, 1, 2, 3, 4, 5, 6, 7]);
    // Range [3, 8): the first window needs rows 3, 4, 5.
    expect(Array.from(buildWindows(index, { start: 3, end: 8 }, 3, 72 * H))).toEqual([5, 6, 7]);
    // A range shorter than the lookback has none.
    expect(Array.from(buildWindows(index, { start: 3, end: 5 }, 3, 72 * H))).toEqual([]);
    // Two ranges (a fold's training pieces): windows of each, none spanning the two.
    expect(
      Array.from(
        buildWindowsMany(
          index,
          [
            { start: 0, end: 3 },
            { start: 4, end: 8 },
          ],
          3,
          72 * H,
        ),
      ),
    ).toEqual([2, 6, 7]);
  });

  it('span a weekend (49 h) with the default max gap of 72 h', () => {
    // Friday 20:00, 21:00, then Sunday 22:00, 23:00.
    const index = hours([0, 1, 50, 51]);
    expect(Array.from(buildWindows(index, { start: 0, end: 4 }, 4, 72 * H))).toEqual([3]);
    expect(Array.from(buildWindows(index, { start: 0, end: 4 }, 1, 72 * H))).toEqual([0, 1, 2, 3]);
  });

  it('gather a batch as [batch, lookback, p] from X without copying X', () => {
    // X[r, j] = 10 r + j, p = 2.
    const X = Float64Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 2) + (i % 2));
    const out = new Float32Array(2 * 3 * 2);
    gatherWindows(X, 2, 3, Int32Array.from([2, 5]), 0, 2, out);
    expect(Array.from(out)).toEqual([0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51]);
    // Through a shuffled order: order [1, 0] puts the window ending at 5 first.
    gatherWindows(X, 2, 3, Int32Array.from([2, 5]), 0, 2, out, Uint32Array.from([1, 0]));
    expect(Array.from(out.subarray(0, 6))).toEqual([30, 31, 40, 41, 50, 51]);
    // Targets: the window's last row, standardised.
    const Y = Float64Array.from([0, 1, 2, 3, 4, 5]);
    const y = new Float32Array(2);
    gatherTargets(Y, 1, Int32Array.from([2, 5]), 0, 2, y, undefined, [1], [2]);
    expect(Array.from(y)).toEqual([0.5, 2]);
  });

  it('lay out a gathered block of several training pieces', () => {
    const index = hours([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const l = gatheredLayout(
      index,
      [
        { start: 0, end: 3 },
        { start: 6, end: 8 },
      ],
      { start: 9, end: 10 },
    );
    expect(Array.from(l.index)).toEqual(Array.from(hours([0, 1, 2, 6, 7, 9])));
    expect(l.pieces).toEqual([
      { start: 0, end: 3 },
      { start: 3, end: 5 },
    ]);
  });

  describe('instance-normalised (RevIN input half)', () => {
    // p = 2, rows 0–5: feature 0 = 1, 2, 3, 5, 9, 17; feature 1 = 5 on every row.
    const f0 = [1, 2, 3, 5, 9, 17];
    const X = Float64Array.from({ length: 12 }, (_, i) => (i % 2 ? 5 : f0[i >> 1]));
    const q = windowWidth(2, 'instance');
    const gather = (x: Float64Array, ends: number[]): Float32Array => {
      const out = new Float32Array(ends.length * 3 * q);
      return gatherWindows(x, 2, 3, Int32Array.from(ends), 0, ends.length, out, undefined, 'instance');
    };

    it("a window worked by hand: z-scores over the window, then each feature's log sd and mean on every bar", () => {
      expect(q).toBe(6);
      // Window ending at row 2: feature 0 = 1, 2, 3 → mean 2, population sd √(2/3); feature 1 constant 5 → sd 0.
      const sd0 = Math.sqrt(2 / 3) + WINDOW_SD_FLOOR;
      const sd1 = WINDOW_SD_FLOOR;
      const want = [-1, 0, 1].flatMap((d) => [d / sd0, 0, Math.log(sd0), Math.log(sd1), 2, 5]);
      const got = gather(X, [2]);
      want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    });

    it("is causal: rows after a window's end do not change it; a row inside does", () => {
      const a = gather(X, [2, 4]);
      const later = Float64Array.from(X);
      later[5 * 2] = 1000; // row 5, after both windows
      expect(Array.from(gather(later, [2, 4]))).toEqual(Array.from(a));
      const inside = Float64Array.from(X);
      inside[4 * 2] = 1000; // row 4: inside the window ending at 4, after the one ending at 2
      const b = gather(inside, [2, 4]);
      expect(Array.from(b.subarray(0, 3 * q))).toEqual(Array.from(a.subarray(0, 3 * q)));
      expect(Array.from(b.subarray(3 * q))).not.toEqual(Array.from(a.subarray(3 * q)));
    });

    it('a window scaled by c and shifted keeps its z-scores; its log sd moves by log c (a wild window is a calm one on the log scale)', () => {
      const c = 40;
      const wild = Float64Array.from(X, (v, i) => (i % 2 ? v : 3 + c * v));
      const a = gather(X, [5]);
      const b = gather(wild, [5]);
      // Window rows 3–5: feature 0 = 5, 9, 17 (sd ≈ 5, so the floor is 10⁻⁴ of it: z agree to 4 places).
      for (let t = 0; t < 3; t++) {
        expect(b[t * q]).toBeCloseTo(a[t * q], 3);
        expect(b[t * q + 2] - a[t * q + 2]).toBeCloseTo(Math.log(c), 3);
        expect(b[t * q + 4]).toBeCloseTo(3 + c * (31 / 3), 3);
      }
    });
  });
});
