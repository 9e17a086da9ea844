import type { LinearState } from '../kinds.js';
import type { GraphBuilder } from './proto.js';

/**
 * A linear kind (ridge, ols, lasso, elastic_net, logistic) on the scaled features x' [N, p] in
 * double: z = x'·W + b as MatMul + Add ([N, k], one column per target); logistic: 2·Sigmoid(z) − 1.
 * Double as fxflow computes it: a price-level feature (centre 1.1, scale 0.002) loses ~3e-5 of its
 * scaled value to a float32 centre alone.
 */
export function linearGraph(g: GraphBuilder, s: LinearState, xs: string, p: number): string {
  const k = s.coef.length;
  const W = new Float64Array(p * k);
  s.coef.forEach((w, t) => {
    for (let j = 0; j < p; j++) W[j * k + t] = w[j];
  });
  const z = g.op('Add', [g.op('MatMul', [xs, g.f64('coef', W, [p, k])]), g.f64('intercept', s.intercept, [k])]);
  return s.link === 'logistic' ? twoSigmoidMinusOne(g, z, 'f64') : z;
}

/** 2·σ(z) − 1 (the logistic link of fxflow's direction models: P(up) − P(not up)). */
export function twoSigmoidMinusOne(g: GraphBuilder, z: string, type: 'f32' | 'f64' = 'f32'): string {
  return g.op('Sub', [g.op('Mul', [g.op('Sigmoid', [z]), g[type]('two', [2], [])]), g[type]('one', [1], [])]);
}
