import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePipelineText as parseCompiling } from '../../src/parser/index.js';
import { PipelineValidator as CompilingValidator } from '../../src/parser/validate.js';

/**
 * The build compiles the pipeline schema's validators ahead of time (scripts/gen-validators.mjs);
 * the sources compile them with ajv at run time. Both must say exactly the same things: the same
 * diagnostics, at the same places, with the same defaults filled in.
 */
const { parsePipelineText: parseBuilt } = await import('../../dist/parser/index.js');
const { PipelineValidator: BuiltValidator, loadPipelineSchema } = await import('../../dist/parser/validate.js');

const root = fileURLToPath(new URL('../..', import.meta.url));
const shipped = readdirSync(path.join(root, 'pipelines'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(path.join(root, 'pipelines', f), 'utf8'));
const broken = [
  'version: 1\nname: t\nseed: -1\nstep:\n  a: { uses: fetch }\n',
  'version: 2\nname: t\nsteps: {}\n',
  'version: 1\nname: t\nsteps:\n  a: { uses: fetsh }\n',
  'version: 1\nname: t\nsteps:\n  f:\n    uses: features\n    with:\n      indicators:\n        - rsx: {}\n        - { rsi: {}, ema: {} }\n        - {}\n',
  'version: 1\nname: t\nsteps:\n  f:\n    uses: features\n    with: { returns: [0, "x"], target: { forward_return: { horizons: [] } } }\n',
  'version: 1\nname: t\nsteps:\n  c: { uses: fetch, with: { source: csv } }\n  s: { uses: split, from: c, with: { method: temporal, ratios: [0.6, 0.5, 0.2] } }\n',
  'version: 1\nname: t\nsteps:\n  m: { uses: train, with: { model: gbm, max_depth: -3, learning_rate: "fast", alpah: 1 } }\n',
  'version: 1\nname: t\nsteps:\n  b: { uses: backtest, with: { rule: sing, costs: { spread_pips: -1 } } }\n',
];

describe('precompiled pipeline validators', () => {
  it('are what the build uses, and say the same as validators compiled at run time', () => {
    expect(new BuiltValidator().precompiled).toBe(true);
    expect(new CompilingValidator().precompiled).toBe(false);
    let diagnostics = 0;
    for (const text of [...shipped, ...broken]) {
      const built = parseBuilt(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });
      const compiled = parseCompiling(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });
      expect(JSON.stringify(built)).toBe(JSON.stringify(compiled));
      diagnostics += compiled.diagnostics.length;
    }
    // The broken ones are broken: the comparison covered errors, not only clean parses.
    expect(diagnostics).toBeGreaterThan(broken.length);
  });

  it('are not used for another schema (a plugin-extended one): that one is compiled', () => {
    const schema = structuredClone(loadPipelineSchema());
    schema.description = `${String(schema.description)} (extended)`;
    expect(new BuiltValidator(schema).precompiled).toBe(false);
  });
});
