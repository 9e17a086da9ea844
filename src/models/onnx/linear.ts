import type { LinearState } from '../kinds.js';
import type { GraphBuilder } from './proto.js';

/**
 * A linear kind (ridge, ols, lasso, elastic_net, logistic) on the scaled features x' [N, p]:
 * z = x'·W + b as MatMul + Add ([N, k], one column per target); logistic: 2·Sigmoid(z) − 1.
 */
export function linearGraph(g: GraphBuilder, s: LinearState, xs: string, p: number): string {
  const k = s.coef.length;
  const W = new Float64Array(p * k);
  s.coef.forEach((w, t) => {
    for (let j = 0; j < p; j++) W[j * k + t] = w[j];
  });
  const z = g.op('Add', [g.op('MatMul', [xs, g.f32('coef', W, [p, k])]), g.f32('intercept', s.intercept, [k])]);
  return s.link === 'logistic' ? twoSigmoidMinusOne(g, z) : z;
}

/** 2·σ(z) − 1 (the logistic link of fxflow's direction models: P(up) − P(not up)). */
export function twoSigmoidMinusOne(g: GraphBuilder, z: string): string {
  return g.op('Sub', [g.op('Mul', [g.op('Sigmoid', [z]), g.f32('two', [2], [])]), g.f32('one', [1], [])]);
}
