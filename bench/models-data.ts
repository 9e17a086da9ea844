import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeRng } from '../src/data/rng.js';

/**
 * The synthetic nonlinear regression problem shared by bench/models.bench.ts and the gbm accuracy
 * test: p standard-normal features; the target mixes a sine, an interaction, a threshold step and
 * a square of the first five, plus N(0, 0.5²) noise. Seeded, so TS and the Python peers see the
 * same bytes. The interaction is x1·(x2 + 1), not a pure x1·x2: a pure product has no marginal
 * signal, so when a greedy tree first stumbles on it depends on split ties and binning noise, and
 * validation RMSE then swings by ±3% between runs of any implementation (XGBoost fed fxflow's exact
 * bins reproduces fxflow's result to 4 digits), which would drown a 1% comparison.
 */
export interface Problem {
  n: number;
  p: number;
  nVal: number;
  X: Float64Array;
  y: Float64Array;
  Xv: Float64Array;
  yv: Float64Array;
}

export function target(x: ArrayLike<number>, o: number): number {
  return Math.sin(2 * x[o]) + x[o + 1] * (x[o + 2] + 1) + (x[o + 3] > 0.5 ? 1.5 : 0) + 0.5 * x[o + 4] * x[o + 4];
}

export function makeProblem(n: number, p: number, nVal: number, seed: number): Problem {
  const rng = makeRng(seed);
  const gen = (m: number): [Float64Array, Float64Array] => {
    const X = new Float64Array(m * p);
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) X[i * p + j] = rng.normal();
      y[i] = target(X, i * p) + 0.5 * rng.normal();
    }
    return [X, y];
  };
  const [X, y] = gen(n);
  const [Xv, yv] = gen(nVal);
  return { n, p, nVal, X, y, Xv, yv };
}

/** Writes the problem as raw little-endian float64 files plus a spec JSON for bench/models_peer.py. */
export function writeProblem(pb: Problem, dir: string, extra: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const w = (name: string, a: Float64Array): void => writeFileSync(path.join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  w('X.f64', pb.X);
  w('y.f64', pb.y);
  w('Xv.f64', pb.Xv);
  w('yv.f64', pb.yv);
  const spec = path.join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ dir, n: pb.n, p: pb.p, nVal: pb.nVal, ...extra }));
  return spec;
}
