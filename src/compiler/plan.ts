import type { Diagnostic } from '../core/diagnostics.js';
import type { MatrixValues, PipelineSpec, SearchSpec } from '../parser/spec.js';
import type { AnyStepDef } from '../steps/define.js';

/** What the compiler produces. Types only, shared by compiler/index.ts and compiler/variants.ts. */

export interface PlanNode {
  id: string;
  kind: string;
  def: AnyStepDef;
  /** Validated params with defaults filled. */
  params: Record<string, unknown>;
  /** Input port → id of the step that feeds it. */
  inputs: Record<string, string>;
  description?: string;
  /** In a sweep (or with `select:`): the YAML step id, and the indices of the variants using the node. */
  step?: string;
  variants?: number[];
}

export interface Plan {
  spec: PipelineSpec;
  /** Nodes in a topological order (file order where the DAG leaves a choice). */
  nodes: PlanNode[];
  byId: Map<string, PlanNode>;
  /** In a sweep (or with `select:`): the variants and how the best is picked (src/compiler/variants.ts). */
  variants?: PlanVariant[];
  select?: PlanSelect;
  /** With `search:`: the sampler's settings, and the plan of more trials (src/runtime/search-run.ts). */
  search?: PlanSearch;
  /** Plugin source files the pipeline loaded (absolute), for watch mode. */
  pluginFiles?: string[];
  /** Params JSON Schema of each plugin step kind. */
  pluginParams?: Record<string, Record<string, unknown>>;
  /**
   * Plugin kinds read without running their code whose cache key needs that code (their
   * `fingerprint`, `keyParams` or `resolve`, named here): such a step's key is unknown until run.
   */
  pluginKeyCode?: Record<string, string[]>;
}

export interface CompileResult {
  plan?: Plan;
  diagnostics: Diagnostic[];
}

export interface PlanSearch {
  spec: Omit<SearchSpec, 'expand'>;
  /**
   * The plan of these trials: the trials so far in order, those of this plan first (a node keeps its
   * id from plan to plan: a node that depends on the search is named after the first trial using it).
   */
  planFor(values: MatrixValues[]): CompileResult;
}

export interface PlanVariant {
  index: number;
  values: MatrixValues;
  /** `alpha=1,horizon=4`. */
  label: string;
}

export interface PlanSelect {
  /** As written, e.g. `report.sharpe`. */
  metric: string;
  on?: 'val' | 'test';
  mode: 'max' | 'min';
  /** The step id whose nodes give the score (`report`, or `report@val` when evaluated on val). */
  step: string;
  /** The metric's name within that step. */
  name: string;
}
