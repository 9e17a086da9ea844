import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/core/diagnostics.js';
import { loadPlan } from '../../src/pipeline.js';
import { computeKeys } from '../../src/runtime/keys.js';
import { fxflow, workdir } from '../helpers/cli.js';

/** The pipeline-level `device:` default: neural train steps inherit it, their own value wins. */

function pipeline(top: string, steps: string): string {
  return `version: 1
name: device-default
${top}
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 400 }
  features:
    uses: features
    from: candles
    with: { returns: [1], target: { forward_return: { horizons: [1] } } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2] }
${steps}`;
}

const STEPS = `  inherits:
    uses: train
    from: dataset
    with: { model: lstm, lookback: 8 }
  own:
    uses: train
    from: dataset
    with: { model: gru, lookback: 8, device: cpu }
  linear:
    uses: train
    from: dataset
    with: { model: ridge }
`;

function write(text: string): string {
  const file = path.join(workdir(), 'p.yaml');
  writeFileSync(file, text);
  return file;
}

const deviceOf = (plan: Awaited<ReturnType<typeof loadPlan>>, id: string): unknown => plan.byId.get(id)!.params.device;

describe('pipeline-level device default', () => {
  it('fills in neural steps that do not set one; a step’s own device wins; other models get none', async () => {
    const plan = await loadPlan(write(pipeline('device: gpu', STEPS)));
    expect(plan.spec.device).toBe('gpu');
    expect(deviceOf(plan, 'inherits')).toBe('gpu');
    expect(deviceOf(plan, 'own')).toBe('cpu');
    expect(deviceOf(plan, 'linear')).toBeUndefined();
  });

  it('defaults to auto when the pipeline says nothing', async () => {
    const plan = await loadPlan(write(pipeline('', STEPS)));
    expect(plan.spec.device).toBe('auto');
    expect(deviceOf(plan, 'inherits')).toBe('auto');
  });

  it('an override (fxflow run --device) replaces the top-level default and changes only the inheriting step’s key', async () => {
    const file = write(pipeline('device: gpu', STEPS));
    const base = await loadPlan(file);
    const over = await loadPlan(file, undefined, { device: 'cpu' });
    expect(deviceOf(over, 'inherits')).toBe('cpu');
    expect(deviceOf(over, 'own')).toBe('cpu');
    const [kb, ko] = [await computeKeys(base), await computeKeys(over)];
    expect(ko.get('inherits')!.key).not.toBe(kb.get('inherits')!.key);
    for (const id of ['candles', 'features', 'dataset', 'own', 'linear']) expect(ko.get(id)!.key).toBe(kb.get(id)!.key);
  });

  it('writing the default out or leaving it out gives the same key', async () => {
    const implicit = await computeKeys(await loadPlan(write(pipeline('device: cpu', STEPS))));
    const explicit = await computeKeys(
      await loadPlan(write(pipeline('', STEPS.replace('{ model: lstm, lookback: 8 }', '{ model: lstm, lookback: 8, device: cpu }')))),
    );
    expect(explicit.get('inherits')!.key).toBe(implicit.get('inherits')!.key);
  });

  it('an unknown top-level device is a located schema error', async () => {
    const file = write(pipeline('device: tpu', STEPS));
    const err = await loadPlan(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    const d = (err as DiagnosticError).diagnostics[0];
    expect(d.loc).toMatchObject({ line: 3, col: 9 });
    expect(d.message).toMatch(/auto.*gpu.*cpu/);
  });

  it('fxflow plan --device refuses a value it does not know, with exit 2 and no stack trace', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'p.yaml'), pipeline('', STEPS));
    const r = await fxflow(['plan', 'p.yaml', '--device', 'tpu'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--device takes auto, gpu or cpu, got `tpu`');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
