import type * as TfNs from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../../data/rng.js';
import { fusedHost } from '../nn/lstm.js';
import type { WeightValue } from '../nn/nets.js';
import { fusedMlp } from './conv-block.js';

/** The pieces both noise predictors (denoiser-conv.ts, s4d.ts) are built from: their spec, weights, and shared layers. */

type Tf = typeof TfNs;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

export type DiffusionKind = 'diffusion' | 'sssd';

export interface DenoiserSpec {
  kind: DiffusionKind;
  lookback: number;
  /** Features per bar. */
  p: number;
  /** Targets: the patch length. */
  k: number;
  /** Channels. */
  hidden: number;
  /** Residual blocks. */
  layers: number;
  /** diffusion: taps of each convolution over the patch. */
  kernelSize: number;
  /** sssd: complex modes per channel of each S4D layer. */
  stateSize: number;
  /** Training diffusion steps T. */
  diffusionSteps: number;
  /** The network's output: v (√ᾱ·ε − √(1 − ᾱ)·x₀) or ε. Absent (states before v): ε. */
  prediction?: Prediction;
}

export type Prediction = 'v' | 'eps';

/** The network's forward pass, split so that sampling encodes each window once for all its draws. */
export interface DenoiserForward {
  /** Per-window tensors (leading dim = windows) computed once from the windows [b, lookback, p]. */
  encode(x: T3): TfNs.Tensor[];
  /**
   * ε̂ [B, k] of noisy patches x_t [B, k], given step embeddings [B or 1, hidden] and the encodings
   * of r windows, r dividing B: rows j·B/r … (j + 1)·B/r − 1 are draws for window j.
   */
  eps(xt: T2, temb: T2, enc: TfNs.Tensor[]): T2;
  /** Releases constants the forward pass made for itself. */
  dispose?(): void;
}

/** Collects a net's initial weights in order; Glorot-uniform matrices from fxflow's PRNG. */
export class WeightBuilder {
  readonly out: WeightValue[] = [];
  readonly rng: Rng;
  constructor(seed: number) {
    this.rng = makeRng(seed);
  }
  glorot(name: string, fanIn: number, fanOut: number, shape = [fanIn, fanOut]): void {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    this.push(name, shape, () => (2 * this.rng.next() - 1) * a);
  }
  fill(name: string, shape: number[], v = 0): void {
    this.push(name, shape, () => v);
  }
  push(name: string, shape: number[], f: (i: number) => number): void {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; i++) data[i] = f(i);
    this.out.push({ name, shape, data });
  }
}

export type WeightOf = (name: string) => TfNs.Tensor;

export const silu = (tf: Tf, x: TfNs.Tensor): TfNs.Tensor => tf.mul(x, tf.sigmoid(x));

/**
 * x·W + b as one op whose gradients are flagless products of explicitly transposed operands, and
 * the bias's a product with a row of ones: on tfjs-wasm a BatchMatMul with a transpose flag (what
 * matMul's own gradient asks for) ran ~10× slower than transpose + flagless BatchMatMul, and Sum
 * over rows (the broadcast add's gradient) transposes first; both were most of a training step.
 */
type DenseOp = (x: T2, w: T2, b: TfNs.Tensor1D) => T2;
const denseOps = new WeakMap<Tf, DenseOp>();
function denseOp(tf: Tf): DenseOp {
  let f = denseOps.get(tf);
  if (!f) {
    const op = tf.customGrad((...args: (TfNs.Tensor | TfNs.GradSaveFunc)[]) => {
      const [x, w, b] = args as T2[];
      (args[3] as TfNs.GradSaveFunc)([x, w]);
      return {
        value: tf.add(tf.matMul(x, w), b),
        gradFunc: (dy: TfNs.Tensor, saved: TfNs.Tensor[]) => {
          const [xs, ws] = saved as T2[];
          const g = dy as T2;
          const ones = tf.ones([1, g.shape[0]]) as T2;
          return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g), tf.reshape(tf.matMul(ones, g), [g.shape[1]])];
        },
      };
    });
    f = (x, w, b) => op(x, w, b) as T2;
    denseOps.set(tf, f);
  }
  return f;
}

/** x·W + b for x [rows, in]. */
export const dense = (tf: Tf, x: T2, W: WeightOf, name: string): T2 => denseOp(tf)(x, W(`${name}/W`) as T2, W(`${name}/b`) as TfNs.Tensor1D);

/**
 * FiLM modulation of h [B, len, C] from e [r, C], r dividing B (h's rows grouped by e's row: the
 * draws of one window are consecutive, so a window's modulation is computed once for all its draws;
 * r = 1: one for all): h·(1 + γ) + β, (γ, β) = e·W + b (the scale-and-shift conditioning of
 * adaptive normalisation, as Dhariwal & Nichol 2021's AdaGN). A noise predictor needs the product:
 * for a Gaussian target the optimal ε̂ is x_t scaled by a factor set by the condition's variance.
 */
export function film(tf: Tf, h: T3, e: T2, W: WeightOf, name: string, C: number): T3 {
  const gb = dense(tf, e, W, name);
  const r = gb.shape[0];
  const g = tf.reshape(tf.slice(gb, [0, 0], [r, C]), [r, 1, C]);
  const b = tf.reshape(tf.slice(gb, [0, C], [r, C]), [r, 1, C]);
  const hr = r === h.shape[0] ? h : tf.reshape(h, [r, -1, C]);
  const out = tf.add(tf.mul(hr, tf.add(g, 1)), b);
  return (r === h.shape[0] ? out : tf.reshape(out, h.shape)) as T3;
}

/**
 * Sinusoidal embedding of diffusion steps (Vaswani et al. 2017, as DDPM embeds t): for i < d/2,
 * sin(t·ω_i) and cos(t·ω_i), ω_i = 10000^(−i/(d/2 − 1)). [t.length, d] row-major.
 */
export function sinusoidalEmbedding(t: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(t.length * d);
  for (let r = 0; r < t.length; r++) {
    const row = sinusoidCache.get(d)?.[t[r]] ?? sinusoidRow(t[r], d);
    out.set(row, r * d);
  }
  return out;
}

/** Per width d, rows by integer step t < SINUSOID_CACHED (a training step embeds a batch of steps: ~10k sin/cos otherwise). */
const sinusoidCache = new Map<number, Float32Array[]>();
const SINUSOID_CACHED = 1 << 16;

function sinusoidRow(t: number, d: number): Float32Array {
  const half = Math.floor(d / 2);
  const row = new Float32Array(d);
  for (let i = 0; i < half; i++) {
    const w = Math.exp((-Math.log(10000) * i) / Math.max(1, half - 1));
    row[i] = Math.sin(t * w);
    row[half + i] = Math.cos(t * w);
  }
  if (Number.isInteger(t) && t >= 0 && t < SINUSOID_CACHED) {
    let rows = sinusoidCache.get(d);
    if (!rows) sinusoidCache.set(d, (rows = []));
    rows[t] = row;
  }
  return row;
}

/**
 * The step embedding fed to the blocks: sinusoidal → dense → SiLU → dense, [t.length, hidden]; one
 * fused op on wasm and cpu (conv-block.ts's fusedMlp), the tfjs graph elsewhere or with `fused: false`.
 */
export function stepEmbedding(tf: Tf, spec: DenoiserSpec, W: WeightOf, t: ArrayLike<number>, o: { fused?: boolean } = {}): T2 {
  const C = spec.hidden;
  const e = tf.tensor2d(sinusoidalEmbedding(t, C), [t.length, C]);
  const host = o.fused === false ? undefined : fusedHost(tf);
  if (host) {
    const out = fusedMlp(tf, host, e, W('temb/1/W') as T2, W('temb/1/b') as TfNs.Tensor1D, W('temb/2/W') as T2, W('temb/2/b') as TfNs.Tensor1D);
    e.dispose();
    return out;
  }
  return dense(tf, silu(tf, dense(tf, e, W, 'temb/1')) as T2, W, 'temb/2');
}
