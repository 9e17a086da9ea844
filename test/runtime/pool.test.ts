import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/core/artifacts.js';
import { makeRng } from '../../src/data/rng.js';
import { testContext } from '../helpers/ctx.js';

/**
 * The step pool runs `train` in worker threads. It is exercised from the build (dist/), as the CLI
 * uses it: the worker is a compiled file. The test suite's global setup builds dist/ first.
 */
const { StepPool } = await import('../../dist/runtime/pool/pool.js');
const { encodeArtifact } = await import('../../dist/runtime/codec.js');
const train = (await import('../../dist/steps/train/index.js')).default;

function dataset(n: number, p: number): Dataset {
  const rng = makeRng(11);
  const X = new Float64Array(n * p);
  const Y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) X[i * p + j] = rng.normal();
    Y[i] = 0.5 * X[i * p] - 0.25 * X[i * p + 1] + 0.1 * rng.normal();
  }
  const index = Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1) + i * 3_600_000);
  const none = { method: 'none' as const, center: new Array<number>(p).fill(0), scale: new Array<number>(p).fill(1) };
  return {
    type: 'Dataset',
    symbol: 'T',
    timeframe: '1h',
    index,
    featureNames: Array.from({ length: p }, (_, j) => `f${j}`),
    targetNames: ['fwd_ret_1'],
    targetHorizons: [1],
    X,
    Y,
    method: 'temporal',
    folds: [{ train: { start: 0, end: 300 }, val: { start: 300, end: 400 }, test: { start: 400, end: n }, scaler: none }],
  } as unknown as Dataset;
}

const { workerMallocTunables } = await import('../../dist/runtime/pool/pool.js');

describe('worker processes’ malloc settings', () => {
  it('adds the heap settings to GLIBC_TUNABLES, keeping the ones the user set', () => {
    expect(workerMallocTunables(undefined)).toBe('glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864');
    expect(workerMallocTunables('glibc.malloc.trim_threshold=0:glibc.cpu.hwcaps=-AVX512F')).toBe(
      'glibc.malloc.trim_threshold=0:glibc.cpu.hwcaps=-AVX512F:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864',
    );
  });
});

const pools: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe.each(['processes', 'threads'] as const)('step pool of %s', (mode) => {
  it('runs train steps in two workers with results bit-identical to the main thread, sending the shared dataset once per worker', async () => {
    const ds = dataset(500, 4);
    const pool = StepPool.create(2, 2, mode)!;
    expect(pool.mode).toBe(mode);
    expect(pool).toBeDefined();
    pools.push(pool);
    const alphas = [0.1, 1, 10, 100];
    const node = (alpha: number) => ({
      id: `m${alpha}`,
      kind: 'train',
      def: train,
      params: train.resolve!({ model: 'ridge', alpha } as never),
      inputs: { dataset: 'dataset' },
    });
    const inWorkers = await Promise.all(alphas.map((a) => pool.run(node(a) as never, { dataset: ds }, testContext({ stepId: `m${a}` }))));
    const onMain = await Promise.all(alphas.map((a) => train.run({ dataset: ds } as never, node(a).params as never, testContext({ stepId: `m${a}` }))));
    alphas.forEach((_, i) => expect(Buffer.from(encodeArtifact(inWorkers[i])).equals(Buffer.from(encodeArtifact(onMain[i])))).toBe(true));
    // Four tasks over two workers: each worker decodes the dataset once and reuses it after.
    expect(pool.inputsSent).toBe(2);
    // A second dataset object is new to both workers; the first is still held by them.
    await pool.run(node(1) as never, { dataset: dataset(500, 4) }, testContext());
    expect(pool.inputsSent).toBe(3);
    await Promise.all([1, 2].map((a) => pool.run(node(a) as never, { dataset: ds }, testContext())));
    expect(pool.inputsSent).toBe(3);
  });

  it('a step that fails in a worker fails with its message, and the pool goes on', async () => {
    const pool = StepPool.create(2, 2, mode)!;
    pools.push(pool);
    const ds = dataset(500, 4);
    const bad = { id: 'bad', kind: 'train', def: train, params: { model: 'no_such_model' }, inputs: { dataset: 'dataset' } };
    await expect(pool.run(bad as never, { dataset: ds }, testContext())).rejects.toThrow('unknown model `no_such_model`');
    const ok = { id: 'ok', kind: 'train', def: train, params: train.resolve!({ model: 'ridge' } as never), inputs: { dataset: 'dataset' } };
    const out = (await pool.run(ok as never, { dataset: ds }, testContext())) as { type: string };
    expect(out.type).toBe('Model');
  });

  it('a worker runs only kinds whose defineStep declares `worker`', async () => {
    const pool = StepPool.create(2, 2, mode)!;
    pools.push(pool);
    const split = { id: 's', kind: 'split', def: {}, params: {}, inputs: {} };
    await expect(pool.run(split as never, {}, testContext())).rejects.toThrow('step kind split does not run in a worker (its defineStep declares no `worker`)');
    const odd = { id: 'o', kind: '../define', def: {}, params: {}, inputs: {} };
    await expect(pool.run(odd as never, {}, testContext())).rejects.toThrow('step kind ../define does not run in a worker');
  });
});

const { poolFor } = await import('../../dist/runtime/pool/pool.js');
const builtin = (await import('../../dist/steps/index.js')).builtinRegistry();

describe('which steps the pool takes: what their defineStep declares', () => {
  const node = (id: string, kind: string, def = builtin.get(kind)!) => ({ id, kind, def, params: {}, inputs: {} });
  it('declares train heavy and backtest as joining; the other built-in kinds stay on the main thread', () => {
    expect(Object.fromEntries(['fetch', 'features', 'split', 'train', 'encode', 'backtest'].map((k) => [k, builtin.get(k)!.worker ?? null]))).toEqual({
      fetch: null,
      features: null,
      split: null,
      train: 'heavy',
      encode: null,
      backtest: 'joins',
    });
  });
  it('starts a pool for two heavy steps, not for one or for steps that only join', () => {
    expect(poolFor([node('m', 'train'), node('b', 'backtest'), node('b2', 'backtest')] as never, 2)).toBeUndefined();
    const pool = poolFor([node('m1', 'train'), node('m2', 'train')] as never, 2)!;
    expect(pool).toBeDefined();
    pools.push(pool);
    expect(pool.handles(node('b', 'backtest') as never)).toBe(true);
    expect(pool.handles(node('f', 'features') as never)).toBe(false);
    // A plugin's step, even a copy of a built-in one with its flag, is not in the worker's registry.
    const copy = { ...builtin.get('train')!, kind: 'my_train' };
    expect(pool.handles(node('p', 'my_train', copy) as never)).toBe(false);
    expect(poolFor([node('p1', 'my_train', copy), node('p2', 'my_train', copy)] as never, 2)).toBeUndefined();
  });
});
