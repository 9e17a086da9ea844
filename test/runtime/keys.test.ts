import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { computeKeys } from '../../src/runtime/keys.js';
import { builtinRegistry } from '../../src/steps/index.js';

async function keysOf(trainWith: string): Promise<Map<string, string>> {
  const text = `version: 1\nname: k\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: ${trainWith} }\n`;
  const parsed = parsePipelineText(text, '/tmp/k.yaml');
  expect(parsed.diagnostics).toEqual([]);
  const plan = compile(parsed.spec!, builtinRegistry()).plan!;
  return new Map([...(await computeKeys(plan))].map(([id, k]) => [id, k.key]));
}

describe('cache keys', () => {
  it('are the same whether a default is written out or left out, also model-dependent ones', async () => {
    const implicit = await keysOf('{ model: ridge }');
    const explicit = await keysOf('{ model: ridge, alpha: 1 }');
    expect(explicit.get('m')).toBe(implicit.get('m'));
    const other = await keysOf('{ model: ridge, alpha: 2 }');
    expect(other.get('m')).not.toBe(implicit.get('m'));
    // Upstream keys do not depend on the train params at all.
    expect(other.get('d')).toBe(implicit.get('d'));
  });
});
