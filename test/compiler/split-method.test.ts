import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';

/**
 * A split parameter read by one method is an error under another, at its line: `method:
 * walk_forward` with `folds: 4` used to be accepted and the folds ignored. Defaults filled in for
 * the other methods never count (only what the YAML says).
 */

function problems(withLine: string): { line: number; col: number; message: string; hint?: string }[] {
  const text = `version: 1
name: t
steps:
  c:
    uses: fetch
    with: { source: synthetic, bars: 600 }
  f:
    uses: features
    from: c
  d:
    uses: split
    from: f
    with:
${withLine
  .split('; ')
  .map((l) => `      ${l}\n`)
  .join('')}`;
  const parsed = parsePipelineText(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });
  expect(parsed.diagnostics).toEqual([]);
  return compile(parsed.spec!, builtinRegistry()).diagnostics.map((d) => ({ line: d.loc!.line, col: d.loc!.col, message: d.message, hint: d.hint }));
}

const WF = 'method: walk_forward; train_bars: 200; test_bars: 100';

describe('split params that belong to another method', () => {
  it('`folds` under walk_forward is an error at its line, naming its method', () => {
    expect(problems(`${WF}; folds: 4`)).toEqual([
      {
        line: 17,
        col: 14,
        message: '`folds` applies to `method: purged_kfold`, not `method: walk_forward`: it would be ignored',
        hint: 'remove `folds`, or use `method: purged_kfold`',
      },
    ]);
  });

  it('`groups` and `test_groups` under purged_kfold, `ratios` under cpcv, `window` and `val_bars` under temporal', () => {
    expect(problems('method: purged_kfold; groups: 8; test_groups: 3').map((p) => [p.line, p.message])).toEqual([
      [15, '`groups` applies to `method: cpcv`, not `method: purged_kfold`: it would be ignored'],
      [16, '`test_groups` applies to `method: cpcv`, not `method: purged_kfold`: it would be ignored'],
    ]);
    expect(problems('method: cpcv; ratios: [0.5, 0.25, 0.25]').map((p) => p.message)).toEqual([
      '`ratios` applies to `method: temporal`, not `method: cpcv`: it would be ignored',
    ]);
    expect(problems('method: temporal; window: rolling; val_bars: 10').map((p) => p.message)).toEqual([
      '`window` applies to `method: walk_forward`, not `method: temporal`: it would be ignored',
      '`val_bars` applies to `method: walk_forward`, not `method: temporal`: it would be ignored',
    ]);
  });

  it('a param of several methods names them all', () => {
    expect(problems(`${WF}; embargo: 10`)).toEqual([
      {
        line: 17,
        col: 16,
        message: '`embargo` applies to `method: purged_kfold` or `method: cpcv`, not `method: walk_forward`: it would be ignored',
        hint: 'remove `embargo`, or use `method: purged_kfold` or `method: cpcv`',
      },
    ]);
  });

  it('the default method (temporal) is checked too', () => {
    expect(problems('folds: 3').map((p) => [p.line, p.message])).toEqual([
      [14, '`folds` applies to `method: purged_kfold`, not `method: temporal`: it would be ignored'],
    ]);
  });

  it('CPCV may make at most 10,000 splits: C(64, 32) ≈ 1.8e18 is refused at test_groups', () => {
    // C(64, 32) = 1,832,624,140,942,590,534 (closed form); C(14, 7) = 3,432 is fine.
    expect(problems('method: cpcv; groups: 64; test_groups: 32')).toEqual([
      {
        line: 16,
        col: 20,
        message: 'groups 64 with test_groups 32 make 1.83e+18 splits; the limit is 10,000',
        hint: 'use fewer groups or test groups, e.g. groups: 10, test_groups: 2 (45 splits)',
      },
    ]);
    expect(problems('method: cpcv; groups: 14; test_groups: 7')).toEqual([]);
  });

  it('each method with its own params (defaults filled for the rest) compiles', () => {
    expect(problems('method: temporal; ratios: [0.6, 0.2, 0.2]; scale: robust')).toEqual([]);
    expect(problems(`${WF}; window: rolling; val_bars: 50; step_bars: 100; max_folds: 2`)).toEqual([]);
    expect(problems('method: purged_kfold; folds: 4; embargo: 2')).toEqual([]);
    expect(problems('method: cpcv; groups: 5; test_groups: 2; embargo: auto')).toEqual([]);
  });
});
