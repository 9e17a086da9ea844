import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hash.js';
import { loadPlugins, type PluginRef } from '../../src/plugins/index.js';

/**
 * A plugin read without running it (`execute: false`, what validate/plan/steps use): what must be
 * literal is checked and located, and the steps built from source carry no plugin code.
 */

const SOURCE = `import { defineStep, paramsOf, type Features } from 'fxflow';

export interface P {
  /** @default 2 */
  k: number;
}
const common = { description: 'shared' };
const V = 2;

export default defineStep({
  kind: 'literal_step',
  version: 3,
  description: 'All literal.',
  inputs: { features: 'Features' },
  output: 'Features',
  seeded: true,
  params: paramsOf<P>(),
  async run({ features }): Promise<Features> {
    return features;
  },
});

export const keyed = defineStep({
  kind: 'keyed_step',
  version: 1,
  description: 'Its key needs its code.',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<P>(),
  keyParams: (p) => ({ k: p.k }),
  async run({ features }): Promise<Features> {
    return features;
  },
});

export const spread = defineStep({
  ...common,
  kind: 'spread_step',
  version: V,
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<P>(),
  async run({ features }): Promise<Features> {
    return features;
  },
});

const hidden = defineStep({
  kind: 'hidden_step',
  version: 1,
  description: 'Never exported.',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<P>(),
  async run({ features }): Promise<Features> {
    return features;
  },
});
void hidden;
`;

function setup(): { dir: string; ref: PluginRef } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-plugin-'));
  const file = path.join(dir, 'steps.mts');
  writeFileSync(file, SOURCE);
  return { dir, ref: { spec: './steps.mts', file, loc: { file: 'p.yaml', line: 4, col: 5 } } };
}

const lineOf = (needle: string): number => SOURCE.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('plugins read from source', () => {
  it('locates what is not literal or not exported, and builds code-free steps from the rest', { timeout: 180_000 }, async () => {
    const { dir, ref } = setup();
    const out = await loadPlugins([ref], ['fetch'], { pipelineDir: dir, execute: false });
    const errors = out.diagnostics.map((d) => `${path.basename(d.loc?.file ?? '')}:${d.loc?.line}:${d.loc?.col}: ${d.message}`);
    expect(errors).toEqual([
      `steps.mts:${lineOf("kind: 'spread_step'")}:3: step \`spread_step\`: a spread (\`...\`), \`version\` in defineStep({…}) cannot be read without running the plugin`,
      `steps.mts:${lineOf("kind: 'hidden_step'")}:3: step \`hidden_step\` is not exported from ./steps.mts`,
    ]);

    // The same file without the two faulty steps: steps come from source, with no code of theirs.
    writeFileSync(ref.file, SOURCE.slice(0, SOURCE.indexOf('export const spread')));
    const ok = await loadPlugins([ref], ['fetch'], { pipelineDir: dir, execute: false });
    expect(ok.diagnostics).toEqual([]);
    const lit = ok.steps.find((s) => s.kind === 'literal_step')!;
    expect(lit).toMatchObject({ version: 3, seeded: true, inputs: { features: 'Features' }, output: 'Features', description: 'All literal.' });
    // The key sees the plugin's source hash, as a run's does for a step with no fingerprint of its own.
    expect(await lit.fingerprint!(undefined as never, { pipelineDir: dir, resolvePath: (p) => p })).toEqual({
      plugin: sha256(readFileSync(ref.file, 'utf8')),
      inner: null,
    });
    await expect(lit.run(undefined as never, undefined as never, undefined as never)).rejects.toThrow('read from its source only');
    expect(ok.keyCode).toEqual({ keyed_step: ['keyParams'] });
  });
});
