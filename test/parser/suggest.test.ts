import { describe, expect, it } from 'vitest';
import { editDistance, suggest } from '../../src/core/diagnostics.js';

describe('did-you-mean suggestions', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
    expect(editDistance('period', 'period')).toBe(0);
    expect(editDistance('perod', 'period')).toBe(1); // deletion
    expect(editDistance('periodd', 'period')).toBe(1); // insertion
    expect(editDistance('periud', 'period')).toBe(1); // substitution
    expect(editDistance('alpah', 'alpha')).toBe(1); // transposition
    expect(editDistance('kitten', 'sitting')).toBe(3); // the textbook Levenshtein example
  });

  it('suggests the closest candidate only when it is close', () => {
    expect(suggest('trian', ['fetch', 'features', 'split', 'train', 'backtest'])).toBe('train');
    expect(suggest('alpah', ['alpha', 'model'])).toBe('alpha');
    expect(suggest('zzzzz', ['alpha', 'model'])).toBeUndefined();
  });
});
