import type * as TfNs from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../../data/rng.js';
import { fusedHost, fusedLstmLayer } from './lstm.js';

/**
 * The networks, written as plain tfjs ops over our own `tf.Variable`s rather than tfjs-layers:
 * initialisation comes from fxflow's seeded PRNG (bit-identical on every platform), the TCN can
 * be built from ops whose gradients every backend has, and the recurrent cells project the whole
 * input sequence in one matmul before the time loop (only h·W_h is left per step).
 *
 * Every net maps a batch of windows [batch, lookback, p] to [batch, k]: one output per target
 * horizon (a multi-horizon head); a quantile head (`quantiles`) to [batch, k·levels] instead.
 */

type Tf = typeof TfNs;
type Tensor = TfNs.Tensor;
type T2 = TfNs.Tensor2D;
type T3 = TfNs.Tensor3D;

export type NetKind = 'mlp' | 'lstm' | 'gru' | 'tcn' | 'transformer';
export const NET_KINDS: readonly NetKind[] = ['mlp', 'lstm', 'gru', 'tcn', 'transformer'];

export interface NetSpec {
  kind: NetKind;
  lookback: number;
  /** Features per bar. */
  p: number;
  /** Outputs (targets). */
  k: number;
  /** Units per layer (LSTM/GRU state, MLP width, TCN channels, transformer model width). */
  hidden: number;
  layers: number;
  /** tcn: taps per dilated causal convolution. */
  kernelSize: number;
  /** transformer: attention heads (must divide hidden). */
  heads: number;
  /**
   * Quantile head: ascending levels in (0, 1); the head has one output per (target, level),
   * target-major, trained on the pinball loss. Absent: one point output per target (MSE).
   */
  quantiles?: number[];
}

/** Width of the net's head: k, or k × levels for a quantile head. */
export function headWidth(spec: NetSpec): number {
  return spec.k * Math.max(1, spec.quantiles?.length ?? 0);
}

/** A weight's name, shape and values, in the network's fixed order. */
export interface WeightValue {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Net {
  spec: NetSpec;
  /** Trainable variables in a fixed order (their names are unique per net instance). */
  vars: TfNs.Variable[];
  /** The weights' names without the instance prefix, parallel to vars. */
  names: string[];
  forward(x: T3): T2;
  dispose(): void;
}

let instance = 0;

/** Initial values of the spec's weights: Glorot-uniform matrices, zero biases (LSTM forget gate 1, LayerNorm gain 1). */
export function initialWeights(spec: NetSpec, seed: number): WeightValue[] {
  const rng = makeRng(seed);
  const out: WeightValue[] = [];
  const glorot = (name: string, fanIn: number, fanOut: number, shape = [fanIn, fanOut]): void => {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * a;
    out.push({ name, shape, data });
  };
  const fill = (name: string, n: number, v = 0, ones?: [number, number]): void => {
    const data = new Float32Array(n).fill(v);
    if (ones) data.fill(1, ones[0], ones[1]);
    out.push({ name, shape: [n], data });
  };
  const { p, hidden: H, layers, lookback: L } = spec;
  switch (spec.kind) {
    case 'mlp': {
      let inp = L * p;
      for (let l = 0; l < layers; l++) {
        glorot(`dense${l}/W`, inp, H);
        fill(`dense${l}/b`, H);
        inp = H;
      }
      break;
    }
    case 'lstm':
    case 'gru': {
      const g = spec.kind === 'lstm' ? 4 : 3;
      for (let l = 0; l < layers; l++) {
        const inp = l === 0 ? p : H;
        glorot(`${spec.kind}${l}/Wx`, inp, g * H);
        glorot(`${spec.kind}${l}/Wh`, H, g * H);
        // LSTM gate order i, f, g, o: the forget gate's bias starts at 1 (Jozefowicz et al. 2015).
        if (spec.kind === 'lstm') fill(`lstm${l}/b`, 4 * H, 0, [H, 2 * H]);
        else {
          fill(`gru${l}/bx`, 3 * H);
          fill(`gru${l}/bh`, 3 * H);
        }
      }
      break;
    }
    case 'tcn': {
      const K = spec.kernelSize;
      for (let l = 0; l < layers; l++) {
        const inp = l === 0 ? p : H;
        glorot(`conv${l}/W`, K * inp, H);
        fill(`conv${l}/b`, H);
        if (inp !== H) glorot(`conv${l}/Wres`, inp, H);
      }
      break;
    }
    case 'transformer': {
      glorot('in/W', p, H);
      fill('in/b', H);
      for (let l = 0; l < layers; l++) {
        for (const m of ['q', 'k', 'v', 'o']) {
          glorot(`enc${l}/W${m}`, H, H);
          fill(`enc${l}/b${m}`, H);
        }
        fill(`enc${l}/ln1g`, H, 1);
        fill(`enc${l}/ln1b`, H);
        glorot(`enc${l}/ff1W`, H, 2 * H);
        fill(`enc${l}/ff1b`, 2 * H);
        glorot(`enc${l}/ff2W`, 2 * H, H);
        fill(`enc${l}/ff2b`, H);
        fill(`enc${l}/ln2g`, H, 1);
        fill(`enc${l}/ln2b`, H);
      }
      break;
    }
  }
  glorot('head/W', H, headWidth(spec));
  fill('head/b', headWidth(spec));
  return out;
}

export interface BuildOptions {
  /**
   * LSTM: the fused layer (src/models/nn/lstm.ts) where the backend allows it (wasm, cpu); false:
   * tfjs ops per step everywhere (the reference the fused layer is tested against).
   */
  fused?: boolean;
}

/** Builds the net with the given weights (from `initialWeights` or a checkpoint). */
export function buildNet(tf: Tf, spec: NetSpec, weights: WeightValue[], opts: BuildOptions = {}): Net {
  const id = ++instance;
  // Inside tidy: the initial tensors are released, the variables (never tidied) keep their data.
  const vars = tf.tidy(() => weights.map((w) => tf.variable(tf.tensor(w.data, w.shape, 'float32'), true, `fxnn${id}/${w.name}`)));
  const byName = new Map(weights.map((w, i) => [w.name, vars[i]]));
  const W = (name: string): TfNs.Variable => {
    const v = byName.get(name);
    if (!v) throw new Error(`network weight ${name} missing (a checkpoint of another architecture?)`);
    return v;
  };
  const forward = makeForward(tf, spec, W, opts.fused ?? true);
  return {
    spec,
    vars,
    names: weights.map((w) => w.name),
    forward,
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

/** The net's current weights, copied out. */
export function readWeights(net: Pick<Net, 'vars' | 'names'>): WeightValue[] {
  return net.vars.map((v, i) => ({ name: net.names[i], shape: v.shape.slice(), data: Float32Array.from(v.dataSync() as Float32Array) }));
}

function makeForward(tf: Tf, spec: NetSpec, W: (name: string) => TfNs.Variable, fused: boolean): (x: T3) => T2 {
  const { hidden: H, layers, lookback: L } = spec;
  const dense = (x: T2, name: string): T2 => tf.add(tf.matMul(x, W(`${name}/W`)), W(`${name}/b`)) as T2;
  const head = (h: T2): T2 => dense(h, 'head');
  /**
   * Stacked recurrent layers (LSTM, GRU): each layer projects its whole input sequence at once
   * (`<name><l>/Wx` + `<name><l>/<bias>`, `gates`·H wide), then runs its cell over time; the cell
   * maps (x_t projected, h) to the new h and keeps any other state (the LSTM's c) itself. The last
   * layer's final h feeds the head.
   */
  const recurrent = (x: T3, name: string, bias: string, gates: number, cell: (l: number, b: number) => (xt: T2, h: T2) => T2): T2 => {
    const b = x.shape[0];
    let seq: T3 = x;
    let h = tf.zeros([b, H]) as T2;
    for (let l = 0; l < layers; l++) {
      const inp = seq.shape[2];
      const xs = tf.reshape(tf.add(tf.matMul(tf.reshape(seq, [b * L, inp]) as T2, W(`${name}${l}/Wx`)), W(`${name}${l}/${bias}`)), [b, L, gates * H]) as T3;
      const steps = tf.unstack(xs, 1) as T2[];
      const step = cell(l, b);
      h = tf.zeros([b, H]) as T2;
      const outs: T2[] = [];
      for (let t = 0; t < L; t++) {
        h = step(steps[t], h);
        if (l < layers - 1) outs.push(h);
      }
      if (l < layers - 1) seq = tf.stack(outs, 1) as T3;
    }
    return h;
  };
  switch (spec.kind) {
    case 'mlp':
      return (x) => {
        const b = x.shape[0];
        let h = tf.reshape(x, [b, L * spec.p]) as T2;
        for (let l = 0; l < layers; l++) h = tf.relu(dense(h, `dense${l}`)) as T2;
        return head(h);
      };
    case 'lstm': {
      const host = fused ? fusedHost(tf) : undefined;
      if (host)
        return (x) => {
          let seq: T3 = x;
          const layer = (l: number, sequence: boolean): T2 | T3 =>
            fusedLstmLayer(tf, host, seq, W(`lstm${l}/Wx`) as T2, W(`lstm${l}/Wh`) as T2, W(`lstm${l}/b`) as TfNs.Tensor1D, { sequence, inputGrad: l > 0 });
          for (let l = 0; l < layers - 1; l++) seq = layer(l, true) as T3;
          return head(layer(layers - 1, false) as T2);
        };
      return (x) =>
        head(
          recurrent(x, 'lstm', 'b', 4, (l, b) => {
            const Wh = W(`lstm${l}/Wh`);
            let c = tf.zeros([b, H]) as T2;
            return (xt, h) => {
              const z = tf.add(xt, tf.matMul(h, Wh)) as T2;
              const s = tf.sigmoid(z) as T2;
              const i = tf.slice(s, [0, 0], [b, H]);
              const f = tf.slice(s, [0, H], [b, H]);
              const o = tf.slice(s, [0, 3 * H], [b, H]);
              const g = tf.tanh(tf.slice(z, [0, 2 * H], [b, H]));
              c = tf.add(tf.mul(f, c), tf.mul(i, g)) as T2;
              return tf.mul(o, tf.tanh(c)) as T2;
            };
          }),
        );
    }
    case 'gru':
      return (x) =>
        head(
          recurrent(x, 'gru', 'bx', 3, (l, b) => {
            const Wh = W(`gru${l}/Wh`);
            const bh = W(`gru${l}/bh`);
            // PyTorch's GRU: r and u gates, n = tanh(x_n + r ⊙ (h W_hn + b_hn)), h' = n + u ⊙ (h − n).
            return (xt, h) => {
              const hz = tf.add(tf.matMul(h, Wh), bh) as T2;
              const ru = tf.sigmoid(tf.add(tf.slice(xt, [0, 0], [b, 2 * H]), tf.slice(hz, [0, 0], [b, 2 * H]))) as T2;
              const r = tf.slice(ru, [0, 0], [b, H]);
              const u = tf.slice(ru, [0, H], [b, H]);
              const n = tf.tanh(tf.add(tf.slice(xt, [0, 2 * H], [b, H]), tf.mul(r, tf.slice(hz, [0, 2 * H], [b, H]))));
              return tf.add(n, tf.mul(u, tf.sub(h, n))) as T2;
            };
          }),
        );
    case 'tcn':
      return (x) => {
        // Dilated causal convolution as shifted slices + one matmul: y_t = Σ_j W_j · x_{t − (K−1−j)·d}.
        // (conv1d's filter gradient, Conv2DBackpropFilter, has no wasm kernel; pad, slice, concat
        // and matMul have gradients on every backend.)
        const b = x.shape[0];
        const K = spec.kernelSize;
        let seq: T3 = x;
        for (let l = 0; l < layers; l++) {
          const c = seq.shape[2];
          const d = 2 ** l;
          const padded = tf.pad(seq, [
            [0, 0],
            [(K - 1) * d, 0],
            [0, 0],
          ]) as T3;
          const taps: T3[] = [];
          for (let j = 0; j < K; j++) taps.push(tf.slice(padded, [0, j * d, 0], [b, L, c]) as T3);
          const cat = K === 1 ? taps[0] : (tf.concat(taps, 2) as T3);
          const y = tf.reshape(tf.add(tf.matMul(tf.reshape(cat, [b * L, K * c]) as T2, W(`conv${l}/W`)), W(`conv${l}/b`)), [b, L, H]) as T3;
          const res = c === H ? seq : (tf.reshape(tf.matMul(tf.reshape(seq, [b * L, c]) as T2, W(`conv${l}/Wres`)), [b, L, H]) as T3);
          seq = tf.relu(tf.add(tf.relu(y), res)) as T3;
        }
        return head(tf.reshape(tf.slice(seq, [0, L - 1, 0], [b, 1, H]), [b, H]) as T2);
      };
    case 'transformer': {
      const heads = spec.heads;
      const dh = H / heads;
      const pe = positionalEncoding(L, H);
      const ln = (x: T2, g: string, bb: string): T2 => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), W(g)), W(bb)) as T2;
      };
      return (x) => {
        const b = x.shape[0];
        const peT = tf.tensor2d(pe, [L, H]);
        // [b·L, H] rows, batch-major.
        let h = tf.reshape(tf.add(tf.reshape(dense(tf.reshape(x, [b * L, spec.p]) as T2, 'in'), [b, L, H]), peT), [b * L, H]) as T2;
        const split = (t: T2): T3 => tf.reshape(tf.transpose(tf.reshape(t, [b, L, heads, dh]), [0, 2, 1, 3]), [b * heads, L, dh]) as T3;
        for (let l = 0; l < layers; l++) {
          const q = split(tf.add(tf.matMul(h, W(`enc${l}/Wq`)), W(`enc${l}/bq`)) as T2);
          const kk = split(tf.add(tf.matMul(h, W(`enc${l}/Wk`)), W(`enc${l}/bk`)) as T2);
          const v = split(tf.add(tf.matMul(h, W(`enc${l}/Wv`)), W(`enc${l}/bv`)) as T2);
          const att = tf.softmax(tf.mul(tf.matMul(q, kk, false, true), 1 / Math.sqrt(dh)) as T3);
          const ctx = tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, v), [b, heads, L, dh]), [0, 2, 1, 3]), [b * L, H]) as T2;
          const a = tf.add(tf.matMul(ctx, W(`enc${l}/Wo`)), W(`enc${l}/bo`)) as T2;
          h = ln(tf.add(h, a) as T2, `enc${l}/ln1g`, `enc${l}/ln1b`);
          const ff = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(h, W(`enc${l}/ff1W`)), W(`enc${l}/ff1b`))) as T2, W(`enc${l}/ff2W`)), W(`enc${l}/ff2b`)) as T2;
          h = ln(tf.add(h, ff) as T2, `enc${l}/ln2g`, `enc${l}/ln2b`);
        }
        const last = tf.reshape(tf.slice(tf.reshape(h, [b, L, H]), [0, L - 1, 0], [b, 1, H]), [b, H]) as T2;
        return head(last);
      };
    }
  }
}

/** Sinusoidal positional encoding (Vaswani et al. 2017), [L, d] row-major. */
export function positionalEncoding(L: number, d: number): Float32Array {
  const pe = new Float32Array(L * d);
  for (let pos = 0; pos < L; pos++) {
    for (let i = 0; i < d; i++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(i / 2)) / d);
      pe[pos * d + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return pe;
}

/** Mean squared error over a batch and its outputs. */
export function mse(tf: Tf, pred: Tensor, y: Tensor): TfNs.Scalar {
  return tf.mean(tf.square(tf.sub(pred, y))) as TfNs.Scalar;
}

/**
 * Mean pinball loss of a quantile head's outputs `pred` [b, k·levels] (target-major) against `y`
 * [b, k], over rows, targets and levels: mean of max(τ·e, (τ − 1)·e), e = y − q. The
 * differentiable twin of src/evaluation/probabilistic.ts `pinball`, which scores the forecasts.
 */
export function pinballLoss(tf: Tf, pred: Tensor, y: Tensor, levels: readonly number[]): TfNs.Scalar {
  const b = y.shape[0];
  const k = y.shape[1] ?? 1;
  const L = levels.length;
  const e = tf.sub(tf.reshape(y, [b, k, 1]), tf.reshape(pred, [b, k, L]));
  const tau = tf.tensor3d(levels as number[], [1, 1, L]);
  return tf.mean(tf.maximum(tf.mul(e, tau), tf.mul(e, tf.sub(tau, 1)))) as TfNs.Scalar;
}
