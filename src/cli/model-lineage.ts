import type { Candles, Model } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { decodeArtifact } from '../runtime/codec.js';
import { runOfArtifact, type RunRow, type StepLink } from '../runtime/history.js';
import type { Store } from '../runtime/store.js';

/**
 * What made a model, from the run history: the run (pipeline text, git commit) and the chain of
 * step runs fetch → features → split → train followed through their input keys, plus the backtest
 * steps that read the model (for a replay's model, `train` is the replay step and the chain
 * is fetch → features → replay). `predict` recomputes features with the recorded params; `models show`
 * prints them.
 */
export interface ModelLineage {
  key: string;
  run: RunRow;
  train: StepLink;
  split?: StepLink;
  features?: StepLink;
  fetch?: StepLink;
  backtests: StepLink[];
  /** Why the chain is not fetch → features → split → train (a plugin step, an encoded dataset…). */
  broken?: string;
}

export async function modelLineage(store: Store, key: string, runId?: string): Promise<ModelLineage> {
  const found = await runOfArtifact(store, key, runId);
  if (!found)
    throw new RunError(`no run in the history made the model ${key.slice(0, 12)}`, { hint: 'its lineage is unknown; rerun the pipeline that trains it' });
  const { run, steps } = found;
  const byKey = (k: string | undefined): StepLink | undefined => (k === undefined ? undefined : steps.find((s) => s.key === k && s.status === 'ok'));
  const train = byKey(key)!;
  const out: ModelLineage = { key, run, train, backtests: steps.filter((s) => s.kind === 'backtest' && s.inputs.model === key && s.status === 'ok') };
  const link = (from: StepLink, port: string, kind: string): StepLink | undefined => {
    const s = byKey(from.inputs[port]);
    if (!s) out.broken ??= `step \`${from.nodeId}\` has no recorded \`${port}\` input`;
    else if (s.kind !== kind) out.broken ??= `step \`${from.nodeId}\`'s ${port} comes from \`${s.nodeId}\` (kind ${s.kind}), not from a ${kind} step`;
    else return s;
    return undefined;
  };
  // A replay's models (./replay-models.ts): the replay step fitted them on its features input.
  if (train.kind === 'replay') {
    out.features = link(train, 'features', 'features');
    if (out.features) out.fetch = link(out.features, 'candles', 'fetch');
    return out;
  }
  if (train.kind !== 'train') {
    out.broken = `the model comes from step \`${train.nodeId}\` of kind ${train.kind}, not train`;
    return out;
  }
  out.split = link(train, 'dataset', 'split');
  if (out.split) out.features = link(out.split, 'features', 'features');
  if (out.features) out.fetch = link(out.features, 'candles', 'fetch');
  return out;
}

/** An artifact of the store, decoded; a missing or damaged one is a RunError saying how to get it back. */
export async function loadArtifact<T extends Model | Candles>(store: Store, key: string, what: string): Promise<T> {
  const bytes = await store.getArtifactBytes(key);
  if (!bytes)
    throw new RunError(`${what} ${key.slice(0, 12)} is in the history but its bytes are missing or damaged`, { hint: 'rerun its pipeline to recompute it' });
  return decodeArtifact<T>(bytes);
}
