/**
 * LSTM(64) on windows of 64 steps × 16 features predicting 3 horizons, batch 256, Adam: training
 * samples/s of fxflow's network on the wasm backend against the same model in PyTorch on the CPU
 * (bench/nn_torch.py), in the same run. Peer setup (Debian): apt-get update && apt-get install -y
 * python3-torch. The ratio is fxflow samples/s ÷ PyTorch samples/s, reported as times: the table's
 * "ratio" column (peer ms / fxflow ms per batch) is that same number.
 *
 * fxflow and the peer are measured in alternating rounds (the machine's load drifts; a ratio
 * within one round compares like with like); the row gives the median round, the note the range.
 * A second row times tfjs's stock `tf.layers.lstm` (one round: it is slow) for reference.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type Tf } from '../src/backend/index.js';
import { makeRng } from '../src/data/rng.js';
import { buildNet, initialWeights, mse, type NetSpec } from '../src/models/nn/nets.js';
import type { BenchResult } from './run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PY = process.env.FXFLOW_BENCH_PYTHON ?? '/usr/bin/python3';
const L = 64,
  P = 16,
  H = 64,
  K = 3,
  B = 256;
const WARM = 2,
  STEPS = 6,
  ROUNDS = Number(process.env.FXFLOW_BENCH_ROUNDS ?? 5);

interface Peer {
  samples_per_s: number;
  threads: number;
  torch: string;
}

function torchRound(): Peer | undefined {
  try {
    return JSON.parse(
      execFileSync(PY, [path.join(HERE, 'nn_torch.py'), String(WARM), String(STEPS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as Peer;
  } catch (e) {
    process.stderr.write(`nn bench: the PyTorch peer did not run (${(e as Error).message.split('\n')[0]}); apt-get install -y python3-torch\n`);
    return undefined;
  }
}

function data(tf: Tf): { x: ReturnType<Tf['tensor3d']>; y: ReturnType<Tf['tensor2d']> } {
  const rng = makeRng(0);
  return {
    x: tf.tensor3d(
      Float32Array.from({ length: B * L * P }, () => rng.normal()),
      [B, L, P],
    ),
    y: tf.tensor2d(
      Float32Array.from({ length: B * K }, () => rng.normal()),
      [B, K],
    ),
  };
}

/** ms per training batch of fxflow's LSTM (the fused layer on wasm/cpu). */
function fxflowRound(tf: Tf): number {
  const spec: NetSpec = { kind: 'lstm', lookback: L, p: P, k: K, hidden: H, layers: 1, kernelSize: 1, heads: 1 };
  const net = buildNet(tf, spec, initialWeights(spec, 1));
  const { x, y } = data(tf);
  const opt = tf.train.adam(1e-3);
  const step = (): void => {
    const loss = opt.minimize(() => mse(tf, net.forward(x), y), true, net.vars);
    loss?.dataSync();
    loss?.dispose();
  };
  for (let i = 0; i < WARM; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  const ms = (performance.now() - t0) / STEPS;
  net.dispose();
  tf.dispose([x, y]);
  opt.dispose();
  return ms;
}

/** ms per training batch of the same model from tfjs-layers (`tf.layers.lstm` + dense head). */
async function stockRound(tf: Tf): Promise<number> {
  const model = tf.sequential({ layers: [tf.layers.lstm({ units: H, inputShape: [L, P] }), tf.layers.dense({ units: K })] });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const { x, y } = data(tf);
  await model.trainOnBatch(x, y);
  const n = 2;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await model.trainOnBatch(x, y);
  const ms = (performance.now() - t0) / n;
  model.dispose();
  tf.dispose([x, y]);
  return ms;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const range = (v: number[], d = 2): string => `${Math.min(...v).toFixed(d)}–${Math.max(...v).toFixed(d)}`;

export async function run(): Promise<BenchResult[]> {
  const { tf, name } = await selectBackend((process.env.FXFLOW_BENCH_DEVICE as 'auto' | 'cpu' | 'gpu') ?? 'auto');
  const ours: number[] = [];
  const peers: Peer[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(fxflowRound(tf));
    const p = torchRound();
    if (p) peers.push(p);
  }
  const stock = await stockRound(tf);
  const peerMs = peers.map((p) => (B * 1000) / p.samples_per_s);
  const ratios = peers.map((_, i) => peerMs[i] / ours[i]);
  const p0 = peers[0];
  const peerName = p0 ? `PyTorch ${p0.torch} CPU (${p0.threads} thread${p0.threads === 1 ? '' : 's'})` : 'PyTorch (did not run)';
  const oursMed = median(ours);
  const peerMed = peers.length ? median(peerMs) : NaN;
  const sps = (ms: number): string => ((B * 1000) / ms).toFixed(0);
  return [
    {
      name: `LSTM(64) train, 64×16 windows, 3 horizons, batch ${B}, Adam (${name}, fused)`,
      fxflowMs: oursMed,
      peer: peerName,
      peerMs: peerMed,
      note: peers.length
        ? `${sps(oursMed)} vs ${sps(peerMed)} samples/s; ${ROUNDS} alternating rounds, ratio ${range(ratios)}× (median ${median(ratios).toFixed(2)}×; target ≥ 0.5×)`
        : `${sps(oursMed)} samples/s`,
    },
    {
      name: `same, tfjs stock tf.layers.lstm (${name})`,
      fxflowMs: stock,
      peer: peerName,
      peerMs: peerMed,
      note: `${sps(stock)} samples/s; fused fxflow LSTM is ${(stock / oursMed).toFixed(1)}× faster`,
    },
  ];
}
