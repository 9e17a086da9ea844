import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import { compile } from '../../src/compiler/index.js';
import type { Diagnostic } from '../../src/core/diagnostics.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { builtinRegistry } from '../../src/steps/index.js';
import train from '../../src/steps/train/index.js';
import { testContext } from '../helpers/ctx.js';
import { synthetic } from './helpers.js';

describe('train step with a neural model', () => {
  it('refuses params that do not apply to the chosen model', () => {
    // Reported by the schema (a branch per model kind) at the parameter's key.
    const diagnostics = (w: string): Diagnostic[] => {
      const parsed = parsePipelineText(`version: 1\nname: t\nsteps:\n  m: { uses: train, with: ${w} }\n`, '/tmp/t.yaml');
      return parsed.spec ? compile(parsed.spec, builtinRegistry()).diagnostics.filter((d) => d.path?.startsWith('steps.m.with')) : parsed.diagnostics;
    };
    const ridge = diagnostics('{ model: ridge, lookback: 8 }');
    expect(ridge[0].path).toEqual('steps.m.with.lookback');
    expect(ridge[0].message).toContain('(it belongs to mlp, lstm, gru, tcn, transformer, diffusion, sssd, autoencoder)');
    const lstm = diagnostics('{ model: lstm, alpha: 1, kernel_size: 3 }');
    expect(lstm.map((i) => i.path)).toEqual(['steps.m.with.alpha', 'steps.m.with.kernel_size']);
    expect(lstm[1].message).toContain('(it belongs to tcn, diffusion)');
    expect(diagnostics('{ model: transformer, hidden: 30, heads: 4 }').map((d) => d.path)).toEqual(['steps.m.with.heads']);
    expect(diagnostics('{ model: lstm, lookback: 16, device: cpu }')).toEqual([]);
  });

  it('trains an LSTM, stores the backend with the model, and checkpoints into ctx.workDir', async () => {
    const n = 240;
    const { X, Y, index, k } = synthetic(n, 2, 4);
    const none = { method: 'none' as const, center: [0, 0], scale: [1, 1] };
    const ds: Dataset = {
      type: 'Dataset',
      symbol: 'T',
      timeframe: '1h',
      index,
      featureNames: ['a', 'b'],
      targetNames: ['fwd_ret_1', 'fwd_ret_4'],
      targetHorizons: [1, 4],
      X,
      Y,
      method: 'temporal',
      folds: [{ train: { start: 0, end: 160 }, val: { start: 160, end: 200 }, test: { start: 200, end: n }, scaler: none }],
    } as Dataset;
    void k;
    const workDir = path.join(mkdtempSync(path.join(tmpdir(), 'fxflow-step-')), 'key');
    const ctx = { ...testContext(), workDir };
    const prm = train.resolve!({ model: 'lstm', lookback: 6, hidden: 8, epochs: 3, batch_size: 32 } as never);
    const model = await train.run({ dataset: ds }, prm as never, ctx);
    expect(model.backend).toBe('wasm');
    expect(train.summary!(model)).toMatch(/^lstm on wasm · fwd_ret_1 val IC/);
    expect(ctx.logs.some((l) => l.startsWith('backend wasm') || l.includes('on wasm'))).toBe(true);
    expect(model.predictions.values.fwd_ret_1).toHaveLength(80);
    expect(readdirSync(path.join(workDir, 'fold-0')).some((d) => d.startsWith('epoch-0003-'))).toBe(true);
  });
});
