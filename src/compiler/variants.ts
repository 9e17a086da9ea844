import type { CompileResult, Plan, PlanNode, PlanSearch, PlanSelect } from './plan.js';
import { canonicalJson, hashValue } from '../core/hash.js';
import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { variantLabel } from '../parser/matrix.js';
import type { MatrixValues, PipelineSpec, StepSpec, Variant } from '../parser/spec.js';
import { displayPath, toPointer } from '../parser/yaml.js';
import { isDeclaredMetric } from '../steps/define.js';
import type { StepRegistry } from '../steps/registry.js';

/**
 * A sweep's spec → one Plan. Each variant is compiled like a plain pipeline, then the variants'
 * nodes are merged by resolved recipe — (step id, kind, params, and the recipes of its inputs) —
 * so a step whose params and inputs are equal across variants is ONE node, computed once. Equal
 * recipes give equal cache keys, so this is the same sharing the store would give, made visible
 * in the plan: `fxflow run --json` lists each node once with the variants that use it.
 *
 * A node's id is its step id, followed by the matrix values that set it apart when it is not
 * shared by every variant: `candles`, `features[horizon=4]`, `model[alpha=1,horizon=4]`.
 */

/** Each variant plan's node recipes, in node order. */
const RECIPES = new WeakMap<Plan, string[]>();

export function compileVariants(
  spec: PipelineSpec,
  registry: StepRegistry,
  compileOne: (spec: PipelineSpec) => CompileResult,
  /** A search's compiled variants, kept from round to round (each round compiles every trial so far). */
  memo?: WeakMap<Variant, CompileResult>,
): CompileResult {
  const names = spec.matrix?.names ?? [];
  const variants = spec.matrix?.variants ?? [{ index: 0, values: {}, steps: spec.steps }];
  const diagnostics: Diagnostic[] = [];
  const err = (message: string, path: (string | number)[], hint?: string): void => {
    diagnostics.push({ severity: 'error', message, loc: spec.positions.valueLoc(toPointer(path)), path: displayPath(path), hint });
  };

  // select: which step's metric scores a variant, and whether that step is re-evaluated on `on`.
  let select: PlanSelect | undefined;
  let extra: ((steps: StepSpec[]) => StepSpec | undefined) | undefined;
  if (spec.select) {
    const s = spec.select;
    const dot = s.metric.indexOf('.');
    const stepId = s.metric.slice(0, dot);
    const name = s.metric.slice(dot + 1);
    const step = spec.steps.find((x) => x.id === stepId);
    const declared = step && registry.get(step.uses)?.metricNames;
    if (!step) {
      err(
        `\`select.metric\` refers to unknown step \`${stepId}\``,
        ['select', 'metric'],
        suggestionHint(
          stepId,
          spec.steps.map((x) => x.id),
          'a step id',
        ),
      );
    } else if (declared && !isDeclaredMetric(name, declared)) {
      // A typo here left every score empty and picked no winner; the step kind says what it records.
      err(
        `step \`${stepId}\` (${step.uses}) records no metric \`${name}\``,
        ['select', 'metric'],
        declared.length
          ? suggestionHint(name, [...declared], `a metric of ${step.uses}`)
          : `\`${step.uses}\` records no metrics: select a metric of another step`,
      );
    } else if (s.on && segmentOf(step) !== undefined && segmentOf(step) !== s.on) {
      const copyId = `${stepId}@${s.on}`;
      select = { metric: s.metric, on: s.on, mode: s.mode, step: copyId, name };
      extra = (steps) => {
        const st = steps.find((x) => x.id === stepId);
        return st
          ? { ...st, id: copyId, with: onSegment(st.with, s.on!), description: `${stepId} on the ${s.on} segment, to select the best variant` }
          : undefined;
      };
    } else if (s.on && segmentOf(step) === undefined && !name.startsWith(`${s.on}_`)) {
      err(
        `step \`${stepId}\` (${step.uses}) has no \`segment\` param, and \`${name}\` is not a ${s.on} metric`,
        ['select', 'on'],
        `remove \`on\`, or select a metric measured on ${s.on} (a name starting with \`${s.on}_\`)`,
      );
    } else {
      select = { metric: s.metric, on: s.on, mode: s.mode, step: stepId, name };
    }
  }

  const plans: Plan[] = [];
  const seen = new Set<string>();
  for (const v of variants) {
    let r = memo?.get(v);
    if (!r) {
      const copy = extra?.(v.steps);
      r = compileOne({ ...spec, steps: copy ? [...v.steps, copy] : v.steps, matrix: undefined, select: undefined });
      memo?.set(v, r);
    }
    for (const d of r.diagnostics) {
      const k = canonicalJson([d.loc?.line, d.loc?.col, d.path, d.message]);
      if (!seen.has(k)) {
        seen.add(k);
        diagnostics.push(d);
      }
    }
    if (r.plan) plans.push(r.plan);
  }
  if (plans.length !== variants.length || diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  // Merge by recipe.
  interface Merged {
    node: PlanNode;
    inputs: Record<string, string>;
    variants: number[];
    rank: number;
    first: number;
    seq: number;
  }
  const merged = new Map<string, Merged>();
  let seq = 0;
  plans.forEach((plan, vi) => {
    const recipeOf = new Map<string, string>();
    // A search's variant plans are kept from round to round (memo), and so are their recipes.
    const recipes =
      RECIPES.get(plan) ??
      plan.nodes.map((n) => {
        const inputs = Object.fromEntries(Object.entries(n.inputs).map(([port, src]) => [port, recipeOf.get(src)!]));
        const recipe = hashValue({ step: n.id, kind: n.kind, version: n.def.version, params: n.params, inputs });
        recipeOf.set(n.id, recipe);
        return recipe;
      });
    RECIPES.set(plan, recipes);
    plan.nodes.forEach((n, i) => recipeOf.set(n.id, recipes[i]));
    plan.nodes.forEach((n, rank) => {
      const inputs = Object.fromEntries(Object.entries(n.inputs).map(([port, src]) => [port, recipeOf.get(src)!]));
      const recipe = recipes[rank];
      let m = merged.get(recipe);
      if (!m) {
        m = { node: n, inputs, variants: [], rank, first: vi, seq: seq++ };
        merged.set(recipe, m);
      }
      m.variants.push(variants[vi].index);
    });
  });

  // A search's ids must not change as trials are added round by round: a node that depends on the
  // search (its step references a parameter, or an input does) is named after its first trial.
  const dependent = new Set(spec.search?.dependent ?? []);
  const searchDep = new Map<string, boolean>();
  for (const [recipe, m] of merged) searchDep.set(recipe, dependent.has(m.node.id.split('@')[0]) || Object.values(m.inputs).some((r) => searchDep.get(r)));

  // Ids: the step id, plus the varying matrix values all of a node's variants share.
  const varying = spec.search ? [] : names.filter((n) => new Set(variants.map((v) => canonicalJson(v.values[n]))).size > 1);
  const idOf = new Map<string, string>();
  const taken = new Set<string>();
  for (const [recipe, m] of merged) {
    const vs = m.variants.map((i) => variants[i].values);
    const common = varying.filter((d) => m.variants.length < variants.length && vs.every((x) => canonicalJson(x[d]) === canonicalJson(vs[0][d])));
    const shared: MatrixValues = Object.fromEntries(common.map((d) => [d, vs[0][d]]));
    let id = spec.search
      ? searchDep.get(recipe)
        ? `${m.node.id}[t${variants[m.variants[0]].index + 1}]`
        : m.node.id
      : common.length
        ? `${m.node.id}[${variantLabel(shared, common)}]`
        : m.node.id;
    for (let k = 2; taken.has(id); k++) id = `${m.node.id}#${k}`;
    taken.add(id);
    idOf.set(recipe, id);
  }

  // Order: by position in the step order, then by first variant; fall back to discovery order
  // (always topological) if a variant's wiring differs so that the first order is not.
  const entries = [...merged.entries()];
  const sorted = [...entries].sort(([, a], [, b]) => a.rank - b.rank || a.first - b.first || a.seq - b.seq);
  const topological = (list: [string, Merged][]): boolean => {
    const done = new Set<string>();
    for (const [recipe, m] of list) {
      if (Object.values(m.inputs).some((r) => !done.has(r))) return false;
      done.add(recipe);
    }
    return true;
  };
  const order = topological(sorted) ? sorted : entries;
  const nodes: PlanNode[] = order.map(([recipe, m]) => ({
    ...m.node,
    id: idOf.get(recipe)!,
    inputs: Object.fromEntries(Object.entries(m.inputs).map(([port, r]) => [port, idOf.get(r)!])),
    step: m.node.id,
    variants: m.variants,
  }));
  return {
    diagnostics,
    plan: {
      spec,
      nodes,
      byId: new Map(nodes.map((n) => [n.id, n])),
      variants: variants.map((v) => ({ index: v.index, values: v.values, label: variantLabel(v.values, names) })),
      ...(select ? { select } : {}),
      ...(spec.search ? { search: searchOf(spec, registry, compileOne) } : {}),
    },
  };
}

/** A search plan's `planFor`: expands the trials it has not seen (kept for the next call) and compiles them all. */
function searchOf(spec: PipelineSpec, registry: StepRegistry, compileOne: (spec: PipelineSpec) => CompileResult): PlanSearch {
  const { expand, ...settings } = spec.search!;
  const expanded: Variant[] = [...(spec.matrix?.variants ?? [])];
  const memo = new WeakMap<Variant, CompileResult>();
  return {
    spec: settings,
    planFor(values) {
      const diagnostics: Diagnostic[] = [];
      const fresh = expand(values.slice(expanded.length), expanded.length, diagnostics);
      if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
      expanded.push(...fresh);
      return compileVariants({ ...spec, matrix: { names: settings.names, variants: expanded.slice(0, values.length) } }, registry, compileOne, memo);
    },
  };
}

/**
 * The segment a step evaluates on, from a `segment: val|test` or `segments: [val|test, …]` param;
 * `mixed` for several segments; undefined for a step that has no such param.
 */
function segmentOf(step: StepSpec): string | undefined {
  const w = step.with;
  if (typeof w.segment === 'string') return w.segment;
  if (Array.isArray(w.segments)) return w.segments.length === 1 ? String(w.segments[0]) : 'mixed';
  return undefined;
}

function onSegment(w: Record<string, unknown>, on: string): Record<string, unknown> {
  return typeof w.segment === 'string' ? { ...w, segment: on } : { ...w, segments: [on] };
}
