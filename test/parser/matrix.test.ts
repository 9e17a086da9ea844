import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';

/** Matrix expansion, include/exclude, located errors, and the merged plan of a sweep. */

const STEPS = `steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 500 }
  features:
    uses: features
    from: candles
    with:
      indicators: [ { rsi: { period: 14 } } ]
      returns: [1]
      target: { forward_return: { horizons: [1] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2] }
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: "\${matrix.alpha}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: "\${matrix.threshold}" }
`;

function pipeline(matrix: string, extra = ''): string {
  return `version: 1\nname: sweep\nmatrix:\n${matrix}\n${extra}${STEPS}`;
}

function parse(text: string) {
  return parsePipelineText(text, '/tmp/sweep.yaml', { displayFile: 'sweep.yaml' });
}

describe('matrix expansion', () => {
  it('is the product in written order, minus exclude, plus include', () => {
    const r = parse(
      pipeline(`  alpha: [0.1, 1, 10]
  threshold: [0, 0.0002]
  exclude: [{ alpha: 0.1, threshold: 0.0002 }, { alpha: 10 }]
  include: [{ alpha: 100, threshold: 0.0005 }, { alpha: 1, threshold: 0 }]`),
    );
    expect(r.diagnostics).toEqual([]);
    // 3×2 = 6; exclude (0.1, 0.0002) and both alpha=10 → 3; include adds (100, 0.0005); (1, 0) is already there.
    expect(r.spec!.matrix!.variants.map((v) => v.values)).toEqual([
      { alpha: 0.1, threshold: 0 },
      { alpha: 1, threshold: 0 },
      { alpha: 1, threshold: 0.0002 },
      { alpha: 100, threshold: 0.0005 },
    ]);
    // Each variant has its own resolved, validated params (types kept: numbers stay numbers).
    const model = r.spec!.matrix!.variants.map((v) => v.steps.find((s) => s.id === 'model')!.with.alpha);
    expect(model).toEqual([0.1, 1, 1, 100]);
    const rep = r.spec!.matrix!.variants[2].steps.find((s) => s.id === 'report')!;
    expect(rep.with.entry_threshold).toBe(0.0002);
    expect(rep.with.costs).toBeDefined(); // defaults filled per variant
  });

  it('reports bad matrix blocks at their line and column, with suggestions', () => {
    const r = parse(
      pipeline(`  alpha: [0.1, 1]
  threshold: [0]
  exclude: [{ alhpa: 0.1 }]
  include: [{ alpha: 5 }]`),
    );
    expect(r.spec).toBeUndefined();
    const msgs = r.diagnostics.map((d) => `${d.loc?.line}:${d.loc?.col} ${d.message} | ${d.hint ?? ''}`);
    expect(msgs).toEqual([
      '6:15 unknown matrix dimension `alhpa` in exclude | did you mean `alpha`?',
      '7:13 include entry does not give `threshold` | an included combination sets every dimension (alpha, threshold)',
    ]);
  });

  it('refuses an empty matrix and an exclude that removes everything', () => {
    const empty = parse(pipeline('  {}'));
    expect(empty.diagnostics.map((d) => d.message)).toContain('the matrix is empty: it defines no dimension');
    const all = parse(pipeline(`  alpha: [1]\n  threshold: [0]\n  exclude: [{ alpha: 1 }]`));
    expect(all.diagnostics.map((d) => d.message)).toContain('the matrix is empty: `exclude` removes every combination');
    const emptyList = parse(pipeline(`  alpha: []\n  threshold: [0]`));
    expect(emptyList.diagnostics[0]).toMatchObject({ path: 'matrix.alpha', loc: { line: 4, col: 10 } });
  });

  it('locates an undefined ${matrix.y} with a suggestion, once (not once per variant)', () => {
    const r = parse(pipeline(`  alpha: [0.1, 1]\n  threshold: [0]`).replace('${matrix.threshold}', '${matrix.treshold}'));
    const bad = r.diagnostics.filter((d) => d.message.includes('treshold'));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({
      message: 'undefined variable `matrix.treshold`',
      hint: 'did you mean `threshold`?',
      path: 'steps.report.with.entry_threshold',
    });
    expect(bad[0].loc!.line).toBe(28); // the `with:` line of `report`
  });

  it('a `${matrix.x}` without a matrix block says so', () => {
    const r = parse(`version: 1\nname: plain\n${STEPS}`);
    expect(r.diagnostics[0].message).toBe('`${matrix.alpha}` refers to `matrix`, which this pipeline does not define');
  });
});

describe('the plan of a sweep', () => {
  it('3×2 over model and backtest params: fetch, features and split are one node each', () => {
    const r = parse(pipeline(`  alpha: [0.1, 1, 10]\n  threshold: [0, 0.0002]`));
    const { plan, diagnostics } = compile(r.spec!, builtinRegistry());
    expect(diagnostics).toEqual([]);
    const ids = plan!.nodes.map((n) => n.id);
    expect(ids).toEqual([
      'candles',
      'features',
      'dataset',
      'model[alpha=0.1]',
      'model[alpha=1]',
      'model[alpha=10]',
      'report[alpha=0.1,threshold=0]',
      'report[alpha=0.1,threshold=0.0002]',
      'report[alpha=1,threshold=0]',
      'report[alpha=1,threshold=0.0002]',
      'report[alpha=10,threshold=0]',
      'report[alpha=10,threshold=0.0002]',
    ]);
    expect(plan!.byId.get('candles')!.variants).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plan!.byId.get('model[alpha=1]')!.variants).toEqual([2, 3]);
    expect(plan!.byId.get('report[alpha=1,threshold=0.0002]')!.inputs).toEqual({ model: 'model[alpha=1]', dataset: 'dataset', candles: 'candles' });
    expect(plan!.variants!.map((v) => v.label)).toEqual([
      'alpha=0.1,threshold=0',
      'alpha=0.1,threshold=0.0002',
      'alpha=1,threshold=0',
      'alpha=1,threshold=0.0002',
      'alpha=10,threshold=0',
      'alpha=10,threshold=0.0002',
    ]);
  });

  it('select on val evaluates the scored step on the val segment, once per variant', () => {
    const r = parse(pipeline(`  alpha: [0.1, 1]\n  threshold: [0]`, 'select: { metric: report.sharpe, on: val }\n'));
    const { plan } = compile(r.spec!, builtinRegistry());
    expect(plan!.select).toMatchObject({ step: 'report@val', name: 'sharpe', mode: 'max' });
    const val = plan!.nodes.filter((n) => n.step === 'report@val');
    expect(val.map((n) => n.id)).toEqual(['report@val[alpha=0.1]', 'report@val[alpha=1]']);
    const p = val[0].params as { segment?: string; segments?: string[] };
    expect(p.segments ?? [p.segment]).toEqual(['val']);
  });

  it('select naming an unknown step is a located error', () => {
    const r = parse(pipeline(`  alpha: [0.1, 1]\n  threshold: [0]`, 'select: { metric: reprot.sharpe }\n'));
    const { diagnostics } = compile(r.spec!, builtinRegistry());
    expect(diagnostics[0]).toMatchObject({ message: '`select.metric` refers to unknown step `reprot`', hint: 'did you mean `report`?', loc: { line: 6 } });
  });
});
