/**
 * The `diffusion` kind against the same noise predictor in PyTorch on the CPU
 * (bench/diffusion_torch.py), in the same run: (1) training steps/s — windows of 32 bars × 8
 * features, a 4-target patch, 32 channels, 2 blocks, kernel 3, batch 256, ε-prediction under the
 * cosine schedule (T = 1000), Adam; (2) DDIM sampling of 1,000 forecasts × 100 draws × 20 steps,
 * 4,096 draws per forward pass, each window encoded once, on both sides. Peer setup (Debian):
 * apt-get update && apt-get install -y python3-torch. Training alternates rounds (the machine's
 * load drifts; a ratio within one round compares like with like): the row gives the median round,
 * and the note each round's ratio by the wall clock and by CPU time (both processes single-threaded
 * here; CPU time is what a loaded, shared machine distorts least), with the load average.
 * FXFLOW_BENCH_FORECASTS shrinks the sampling run on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type Tf } from '../src/backend/index.js';
import { makeRng } from '../src/data/rng.js';
import { diffusionTrainable, sampleWindows } from '../src/models/diffusion/kinds.js';
import type { DenoiserSpec } from '../src/models/diffusion/blocks.js';
import { denoiserWeights } from '../src/models/diffusion/denoiser.js';
import { adamStep } from '../src/models/nn/train.js';
import type { BenchResult } from './run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PY = process.env.FXFLOW_BENCH_PYTHON ?? '/usr/bin/python3';
const SPEC: DenoiserSpec = { kind: 'diffusion', lookback: 32, p: 8, k: 4, hidden: 32, layers: 2, kernelSize: 3, stateSize: 0, diffusionSteps: 1000 };
const B = 256;
const WARM = 3,
  STEPS = 50,
  ROUNDS = Number(process.env.FXFLOW_BENCH_ROUNDS ?? 3);
const F = Number(process.env.FXFLOW_BENCH_FORECASTS ?? 1000),
  S = 100,
  DDIM = 20;

function torch(args: string[]): Record<string, number | string> | undefined {
  try {
    return JSON.parse(execFileSync(PY, [path.join(HERE, 'diffusion_torch.py'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    process.stderr.write(`diffusion bench: the PyTorch peer did not run (${(e as Error).message.split('\n')[0]}); apt-get install -y python3-torch\n`);
    return undefined;
  }
}

/**
 * Steps/s of fxflow's training step (the kind's loss, with its noise draws, and train.ts's Adam): by
 * the wall clock, and by the process's CPU time (all threads), which a loaded machine does not stretch.
 */
function trainRound(tf: Tf): { wall: number; cpu: number } {
  const net = diffusionTrainable(SPEC).build(tf, denoiserWeights(SPEC, 1));
  const rng = makeRng(0);
  const x = tf.tensor3d(
    Float32Array.from({ length: B * SPEC.lookback * SPEC.p }, () => rng.normal()),
    [B, SPEC.lookback, SPEC.p],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: B * SPEC.k }, () => rng.normal()),
    [B, SPEC.k],
  );
  const adam = adamStep(tf, net.vars, { optimizer: 'adam', weightDecay: 0, clipNorm: 0 });
  let key = 0;
  let n = 0;
  const step = (): void => {
    const { value, grads } = tf.variableGrads(() => net.loss(x, y, key++), net.vars);
    adam.apply(
      net.vars.map((v) => grads[v.name]),
      1e-3,
      n++,
    );
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  for (let i = 0; i < WARM; i++) step();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < STEPS; i++) step();
  const wall = (STEPS * 1000) / (performance.now() - t0);
  const c = process.cpuUsage(c0);
  const cpu = (STEPS * 1e6) / (c.user + c.system);
  net.dispose();
  tf.dispose([x, y]);
  adam.dispose();
  return { wall, cpu };
}

function sampleMs(tf: Tf): number {
  const rng = makeRng(2);
  const n = F + SPEC.lookback - 1;
  const X = Float32Array.from({ length: n * SPEC.p }, () => rng.normal());
  const ends = Int32Array.from({ length: F }, (_, i) => i + SPEC.lookback - 1);
  const t0 = performance.now();
  sampleWindows(tf, SPEC, denoiserWeights(SPEC, 1), X, SPEC.p, ends, [0, 0, 0, 0], [1, 1, 1, 1], { samples: S, steps: DDIM, seed: 1 });
  return performance.now() - t0;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

export async function run(): Promise<BenchResult[]> {
  const { tf, name } = await selectBackend((process.env.FXFLOW_BENCH_DEVICE as 'auto' | 'cpu' | 'gpu') ?? 'auto');
  const ours: number[] = [];
  const peers: number[] = [];
  const oursCpu: number[] = [];
  const peersCpu: number[] = [];
  const loads: number[] = [];
  let info: Record<string, number | string> | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    loads.push(os.loadavg()[0]);
    const o = trainRound(tf);
    const p = torch(['train', String(WARM), String(STEPS)]);
    ours.push(o.wall);
    oursCpu.push(o.cpu);
    if (p) {
      peers.push(p.steps_per_s as number);
      peersCpu.push(p.cpu_steps_per_s as number);
      info = p;
    }
  }
  const peerName = info ? `PyTorch ${info.torch} CPU (${info.threads} threads)` : 'PyTorch (did not run)';
  // Per round, where the peer ran every round (else rounds do not pair up).
  const paired = peers.length === ours.length;
  const ratios = paired ? peers.map((p, i) => ours[i] / p) : [];
  const cpuRatios = paired ? peersCpu.map((p, i) => oursCpu[i] / p) : [];
  const fmt = (v: number[]): string => v.map((r) => r.toFixed(2)).join(', ');
  const fx = sampleMs(tf);
  const ps = torch(['sample', String(F), String(S), String(DDIM)]);
  return [
    {
      name: `diffusion train step, 32×8 windows → 4-patch, C=32, 2 blocks, batch ${B}, Adam (${name})`,
      fxflowMs: 1000 / median(ours),
      peer: peerName,
      peerMs: peers.length ? 1000 / median(peers) : NaN,
      note: paired
        ? `${median(ours).toFixed(1)} vs ${median(peers).toFixed(1)} steps/s; rounds ${fmt(ratios)}×; by CPU time ${median(oursCpu).toFixed(1)} vs ${median(peersCpu).toFixed(1)} steps/s, rounds ${fmt(cpuRatios)}×; load ${fmt(loads)}`
        : `${median(ours).toFixed(1)} steps/s (no peer); load ${fmt(loads)}`,
    },
    {
      name: `DDIM sampling, ${F} forecasts × ${S} draws × ${DDIM} steps (${name})`,
      fxflowMs: fx,
      peer: peerName,
      peerMs: ps ? (ps.seconds as number) * 1000 : NaN,
      note: 'one round',
    },
  ];
}
