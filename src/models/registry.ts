import type { ModelKind, ParamValue } from './kind.js';
import { BUILTIN_MODEL_KINDS } from './kinds.js';
import { AUTOENCODER } from './nn/autoencoder.js';
import { NN_MODEL_KINDS } from './nn/kinds.js';
import { DIFFUSION_MODEL_KINDS } from './diffusion/kinds.js';

export type { FoldData, ModelKind, ParamValue } from './kind.js';

/**
 * Every model kind, in the order `fxflow` lists them. Adding a kind is: write its module (the
 * `ModelKind` contract in ./kind.ts), add it here, and add its params interface to the
 * `TrainParams` union in src/steps/train/params.ts (the pipeline schema is generated from that type;
 * a test checks the two lists and their defaults agree).
 */
const MODEL_KINDS: readonly ModelKind[] = [...BUILTIN_MODEL_KINDS, ...NN_MODEL_KINDS, ...DIFFUSION_MODEL_KINDS, AUTOENCODER];

const KINDS = new Map<string, ModelKind>(MODEL_KINDS.map((k) => [k.name, k]));

export function getModelKind(name: string): ModelKind | undefined {
  return KINDS.get(name);
}

export function modelKinds(): ModelKind[] {
  return [...KINDS.values()];
}

/** The kind's defaults overlaid with the params given (only the kind's own names are kept). */
export function resolveModelParams(kind: ModelKind, given: Record<string, unknown>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = { ...kind.defaults };
  for (const name of Object.keys(kind.defaults)) {
    const v = given[name];
    if (v !== undefined) out[name] = v as ParamValue;
  }
  return out;
}
