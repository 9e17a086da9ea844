import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/pipeline.js';
import { computeKeys } from '../../src/runtime/keys.js';
import { workdir } from '../helpers/cli.js';

/** `threads` is a speed setting (any count gives the same trees), so it stays out of the cache key. */
async function trainKey(withModel: string): Promise<string> {
  const file = path.join(workdir(), 'p.yaml');
  writeFileSync(
    file,
    `version: 1
name: threads-key
steps:
  candles: { uses: fetch, with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 400 } }
  features: { uses: features, from: candles, with: { returns: [1], target: { forward_return: { horizons: [1] } } } }
  dataset: { uses: split, from: features, with: { method: temporal, ratios: [0.6, 0.2, 0.2] } }
  model: { uses: train, from: dataset, with: ${withModel} }
`,
  );
  return (await computeKeys(await loadPlan(file))).get('model')!.key;
}

describe('train cache key', () => {
  it('ignores threads and still sees every param that changes the model', async () => {
    const base = await trainKey('{ model: gbm, max_depth: 4 }');
    expect(await trainKey('{ model: gbm, max_depth: 4, threads: 1 }')).toBe(base);
    expect(await trainKey('{ model: gbm, max_depth: 4, threads: 3 }')).toBe(base);
    expect(await trainKey('{ model: gbm, max_depth: 5, threads: 1 }')).not.toBe(base);
    const forest = await trainKey('{ model: random_forest }');
    expect(await trainKey('{ model: random_forest, threads: 2 }')).toBe(forest);
  });
});
