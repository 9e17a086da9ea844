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

describe('features defaults that depend on `preset`', () => {
  async function featuresKey(withText: string): Promise<string> {
    const text = `version: 1\nname: k\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c, with: ${withText} }\n`;
    const parsed = parsePipelineText(text, '/tmp/k.yaml');
    expect(parsed.diagnostics).toEqual([]);
    const plan = compile(parsed.spec!, builtinRegistry()).plan!;
    return (await computeKeys(plan)).get('f')!.key;
  }

  it('give the same key written out or left out: rsi_14 and ret_1 without a preset, nothing with one', async () => {
    const target = 'target: { forward_return: { horizons: [1] } }';
    const implicit = await featuresKey(`{ ${target} }`);
    expect(await featuresKey(`{ indicators: [{ rsi: { period: 14 } }], returns: [1], ${target} }`)).toBe(implicit);
    expect(await featuresKey(`{ returns: [2], ${target} }`)).not.toBe(implicit);
    const preset = await featuresKey(`{ preset: default, ${target} }`);
    expect(await featuresKey(`{ preset: default, indicators: [], returns: [], ${target} }`)).toBe(preset);
    expect(await featuresKey(`{ preset: default, returns: [1], ${target} }`)).not.toBe(preset);
  });
});

describe('backtest defaults that depend on other params', () => {
  async function backtestKey(withText: string): Promise<string> {
    const text =
      'version: 1\nname: k\nsteps:\n  c: { uses: fetch, with: { bars: 500 } }\n  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n' +
      `  m: { uses: train, from: d }\n  b: { uses: backtest, from: { model: m, dataset: d, candles: c }, with: ${withText} }\n`;
    const parsed = parsePipelineText(text, '/tmp/k.yaml');
    expect(parsed.diagnostics).toEqual([]);
    const plan = compile(parsed.spec!, builtinRegistry()).plan!;
    return (await computeKeys(plan)).get('b')!.key;
  }

  it('exit_threshold left out is entry_threshold: one key written out or left out', async () => {
    const implicit = await backtestKey('{ entry_threshold: 0.0002 }');
    expect(await backtestKey('{ entry_threshold: 0.0002, exit_threshold: 0.0002 }')).toBe(implicit);
    expect(await backtestKey('{ entry_threshold: 0.0002, exit_threshold: 0.0001 }')).not.toBe(implicit);
    // With entry_threshold left out too (its @default 0).
    expect(await backtestKey('{ exit_threshold: 0 }')).toBe(await backtestKey('{}'));
  });
});
