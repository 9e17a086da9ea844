import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TfNs from '@tensorflow/tfjs';
import { RunError } from '../core/diagnostics.js';

/**
 * TensorFlow.js backend selection for the neural model kinds.
 *
 * `device: auto` takes the first that works of
 *   1. `@tensorflow/tfjs-node-gpu` — loads, and a CUDA runtime and an NVIDIA device are visible;
 *   2. `@tensorflow/tfjs-node` — libtensorflow on the CPU;
 *   3. `@tensorflow/tfjs-backend-wasm` — XNNPACK/SIMD WebAssembly (a dependency: always present);
 *   4. the pure-JS `cpu` backend of `@tensorflow/tfjs`.
 * `device: cpu` skips the GPU; `device: gpu` takes only the first, and otherwise fails with a
 * RunError that says why (package absent, its native binding or libcudart missing, no device) and
 * how to fix it. tfjs is imported lazily: pipelines without a neural model never load it.
 *
 * tfjs has one engine per process, so the first selection wins; later calls with the same device
 * return it, and a call that would need a different one says so.
 */

/** Where neural steps train (`device:` on a train step, the pipeline's top level, `--device`). */
export const DEVICES = ['auto', 'gpu', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];
export const isDevice = (v: unknown): v is Device => (DEVICES as readonly unknown[]).includes(v);
/** What ran: `tensorflow-gpu` (tfjs-node-gpu on a GPU), `tensorflow` (libtensorflow on the CPU), `wasm`, `cpu` (pure JS). */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type Tf = typeof TfNs;

export interface Backend {
  name: BackendName;
  /** The tfjs namespace whose engine runs this backend. */
  tf: Tf;
  /** One line for the log, e.g. "wasm (SIMD, 1 thread)". */
  detail: string;
  /** Why each backend tried before it was passed over. */
  skipped: string[];
}

/** How the loader reaches the outside world; tests replace it. */
export interface LoaderDeps {
  importModule(name: string): Promise<unknown>;
  /** undefined when a CUDA runtime library is found, else what was looked for and where. */
  findCudart(): string | undefined;
  /** undefined when an NVIDIA device is visible, else why not. */
  findGpu(): string | undefined;
  /** The directory holding tfjs-backend-wasm's .wasm files (with a trailing slash). */
  wasmDir(): string;
}

export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
export const NODE_PACKAGE = '@tensorflow/tfjs-node';
export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** What a GPU machine needs; shown in the `device: gpu` error and in docs/gpu.md. */
export const GPU_FIX =
  `on a machine with an NVIDIA GPU, install CUDA 11.2 and cuDNN 8.1 (what tfjs-node-gpu 4.x's libtensorflow 2.9.1 is built against; later CUDA 11.x / cuDNN 8.x usually load too), ` +
  `then \`npm install ${GPU_PACKAGE}\` (its install script downloads libtensorflow; with npm ≥ 11 allow it to run); see docs/gpu.md. ` +
  'Or use `device: auto` (falls back to wasm) or `device: cpu`';

const require = createRequire(import.meta.url);

function isModuleNotFound(e: unknown, name: string): boolean {
  const err = e as { code?: string; message?: string };
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message ?? '').includes(name);
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

const CUDART = ['libcudart.so.11.0', 'libcudart.so.11', 'libcudart.so'];

export const defaultDeps: LoaderDeps = {
  importModule: (name) => import(name),
  findCudart() {
    const dirs = [
      ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
      '/usr/local/cuda/lib64',
      '/usr/local/cuda-11.8/lib64',
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib64',
    ];
    for (const d of dirs) for (const f of CUDART) if (existsSync(path.join(d, f))) return undefined;
    try {
      const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 });
      if (/libcudart\.so\.11/.test(out)) return undefined;
    } catch {
      /* no ldconfig: the directories above were all we could look at */
    }
    return `libcudart.so.11.0 (the CUDA 11 runtime) not found in LD_LIBRARY_PATH, /usr/local/cuda/lib64 or the ldconfig cache`;
  },
  findGpu() {
    try {
      const gpus = readdirSync('/proc/driver/nvidia/gpus');
      if (gpus.length > 0) return undefined;
    } catch {
      /* no NVIDIA driver */
    }
    if (existsSync('/dev/nvidia0')) return undefined;
    return 'no NVIDIA device visible (no /proc/driver/nvidia/gpus entry, no /dev/nvidia0): no GPU, or its driver is not loaded';
  },
  wasmDir: () => path.join(path.dirname(require.resolve(`${WASM_PACKAGE}/package.json`)), 'dist') + path.sep,
};

/** Why the GPU backend cannot be used, or its tfjs namespace. */
async function tryGpu(deps: LoaderDeps): Promise<{ tf: Tf } | { why: string }> {
  const cudart = deps.findCudart();
  const gpu = deps.findGpu();
  let mod: unknown;
  try {
    mod = await deps.importModule(GPU_PACKAGE);
  } catch (e) {
    if (isModuleNotFound(e, GPU_PACKAGE)) return { why: `package absent: \`${GPU_PACKAGE}\` is not installed (it is an optional dependency)` };
    const msg = firstLine(e);
    if (/libcudart|libcudnn|cuda/i.test(msg)) return { why: `libcudart not found: ${GPU_PACKAGE} failed to load: ${msg}` };
    return { why: `${GPU_PACKAGE} is installed but its native binding failed to load (did its install script download libtensorflow?): ${msg}` };
  }
  if (cudart) return { why: `libcudart not found: ${cudart}` };
  if (gpu) return { why: `no device: ${gpu}` };
  return { tf: mod as Tf };
}

let current: { backend: Backend; device: Device } | undefined;
let pending: Promise<Backend> | undefined;

/**
 * The backend for `device`, initialised and made tfjs's current backend. The first call decides
 * for the process; `log` gets one line about what was chosen and what was passed over.
 */
export async function selectBackend(device: Device, opts: { deps?: LoaderDeps; log?: (m: string) => void } = {}): Promise<Backend> {
  if (current) {
    if (device === 'gpu' && current.backend.name !== 'tensorflow-gpu') {
      throw new RunError(`\`device: gpu\`: this process already runs tfjs on \`${current.backend.name}\``, {
        hint: 'tfjs has one backend per process; run GPU pipelines in their own fxflow process',
      });
    }
    return current.backend;
  }
  pending ??= pick(device, opts.deps ?? defaultDeps).finally(() => (pending = undefined));
  const b = await pending;
  current = { backend: b, device };
  opts.log?.(`backend ${b.detail}${b.skipped.length ? ` (passed over: ${b.skipped.join('; ')})` : ''}`);
  return b;
}

/** The backend chosen so far in this process, if any. */
export function currentBackend(): Backend | undefined {
  return current?.backend;
}

/** Picks without remembering (exported for tests of the order). */
export async function pick(device: Device, deps: LoaderDeps): Promise<Backend> {
  const skipped: string[] = [];
  if (device === 'gpu' || device === 'auto') {
    const g = await tryGpu(deps);
    if ('tf' in g) {
      await g.tf.setBackend('tensorflow');
      await g.tf.ready();
      return { name: 'tensorflow-gpu', tf: g.tf, detail: 'tensorflow-gpu (tfjs-node-gpu, CUDA)', skipped };
    }
    if (device === 'gpu') throw new RunError(`\`device: gpu\` but no GPU backend loads: ${g.why}`, { hint: GPU_FIX });
    skipped.push(`tensorflow-gpu: ${g.why}`);
  }
  try {
    const tf = (await deps.importModule(NODE_PACKAGE)) as Tf;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return { name: 'tensorflow', tf, detail: 'tensorflow (tfjs-node, CPU)', skipped };
  } catch (e) {
    skipped.push(`tensorflow: ${isModuleNotFound(e, NODE_PACKAGE) ? `\`${NODE_PACKAGE}\` not installed` : firstLine(e)}`);
  }
  const tf = (await deps.importModule('@tensorflow/tfjs')) as Tf;
  tf.enableProdMode();
  try {
    const wasm = (await deps.importModule(WASM_PACKAGE)) as typeof import('@tensorflow/tfjs-backend-wasm');
    // Local .wasm files: nothing is fetched.
    wasm.setWasmPaths(deps.wasmDir());
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    return { name: 'wasm', tf, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : '1 thread'})`, skipped };
  } catch (e) {
    skipped.push(`wasm: ${firstLine(e)}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { name: 'cpu', tf, detail: 'cpu (pure JS)', skipped };
}
