import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../src/parser/index.js';

/** Schema validation through the parser, with the generated schema of the built-in steps. */

const parse = (text: string) => parsePipelineText(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });

describe('validation with the generated schema', () => {
  it('fills defaults from the params types, also inside a chosen indicator', () => {
    const r = parse('version: 1\nname: t\nsteps:\n  f:\n    uses: features\n    with:\n      indicators:\n        - rsi: {}\n        - macd: { fast: 5 }\n');
    expect(r.diagnostics).toEqual([]);
    const w = r.spec!.steps[0].with as { indicators: unknown[]; returns: number[]; target: unknown };
    // The @default values written in src/steps/features/params.ts.
    expect(w.indicators).toEqual([{ rsi: { period: 14, on: 'close' } }, { macd: { fast: 5, slow: 26, signal: 9, on: 'close' } }]);
    // `returns` defaults only without a preset: the features step fills it in resolve(), not the validator.
    expect(w.returns).toBeUndefined();
    expect(w.target).toEqual({ forward_return: { horizons: [1] } });
    expect(r.spec!.seed).toBe(42);
  });

  it('names an unknown indicator, a doubled entry and an empty one', () => {
    const r = parse(
      'version: 1\nname: t\nsteps:\n  f:\n    uses: features\n    with:\n      indicators:\n        - rsx: {}\n        - { rsi: {}, ema: {} }\n        - {}\n',
    );
    expect(r.diagnostics.map((d) => [d.loc?.line, d.message])).toEqual([
      [8, 'unknown indicator `rsx` of step `f` (features)'],
      [9, 'an entry of `indicators` of step `f` (features) holds one indicator, found `rsi`, `ema`'],
      [10, 'an empty entry in `indicators` of step `f` (features)'],
    ]);
    expect(r.diagnostics[0].hint).toBe('did you mean `rsi`?');
  });

  it('reports the cause of a failed reference, not its echo in the schema', () => {
    const r = parse('version: 1\nname: t\nsteps:\n  f:\n    uses: features\n    with: { returns: ["${vars.lag}"] }\n');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0].message).toBe('undefined variable `vars.lag`');
    // `    with: { returns: [` is 22 characters: the quoted reference starts at column 23.
    expect(r.diagnostics[0].loc).toEqual({ file: 'p.yaml', line: 6, col: 23 });
  });

  it('reports top-level mistakes with suggestions', () => {
    const r = parse('version: 1\nname: t\nseed: -1\nstep:\n  a: { uses: fetch }\n');
    const msgs = r.diagnostics.map((d) => d.message);
    expect(msgs).toContain('`seed` must be >= 0, got -1');
    expect(msgs).toContain('unknown key `step`');
    expect(msgs).toContain('missing required key `steps`');
    expect(r.diagnostics.find((d) => d.message === 'unknown key `step`')!.hint).toBe('did you mean `steps`?');
  });
});
