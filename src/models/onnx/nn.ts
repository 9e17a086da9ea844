import { RunError } from '../../core/diagnostics.js';
import type { NnState } from '../nn/kinds.js';
import { positionalEncoding, type WeightValue } from '../nn/nets.js';
import type { GraphBuilder } from './proto.js';

/**
 * The neural kinds (src/models/nn/nets.ts) in standard ONNX ops, on the scaled windows
 * x' [N, lookback, p]; output [N, k] in target units (the net's standardised outputs · yStd + yMean).
 * The math is nets.ts's forward, op for op: the LSTM and GRU become ONNX's LSTM / GRU operators
 * (gates reordered: fxflow i,f,g,o → ONNX i,o,f,c; fxflow r,u,n → ONNX z,r,h with
 * linear_before_reset = 1, PyTorch's GRU), the TCN's dilated causal convolution a Conv with left
 * padding, the transformer's attention MatMul/Softmax and its LayerNorm ReduceMean/Sqrt/Div.
 */
export function nnGraph(g: GraphBuilder, s: NnState, xs: string): string {
  const { spec } = s;
  const byName = new Map<string, WeightValue>(s.weights.map((w) => [w.name, w]));
  const w = (name: string): WeightValue => {
    const v = byName.get(name);
    if (!v)
      throw new RunError(`the ${spec.kind} model's state has no weight \`${name}\``, {
        hint: 'the stored model is incomplete; rerun its pipeline to retrain it',
      });
    return v;
  };
  const c = (name: string): string => g.f32(name.replace(/\W/g, '_'), w(name).data, w(name).shape);
  const dense = (x: string, name: string): string => g.op('Add', [g.op('MatMul', [x, c(`${name}/W`)]), c(`${name}/b`)]);
  const { hidden: H, layers, lookback: L, p } = spec;
  let h: string;
  switch (spec.kind) {
    case 'mlp': {
      h = g.op('Reshape', [xs, g.i64('shape', [-1, L * p])]);
      for (let l = 0; l < layers; l++) h = g.op('Relu', [dense(h, `dense${l}`)]);
      break;
    }
    case 'lstm':
    case 'gru': {
      const lstm = spec.kind === 'lstm';
      const G = lstm ? 4 : 3;
      // fxflow's gate block of each ONNX gate.
      const order = lstm ? [0, 3, 1, 2] : [1, 0, 2];
      /** [inp, G·H] (fxflow, x·W) → [1, G·H, inp] (ONNX, W·x) with the gate blocks reordered. */
      const gates = (m: WeightValue): Float32Array => {
        const inp = m.shape[0];
        const out = new Float32Array(G * H * inp);
        order.forEach((src, dst) => {
          for (let u = 0; u < H; u++) for (let i = 0; i < inp; i++) out[(dst * H + u) * inp + i] = m.data[i * G * H + src * H + u];
        });
        return out;
      };
      const reorder = (b: ArrayLike<number>, into: Float32Array, at: number): void => {
        order.forEach((src, dst) => {
          for (let u = 0; u < H; u++) into[at + dst * H + u] = b[src * H + u];
        });
      };
      // ONNX recurrences take [L, N, features].
      let seq = g.op('Transpose', [xs], { perm: { ints: [1, 0, 2] } });
      h = '';
      for (let l = 0; l < layers; l++) {
        const name = `${spec.kind}${l}`;
        const Wx = w(`${name}/Wx`);
        const inp = Wx.shape[0];
        const B = new Float32Array(2 * G * H);
        if (lstm) reorder(w(`${name}/b`).data, B, 0);
        else {
          reorder(w(`${name}/bx`).data, B, 0);
          reorder(w(`${name}/bh`).data, B, G * H);
        }
        const inputs = [
          seq,
          g.f32(`${name}_W`, gates(Wx), [1, G * H, inp]),
          g.f32(`${name}_R`, gates(w(`${name}/Wh`)), [1, G * H, H]),
          g.f32(`${name}_B`, B, [1, 2 * G * H]),
        ];
        const [Y, Yh] = g.node(lstm ? 'LSTM' : 'GRU', inputs, { hidden_size: { i: H }, ...(lstm ? {} : { linear_before_reset: { i: 1 } }) }, 2);
        if (l < layers - 1) seq = g.op('Squeeze', [Y, g.i64('axes', [1])]);
        else h = g.op('Squeeze', [Yh, g.i64('axes', [0])]);
      }
      break;
    }
    case 'tcn': {
      // [N, L, C] → [N, C, L]; y_t = Σ_j W_j · x_{t − (K−1−j)·d} is Conv's cross-correlation with (K−1)·d zeros on the left.
      const K = spec.kernelSize;
      let seq = g.op('Transpose', [xs], { perm: { ints: [0, 2, 1] } });
      for (let l = 0; l < layers; l++) {
        const W = w(`conv${l}/W`);
        const ch = W.shape[0] / K;
        const d = 2 ** l;
        const kern = new Float32Array(H * ch * K);
        for (let m = 0; m < H; m++) for (let i = 0; i < ch; i++) for (let j = 0; j < K; j++) kern[(m * ch + i) * K + j] = W.data[(j * ch + i) * H + m];
        const y = g.op('Relu', [
          g.op('Conv', [seq, g.f32(`conv${l}_W`, kern, [H, ch, K]), c(`conv${l}/b`)], {
            kernel_shape: { ints: [K] },
            dilations: { ints: [d] },
            pads: { ints: [(K - 1) * d, 0] },
          }),
        ]);
        let res = seq;
        if (ch !== H) {
          const R = w(`conv${l}/Wres`);
          const kr = new Float32Array(H * ch);
          for (let m = 0; m < H; m++) for (let i = 0; i < ch; i++) kr[m * ch + i] = R.data[i * H + m];
          res = g.op('Conv', [seq, g.f32(`conv${l}_Wres`, kr, [H, ch, 1])], { kernel_shape: { ints: [1] } });
        }
        seq = g.op('Relu', [g.op('Add', [y, res])]);
      }
      // The last time step: [N, H].
      h = g.op('Gather', [seq, g.i64('last', [L - 1], [])], { axis: { i: 2 } });
      break;
    }
    case 'transformer': {
      const heads = spec.heads;
      const dh = H / heads;
      const ln = (x: string, gain: string, bias: string): string => {
        const mean = g.op('ReduceMean', [x], { axes: { ints: [-1] }, keepdims: { i: 1 } });
        const dev = g.op('Sub', [x, mean]);
        const variance = g.op('ReduceMean', [g.op('Mul', [dev, dev])], { axes: { ints: [-1] }, keepdims: { i: 1 } });
        const norm = g.op('Div', [dev, g.op('Sqrt', [g.op('Add', [variance, g.f32('eps', [1e-5], [])])])]);
        return g.op('Add', [g.op('Mul', [norm, c(gain)]), c(bias)]);
      };
      // [N, L, H]; MatMul broadcasts the 2-D weights over the batch.
      h = g.op('Add', [dense(xs, 'in'), g.f32('pe', positionalEncoding(L, H), [L, H])]);
      const split = (t: string, perm: number[]): string =>
        g.op('Transpose', [g.op('Reshape', [t, g.i64('heads', [0, 0, heads, dh])])], { perm: { ints: perm } });
      for (let l = 0; l < layers; l++) {
        const e = `enc${l}`;
        const proj = (m: string): string => g.op('Add', [g.op('MatMul', [h, c(`${e}/W${m}`)]), c(`${e}/b${m}`)]);
        const q = split(proj('q'), [0, 2, 1, 3]); // [N, heads, L, dh]
        const kT = split(proj('k'), [0, 2, 3, 1]); // [N, heads, dh, L]
        const v = split(proj('v'), [0, 2, 1, 3]);
        const att = g.op('Softmax', [g.op('Mul', [g.op('MatMul', [q, kT]), g.f32('scale', [1 / Math.sqrt(dh)], [])])], { axis: { i: -1 } });
        const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [att, v])], { perm: { ints: [0, 2, 1, 3] } }), g.i64('merge', [0, 0, H])]);
        const a = g.op('Add', [g.op('MatMul', [ctx, c(`${e}/Wo`)]), c(`${e}/bo`)]);
        h = ln(g.op('Add', [h, a]), `${e}/ln1g`, `${e}/ln1b`);
        const ff = g.op('Add', [
          g.op('MatMul', [g.op('Relu', [g.op('Add', [g.op('MatMul', [h, c(`${e}/ff1W`)]), c(`${e}/ff1b`)])]), c(`${e}/ff2W`)]),
          c(`${e}/ff2b`),
        ]);
        h = ln(g.op('Add', [h, ff]), `${e}/ln2g`, `${e}/ln2b`);
      }
      h = g.op('Gather', [h, g.i64('last', [L - 1], [])], { axis: { i: 1 } });
      break;
    }
  }
  const out = dense(h, 'head');
  return g.op('Add', [g.op('Mul', [out, g.f32('y_std', s.yStd, [spec.k])]), g.f32('y_mean', s.yMean, [spec.k])]);
}
