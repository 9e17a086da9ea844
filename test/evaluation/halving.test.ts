import { describe, expect, it } from 'vitest';
import { promotions, rungs, topFidelity, type HalvingSpec, type RungResult } from '../../src/evaluation/halving.js';

/** Successive halving by hand (Li et al. 2020, Algorithm 2): who goes up, and when. */

const H: HalvingSpec = { param: 'rounds', min: 50, max: 450, eta: 3 };
const at = (config: string, rounds: number, score?: number): RungResult => ({ values: { c: config, rounds }, ...(score !== undefined ? { score } : {}) });

describe('rungs', () => {
  it('multiply the fidelity by eta from min to max', () => {
    expect(rungs(H)).toEqual([50, 150, 450]);
    expect(rungs({ param: 'e', min: 1, max: 27, eta: 3 })).toEqual([1, 3, 9, 27]);
    expect(rungs({ param: 'e', min: 2, max: 32, eta: 2 })).toEqual([2, 4, 8, 16, 32]);
  });
  it('space the rungs geometrically when max/min is no power of eta (log₃ 10 ≈ 2.1: two steps of √10)', () => {
    // 50·√10 = 158.11…, rounded for an integer fidelity.
    expect(rungs({ param: 'e', min: 50, max: 500, eta: 3 })).toEqual([50, 158, 500]);
    expect(rungs({ param: 'e', min: 0.1, max: 1, eta: 3 })).toEqual([0.1, 0.316227766017, 1]);
  });
});

describe('promotions', () => {
  // Nine trials a…i on the first rung, scored by hand; the best third is d (0.9), h (0.8), f (0.7).
  const first = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((c, i) => at(c, 50, [0.1, 0.5, 0.3, 0.9, 0.2, 0.7, 0.4, 0.8, 0.6][i]));

  it('promote the best ⌊n/η⌋ of a rung, best first, as many as there are slots', () => {
    expect(promotions(H, first, 2)).toEqual([
      { c: 'd', rounds: 150 },
      { c: 'h', rounds: 150 },
    ]);
    expect(promotions(H, first, 10)).toEqual([
      { c: 'd', rounds: 150 },
      { c: 'h', rounds: 150 },
      { c: 'f', rounds: 150 },
    ]);
  });

  it('never promote a trial twice, and wait for a third of a rung before promoting from it', () => {
    // d and h ran on rung 1 (0.2 and 0.6): ⌊2/3⌋ = 0 go up from there; f is still due from rung 0.
    const now = [...first, at('d', 150, 0.2), at('h', 150, 0.6)];
    expect(promotions(H, now, 5)).toEqual([{ c: 'f', rounds: 150 }]);
    // f ran on rung 1 (0.9): the best of three goes to the last rung.
    const then = [...now, at('f', 150, 0.9)];
    expect(promotions(H, then, 5)).toEqual([{ c: 'f', rounds: 450 }]);
    // f ran on the last rung: nothing is left to promote (9 → 3 → 1, synchronous halving's counts).
    expect(promotions(H, [...then, at('f', 450, 0.5)], 5)).toEqual([]);
  });

  it('serve the highest rung first when slots are few', () => {
    const now = [...first, at('d', 150, 0.2), at('h', 150, 0.6), at('f', 150, 0.9)];
    // Nothing is left on rung 0 once d, h, f are up; add three more first-rung trials so both rungs have one due.
    const more = [...now, at('j', 50, 0.95), at('k', 50, 0), at('l', 50, 0)];
    // Rung 0 now has 12 trials: its best four are j, d, h, f; j is due. Rung 1's best, f, is due too.
    expect(promotions(H, more, 1)).toEqual([{ c: 'f', rounds: 450 }]);
    expect(promotions(H, more, 2)).toEqual([
      { c: 'f', rounds: 450 },
      { c: 'j', rounds: 150 },
    ]);
  });

  it('count only scored trials; ties keep the earlier trial', () => {
    // Six trials, two without a score (failed): ⌊4/3⌋ = 1 goes up; b and c tie, b is earlier.
    const r = [at('a', 50), at('b', 50, 1), at('c', 50, 1), at('d', 50), at('e', 50, 0), at('f', 50, -1)];
    expect(promotions(H, r, 3)).toEqual([{ c: 'b', rounds: 150 }]);
  });

  it('the winner is chosen on the highest rung any scored trial reached', () => {
    expect(topFidelity(H, first)).toBe(50);
    expect(topFidelity(H, [...first, at('d', 150, 0.2), at('d', 450)])).toBe(150);
    expect(topFidelity(H, [at('a', 50)])).toBeUndefined();
  });
});
