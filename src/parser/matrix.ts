import { canonicalJson } from '../core/hash.js';
import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { interpolate } from './interpolate.js';
import type { MatrixSpec, MatrixValues, StepSpec, Variant } from './spec.js';
import type { PipelineValidator } from './validate.js';
import { displayPath, toPointer, type PositionMap } from './yaml.js';

/**
 * `matrix:` → the list of variants (one record of matrix values each).
 *
 * ```yaml
 * matrix:
 *   alpha: [0.1, 1, 10]          # a dimension: a non-empty list of values
 *   horizon: [1, 4]
 *   exclude: [{ alpha: 0.1, horizon: 4 }]   # drops every combination matching all its keys
 *   include: [{ alpha: 100, horizon: 24 }]  # adds one combination (it must give every dimension)
 * ```
 *
 * Combinations are the cartesian product in the order the dimensions are written (the first
 * dimension varies slowest), then `exclude` removes, then `include` appends (a combination already
 * present is not added twice). Only the semantics are checked here; the shape (a list per
 * dimension, objects in include/exclude) is the schema's job, so such a block is skipped silently
 * here to avoid a second message about the same value.
 */

export interface Matrix {
  /** Dimension names, in file order. */
  names: string[];
  /** The variants, in expansion order. */
  variants: MatrixValues[];
}

const RESERVED = new Set(['include', 'exclude']);

/** A YAML mapping (not a list, not null). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function expandMatrix(raw: unknown, positions: PositionMap, diagnostics: Diagnostic[]): Matrix | undefined {
  if (!isObj(raw)) return undefined; // the schema reports it
  const err = (message: string, path: (string | number)[], hint?: string, atKey = false): void => {
    const ptr = toPointer(path);
    diagnostics.push({ severity: 'error', message, loc: atKey ? positions.keyLoc(ptr) : positions.valueLoc(ptr), path: displayPath(path), hint });
  };
  const dims: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(raw)) {
    if (RESERVED.has(k)) continue;
    if (!Array.isArray(v) || v.length === 0) return undefined; // the schema reports it
    dims.push([k, v]);
  }
  const include = Array.isArray(raw.include) ? raw.include : [];
  const exclude = Array.isArray(raw.exclude) ? raw.exclude : [];
  let names = dims.map(([k]) => k);
  // A matrix of includes only: its dimensions are the keys of its entries.
  if (!names.length) names = [...new Set(include.filter(isObj).flatMap((e) => Object.keys(e)))];
  if (!names.length) {
    err('the matrix is empty: it defines no dimension', ['matrix'], 'write a dimension as a list of values, e.g. `alpha: [0.1, 1, 10]`', true);
    return undefined;
  }
  let bad = false;

  let combos: MatrixValues[] = dims.length ? [{}] : [];
  for (const [k, values] of dims) {
    const next: MatrixValues[] = [];
    for (const c of combos) for (const v of values) next.push({ ...c, [k]: v });
    combos = next;
  }

  exclude.forEach((e, i) => {
    if (!isObj(e)) return;
    const keys = Object.keys(e);
    for (const k of keys) {
      if (!names.includes(k)) {
        err(`unknown matrix dimension \`${k}\` in exclude`, ['matrix', 'exclude', i, k], suggestionHint(k, names, 'a dimension'), true);
        bad = true;
      }
    }
    if (!keys.length) {
      err('an empty exclude entry would exclude every combination', ['matrix', 'exclude', i], 'give the values to exclude, e.g. `{ alpha: 0.1 }`');
      bad = true;
    }
  });
  include.forEach((e, i) => {
    if (!isObj(e)) return;
    for (const k of Object.keys(e)) {
      if (!names.includes(k)) {
        err(`unknown matrix dimension \`${k}\` in include`, ['matrix', 'include', i, k], suggestionHint(k, names, 'a dimension'), true);
        bad = true;
      }
    }
    const missing = names.filter((n) => !Object.hasOwn(e, n));
    if (missing.length) {
      err(
        `include entry does not give ${missing.map((m) => `\`${m}\``).join(', ')}`,
        ['matrix', 'include', i],
        `an included combination sets every dimension (${names.join(', ')})`,
      );
      bad = true;
    }
  });
  if (bad) return undefined;

  const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
  combos = combos.filter((c) => !exclude.some((e) => isObj(e) && Object.entries(e).every(([k, v]) => same(c[k], v))));
  const seen = new Set(combos.map((c) => canonicalJson(c)));
  for (const e of include) {
    if (!isObj(e)) continue;
    const c = Object.fromEntries(names.map((n) => [n, e[n]]));
    const id = canonicalJson(c);
    if (seen.has(id)) continue;
    seen.add(id);
    combos.push(c);
  }
  if (!combos.length) {
    err('the matrix is empty: `exclude` removes every combination', ['matrix', 'exclude'], 'exclude fewer combinations, or `include` one', true);
    return undefined;
  }
  return { names, variants: combos };
}

/** `alpha=0.1,horizon=4` — a variant's values for people (and in node ids). */
export function variantLabel(values: MatrixValues, names: string[] = Object.keys(values)): string {
  return names
    .filter((n) => Object.hasOwn(values, n))
    .map((n) => `${n}=${typeof values[n] === 'string' ? (values[n] as string) : canonicalJson(values[n])}`)
    .join(',');
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
  const out = variantBuilder(doc, rawSteps, vars, positions, validator, buildSteps)(matrix ? matrix.variants : [fallback], 0, diagnostics);
  if (!matrix) return undefined;
  return { names: matrix.names, variants: out };
}

/**
 * Builds the variants of given values, numbered from `first` (a search adds them round by round).
 * With `reuse` (a search's later trials, whose values go only where its first trials' did), the
 * whole document is not checked again, and only the steps in `reuse.only` are built and validated:
 * the others are `reuse.steps`' (equal in every trial).
 */
export type VariantBuilder = (
  values: MatrixValues[],
  first: number,
  diagnostics: Diagnostic[],
  reuse?: { steps: StepSpec[]; only: ReadonlySet<string> },
) => Variant[];

export function variantBuilder(
  doc: Record<string, unknown>,
  rawSteps: unknown,
  vars: Record<string, unknown>,
  positions: PositionMap,
  validator: PipelineValidator,
  buildSteps: (steps: unknown, diagnostics: Diagnostic[]) => StepSpec[],
): VariantBuilder {
  return (values, first, diagnostics, reuse) => {
    const seen = new Set(diagnostics.map(diagKey));
    const add = (ds: Diagnostic[]): void => {
      for (const d of ds) {
        const k = diagKey(d);
        if (seen.has(k)) continue;
        seen.add(k);
        diagnostics.push(d);
      }
    };
    return values.map((v, i) => {
      const index = first + i;
      const ds: Diagnostic[] = [];
      const steps = interpolate(rawSteps, { vars, matrix: v }, positions, ds, ['steps']);
      // The shell check fills top-level defaults (seed) on the document itself.
      if (index === 0) {
        doc.steps = steps;
        ds.push(...validator.validateShell(doc, positions));
      } else if (!reuse) {
        ds.push(...validator.validateShell({ ...doc, steps }, positions));
      }
      let built: StepSpec[];
      if (reuse && isObj(steps)) {
        const fresh = new Map(buildSteps(Object.fromEntries(Object.entries(steps).filter(([id]) => reuse.only.has(id))), ds).map((s) => [s.id, s]));
        built = reuse.steps.map((s) => fresh.get(s.id) ?? s);
      } else built = buildSteps(steps, ds);
      add(ds);
      return { index, values: v, steps: built };
    });
  };
}

function fallbackValues(raw: unknown): MatrixValues {
  const out: MatrixValues = {};
  if (!isObj(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (RESERVED.has(k)) continue;
    out[k] = Array.isArray(v) && v.length ? v[0] : 0;
  }
  if (Array.isArray(raw.include))
    for (const e of raw.include) if (e && typeof e === 'object') for (const [k, v] of Object.entries(e)) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

function diagKey(d: Diagnostic): string {
  return canonicalJson([d.loc?.line, d.loc?.col, d.path, d.message]);
}
