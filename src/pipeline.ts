import path from 'node:path';
import { DiagnosticError, errorsOnly } from './core/diagnostics.js';
import { compile, type Plan } from './compiler/index.js';
import type { Device } from './backend/index.js';
import { byPosition, parsePipelineText, readPipelineFile } from './parser/index.js';
import { loadPipelineSchema, PipelineValidator } from './parser/validate.js';
import { loadYaml, toPointer, type LoadedYaml } from './parser/yaml.js';
import { loadPlugins, type PluginRef } from './plugins/index.js';
import { extendPipelineSchema } from './schema/pipeline.js';
import { builtinRegistry } from './steps/index.js';
import { StepRegistry } from './steps/registry.js';

export interface LoadOptions {
  /**
   * Import the pipeline's plugins and so run their code (top-level statements, check(), resolve()…).
   * Only commands that run the pipeline (run, watch, export) set it; without it plugin steps are read
   * from their source (types, ports, params schema, version) and nothing of theirs executes, so their
   * own check() is not made and a step whose key needs its code has none (`Plan.pluginKeyCode`).
   */
  execute?: boolean;
  /** Overrides the pipeline's top-level `device` (`fxflow run --device`); a step's own `device:` still wins. */
  device?: Device;
}

/**
 * File → validated, compiled Plan, or a DiagnosticError holding every problem found (parse,
 * schema and compile errors of the whole file at once).
 */
export async function loadPlan(file: string, registry: StepRegistry = builtinRegistry(), opts: LoadOptions = {}): Promise<Plan> {
  const read = await readPipelineFile(file);
  if ('diagnostics' in read) throw new DiagnosticError(read.diagnostics);

  // Plugins first: their step kinds and params schemas are needed to validate the steps.
  const loaded = loadYaml(read.text, read.displayFile);
  const refs = pluginRefs(loaded, file);
  let validator: PipelineValidator | undefined;
  let reg = registry;
  let pluginFiles: string[] = [];
  let pluginParams: Plan['pluginParams'];
  let pluginKeyCode: Plan['pluginKeyCode'];
  if (refs.length) {
    const plugins = await loadPlugins(refs, registry.kinds(), { pipelineDir: path.dirname(path.resolve(file)), execute: opts.execute ?? false });
    if (errorsOnly(plugins.diagnostics).length) throw new DiagnosticError(plugins.diagnostics);
    validator = new PipelineValidator(extendPipelineSchema(loadPipelineSchema(), plugins.extracted));
    reg = new StepRegistry();
    for (const k of registry.kinds()) reg.register(registry.get(k)!);
    for (const s of plugins.steps) reg.register(s);
    pluginFiles = plugins.files;
    pluginParams = Object.fromEntries(plugins.extracted.map((e) => [e.kind, e.params]));
    if (Object.keys(plugins.keyCode).length) pluginKeyCode = plugins.keyCode;
  }

  const parsed = parsePipelineText(read.text, file, { displayFile: read.displayFile, validator, loaded });
  if (!parsed.spec) throw new DiagnosticError(parsed.diagnostics);
  const spec = opts.device ? { ...parsed.spec, device: opts.device } : parsed.spec;
  const compiled = compile(spec, reg);
  if (!compiled.plan || errorsOnly(compiled.diagnostics).length) throw new DiagnosticError(byPosition(compiled.diagnostics));
  return { ...compiled.plan, pluginFiles, pluginParams, ...(pluginKeyCode ? { pluginKeyCode } : {}) };
}

/** The `plugins:` entries of a pipeline, resolved against its folder (malformed ones are left to the schema). */
function pluginRefs({ value, positions, diagnostics }: LoadedYaml, file: string): PluginRef[] {
  if (diagnostics.length || value === null || typeof value !== 'object') return [];
  const list = (value as { plugins?: unknown }).plugins;
  if (!Array.isArray(list)) return [];
  const dir = path.dirname(path.resolve(file));
  return list.flatMap((p, i) =>
    typeof p === 'string' && /\.(ts|mts)$/.test(p) ? [{ spec: p, file: path.resolve(dir, p), loc: positions.valueLoc(toPointer(['plugins', i])) }] : [],
  );
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
  return { ...plan, nodes, byId: new Map(nodes.map((n) => [n.id, n])) };
}
