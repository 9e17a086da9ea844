import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type * as TfNs from '@tensorflow/tfjs';
import { CancelledError, type ParamIssue } from '../../core/diagnostics.js';
import { makeRng } from '../../data/rng.js';
import { makeEma } from './ema.js';
import { dirHandler, isSaved, loadNet, saveNet } from './io.js';
import { fusedHost } from './lstm.js';
import { buildNet, headWidth, initialWeights, mse, pinballLoss, readWeights, type Net, type NetSpec, type WeightValue } from './nets.js';
import { gatherTargets, gatherWindows, windowWidth, type WindowNorm } from './windows.js';

/**
 * The training loop: mini-batches of windows in a seeded shuffled order, Adam or AdamW (decoupled
 * weight decay, Loshchilov & Hutter 2019), a learning-rate schedule, global-norm gradient clipping,
 * gradient accumulation, early stopping on the validation loss (the best epoch's weights are kept),
 * and a checkpoint after every epoch from which a killed run resumes.
 *
 * Determinism: initial weights and every epoch's order come from fxflow's PRNG (each epoch's order
 * from (seed, epoch), so a resumed run draws the same orders); Adam's moments are part of the
 * checkpoint. On the cpu and wasm backends (single-threaded) the same inputs give bit-identical
 * weights, whether the run was interrupted or not.
 */

type Tf = typeof TfNs;

export type Schedule = 'constant' | 'cosine' | 'plateau';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'adam' | 'adamw';
  /** AdamW: decoupled weight decay per step (times the learning rate), on matrices only. */
  weightDecay: number;
  /** constant; cosine: linear warm-up over `warmupEpochs` then cosine decay to 0; plateau: halve after `PLATEAU_EPOCHS` epochs without a better val loss. */
  schedule: Schedule;
  warmupEpochs: number;
  /** Global gradient-norm clip; 0 = off. */
  clipNorm: number;
  /** Stop after this many epochs without a better val loss; 0 = run all epochs. */
  patience: number;
  /** Batches whose gradients are averaged into one step. */
  gradAccum: number;
  seed: number;
  /** Checkpoints kept besides the latest, the best by val loss. */
  keepCheckpoints: number;
  /** Where checkpoints go; none: no checkpoints, no resume. */
  checkpointDir?: string;
  /** Stop after this many optimizer steps and return the last weights (online fine-tuning: a fixed budget, no selection by loss). */
  maxSteps?: number;
  /**
   * Decay of an exponential moving average of the weights (ema.ts), updated after every optimizer
   * step; absent or 0 = off. On: the validation loss (early stopping, the best epoch) is the EMA
   * weights', the weights returned are the EMA ones, and checkpoints carry the EMA.
   */
  ema?: number;
}

/** reduce-on-plateau: epochs without improvement before the learning rate is halved. */
export const PLATEAU_EPOCHS = 2;
export const PLATEAU_FACTOR = 0.5;

export interface TrainData {
  X: ArrayLike<number>;
  p: number;
  Y: ArrayLike<number>;
  k: number;
  trainEnds: Int32Array;
  valEnds: Int32Array;
  /** Targets are standardised with these (the training windows' mean and std). */
  yMean: Float64Array;
  yStd: Float64Array;
  /** Each window normalised as it is gathered (windows.ts `WindowNorm`; the network then sees windowWidth(p, norm) columns per bar). */
  norm?: WindowNorm;
}

export interface TrainHooks {
  signal?: AbortSignal;
  log?(m: string): void;
  /** After each epoch: epoch (1-based), losses, learning rate. */
  epochEnd?(e: { epoch: number; epochs: number; trainLoss: number; valLoss: number; lr: number }): void;
  /** Tests: throw after this epoch's checkpoint, as if the process had been killed. */
  killAfterEpoch?: number;
}

export interface EpochLog {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  lr: number;
}

export interface TrainResult {
  /** The best epoch's weights (the last epoch's where there is no validation set). */
  weights: WeightValue[];
  bestEpoch: number;
  bestValLoss: number;
  history: EpochLog[];
  stoppedEarly: boolean;
  /** The epoch resumed after, if a checkpoint was found. */
  resumedFrom?: number;
}

/** Training state carried in a checkpoint's metadata. */
interface LoopState {
  epoch: number;
  step: number;
  history: EpochLog[];
  bestValLoss: number;
  bestEpoch: number;
  sinceBest: number;
  sincePlateau: number;
  lrScale: number;
  done: boolean;
  stoppedEarly: boolean;
  fingerprint: string;
}

const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-7;

export interface AdamOptions {
  optimizer: 'adam' | 'adamw';
  weightDecay: number;
  clipNorm: number;
}

export interface AdamStep {
  /** One update of the variables from their gradients (in `vars` order) at learning rate lr, 0-based step. */
  apply(grads: TfNs.Tensor[], lr: number, step: number): void;
  /** The moments per variable, [m₀, v₀, m₁, v₁, …], for checkpoints. */
  moments(names: string[]): WeightValue[];
  dispose(): void;
}

/**
 * Adam/AdamW (with global-norm clipping) over all variables as one flat vector: the same
 * elementwise float32 operations per element as an update per variable, so bit-identical to it,
 * in ~15 arithmetic kernels (plus reshapes, concats, a split) rather than ~13 per variable (on
 * wasm each kernel's dispatch, not its arithmetic, was most of the update of a small net). `moments`: [m₀, v₀, m₁, v₁, …] to resume from.
 * On wasm and cpu, the same arithmetic in JavaScript (adamStepJs); `impl: 'tfjs'` keeps the tfjs ops.
 */
export function adamStep(tf: Tf, vars: TfNs.Variable[], o: AdamOptions, moments?: WeightValue[], impl: 'auto' | 'tfjs' = 'auto'): AdamStep {
  const sizes = vars.map((v) => v.size);
  const flatOf = (k: 0 | 1): Float32Array => flatMoments(vars, k, moments);
  if (impl === 'auto' && (tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu')) return adamStepJs(tf, vars, o, flatOf(0), flatOf(1));
  // tidy: a variable keeps its own copy; the initial tensors go.
  const m = tf.tidy(() => tf.variable(tf.tensor1d(flatOf(0)), false));
  const vv = tf.tidy(() => tf.variable(tf.tensor1d(flatOf(1)), false));
  // AdamW decays matrices only: 1 where an element belongs to one (w·1·c = w·c and upd + 0 = upd exactly).
  const decay = o.optimizer === 'adamw' && o.weightDecay > 0;
  const mask = decay ? tf.tensor1d(Float32Array.from(vars.flatMap((v) => Array<number>(v.size).fill(v.shape.length >= 2 ? 1 : 0)))) : undefined;
  const flat = (ts: TfNs.Tensor[]): TfNs.Tensor1D => tf.concat(ts.map((t) => tf.reshape(t, [-1])));
  return {
    apply(grads, lr, step) {
      tf.tidy(() => {
        let scale: TfNs.Tensor | number = 1;
        if (o.clipNorm > 0) {
          const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
          scale = tf.minimum(1, tf.div(o.clipNorm, tf.add(norm, 1e-12)));
        }
        const t = step + 1;
        const c1 = 1 - Math.pow(B1, t);
        const c2 = 1 - Math.pow(B2, t);
        const g0 = flat(grads);
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const mi = tf.add(tf.mul(m, B1), tf.mul(g, 1 - B1));
        const vi = tf.add(tf.mul(vv, B2), tf.mul(tf.square(g), 1 - B2));
        m.assign(mi as TfNs.Tensor1D);
        vv.assign(vi as TfNs.Tensor1D);
        const w = flat(vars);
        let upd = tf.div(tf.mul(mi, lr / c1), tf.add(tf.sqrt(tf.div(vi, c2)), EPS));
        if (mask) upd = tf.add(upd, tf.mul(tf.mul(w, mask), lr * o.weightDecay));
        const next = tf.split(tf.sub(w, upd), sizes);
        vars.forEach((v, i) => v.assign(tf.reshape(next[i], v.shape)));
      });
    },
    moments(names) {
      const md = m.dataSync() as Float32Array;
      const vd = vv.dataSync() as Float32Array;
      const out: WeightValue[] = [];
      let at = 0;
      vars.forEach((v, i) => {
        out.push({ name: `opt/m/${names[i]}`, shape: v.shape.slice(), data: md.slice(at, at + sizes[i]) });
        out.push({ name: `opt/v/${names[i]}`, shape: v.shape.slice(), data: vd.slice(at, at + sizes[i]) });
        at += sizes[i];
      });
      return out;
    },
    dispose() {
      tf.dispose([m, vv]);
      mask?.dispose();
    },
  };
}

/** Moment k (0: m, 1: v) of every variable as one flat vector (zeros without `moments`). */
function flatMoments(vars: TfNs.Variable[], k: 0 | 1, moments?: WeightValue[]): Float32Array {
  const out = new Float32Array(vars.reduce((a, v) => a + v.size, 0));
  if (moments) {
    let at = 0;
    vars.forEach((v, i) => {
      out.set(moments[2 * i + k].data, at);
      at += v.size;
    });
  }
  return out;
}

/**
 * adamStep on the backends whose tensors are in memory JavaScript reads cheaply (wasm, cpu): the same
 * float32 operations in the same order, each rounded with Math.fround (a single +, −, ×, ÷ or √ of
 * float32 operands computed in float64 and rounded is the float32 result), so bit-identical to the
 * tfjs update; one JavaScript pass instead of ~75 kernels (reshapes, concats, a split on wasm
 * copying the whole vector per variable), which were ≈ 20% of a diffusion bench step.
 */
function adamStepJs(tf: Tf, vars: TfNs.Variable[], o: AdamOptions, m: Float32Array, vv: Float32Array): AdamStep {
  const f = Math.fround;
  const decay = o.optimizer === 'adamw' && o.weightDecay > 0;
  const [b1, b1c, b2, b2c, eps] = [f(B1), f(1 - B1), f(B2), f(1 - B2), f(EPS)];
  return {
    apply(grads, lr, step) {
      // Clipping's scale as the tfjs update computes it (a reduction: its order is tfjs's).
      let scale = 1;
      if (o.clipNorm > 0)
        scale = tf.tidy(() => {
          const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
          return tf.minimum(1, tf.div(o.clipNorm, tf.add(norm, 1e-12))).dataSync()[0];
        });
      const t = step + 1;
      const a = f(lr / (1 - Math.pow(B1, t)));
      const c2 = f(1 - Math.pow(B2, t));
      const wd = f(lr * o.weightDecay);
      let at = 0;
      // The gradients and weights read in place, the new weights written into a new tensor (not
      // into the variable's own storage: tfjs-wasm's matMul keeps its operand packed by tensor).
      const host = fusedHost(tf);
      vars.forEach((v, i) => {
        const mask = v.shape.length >= 2 ? 1 : 0;
        const wdm = decay ? wd : undefined;
        if (host) {
          const nt = host.alloc(v.shape);
          adamUpdate(host.view(grads[i]), host.view(v), host.view(nt), m, vv, at, scale, a, c2, wdm, mask, b1, b1c, b2, b2c, eps);
          v.assign(nt);
          nt.dispose();
        } else {
          const next = new Float32Array(v.size);
          adamUpdate(grads[i].dataSync() as Float32Array, v.dataSync() as Float32Array, next, m, vv, at, scale, a, c2, wdm, mask, b1, b1c, b2, b2c, eps);
          tf.tidy(() => v.assign(tf.tensor(next, v.shape)));
        }
        at += v.size;
      });
    },
    moments(names) {
      const out: WeightValue[] = [];
      let at = 0;
      vars.forEach((v, i) => {
        out.push({ name: `opt/m/${names[i]}`, shape: v.shape.slice(), data: m.slice(at, at + v.size) });
        out.push({ name: `opt/v/${names[i]}`, shape: v.shape.slice(), data: vv.slice(at, at + v.size) });
        at += v.size;
      });
      return out;
    },
    dispose() {},
  };
}

/** One variable's elements of adamStepJs (top level, so V8 optimises it once). */
function adamUpdate(
  gd: Float32Array,
  w: Float32Array,
  next: Float32Array,
  m: Float32Array,
  vv: Float32Array,
  at: number,
  scale: number,
  a: number,
  c2: number,
  wd: number | undefined,
  mask: number,
  b1: number,
  b1c: number,
  b2: number,
  b2c: number,
  eps: number,
): void {
  const f = Math.fround;
  for (let j = 0; j < w.length; j++) {
    const g = scale === 1 ? gd[j] : f(gd[j] * scale);
    const mi = f(f(m[at + j] * b1) + f(g * b1c));
    const vi = f(f(vv[at + j] * b2) + f(f(g * g) * b2c));
    m[at + j] = mi;
    vv[at + j] = vi;
    let upd = f(f(mi * a) / f(f(Math.sqrt(f(vi / c2))) + eps));
    if (wd !== undefined) upd = f(upd + f(f(w[j] * mask) * wd));
    next[j] = f(w[j] - upd);
  }
}

function epochSeed(seed: number, epoch: number): number {
  return (Math.trunc(seed) ^ Math.imul(epoch + 0x632be5ab, 0x9e3779b1)) >>> 0;
}

/** The cosine schedule needs an epoch after its warm-up: every neural kind's check of `warmup_epochs`. */
export function warmupIssues(prm: Record<string, unknown>): ParamIssue[] {
  if (prm.lr_schedule !== 'cosine' || Number(prm.warmup_epochs) < Number(prm.epochs)) return [];
  return [
    {
      path: ['warmup_epochs'],
      message: `\`warmup_epochs: ${prm.warmup_epochs}\` leaves no epoch for the cosine decay (\`epochs: ${prm.epochs}\`)`,
      hint: 'use fewer warm-up epochs than epochs',
    },
  ];
}

/** Fisher–Yates permutation of 0…n−1 from the epoch's seed. */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const rng = makeRng(epochSeed(seed, epoch));
  const o = new Uint32Array(n);
  for (let i = 0; i < n; i++) o[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = o[i];
    o[i] = o[j];
    o[j] = t;
  }
  return o;
}

/** Learning rate at optimizer step `step` (0-based) of `stepsPerEpoch`·epochs. */
export function scheduledLr(o: TrainOptions, step: number, stepsPerEpoch: number, lrScale: number): number {
  if (o.schedule === 'cosine') {
    const warm = o.warmupEpochs * stepsPerEpoch;
    const total = o.epochs * stepsPerEpoch;
    if (step < warm) return (o.learningRate * (step + 1)) / warm;
    const t = total > warm ? (step - warm) / (total - warm) : 1;
    return o.learningRate * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t)));
  }
  return o.learningRate * (o.schedule === 'plateau' ? lrScale : 1);
}

function fingerprintOf(spec: object, o: TrainOptions, d: TrainData): string {
  const { checkpointDir: _c, keepCheckpoints: _k, ...rest } = o;
  return JSON.stringify({
    spec,
    o: rest,
    n: d.trainEnds.length,
    v: d.valEnds.length,
    first: d.trainEnds[0] ?? -1,
    last: d.trainEnds[d.trainEnds.length - 1] ?? -1,
    ...(d.norm && { norm: d.norm }),
  });
}

interface Ckpt {
  dir: string;
  epoch: number;
  valLoss: number;
}

function listCheckpoints(root: string): Ckpt[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: Ckpt[] = [];
  for (const n of names) {
    const m = /^epoch-(\d+)-val-(.+)$/.exec(n);
    if (!m || !isSaved(path.join(root, n))) continue;
    out.push({ dir: path.join(root, n), epoch: Number(m[1]), valLoss: Number(m[2]) });
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

/** Keeps the latest checkpoint, the best epoch's, and the best `keep` by val loss; removes the rest. */
function prune(root: string, keep: number, bestEpoch: number): void {
  const all = listCheckpoints(root);
  if (all.length === 0) return;
  const latest = all[all.length - 1].epoch;
  const best = [...all]
    .sort((a, b) => a.valLoss - b.valLoss || a.epoch - b.epoch)
    .slice(0, Math.max(1, keep))
    .map((c) => c.epoch);
  for (const c of all) if (c.epoch !== latest && c.epoch !== bestEpoch && !best.includes(c.epoch)) rmSync(c.dir, { recursive: true, force: true });
  for (const n of readdirSync(root)) if (n.endsWith('.tmp')) rmSync(path.join(root, n), { recursive: true, force: true });
}

/**
 * A model the loop trains other than a point net of `NetSpec` on MSE (the diffusion kinds: their loss
 * draws noise and diffusion times per batch). The loop, its optimizer, schedule, early stopping and
 * checkpoints stay this module's.
 */
export interface Trainable {
  /** The architecture as JSON: part of the checkpoints' fingerprint, and stored with them. */
  spec: { lookback: number };
  initialWeights(seed: number): WeightValue[];
  build(tf: Tf, weights: WeightValue[]): TrainableNet;
}

export interface TrainableNet {
  vars: TfNs.Variable[];
  names: string[];
  /** Mean loss of a batch; `key` names the batch (same key, same random draws: a resumed run and every epoch's validation draw alike). */
  loss(x: TfNs.Tensor3D, y: TfNs.Tensor2D, key: number): TfNs.Scalar;
  dispose(): void;
}

/** A net of `spec` trained on the MSE of its outputs, or a quantile head's on the pinball loss. */
function pointNet(spec: NetSpec): Trainable {
  const levels = spec.quantiles;
  return {
    spec,
    initialWeights: (seed) => initialWeights(spec, seed),
    build(tf, weights) {
      const net: Net = buildNet(tf, spec, weights);
      const loss = levels?.length
        ? (x: TfNs.Tensor3D, y: TfNs.Tensor2D) => pinballLoss(tf, net.forward(x), y, levels)
        : (x: TfNs.Tensor3D, y: TfNs.Tensor2D) => mse(tf, net.forward(x), y);
      return { vars: net.vars, names: net.names, dispose: () => net.dispose(), loss };
    },
  };
}

/** A point net of `spec` that starts from `weights` instead of a fresh initialisation (online fine-tuning continues a fitted net). */
export function fromWeights(spec: NetSpec, weights: WeightValue[]): Trainable {
  return { ...pointNet(spec), initialWeights: () => weights };
}

/** A batch's key for its random draws: training batch `b` of `epoch`, or validation batch `b` (epoch −1, the same every epoch). */
function batchKey(seed: number, epoch: number, b: number): number {
  return (epochSeed(seed, epoch) ^ Math.imul(b + 0x27d4eb2f, 0x165667b1)) >>> 0;
}

/** Trains a network of `spec` (or another `Trainable`) on `data`; resumes from `checkpointDir` when it holds a matching checkpoint. */
export async function trainNet(tf: Tf, model: NetSpec | Trainable, data: TrainData, o: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const trainable = 'build' in model ? model : pointNet(model);
  const spec = trainable.spec;
  const nTrain = data.trainEnds.length;
  if (nTrain === 0) throw new Error('no training windows');
  const batch = Math.min(o.batchSize, nTrain);
  const stepsPerEpoch = Math.ceil(Math.ceil(nTrain / batch) / o.gradAccum);
  const fingerprint = fingerprintOf(spec, o, data);
  const L = spec.lookback;

  let st: LoopState = {
    epoch: 0,
    step: 0,
    history: [],
    bestValLoss: Infinity,
    bestEpoch: 0,
    sinceBest: 0,
    sincePlateau: 0,
    lrScale: 1,
    done: false,
    stoppedEarly: false,
    fingerprint,
  };
  let weights = trainable.initialWeights(o.seed);
  let moments: WeightValue[] | undefined;
  // With an EMA, a checkpoint holds [weights, moments (m, v per variable), EMA weights (ema/…)].
  const emaOn = (o.ema ?? 0) > 0;
  let emaInit: WeightValue[] | undefined;
  let bestWeights: WeightValue[] | undefined;
  let resumedFrom: number | undefined;

  if (o.checkpointDir) {
    mkdirSync(o.checkpointDir, { recursive: true });
    const cks = listCheckpoints(o.checkpointDir);
    const last = cks[cks.length - 1];
    if (last) {
      const saved = await loadNet(dirHandler(last.dir));
      const s = saved.meta.loop as LoopState | undefined;
      if (s && s.fingerprint === fingerprint) {
        st = s;
        st.bestValLoss = s.bestValLoss ?? Infinity; // JSON has no Infinity: null
        const nw = saved.weights.length / (emaOn ? 4 : 3);
        weights = saved.weights.slice(0, nw);
        moments = saved.weights.slice(nw, 3 * nw);
        if (emaOn) emaInit = saved.weights.slice(3 * nw);
        resumedFrom = st.epoch;
        const bestCk = cks.find((c) => c.epoch === st.bestEpoch);
        if (bestCk) {
          const bw = (await loadNet(dirHandler(bestCk.dir))).weights;
          bestWeights = emaOn ? bw.slice(3 * nw).map((w, i) => ({ ...w, name: bw[i].name })) : bw.slice(0, nw);
        }
        hooks.log?.(`resumed from the checkpoint after epoch ${st.epoch} (${last.dir})`);
      } else {
        hooks.log?.(`checkpoints in ${o.checkpointDir} are of another training setup; starting over`);
        for (const c of cks) rmSync(c.dir, { recursive: true, force: true });
      }
    }
  }

  const net = trainable.build(tf, weights);
  const adam = adamStep(tf, net.vars, o, moments);
  const ema = emaOn ? makeEma(tf, net.vars, o.ema ?? 0, emaInit) : undefined;
  /** The weights the run returns and early stopping compares: the EMA's where there is one. */
  const kept = (): WeightValue[] => (ema ? ema.weights(net.names) : readWeights(net));

  const q = windowWidth(data.p, data.norm);
  const xBuf = new Float32Array(batch * L * q);
  const yBuf = new Float32Array(batch * data.k);

  const lossOf = (ends: Int32Array, from: number, to: number, order?: Uint32Array): { x: TfNs.Tensor3D; y: TfNs.Tensor2D } => {
    const b = to - from;
    gatherWindows(data.X, data.p, L, ends, from, to, xBuf, order, data.norm);
    gatherTargets(data.Y, data.k, ends, from, to, yBuf, order, data.yMean, data.yStd);
    return { x: tf.tensor3d(xBuf.subarray(0, b * L * q), [b, L, q]), y: tf.tensor2d(yBuf.subarray(0, b * data.k), [b, data.k]) };
  };

  const valLoss = (): number => {
    const n = data.valEnds.length;
    if (n === 0) return NaN;
    let sum = 0;
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      sum += tf.tidy(() => {
        const { x, y } = lossOf(data.valEnds, s, e);
        return net.loss(x, y, batchKey(o.seed, -1, s / batch)).dataSync()[0] * (e - s);
      });
    }
    return sum / n;
  };

  const saveCheckpoint = async (): Promise<void> => {
    if (!o.checkpointDir) return;
    const ws = readWeights(net);
    const ms = adam.moments(net.names);
    const last = st.history[st.history.length - 1];
    const dir = path.join(
      o.checkpointDir,
      `epoch-${String(st.epoch).padStart(4, '0')}-val-${Number.isFinite(last?.valLoss) ? last.valLoss : (last?.trainLoss ?? 0)}`,
    );
    await saveNet(dirHandler(dir), { spec, weights: [...ws, ...ms, ...(ema ? ema.weights(net.names, 'ema/') : [])], meta: { loop: st } });
    prune(o.checkpointDir, o.keepCheckpoints, st.bestEpoch);
  };

  try {
    const capped = (): boolean => o.maxSteps !== undefined && st.step >= o.maxSteps;
    while (!st.done && st.epoch < o.epochs && !capped()) {
      if (hooks.signal?.aborted) throw new CancelledError();
      const epoch = st.epoch;
      const order = epochOrder(nTrain, o.seed, epoch);
      let lossSum = 0;
      let seen = 0;
      let acc: TfNs.Tensor[] | undefined;
      let accN = 0;
      let lr = scheduledLr(o, st.step, stepsPerEpoch, st.lrScale);
      for (let s = 0; s < nTrain && !capped(); s += batch) {
        if (hooks.signal?.aborted) throw new CancelledError();
        const e = Math.min(nTrain, s + batch);
        const { value, grads } = tf.tidy(() => {
          const { x, y } = lossOf(data.trainEnds, s, e, order);
          const r = tf.variableGrads(() => net.loss(x, y, batchKey(o.seed, epoch, s / batch)), net.vars);
          return { value: r.value, grads: net.vars.map((v) => r.grads[v.name]) };
        });
        lossSum += value.dataSync()[0] * (e - s);
        seen += e - s;
        value.dispose();
        if (acc) {
          const prev = acc;
          acc = tf.tidy(() => prev.map((a, i) => tf.add(a, grads[i])));
          prev.forEach((t) => t.dispose());
          grads.forEach((t) => t.dispose());
        } else acc = grads;
        accN++;
        if (accN === o.gradAccum || e === nTrain) {
          const sum = acc;
          const avg = accN === 1 ? sum : tf.tidy(() => sum.map((g) => tf.div(g, accN)));
          lr = scheduledLr(o, st.step, stepsPerEpoch, st.lrScale);
          adam.apply(avg, lr, st.step);
          ema?.update(st.step);
          if (avg !== sum) avg.forEach((t) => t.dispose());
          sum.forEach((t) => t.dispose());
          acc = undefined;
          accN = 0;
          st.step++;
        }
      }
      const trainLoss = lossSum / Math.max(1, seen);
      const vl = ema ? ema.swapped(valLoss) : valLoss();
      const score = Number.isFinite(vl) ? vl : trainLoss;
      st.epoch = epoch + 1;
      st.history.push({ epoch: st.epoch, trainLoss, valLoss: vl, lr });
      if (score < st.bestValLoss) {
        st.bestValLoss = score;
        st.bestEpoch = st.epoch;
        st.sinceBest = 0;
        st.sincePlateau = 0;
        bestWeights = kept();
      } else {
        st.sinceBest++;
        st.sincePlateau++;
        if (o.schedule === 'plateau' && st.sincePlateau >= PLATEAU_EPOCHS) {
          st.lrScale *= PLATEAU_FACTOR;
          st.sincePlateau = 0;
        }
      }
      if (o.patience > 0 && st.sinceBest >= o.patience) {
        st.done = true;
        st.stoppedEarly = true;
      }
      if (st.epoch >= o.epochs) st.done = true;
      await saveCheckpoint();
      hooks.epochEnd?.({ epoch: st.epoch, epochs: o.epochs, trainLoss, valLoss: vl, lr });
      if (hooks.killAfterEpoch === st.epoch) throw new Error(`killed after epoch ${st.epoch} (test hook)`);
    }
    const final = o.maxSteps !== undefined ? kept() : (bestWeights ?? kept());
    return {
      weights: final,
      bestEpoch: st.bestEpoch,
      bestValLoss: st.bestValLoss,
      history: st.history,
      stoppedEarly: st.stoppedEarly,
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    };
  } finally {
    net.dispose();
    adam.dispose();
  }
}

/**
 * Predictions (standardised back to target units) of windows ending at `ends`, [n·w] row-major,
 * w = headWidth (k, or a quantile head's k·levels, target-major: each output is its target's).
 */
export function predictWindows(
  tf: Tf,
  net: Net,
  X: ArrayLike<number>,
  p: number,
  ends: Int32Array,
  yMean: ArrayLike<number>,
  yStd: ArrayLike<number>,
  batch = 512,
): Float64Array {
  const k = headWidth(net.spec);
  const per = k / net.spec.k;
  const L = net.spec.lookback;
  const out = new Float64Array(ends.length * k);
  const xBuf = new Float32Array(Math.min(batch, Math.max(1, ends.length)) * L * p);
  for (let s = 0; s < ends.length; s += batch) {
    const e = Math.min(ends.length, s + batch);
    const b = e - s;
    const y = tf.tidy(() => {
      gatherWindows(X, p, L, ends, s, e, xBuf);
      return net.forward(tf.tensor3d(xBuf.subarray(0, b * L * p), [b, L, p])).dataSync();
    });
    for (let i = 0; i < b; i++) for (let c = 0; c < k; c++) out[(s + i) * k + c] = y[i * k + c] * yStd[(c / per) | 0] + yMean[(c / per) | 0];
  }
  return out;
}
