import type { Model, Scaler } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import type { ForestFoldState, GbmFoldState, LinearState } from '../kinds.js';
import type { NnState } from '../nn/kinds.js';
import { NET_KINDS, type NetKind } from '../nn/nets.js';
import { scoringState } from '../online/walk.js';
import { linearGraph } from './linear.js';
import { nnGraph } from './nn.js';
import { DOUBLE, encodeModel, FLOAT, GraphBuilder } from './proto.js';
import { forestGraph, gbmGraph } from './trees.js';

/**
 * A trained Model as an ONNX file (docs/onnx.md), for ONNX Runtime and MetaTrader 5:
 * - one fold's model, by default the newest (the last walk-forward fold: the one a user deploys);
 *   for a model trained with `online:` the newest fold is its online learner's final state
 *   (Model.online, as predict scores it), an older fold its batch fit (metadata `fxflow.state`);
 * - input `features`, float32, RAW feature values in the model's featureNames order: [N, p] for
 *   the linear and tree kinds, [N, lookback, p] (oldest bar first) for the neural kinds;
 * - output `predictions`, float32 [N, k], one column per target in targetNames order;
 * - the fold's scaler is part of the graph (Sub/Div before the model; folded into the thresholds
 *   of the tree kinds), so raw values go in;
 * - opset ai.onnx 17 and ai.onnx.ml 3 (TreeEnsembleRegressor's double-tensor attributes).
 */

export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;

const LINEAR = new Set(['ridge', 'ols', 'lasso', 'elastic_net', 'logistic']);
const isNet = (kind: string): kind is NetKind => (NET_KINDS as readonly string[]).includes(kind);

/** Kinds `modelToOnnx` converts. */
export const ONNX_KINDS: readonly string[] = [...LINEAR, 'gbm', 'random_forest', ...NET_KINDS];

export interface OnnxOptions {
  /** Fold whose state and scaler are exported; default the last (newest). */
  fold?: number;
  /** fxflow's version, written to the file's metadata. */
  version: string;
  /** Where the model came from (the store key, run, pipeline, step), written to the metadata. */
  source: { key: string; run?: string; pipeline?: string; step?: string };
}

export interface OnnxExport {
  bytes: Uint8Array;
  fold: number;
  /** The input's shape, `N` the batch. */
  inputShape: (number | string)[];
  outputShape: (number | string)[];
}

export function modelToOnnx(model: Model, opts: OnnxOptions): OnnxExport {
  const kind = model.kind;
  if (model.encoder || !(LINEAR.has(kind) || kind === 'gbm' || kind === 'random_forest' || isNet(kind))) {
    throw new RunError(`a \`${kind}\` model cannot be exported to ONNX`, {
      hint: model.encoder
        ? 'it is a feature encoder, not a forecaster; export the model trained on its latent columns, or use `--format json`'
        : `ONNX export covers ${ONNX_KINDS.join(', ')}; \`--format json\` exports any kind`,
    });
  }
  // One graph per regime plus the routing on the regime column is not built: refuse rather than export one regime's model.
  if (typeof model.params.by_regime === 'string')
    throw new RunError(`a by_regime model cannot be exported to ONNX yet (it was trained with \`by_regime: ${model.params.by_regime}\`)`, {
      hint: 'train without `by_regime` to export, or use `--format json` (it holds every regime’s fitted state)',
    });
  // The graphs give one point column per target; a quantile model (gbm's ensembles per level, a
  // net's k·levels head) has none to give.
  if (Array.isArray(model.params.quantiles) && model.params.quantiles.length)
    throw new RunError(`a quantile model cannot be exported to ONNX yet (it was trained with \`quantiles: [${model.params.quantiles.join(', ')}]\`)`, {
      hint: 'train without `quantiles` to export, or use `--format json` (it holds every level’s fitted state)',
    });
  const folds = model.state.length;
  const f = opts.fold ?? folds - 1;
  if (!(Number.isInteger(f) && f >= 0 && f < folds))
    throw new RunError(`the model has ${folds} fold(s); fold ${f} does not exist`, {
      hint: `pick --fold 0..${folds - 1} (the default is the newest, ${folds - 1})`,
    });
  const p = model.featureNames.length;
  const k = model.targetNames.length;
  const scaler: Scaler = model.scalers?.[f] ?? { method: 'none', center: new Array<number>(p).fill(0), scale: new Array<number>(p).fill(1) };
  // An online model exports its learner's final state for the newest fold (what predict scores with).
  const state = scoringState(model, f);
  const online = model.online && model.online.fold === f ? model.online : undefined;
  const g = new GraphBuilder();
  const net = isNet(kind) ? (state as NnState) : undefined;
  const inputShape: (number | string)[] = net ? ['N', net.spec.lookback, p] : ['N', p];
  g.inputs.push({
    name: 'features',
    dims: inputShape,
    doc: `raw feature values${net ? `, windows of ${net.spec.lookback} bars (oldest first)` : ''}, features in order: ${model.featureNames.join(', ')}`,
  });
  // x' = (x − center) / scale in double, as fxflow scales (broadcast over the last axis); the
  // float32 input widens exactly.
  const x64 = g.op('Cast', ['features'], { to: { i: DOUBLE } });
  const scaled = (): string => g.op('Div', [g.op('Sub', [x64, g.f64('center', scaler.center, [p])]), g.f64('scale', scaler.scale, [p])]);
  let y: string;
  // The nets run in float32 like tfjs (fxflow feeds them float32 windows of the double-scaled rows).
  if (net) y = nnGraph(g, net, g.op('Cast', [scaled()], { to: { i: FLOAT } }));
  else if (LINEAR.has(kind)) y = g.op('Cast', [linearGraph(g, state as LinearState, scaled(), p)], { to: { i: FLOAT } });
  else y = kind === 'gbm' ? gbmGraph(g, state as GbmFoldState, x64, scaler) : forestGraph(g, state as ForestFoldState, x64, scaler);
  const outputShape = ['N', k];
  g.output(y, { name: 'predictions', dims: outputShape, doc: `one column per target: ${model.targetNames.join(', ')}` });
  const props: Record<string, string> = {
    'fxflow.kind': kind,
    'fxflow.feature_names': JSON.stringify(model.featureNames),
    'fxflow.target_names': JSON.stringify(model.targetNames),
    'fxflow.target_horizons': JSON.stringify(model.targetHorizons),
    'fxflow.input_shape': JSON.stringify(inputShape),
    'fxflow.fold': String(f),
    'fxflow.folds': String(folds),
    'fxflow.scaler': scaler.method,
    'fxflow.state': online ? 'online' : 'batch',
    ...(online ? { 'fxflow.online_through': new Date(online.through).toISOString() } : {}),
    'fxflow.version': opts.version,
    'fxflow.source_key': opts.source.key,
    ...(opts.source.run ? { 'fxflow.run': opts.source.run } : {}),
    ...(opts.source.pipeline ? { 'fxflow.pipeline': opts.source.pipeline } : {}),
    ...(opts.source.step ? { 'fxflow.step': opts.source.step } : {}),
    ...(net ? { 'fxflow.lookback': String(net.spec.lookback) } : {}),
  };
  const bytes = encodeModel(g, `fxflow_${kind}`, {
    producerVersion: opts.version,
    doc: `fxflow ${kind} model, fold ${f} of ${folds}: raw features → predictions of ${model.targetNames.join(', ')}`,
    opsets: { '': ONNX_OPSET, 'ai.onnx.ml': ONNX_ML_OPSET },
    props,
  });
  return { bytes, fold: f, inputShape, outputShape };
}
