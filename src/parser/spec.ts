import type { Device } from '../backend/index.js';
import type { Diagnostic } from '../core/diagnostics.js';
import type { HalvingSpec } from '../evaluation/halving.js';
import type { SearchSpace } from '../evaluation/search.js';
import type { PositionMap } from './yaml.js';

/**
 * What the parser produces: the validated pipeline and its parts. Types only, so that the parser's
 * modules (matrix, select) and the compiler share them without importing parser/index.ts.
 */

/** A validated step: params have their defaults filled and `${…}` references resolved. */
export interface StepSpec {
  id: string;
  uses: string;
  /** As written: one step id, or port → step id. */
  from?: string | Record<string, string>;
  with: Record<string, unknown>;
  description?: string;
}

/** One variant's matrix values, by dimension name. */
export type MatrixValues = Record<string, unknown>;

export interface Variant {
  /** Position in the expansion, 0-based: the variant's id within a run. */
  index: number;
  values: MatrixValues;
  /** The pipeline's steps with this variant's `${matrix.x}` resolved and params validated. */
  steps: StepSpec[];
}

/** What the parser keeps of `matrix:` (see src/parser/matrix.ts). */
export interface MatrixSpec {
  names: string[];
  variants: Variant[];
}

/** What the parser keeps of `search:` (see src/parser/search.ts); `matrix` then holds its first round's trials. */
export interface SearchSpec {
  method: 'random' | 'tpe';
  trials: number;
  seed: number;
  startup: number;
  space: SearchSpace;
  /** Early stopping of bad trials (successive halving over a fidelity parameter), if asked for. */
  halving?: HalvingSpec;
  /** Parameter names, in file order (the fidelity's last). */
  names: string[];
  /** Step ids whose definition references a search parameter (`${matrix.x}`). */
  dependent: string[];
  /** The variants of further trials, numbered from `first`; their problems go to `diagnostics`. */
  expand(values: MatrixValues[], first: number, diagnostics: Diagnostic[]): Variant[];
}

/** `select:` (see src/parser/select.ts). */
export interface SelectSpec {
  /** `step.metric`, e.g. `report.sharpe`. */
  metric: string;
  /** The segment the metric is measured on; see src/compiler/variants.ts. */
  on?: 'val' | 'test';
  mode: 'max' | 'min';
}

/** A validated pipeline. Parsing never runs anything. */
export interface PipelineSpec {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Name used for the file in diagnostics (as the user wrote it). */
  displayFile: string;
  dir: string;
  /** The file's text, kept with each run so an old run's definition can be shown. */
  text: string;
  version: 1;
  name: string;
  description?: string;
  seed: number;
  /** Default `device` of the steps that take one (a step's own value wins). */
  device: Device;
  vars: Record<string, unknown>;
  /** Steps in file order (with a matrix: the first variant's steps). */
  steps: StepSpec[];
  positions: PositionMap;
  /** With a `matrix:` block: its dimensions and, per variant, the values and resolved steps. */
  matrix?: MatrixSpec;
  /** With a `search:` block: its space and sampler (`matrix` holds the trials of its first round). */
  search?: SearchSpec;
  /** `select:` — how the best variant is picked. */
  select?: SelectSpec;
}

export interface ParseResult {
  spec?: PipelineSpec;
  diagnostics: Diagnostic[];
}
