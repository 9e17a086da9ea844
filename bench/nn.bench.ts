/**
 * LSTM(64) on windows of 64 steps × 16 features predicting 3 horizons, batch 256, Adam: training
 * samples/s of fxflow's network on the wasm backend against the same model in PyTorch on the CPU
 * (bench/nn_torch.py), in the same run. Peer setup (Debian): apt-get update && apt-get install -y
 * python3-torch. The ratio is fxflow samples/s ÷ PyTorch samples/s, reported as times: the table's
 * "ratio" column (peer ms / fxflow ms per batch) is that same number.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/backend/index.js';
import { makeRng } from '../src/data/rng.js';
import { buildNet, initialWeights, mse, type NetSpec } from '../src/models/nn/nets.js';
import type { BenchResult } from './run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PY = process.env.FXFLOW_BENCH_PYTHON ?? '/usr/bin/python3';
const L = 64, P = 16, H = 64, K = 3, B = 256;
const WARM = 2, STEPS = 6;

export async function run(): Promise<BenchResult[]> {
  const { tf, name } = await selectBackend((process.env.FXFLOW_BENCH_DEVICE as 'auto' | 'cpu' | 'gpu') ?? 'auto');
  const spec: NetSpec = { kind: 'lstm', lookback: L, p: P, k: K, hidden: H, layers: 1, kernelSize: 1, heads: 1 };
  const net = buildNet(tf, spec, initialWeights(spec, 1));
  const rng = makeRng(0);
  const x = tf.tensor3d(Float32Array.from({ length: B * L * P }, () => rng.normal()), [B, L, P]);
  const y = tf.tensor2d(Float32Array.from({ length: B * K }, () => rng.normal()), [B, K]);
  const opt = tf.train.adam(1e-3);
  const step = (): void => {
    const loss = opt.minimize(() => mse(tf, net.forward(x), y), true, net.vars);
    loss?.dataSync();
    loss?.dispose();
  };
  for (let i = 0; i < WARM; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  const msPerBatch = (performance.now() - t0) / STEPS;
  net.dispose();
  x.dispose();
  y.dispose();
  opt.dispose();
  const ours = (B * 1000) / msPerBatch;

  let peer = { samples_per_s: NaN, threads: 0, torch: '?' };
  try {
    peer = JSON.parse(execFileSync(PY, [path.join(HERE, 'nn_torch.py'), String(WARM), String(STEPS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    process.stderr.write(`nn bench: the PyTorch peer did not run (${(e as Error).message.split('\n')[0]}); apt-get install -y python3-torch\n`);
  }
  const peerMs = (B * 1000) / peer.samples_per_s;
  return [
    {
      name: `LSTM(64) train, 64×16 windows, 3 horizons, batch ${B}, Adam (${name})`,
      fxflowMs: msPerBatch,
      peer: `PyTorch ${peer.torch} CPU (${peer.threads} thread${peer.threads === 1 ? '' : 's'})`,
      peerMs,
      note: `${ours.toFixed(0)} vs ${peer.samples_per_s.toFixed(0)} samples/s = ${(ours / peer.samples_per_s).toFixed(2)}× PyTorch (target ≥ 0.5×)`,
    },
  ];
}
