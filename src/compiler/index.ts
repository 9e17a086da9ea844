import type { ArtifactType } from '../core/artifacts.js';
import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import type { PipelineSpec, StepSpec } from '../parser/index.js';
import { displayPath, toPointer } from '../parser/yaml.js';
import type { AnyStepDef, CheckContext, LineageStep } from '../steps/define.js';
import { isBuiltinStep } from '../steps/index.js';
import type { StepRegistry } from '../steps/registry.js';
import type { CompileResult, PlanNode } from './plan.js';
import { compileVariants } from './variants.js';

export type { CompileResult, Plan, PlanNode, PlanSearch } from './plan.js';

/**
 * Spec → Plan: a DAG of typed nodes. Every edge is checked against the step kinds' declared ports
 * before anything runs: unknown steps, unknown or missing ports, wrong artifact types and cycles
 * are errors at the YAML location of the `from` that made them. Pure: same spec, same plan.
 */

export function compile(spec: PipelineSpec, registry: StepRegistry): CompileResult {
  if (spec.matrix || spec.select) return compileVariants(spec, registry, (one) => compile(one, registry));
  const diagnostics: Diagnostic[] = [];
  const pos = spec.positions;
  const ids = spec.steps.map((s) => s.id);
  const stepById = new Map(spec.steps.map((s) => [s.id, s]));
  const err = (message: string, path: (string | number)[], hint?: string, atKey = false): void => {
    const ptr = toPointer(path);
    diagnostics.push({
      severity: 'error',
      message,
      loc: atKey ? pos.keyLoc(ptr) : pos.valueLoc(ptr),
      path: displayPath(path),
      hint,
    });
  };

  const nodes: PlanNode[] = [];
  // Every `from` link to an existing step, well-typed or not: cycles are found over these, so a
  // cycle is reported even when its links also have type errors.
  const links = new Map<string, string[]>();
  for (const step of spec.steps) {
    links.set(
      step.id,
      linkedIds(step.from).filter((s) => stepById.has(s)),
    );
    const def = registry.get(step.uses);
    if (!def) {
      err(`unknown step kind \`${step.uses}\``, ['steps', step.id, 'uses'], suggestionHint(step.uses, registry.kinds(), 'a step kind'));
      continue;
    }
    const inputs = wireInputs(step, def, stepById, ids, registry, err);
    const context = checkContext(spec, step, stepById, inputs, registry);
    const issues = def.check?.(step.with as never, context) ?? [];
    for (const issue of issues) {
      // A single-port `from: id` is a scalar: the issue points at it rather than at a port key.
      const at = issue.at === 'from' ? ['from', ...(typeof step.from === 'string' ? [] : issue.path)] : ['with', ...issue.path];
      err(issue.message, ['steps', step.id, ...at], issue.hint);
    }
    const params = !issues.length && def.resolve ? (def.resolve(step.with as never, context) as Record<string, unknown>) : step.with;
    nodes.push({ id: step.id, kind: step.uses, def, params, inputs, description: step.description });
  }
  const order = topoOrder(nodes, links, err, (id) => stepById.get(id)?.from);
  if (!order || diagnostics.length) return { diagnostics };
  return { plan: { spec, nodes: order, byId: new Map(order.map((n) => [n.id, n])) }, diagnostics };
}

/** check()'s view of the DAG: upstream steps by kind, breadth first along `from` links. */
function checkContext(
  spec: PipelineSpec,
  step: StepSpec,
  stepById: Map<string, StepSpec>,
  inputs: Record<string, string>,
  registry: StepRegistry,
): CheckContext {
  return {
    device: spec.device,
    written: (path) => spec.positions.has(toPointer(['steps', step.id, 'with', ...path])),
    lineage(port, through) {
      const start = inputs[port];
      if (start === undefined) return [];
      return lineageOf(start, through, (id) => {
        const s = stepById.get(id);
        const def = s ? registry.get(s.uses) : undefined;
        return s && def ? { kind: s.uses, def, inputs: linkedIds(s.from) } : undefined;
      });
    },
    input(port) {
      const s = stepById.get(inputs[port] ?? '');
      return s ? { id: s.id, kind: s.uses, params: s.with } : undefined;
    },
    upstream(kind) {
      const seen = new Set<string>([step.id]);
      let frontier = linkedIds(step.from);
      while (frontier.length) {
        const next: string[] = [];
        for (const id of frontier) {
          if (seen.has(id)) continue;
          seen.add(id);
          const s = stepById.get(id);
          if (!s) continue;
          if (s.uses === kind) return { id: s.id, kind: s.uses, params: s.with };
          next.push(...linkedIds(s.from));
        }
        frontier = next;
      }
      return undefined;
    },
  };
}

/**
 * The steps that `start` is made from, `start` included, following only links from steps whose
 * output is one of `through`; inputs come before the steps that read them (depth first, in input
 * order, so the order is deterministic). The compiler (check/resolve) and the runtime
 * (StepContext.lineage) both call this, so both see the same steps.
 */
export function lineageOf(
  start: string,
  through: readonly string[],
  node: (id: string) => { kind: string; def: AnyStepDef; inputs: string[] } | undefined,
): LineageStep[] {
  const out: LineageStep[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id)) return; // also stops at a cycle, which topoOrder reports
    seen.add(id);
    const n = node(id);
    if (!n || !through.includes(n.def.output)) return;
    const inputs = [...new Set(n.inputs)];
    for (const src of inputs) visit(src);
    out.push({ id, kind: n.kind, output: n.def.output, builtin: isBuiltinStep(n.def), inputs: inputs.filter((s) => out.some((o) => o.id === s)) });
  };
  visit(start);
  return out;
}

function linkedIds(from: StepSpec['from']): string[] {
  if (typeof from === 'string') return [from];
  if (from && typeof from === 'object') return Object.values(from).filter((v): v is string => typeof v === 'string');
  return [];
}

type ErrFn = (message: string, path: (string | number)[], hint?: string, atKey?: boolean) => void;

function portList(def: AnyStepDef): string {
  return Object.entries(def.inputs)
    .map(([p, t]) => `${p} (${t})`)
    .join(', ');
}

function wireInputs(
  step: StepSpec,
  def: AnyStepDef,
  stepById: Map<string, StepSpec>,
  ids: string[],
  registry: StepRegistry,
  err: ErrFn,
): Record<string, string> {
  const ports = Object.keys(def.inputs);
  const optional = new Set(def.optionalInputs ?? []);
  const fromPath = ['steps', step.id, 'from'];
  const wired: Record<string, string> = {};
  const from = step.from;

  if (from === undefined) {
    const required = ports.filter((p) => !optional.has(p));
    if (required.length) {
      const example = required.length === 1 ? `from: <step id>` : `from: { ${required.map((p) => `${p}: <step id>`).join(', ')} }`;
      err(`step \`${step.id}\` (${def.kind}) needs input${required.length > 1 ? 's' : ''} ${portList(def)}`, ['steps', step.id], `add \`${example}\``, true);
    }
    return wired;
  }
  if (ports.length === 0) {
    err(`step \`${step.id}\` (${def.kind}) takes no inputs`, fromPath, 'remove `from:`', true);
    return wired;
  }

  const connect = (port: string, source: string, path: (string | number)[]): void => {
    const src = stepById.get(source);
    if (!src) {
      err(
        `\`from\` refers to unknown step \`${source}\``,
        path,
        suggestionHint(
          source,
          ids.filter((i) => i !== step.id),
          'a step id',
        ),
      );
      return;
    }
    const srcDef = registry.get(src.uses);
    const want = def.inputs[port];
    if (srcDef && srcDef.output !== want) {
      const producers = registry.producersOf(want as ArtifactType);
      err(
        `input \`${port}\` of step \`${step.id}\` (${def.kind}) expects ${want}, but \`${source}\` (${srcDef.kind}) produces ${srcDef.output}`,
        path,
        producers.length ? `connect a step that produces ${want} (${producers.map((k) => `\`${k}\``).join(', ')})` : undefined,
      );
      return;
    }
    wired[port] = source;
  };

  if (typeof from === 'string') {
    // One step id feeds the kind's only port, or its only required one (optional ports, like a
    // split's `candles`, are then named in a mapping).
    const required = ports.filter((p) => !optional.has(p));
    if (ports.length === 1 || required.length === 1) {
      connect(ports.length === 1 ? ports[0] : required[0], from, fromPath);
    } else {
      err(
        `step \`${step.id}\` (${def.kind}) has several inputs: ${portList(def)}`,
        fromPath,
        `write \`from: { ${ports.map((p) => `${p}: <step id>`).join(', ')} }\``,
      );
    }
    return wired;
  }

  for (const [port, source] of Object.entries(from)) {
    // Own ports only: `constructor` or `toString` must not find Object.prototype's.
    if (!Object.hasOwn(def.inputs, port)) {
      err(`step kind \`${def.kind}\` has no input \`${port}\``, [...fromPath, port], suggestionHint(port, ports, 'an input port'), true);
      continue;
    }
    connect(port, source, [...fromPath, port]);
  }
  const missing = ports.filter((p) => !optional.has(p) && !Object.hasOwn(from, p));
  if (missing.length) {
    err(
      `step \`${step.id}\` (${def.kind}) is missing input${missing.length > 1 ? 's' : ''} ${missing.map((p) => `\`${p}\` (${def.inputs[p]})`).join(', ')}`,
      fromPath,
      `add ${missing.map((p) => `\`${p}: <step id>\``).join(', ')} to \`from\``,
    );
  }
  return wired;
}

/** Kahn's algorithm, stable in file order; a cycle is reported with its path. */
function topoOrder(nodes: PlanNode[], links: Map<string, string[]>, err: ErrFn, stepFrom: (id: string) => StepSpec['from']): PlanNode[] | undefined {
  const indeg = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const n of nodes) {
    indeg.set(n.id, 0);
    children.set(n.id, []);
  }
  const known = new Set(nodes.map((n) => n.id));
  const inputsOf = (id: string): string[] => [...new Set(links.get(id) ?? [])].filter((s) => known.has(s));
  for (const n of nodes) {
    for (const src of inputsOf(n.id)) {
      indeg.set(n.id, indeg.get(n.id)! + 1);
      children.get(src)!.push(n.id);
    }
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const order: PlanNode[] = [];
  const ready = nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
  const fileIndex = new Map(nodes.map((n, i) => [n.id, i]));
  while (ready.length) {
    ready.sort((a, b) => fileIndex.get(a)! - fileIndex.get(b)!);
    const id = ready.shift()!;
    order.push(byId.get(id)!);
    for (const c of children.get(id)!) {
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) ready.push(c);
    }
  }
  if (order.length === nodes.length) return order;

  // Find one cycle among the remaining nodes by walking inputs until a node repeats.
  const remaining = new Set(nodes.filter((n) => !order.includes(n)).map((n) => n.id));
  let cur = [...remaining][0];
  const seen: string[] = [];
  while (!seen.includes(cur)) {
    seen.push(cur);
    cur = inputsOf(cur).find((s) => remaining.has(s))!;
  }
  const cycle = seen.slice(seen.indexOf(cur));
  // Edges go input → consumer; show the cycle in data-flow order.
  const flow = [...cycle].reverse();
  const first = flow[0];
  const consumer = flow[1 % flow.length];
  const from = stepFrom(consumer);
  const port = from && typeof from === 'object' ? Object.entries(from).find(([, s]) => s === first)?.[0] : undefined;
  const path = port !== undefined ? ['steps', consumer, 'from', port] : ['steps', consumer, 'from'];
  err(
    `cycle in the pipeline: ${[...flow, first].map((s) => `\`${s}\``).join(' → ')}`,
    path,
    'a step cannot depend on its own output; remove one of these `from` links',
  );
  return undefined;
}
