import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { dirHandler, loadNet, saveNet } from '../../src/models/nn/io.js';
import { initialWeights, type NetSpec } from '../../src/models/nn/nets.js';
import { scheduledLr, trainNet, type TrainOptions } from '../../src/models/nn/train.js';
import { buildWindows } from '../../src/models/nn/windows.js';
import { synthetic } from './helpers.js';

const { X, Y, index, k } = synthetic(300, 2, 3);
const data = {
  X,
  p: 2,
  Y,
  k,
  trainEnds: buildWindows(index, { start: 0, end: 240 }, 6, 72 * 3_600_000),
  valEnds: buildWindows(index, { start: 240, end: 300 }, 6, 72 * 3_600_000),
  yMean: new Float64Array(k),
  yStd: new Float64Array(k).fill(1),
};
const spec: NetSpec = { kind: 'lstm', lookback: 6, p: 2, k, hidden: 8, layers: 1, kernelSize: 1, heads: 1 };
const opts = (dir?: string): TrainOptions => ({
  epochs: 6,
  batchSize: 32,
  learningRate: 0.01,
  optimizer: 'adamw',
  weightDecay: 0.01,
  schedule: 'cosine',
  warmupEpochs: 1,
  clipNorm: 0.5,
  patience: 0,
  gradAccum: 2,
  seed: 5,
  keepCheckpoints: 2,
  checkpointDir: dir,
});
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'fxflow-ckpt-'));
const same = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('checkpoints', () => {
  it('a run killed after epoch 3 resumes from its checkpoint to the same final weights', async () => {
    const { tf } = await selectBackend('auto');
    const full = await trainNet(tf, spec, data, opts(tmp()));

    const dir = tmp();
    await expect(trainNet(tf, spec, data, opts(dir), { killAfterEpoch: 3 })).rejects.toThrow(/killed after epoch 3/);
    const logs: string[] = [];
    const resumed = await trainNet(tf, spec, data, opts(dir), { log: (m) => logs.push(m) });
    expect(resumed.resumedFrom).toBe(3);
    expect(logs[0]).toMatch(/^resumed from the checkpoint after epoch 3/);
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(full.history.map((h) => h.trainLoss));
    expect(resumed.bestEpoch).toBe(full.bestEpoch);
    resumed.weights.forEach((w, i) => expect(same(w.data, full.weights[i].data)).toBe(true));

    // The latest (epoch 6) and the best two by val loss are kept, nothing else, no temp dirs.
    const kept = readdirSync(dir);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept.some((d) => d.startsWith('epoch-0006-'))).toBe(true);
    expect(kept.some((d) => d.endsWith('.tmp'))).toBe(false);

    // A finished run's rerun resumes at its end and trains nothing more.
    const again = await trainNet(tf, spec, data, opts(dir));
    expect(again.resumedFrom).toBe(6);
    again.weights.forEach((w, i) => expect(same(w.data, full.weights[i].data)).toBe(true));
  });

  it('checkpoints of another setup are not resumed from', async () => {
    const { tf } = await selectBackend('auto');
    const dir = tmp();
    await trainNet(tf, spec, data, { ...opts(dir), epochs: 2 });
    const logs: string[] = [];
    const r = await trainNet(tf, spec, data, { ...opts(dir), epochs: 2, learningRate: 0.02 }, { log: (m) => logs.push(m) });
    expect(r.resumedFrom).toBeUndefined();
    expect(logs[0]).toMatch(/of another training setup/);
  });

  it('the IO handler round-trips model.json + weights.bin exactly', async () => {
    const dir = path.join(tmp(), 'net');
    const weights = initialWeights(spec, 9);
    await saveNet(dirHandler(dir), { spec, weights, meta: { note: 'x' } });
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const back = await loadNet(dirHandler(dir));
    expect(back.spec).toEqual(spec);
    expect(back.meta).toEqual({ note: 'x' });
    expect(back.weights.map((w) => w.name)).toEqual(weights.map((w) => w.name));
    back.weights.forEach((w, i) => expect(same(w.data, weights[i].data)).toBe(true));
  });

  it('cosine schedule: linear warm-up, then half a cosine to 0', () => {
    const o = { ...opts(), learningRate: 0.1, epochs: 3, warmupEpochs: 1 };
    // 10 steps per epoch: steps 0–9 warm up to 0.1; steps 10–29 decay, halfway (step 20) at 0.05.
    expect(scheduledLr(o, 0, 10, 1)).toBeCloseTo(0.01, 12);
    expect(scheduledLr(o, 9, 10, 1)).toBeCloseTo(0.1, 12);
    expect(scheduledLr(o, 20, 10, 1)).toBeCloseTo(0.05, 12);
    expect(scheduledLr({ ...o, schedule: 'plateau' }, 20, 10, 0.25)).toBeCloseTo(0.025, 12);
  });
});
