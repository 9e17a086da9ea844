import type { AnyStepDef } from './define.js';
import { StepRegistry } from './registry.js';
import fetch from './fetch/index.js';
import features from './features/index.js';
import split from './split/index.js';
import train from './train/index.js';
import encode from './encode/index.js';
import backtest from './backtest/index.js';
import predict from './predict/index.js';
import regime from './regime/index.js';
import replay from './replay/index.js';

/** The built-in step kinds, in pipeline order. */
export const BUILTIN_STEPS: AnyStepDef[] = [fetch, features, regime, split, train, encode, backtest, predict, replay] as unknown as AnyStepDef[];

export function builtinRegistry(): StepRegistry {
  const r = new StepRegistry();
  for (const s of BUILTIN_STEPS) r.register(s);
  return r;
}

const BUILTIN = new Set<AnyStepDef>(BUILTIN_STEPS);
/** One of these definitions (a plugin's step, even one wrapped by the loader, is another object). */
export function isBuiltinStep(def: AnyStepDef | undefined): boolean {
  return def !== undefined && BUILTIN.has(def);
}
