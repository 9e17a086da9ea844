import { describe, expect, it } from 'vitest';
import { defaultDeps, GPU_PACKAGE, pick, selectBackend, type LoaderDeps } from '../../src/backend/index.js';
import { RunError } from '../../src/core/diagnostics.js';

function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from /x`), { code: 'ERR_MODULE_NOT_FOUND' });
}

/** The real loader, with the named packages made absent or failing. */
function deps(over: Partial<LoaderDeps> & { absent?: string[]; failing?: Record<string, string>; fake?: Record<string, unknown> }): LoaderDeps {
  return {
    ...defaultDeps,
    findCudart: over.findCudart ?? (() => undefined),
    findGpu: over.findGpu ?? (() => undefined),
    importModule: async (name) => {
      if (over.absent?.includes(name)) throw notFound(name);
      if (over.failing?.[name]) throw new Error(over.failing[name]);
      if (over.fake?.[name]) return over.fake[name];
      return defaultDeps.importModule(name);
    },
  };
}

describe('backend selection', () => {
  it('auto on this machine: no tfjs-node(-gpu) installed, so wasm', async () => {
    const logs: string[] = [];
    const b = await selectBackend('auto', { log: (m) => logs.push(m) });
    expect(b.name).toBe('wasm');
    expect(logs[0]).toMatch(/^backend wasm/);
    expect(b.tf.getBackend()).toBe('wasm');
  });

  it('auto tries tensorflow-gpu, then tensorflow, then wasm, then cpu', async () => {
    const b = await pick('auto', deps({ absent: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] }));
    expect(b.name).toBe('wasm');
    expect(b.skipped).toHaveLength(2);
    expect(b.skipped[0]).toMatch(/^tensorflow-gpu: package absent/);
    expect(b.skipped[1]).toMatch(/^tensorflow: `@tensorflow\/tfjs-node` not installed/);

    const c = await pick(
      'auto',
      deps({ absent: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], failing: { '@tensorflow/tfjs-backend-wasm': 'no WebAssembly here' } }),
    );
    expect(c.name).toBe('cpu');
    expect(c.skipped[2]).toBe('wasm: no WebAssembly here');
    expect(c.tf.getBackend()).toBe('cpu');

    // device: cpu never looks at the GPU package.
    const d = await pick('cpu', deps({ failing: { [GPU_PACKAGE]: 'must not be imported' }, absent: ['@tensorflow/tfjs-node'] }));
    expect(d.skipped.some((s) => s.includes('tensorflow-gpu'))).toBe(false);
    expect(d.name).toBe('wasm');
  });

  it('device: gpu without a GPU backend says exactly why, and how to fix it', async () => {
    const err = async (d: LoaderDeps): Promise<RunError> => {
      try {
        await pick('gpu', d);
      } catch (e) {
        return e as RunError;
      }
      throw new Error('expected a RunError');
    };
    const absent = await err(deps({ absent: [GPU_PACKAGE] }));
    expect(absent).toBeInstanceOf(RunError);
    expect(absent.message).toBe(
      '`device: gpu` but no GPU backend loads: package absent: `@tensorflow/tfjs-node-gpu` is not installed (it is an optional dependency)',
    );
    expect(absent.hint).toContain('CUDA 11.2 and cuDNN 8.1');
    expect(absent.hint).toContain('`npm install @tensorflow/tfjs-node-gpu`');
    expect(absent.hint).toContain('docs/gpu.md');

    const binding = await err(deps({ failing: { [GPU_PACKAGE]: 'libcudart.so.11.0: cannot open shared object file: No such file or directory' } }));
    expect(binding.message).toMatch(/^`device: gpu` but no GPU backend loads: libcudart not found: /);

    const fakeTf = { setBackend: async () => true, ready: async () => {} };
    const noCudart = await err(deps({ fake: { [GPU_PACKAGE]: fakeTf }, findCudart: () => 'libcudart.so.11.0 (the CUDA 11 runtime) not found' }));
    expect(noCudart.message).toBe('`device: gpu` but no GPU backend loads: libcudart not found: libcudart.so.11.0 (the CUDA 11 runtime) not found');

    const noDevice = await err(deps({ fake: { [GPU_PACKAGE]: fakeTf }, findGpu: () => 'no NVIDIA device visible' }));
    expect(noDevice.message).toBe('`device: gpu` but no GPU backend loads: no device: no NVIDIA device visible');

    // With everything present the GPU backend is taken.
    const ok = await pick('gpu', deps({ fake: { [GPU_PACKAGE]: fakeTf } }));
    expect(ok.name).toBe('tensorflow-gpu');
  });

  it('the real probe on this machine (no NVIDIA driver) reports no device', () => {
    expect(defaultDeps.findGpu()).toMatch(/^no NVIDIA device visible/);
  });
});
