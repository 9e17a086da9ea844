import { DiagnosticError, errorsOnly } from './core/diagnostics.js';
import { compile, type Plan } from './compiler/index.js';
import { byPosition, parsePipelineFile } from './parser/index.js';
import { builtinRegistry } from './steps/index.js';
import type { StepRegistry } from './steps/registry.js';

/**
 * File → validated, compiled Plan, or a DiagnosticError holding every problem found (parse,
 * schema and compile errors of the whole file at once).
 */
export async function loadPlan(file: string, registry: StepRegistry = builtinRegistry()): Promise<Plan> {
  const parsed = await parsePipelineFile(file);
  if (!parsed.spec) throw new DiagnosticError(parsed.diagnostics);
  const compiled = compile(parsed.spec, registry);
  if (!compiled.plan || errorsOnly(compiled.diagnostics).length) throw new DiagnosticError(byPosition(compiled.diagnostics));
  return compiled.plan;
}

/** The sub-plan of a step and everything it depends on. */
export function planUpTo(plan: Plan, stepId: string): Plan {
  const keep = new Set<string>();
  const visit = (id: string): void => {
    if (keep.has(id)) return;
    keep.add(id);
    for (const src of Object.values(plan.byId.get(id)!.inputs)) visit(src);
  };
  visit(stepId);
  const nodes = plan.nodes.filter((n) => keep.has(n.id));
  return { spec: plan.spec, nodes, byId: new Map(nodes.map((n) => [n.id, n])) };
}
