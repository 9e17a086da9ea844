/**
 * TA-Lib C itself as a test oracle: the devDependency `talib.js` 0.1.0 ships TA-Lib's C sources
 * (0.6.0-dev, TA_EPSILON 1e-14, the same ta_func/*.c as the npm `talib` 2.0.5 tarball) compiled by
 * emscripten to WebAssembly, so it installs from the registry with no build step and no download.
 * Its JS wrapper passes endIdx = length (one past the end) and discards outBegIdx, so we call the
 * exported C functions (`TA_<NAME>`) directly with our own buffers instead.
 *
 *   const ta = await loadTalibC();            // null (and a printed [skip] line) when absent
 *   const [apo] = ta.call('APO', [close], [12, 26, 1]);   // MAType 1 = EMA
 *
 * Inputs are the C function's input arrays in its order (high, low, close, …); options its optIn*
 * values in order (periods, MA types as TA_MAType numbers, doubles). Each output comes back as long
 * as the input, NaN before TA-Lib's outBegIdx — the same layout as fxflow's kernels. Integer outputs
 * (TA_MAXINDEX, …) are not supported. The wasm heap is fixed at 16 MiB: ~100k bars × a few arrays fit.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

/** TA_MAType values. */
export const MA = { sma: 0, ema: 1, wma: 2, dema: 3, tema: 4, trima: 5, kama: 6, mama: 7, t3: 8 } as const;

export interface TalibC {
  /** Calls TA_<fn>(0, n−1, inputs…, options…, &begIdx, &nbElement, outputs…); throws on a non-zero TA_RetCode. */
  call(fn: string, inputs: Float64Array[], options: number[], nOutputs?: number): Float64Array[];
}

interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPF64: Float64Array;
  ccall(ident: string, returnType: 'number', argTypes: 'number'[], args: number[]): number;
}

let loaded: Promise<TalibC | null> | undefined;

/** The oracle, or null (with a visible message) when `talib.js` is not installed. */
export function loadTalibC(): Promise<TalibC | null> {
  return (loaded ??= load());
}

async function load(): Promise<TalibC | null> {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('talib.js');
  } catch {
    console.warn('[skip] devDependency talib.js (TA-Lib C as WebAssembly) is not installed: the TA-Lib C comparisons are skipped; run `npm ci`');
    return null;
  }
  const lib = require(main) as { init(wasmPath: string): Promise<EmscriptenModule> };
  // Emscripten prefers fetch() when it exists, and Node's fetch cannot read a file path: hide it
  // for the load so the module reads the .wasm from disk.
  const g = globalThis as { fetch?: unknown };
  const savedFetch = g.fetch;
  g.fetch = undefined;
  let mod: EmscriptenModule;
  try {
    mod = await lib.init(path.join(path.dirname(main), 'talib.wasm'));
  } finally {
    g.fetch = savedFetch;
  }
  return { call: (fn, inputs, options, nOutputs = 1) => callC(mod, fn, inputs, options, nOutputs) };
}

function callC(mod: EmscriptenModule, fn: string, inputs: Float64Array[], options: number[], nOutputs: number): Float64Array[] {
  const n = inputs[0].length;
  const ptrs: number[] = [];
  const alloc = (bytes: number): number => {
    const p = mod._malloc(bytes);
    if (p === 0) throw new Error(`talib-c: out of wasm memory allocating ${bytes} bytes`);
    ptrs.push(p);
    return p;
  };
  try {
    const inPtrs = inputs.map((x) => {
      if (x.length !== n) throw new Error('talib-c: inputs of different lengths');
      const p = alloc(8 * n);
      mod.HEAPF64.set(x, p / 8);
      return p;
    });
    const begPtr = alloc(8);
    const nbPtr = alloc(8);
    const outPtrs = Array.from({ length: nOutputs }, () => alloc(8 * n));
    const args = [0, n - 1, ...inPtrs, ...options, begPtr, nbPtr, ...outPtrs];
    const rc = mod.ccall(
      `TA_${fn}`,
      'number',
      args.map(() => 'number'),
      args,
    );
    if (rc !== 0) throw new Error(`talib-c: TA_${fn} returned TA_RetCode ${rc}`);
    const i32 = new Int32Array(mod.HEAPF64.buffer);
    const beg = i32[begPtr / 4];
    const nb = i32[nbPtr / 4];
    return outPtrs.map((p) => {
      const out = new Float64Array(n).fill(NaN);
      out.set(mod.HEAPF64.subarray(p / 8, p / 8 + nb), beg);
      return out;
    });
  } finally {
    for (const p of ptrs) mod._free(p);
  }
}
