import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coreBudget, parseJobs, resolveThreads } from '../../src/core/threads.js';
import { fxflow, workdir } from '../helpers/cli.js';

/** `--jobs` is read in one place for `run` and `watch`; "all cores" is one default (core/threads.ts). */

describe('parseJobs', () => {
  it('takes whole numbers ≥ 1 written in decimal digits', () => {
    expect(parseJobs('1')).toBe(1);
    expect(parseJobs('16')).toBe(16);
  });
  it.each(['x', '0', '-1', '1.5', '', ' 2', '0x2', '2e0', 'Infinity', '99999999999999999999'])('refuses `%s` with the value and what it takes', (text) => {
    const r = parseJobs(text);
    expect(typeof r).toBe('object');
    expect((r as { error: string }).error).toBe(`--jobs takes a whole number of cores ≥ 1 (default: all ${availableParallelism()}), got \`${text}\``);
  });
});

describe('the core budget', () => {
  it('is all cores by default, else the given number, and refuses a budget that is not a whole number ≥ 1', () => {
    expect(coreBudget()).toBe(availableParallelism());
    expect(coreBudget(3)).toBe(3);
    expect(() => coreBudget(0)).toThrow(RangeError);
    expect(() => coreBudget(Number.NaN)).toThrow(RangeError);
    expect(() => coreBudget(1.5)).toThrow(RangeError);
  });
  it('is what a step’s `threads: 0` means', () => {
    expect(resolveThreads(0)).toBe(availableParallelism());
    expect(resolveThreads(undefined)).toBe(availableParallelism());
    expect(resolveThreads(2)).toBe(2);
  });
});

const PIPELINE = `version: 1
name: jobs
steps:
  candles:
    uses: fetch
    with: { source: synthetic, bars: 300 }
`;

describe.each(['run', 'watch'])('fxflow %s --jobs', (cmd) => {
  it.each(['x', '0', '-1', '1.5'])('refuses --jobs %s with exit 2, a one-line reason and no store written', async (value) => {
    const dir = workdir();
    const file = path.join(dir, 'p.yaml');
    writeFileSync(file, PIPELINE);
    const r = await fxflow([cmd, file, `--jobs=${value}`], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`--jobs takes a whole number of cores ≥ 1 (default: all ${availableParallelism()}), got \`${value}\``);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    expect(existsSync(path.join(dir, '.fxflow'))).toBe(false);
  });
});
