import type { Scaler } from '../../core/artifacts.js';
import type { GbmFoldState, ForestFoldState } from '../kinds.js';
import { twoSigmoidMinusOne } from './linear.js';
import { type Attr, DOUBLE, type GraphBuilder } from './proto.js';

/** A tree as the model state holds it (typed arrays from the store, plain arrays from model.json). */
interface TreeArrays {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  value: ArrayLike<number>;
}

const f32 = Math.fround;

/** The float32 value next to x (x a float32) towards +∞ (up) or −∞. */
function nextF32(x: number, up: boolean): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  if (x === 0) {
    // ±0 → the smallest subnormal of the direction's sign.
    u[0] = up ? 1 : 0x80000001;
    return b[0];
  }
  u[0] += x > 0 === up ? 1 : -1;
  return b[0];
}

/**
 * The raw-feature threshold T (a float32) with, for every float32 input x, x <= T exactly when
 * fxflow's own test (x − center) / scale <= threshold holds (in float64, as predict computes it).
 * The test is monotone in x (scale > 0), so T is the largest float32 that passes it: start from
 * threshold·scale + center rounded to float32 and step one ulp at a time to the boundary. So the
 * exported trees take the same branch as fxflow on every float32 input, even on a threshold.
 */
export function rawThreshold(threshold: number, center: number, scale: number): number {
  const pass = (x: number): boolean => (x - center) / scale <= threshold;
  let T = f32(threshold * scale + center);
  if (!Number.isFinite(T)) return T;
  if (pass(T)) {
    for (let up = nextF32(T, true); Number.isFinite(up) && pass(up); up = nextF32(T, true)) T = up;
  } else {
    do T = nextF32(T, false);
    while (Number.isFinite(T) && !pass(T));
  }
  return T;
}

/**
 * One ai.onnx.ml TreeEnsembleRegressor for one target's trees on the RAW features [N, p] (the
 * scaler is folded into each threshold, see rawThreshold): BRANCH_LEQ with the true branch left
 * (x <= T) and missing_value_tracks_true 0, so NaN goes right as in fxflow. Thresholds, leaf
 * values and the base score are double tensors (ai.onnx.ml opset 3) and `x` is the features cast
 * to double (exact), so ONNX Runtime compares and sums in double. Output [N, 1] float.
 */
function ensemble(g: GraphBuilder, x: string, trees: readonly TreeArrays[], scaler: Scaler, aggregate: 'SUM' | 'AVERAGE', base: number): string {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tWeight: number[] = [];
  trees.forEach((t, ti) => {
    for (let i = 0; i < t.feature.length; i++) {
      const f = t.feature[i];
      treeIds.push(ti);
      nodeIds.push(i);
      if (f >= 0) {
        featureIds.push(f);
        modes.push('BRANCH_LEQ');
        values.push(rawThreshold(t.threshold[i], scaler.center[f], scaler.scale[f]));
        trueIds.push(t.left[i]);
        falseIds.push(t.right[i]);
      } else {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        tTree.push(ti);
        tNode.push(i);
        tWeight.push(t.value[i]);
      }
    }
  });
  if (trees.length === 0) {
    // No tree (a forest of none, boosting stopped before the first round): a constant.
    treeIds.push(0);
    nodeIds.push(0);
    featureIds.push(0);
    modes.push('LEAF');
    values.push(0);
    trueIds.push(0);
    falseIds.push(0);
    tTree.push(0);
    tNode.push(0);
    tWeight.push(0);
  }
  const d = (data: number[]): Attr => ({ t: { dims: [data.length], type: DOUBLE, data } });
  return g.op(
    'TreeEnsembleRegressor',
    [x],
    {
      aggregate_function: { s: aggregate },
      n_targets: { i: 1 },
      post_transform: { s: 'NONE' },
      base_values_as_tensor: d([base]),
      nodes_treeids: { ints: treeIds },
      nodes_nodeids: { ints: nodeIds },
      nodes_featureids: { ints: featureIds },
      nodes_modes: { strings: modes },
      nodes_values_as_tensor: d(values),
      nodes_truenodeids: { ints: trueIds },
      nodes_falsenodeids: { ints: falseIds },
      nodes_missing_value_tracks_true: { ints: new Array<number>(modes.length).fill(0) },
      target_treeids: { ints: tTree },
      target_nodeids: { ints: tNode },
      target_ids: { ints: new Array<number>(tTree.length).fill(0) },
      target_weights_as_tensor: d(tWeight),
    },
    'ai.onnx.ml',
  );
}

/** gbm: per target base score + Σ trees (2σ − 1 after for the logistic loss), concatenated to [N, k]. */
export function gbmGraph(g: GraphBuilder, s: GbmFoldState, x: string, scaler: Scaler): string {
  const cols = s.targets.map((t) => {
    const z = ensemble(g, x, t.trees, scaler, 'SUM', t.baseScore);
    return t.loss === 'logistic' ? twoSigmoidMinusOne(g, z) : z;
  });
  return cols.length === 1 ? cols[0] : g.op('Concat', cols, { axis: { i: 1 } });
}

/**
 * random_forest: per target the mean of its trees (one ensemble per target, since ONNX Runtime's
 * AVERAGE divides by the ensemble's whole tree count), concatenated to [N, k].
 */
export function forestGraph(g: GraphBuilder, s: ForestFoldState, x: string, scaler: Scaler): string {
  const cols = s.targets.map((t) => ensemble(g, x, t.trees, scaler, t.trees.length ? 'AVERAGE' : 'SUM', 0));
  return cols.length === 1 ? cols[0] : g.op('Concat', cols, { axis: { i: 1 } });
}
