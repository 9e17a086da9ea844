import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';

/** `search:` → the first round's trials as variants, located errors, and plans whose node ids stay put as trials are added. */

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
      target: { forward_return: { horizons: ["\${matrix.horizon}"] } }
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
`;

const SELECT = 'select: { metric: report.sharpe, on: val, mode: max }\n';

function pipeline(search: string, extra = SELECT): string {
  return `version: 1\nname: s\nseed: 3\nsearch:\n${search}\n${extra}${STEPS}`;
}

const parse = (text: string) => parsePipelineText(text, '/tmp/s.yaml', { displayFile: 's.yaml' });
const SPACE = `  space:
    alpha: { loguniform: [0.01, 100] }
    horizon: { choice: [1, 4] }`;

describe('search expansion', () => {
  it('a random search draws every trial up front, seeded, inside the space', () => {
    const r = parse(pipeline(`  method: random\n  trials: 12\n${SPACE}`));
    expect(r.diagnostics).toEqual([]);
    const vs = r.spec!.matrix!.variants;
    expect(vs).toHaveLength(12);
    for (const v of vs) {
      expect(Number(v.values.alpha)).toBeGreaterThanOrEqual(0.01);
      expect(Number(v.values.alpha)).toBeLessThanOrEqual(100);
      expect([1, 4]).toContain(v.values.horizon);
      expect(v.steps.find((s) => s.id === 'model')!.with.alpha).toBe(v.values.alpha);
    }
    expect(parse(pipeline(`  method: random\n  trials: 12\n${SPACE}`)).spec!.matrix!.variants.map((v) => v.values)).toEqual(vs.map((v) => v.values));
    const other = parse(pipeline(`  method: random\n  trials: 12\n  seed: 4\n${SPACE}`)).spec!.matrix!.variants.map((v) => v.values);
    expect(other).not.toEqual(vs.map((v) => v.values));
  });

  it('TPE draws its startup trials first; the plan of more trials keeps every earlier node id', () => {
    const r = parse(pipeline(`  trials: 20\n  startup: 4\n${SPACE}`));
    expect(r.diagnostics).toEqual([]);
    expect(r.spec!.search!.method).toBe('tpe');
    expect(r.spec!.matrix!.variants).toHaveLength(4);
    const c = compile(r.spec!, builtinRegistry());
    expect(c.diagnostics).toEqual([]);
    const plan = c.plan!;
    expect(plan.byId.has('candles')).toBe(true);
    expect(plan.byId.has('model[t1]')).toBe(true);
    const more = plan.search!.planFor([...plan.variants!.map((v) => v.values), { alpha: 5, horizon: 4 }, { alpha: 7, horizon: 1 }]).plan!;
    for (const n of plan.nodes) expect(more.byId.get(n.id)?.params).toEqual(n.params);
    expect(more.byId.get('model[t6]')!.params.alpha).toBe(7);
    expect(more.variants).toHaveLength(6);
  });

  it('reports bad bounds, a missing select, a space smaller than the trials and an unknown parameter at their lines', () => {
    const r = parse(
      pipeline(
        `  trials: 50
  space:
    alpha: { loguniform: [0, 100] }
    horizon: { choice: [1, 4] }
    depth: { int: [5, 2] }`,
        '',
      ),
    );
    const msgs = r.diagnostics.map((d) => `${d.loc?.line}: ${d.message}`);
    expect(msgs).toContain('5: a TPE search needs `select:` to score its trials');
    expect(msgs).toContain('7: `alpha`: a log scale needs a low bound above 0, got 0');
    expect(msgs).toContain('9: `depth`: the low bound 5 is not below the high bound 2');
    // The steps are still checked, with a value from each parameter's space (no echo of `${matrix.…}`).
    expect(msgs.filter((m) => m.includes('matrix.'))).toEqual([]);
    const small = parse(pipeline(`  trials: 5\n  space:\n    alpha: { choice: [1, 2] }\n    horizon: { choice: [1, 4] }`));
    expect(small.diagnostics.map((d) => d.message)).toEqual(['5 trials, but the space has only 4 distinct values']);
    const unknown = parse(pipeline(`  trials: 5\n  space:\n    alpa: { uniform: [1, 2] }\n    horizon: { choice: [1, 4] }`));
    expect(unknown.diagnostics[0].message).toBe('`${matrix.alpha}` names no parameter of `search.space`');
    expect(unknown.diagnostics[0].hint).toContain('alpa');
  });

  it('the schema refuses a distribution it does not know, at its line', () => {
    const r = parse(pipeline(`  trials: 5\n  space:\n    alpha: { normal: [1, 2] }\n    horizon: { choice: [1, 4] }`));
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics[0].loc?.line).toBe(7);
  });
});
