import { describe, expect, it } from 'vitest';
import { loadYaml } from '../../src/parser/yaml.js';
import { interpolate } from '../../src/parser/interpolate.js';
import type { Diagnostic } from '../../src/core/diagnostics.js';

describe('loadYaml', () => {
  it('maps every value and key to its line and column', () => {
    const text = ['version: 1', 'steps:', '  candles:', '    uses: fetch', '    with: { bars: [10, 20] }', ''].join('\n');
    const r = loadYaml(text, 'p.yaml');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ version: 1, steps: { candles: { uses: 'fetch', with: { bars: [10, 20] } } } });
    // `20` is on line 5; counting columns by hand: "    with: { bars: [10, " is 23 characters.
    expect(r.positions.valueLoc('/steps/candles/with/bars/1')).toEqual({ file: 'p.yaml', line: 5, col: 24 });
    expect(r.positions.keyLoc('/steps/candles/uses')).toEqual({ file: 'p.yaml', line: 4, col: 5 });
    // An unknown pointer falls back to its nearest known ancestor.
    expect(r.positions.valueLoc('/steps/candles/with/nope').line).toBe(5);
  });

  it('refuses a duplicate step id, naming both lines', () => {
    const r = loadYaml('steps:\n  a: { uses: fetch }\n  b: { uses: fetch }\n  a: { uses: split }\n', 'p.yaml');
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    expect(d.message).toBe('duplicate step id `a`');
    expect(d.loc).toEqual({ file: 'p.yaml', line: 4, col: 3 });
    expect(d.hint).toContain('line 2');
  });

  it('refuses duplicate keys anywhere', () => {
    const r = loadYaml('name: a\nname: b\n', 'p.yaml');
    expect(r.diagnostics[0].message).toBe('duplicate key `name`');
    expect(r.diagnostics[0].loc?.line).toBe(2);
  });

  it('refuses custom tags', () => {
    const r = loadYaml('a: !js/function "return 1"\n', 'p.yaml');
    expect(r.diagnostics[0].message).toContain('custom YAML tag `!js/function`');
    expect(r.diagnostics[0].loc?.line).toBe(1);
  });

  it('stops an alias bomb instead of expanding it', () => {
    const lines = ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]'];
    for (const [x, y] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ]) {
      lines.push(`${x}: &${x} [${Array(10).fill(`*${y}`).join(', ')}]`);
    }
    const r = loadYaml(`${lines.join('\n')}\n`, 'bomb.yaml');
    expect(r.diagnostics.some((d) => d.message.includes('aliases expand to more than'))).toBe(true);
  });

  it('expands a small alias', () => {
    const r = loadYaml('base: &b { period: 14 }\nother: *b\n', 'p.yaml');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ base: { period: 14 }, other: { period: 14 } });
  });

  it('reports malformed YAML with its line', () => {
    const r = loadYaml('steps:\n  a:\n    uses: fetch\n   with: {}\n', 'p.yaml');
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(r.diagnostics[0].message).toMatch(/^malformed YAML/);
    expect(r.diagnostics[0].loc?.line).toBe(4);
  });
});

describe('interpolate', () => {
  const run = (value: unknown, vars: Record<string, unknown>) => {
    const text = 'x: 1\n';
    const { positions } = loadYaml(text, 'p.yaml');
    const diagnostics: Diagnostic[] = [];
    const out = interpolate(value, { vars, matrix: undefined }, positions, diagnostics, ['steps']);
    return { out, diagnostics };
  };

  it('keeps the type of a whole-value reference', () => {
    expect(run({ h: ['${vars.h}', 1] }, { h: 4 }).out).toEqual({ h: [4, 1] });
    expect(run('${ vars.flag }', { flag: true }).out).toBe(true);
  });

  it('splices references inside longer strings as text', () => {
    expect(run('EURUSD_${vars.tf}.csv', { tf: 'H1' }).out).toBe('EURUSD_H1.csv');
    expect(run('h${vars.h}', { h: 4 }).out).toBe('h4');
  });

  it('writes a literal ${ for $${', () => {
    expect(run('cost $${x}', {}).out).toBe('cost ${x}');
  });

  it('reports an undefined variable with a suggestion', () => {
    const { diagnostics } = run('${vars.horizn}', { horizon: 4 });
    expect(diagnostics[0].message).toBe('undefined variable `vars.horizn`');
    expect(diagnostics[0].hint).toBe('did you mean `horizon`?');
  });

  it('refuses expressions', () => {
    const { diagnostics } = run('${vars.h + 1}', { h: 4 });
    expect(diagnostics[0].message).toContain('malformed reference');
  });

  it('reports a matrix reference in a pipeline without a matrix', () => {
    const { diagnostics } = run('${matrix.alpha}', {});
    expect(diagnostics[0].message).toContain('does not define');
  });
});
