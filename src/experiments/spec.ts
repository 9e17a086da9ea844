import { canonicalJson } from '../core/hash.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { interpolate } from '../parser/interpolate.js';
import type { StepSpec } from '../parser/index.js';
import type { PipelineValidator } from '../parser/validate.js';
import type { PositionMap } from '../parser/yaml.js';
import { expandMatrix, type MatrixValues } from './matrix.js';

/** What the parser keeps of `matrix:` and `select:` (see src/experiments/matrix.ts). */

export interface Variant {
  /** Position in the expansion, 0-based: the variant's id within a run. */
  index: number;
  values: MatrixValues;
  /** The pipeline's steps with this variant's `${matrix.x}` resolved and params validated. */
  steps: StepSpec[];
}

export interface MatrixSpec {
  names: string[];
  variants: Variant[];
}

export interface SelectSpec {
  /** `step.metric`, e.g. `report.sharpe`. */
  metric: string;
  /** The segment the metric is measured on; see src/experiments/compile.ts. */
  on?: 'val' | 'test';
  mode: 'max' | 'min';
}

/**
 * Expands the matrix and builds the steps of every variant. Diagnostics are collected per variant
 * and reported once (a typo in a step is the same typo in each variant).
 */
export function expandVariants(
  doc: Record<string, unknown>,
  rawSteps: unknown,
  vars: Record<string, unknown>,
  positions: PositionMap,
  diagnostics: Diagnostic[],
  validator: PipelineValidator,
  buildSteps: (steps: unknown, diagnostics: Diagnostic[]) => StepSpec[],
): MatrixSpec | undefined {
  const matrix = expandMatrix(doc.matrix, positions, diagnostics);
  // A bad matrix still lets the rest of the file be checked: each dimension takes its first value.
  const fallback = fallbackValues(doc.matrix);
  const variants = matrix ? matrix.variants : [fallback];
  const seen = new Set(diagnostics.map(diagKey));
  const add = (ds: Diagnostic[]): void => {
    for (const d of ds) {
      const k = diagKey(d);
      if (seen.has(k)) continue;
      seen.add(k);
      diagnostics.push(d);
    }
  };
  const out: Variant[] = [];
  variants.forEach((values, index) => {
    const ds: Diagnostic[] = [];
    const steps = interpolate(rawSteps, { vars, matrix: values }, positions, ds, ['steps']);
    // The shell check fills top-level defaults (seed) on the document itself.
    if (index === 0) {
      doc.steps = steps;
      ds.push(...validator.validateShell(doc, positions));
    } else {
      ds.push(...validator.validateShell({ ...doc, steps }, positions));
    }
    const built = buildSteps(steps, ds);
    add(ds);
    out.push({ index, values, steps: built });
  });
  if (!matrix) return undefined;
  return { names: matrix.names, variants: out };
}

function fallbackValues(raw: unknown): MatrixValues {
  const out: MatrixValues = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k === 'include' || k === 'exclude') continue;
    out[k] = Array.isArray(v) && v.length ? v[0] : 0;
  }
  const inc = (raw as Record<string, unknown>).include;
  if (Array.isArray(inc)) for (const e of inc) if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

function diagKey(d: Diagnostic): string {
  return canonicalJson([d.loc?.line, d.loc?.col, d.path, d.message]);
}

/** `select:` after schema validation (the shell has checked its shape). */
export function readSelect(raw: unknown): SelectSpec | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.metric !== 'string') return undefined;
  return {
    metric: r.metric,
    ...(r.on === 'val' || r.on === 'test' ? { on: r.on } : {}),
    mode: r.mode === 'min' ? 'min' : 'max',
  };
}

