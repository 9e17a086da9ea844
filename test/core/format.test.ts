import { describe, expect, it } from 'vitest';
import { fixed, fmtBytes, pct, thousands } from '../../src/core/format.js';

/** The shared formatters; expected strings worked by hand. */

describe('core/format', () => {
  it('groups an integer by thousands whatever the locale', () => {
    expect(thousands(0)).toBe('0');
    expect(thousands(999)).toBe('999');
    expect(thousands(1000)).toBe('1,000');
    expect(thousands(19950)).toBe('19,950');
    expect(thousands(1234567)).toBe('1,234,567');
    expect(thousands(-50000)).toBe('-50,000');
  });

  it('prints sizes in B, KiB and MiB', () => {
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(1536)).toBe('1.5 KiB');
    expect(fmtBytes(12 * 1024 * 1024)).toBe('12.0 MiB');
  });

  it('prints ratios as percentages, and a non-finite value as the given placeholder', () => {
    expect(pct(0.1234)).toBe('12.34%');
    expect(pct(-0.05, 1)).toBe('-5.0%');
    expect(pct(Number.NaN)).toBe('—');
    expect(pct(Number.POSITIVE_INFINITY, 1, 'n/a')).toBe('n/a');
    expect(fixed(3.14159, 3)).toBe('3.142');
    expect(fixed(Number.NaN, 2, 'n/a')).toBe('n/a');
  });
});
