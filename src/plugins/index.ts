import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Diagnostic as TsDiagnostic } from 'ts-morph';
import { ARTIFACT_TYPES, type ArtifactType } from '../core/artifacts.js';
import { suggestionHint, type Diagnostic, type SourceLocation } from '../core/diagnostics.js';
import { sha256 } from '../core/hash.js';
import { specialKind } from '../core/files.js';
import type { ExtractedStep } from '../schema/fromTypes.js';
import type { AnyStepDef } from '../steps/define.js';

/**
 * Custom steps in TypeScript. A pipeline's `plugins: [./steps/x.ts]` files export steps made with
 * the same `defineStep` as the built-ins. Before anything runs, ts-morph type-checks each file
 * (a type error is reported at its TS file:line:col) and reads its params type into a JSON Schema,
 * so the step's `with:` gets the same located validation as a built-in; then tsx imports it.
 * A plugin's source hash is part of its steps' cache keys: editing the plugin reruns them.
 */

export interface PluginRef {
  /** As written in the pipeline. */
  spec: string;
  /** Absolute path. */
  file: string;
  /** Where the pipeline names it. */
  loc: SourceLocation;
}

export interface LoadedPlugins {
  steps: AnyStepDef[];
  extracted: ExtractedStep[];
  diagnostics: Diagnostic[];
  /** The plugin files (for watch mode). */
  files: string[];
}

const MAX_TS_DIAGNOSTICS = 20;

/**
 * A plugin's `import … from 'fxflow'` always means this fxflow, whether or not the plugin's folder
 * has fxflow in its node_modules (a scaffolded project, a global install): both the type-check and
 * the import map the name to this package's build.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FXFLOW_TYPES = path.join(ROOT, 'dist', 'index.d.ts');
const FXFLOW_JS = path.join(ROOT, 'dist', 'index.js');
let aliased = false;
/** A module-resolution hook (node:module register) mapping the bare name `fxflow` to this build. */
function aliasFxflow(): void {
  if (aliased) return;
  aliased = true;
  const target = JSON.stringify(pathToFileURL(FXFLOW_JS).href);
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'fxflow') return { url: ${target}, shortCircuit: true };
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

function tsLoc(d: TsDiagnostic, file: string): SourceLocation {
  const sf = d.getSourceFile();
  const start = d.getStart();
  if (!sf || start === undefined) return { file, line: 1, col: 1 };
  const { line, column } = sf.getLineAndColumnAtPos(start);
  return { file: path.relative(process.cwd(), sf.getFilePath()) || sf.getFilePath(), line, col: column };
}

export async function loadPlugins(refs: PluginRef[], builtinKinds: string[]): Promise<LoadedPlugins> {
  const out: LoadedPlugins = { steps: [], extracted: [], diagnostics: [], files: refs.map((r) => r.file) };
  if (refs.length === 0) return out;

  const sources = new Map<string, string>();
  for (const r of refs) {
    try {
      // A named pipe or device would block or never end: refuse it before reading.
      const st = await stat(r.file);
      if (!st.isFile()) {
        out.diagnostics.push({ severity: 'error', message: `plugin path is not a regular file (a ${specialKind(st)}): ${r.spec}`, loc: r.loc, hint: 'name a .ts file' });
        continue;
      }
      sources.set(r.file, await readFile(r.file, 'utf8'));
    } catch {
      out.diagnostics.push({ severity: 'error', message: `plugin file not found: ${r.spec}`, loc: r.loc, hint: `paths are relative to the pipeline file (looked for ${r.file})` });
    }
  }
  if (out.diagnostics.length) return out;

  // The TypeScript compiler (≈ 200 ms to load) only for a pipeline that has plugins.
  const { ts } = await import('ts-morph');
  const { extractSteps, openProject, TypeToSchema } = await import('../schema/fromTypes.js');
  // Type-check with the user's own view of the world: strict, ESM, Node resolution, so that
  // `import { defineStep } from 'fxflow'` resolves to fxflow's published types.
  const project = openProject(undefined, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
    // Node's types where fxflow has them (a development install), so plugins may use node: APIs.
    ...(existsSync(path.join(ROOT, 'node_modules', '@types', 'node'))
      ? { typeRoots: [path.join(ROOT, 'node_modules', '@types')], types: ['node'] }
      : { types: [] }),
    paths: { fxflow: [FXFLOW_TYPES] },
  });
  const files = refs.map((r) => project.addSourceFileAtPath(r.file));
  project.resolveSourceFileDependencies();
  for (const sf of files) {
    const diags = sf.getPreEmitDiagnostics();
    for (const d of diags.slice(0, MAX_TS_DIAGNOSTICS)) {
      out.diagnostics.push({
        severity: d.getCategory() === ts.DiagnosticCategory.Error ? 'error' : 'warning',
        message: `TS${d.getCode()}: ${messageText(d)}`,
        loc: tsLoc(d, sf.getFilePath()),
        hint: 'the plugin must type-check before the pipeline runs',
      });
    }
  }

  const conv = new TypeToSchema();
  const seen = new Map<string, string>();
  for (const [i, sf] of files.entries()) {
    const steps = extractSteps(sf, conv, path.dirname(sf.getFilePath()));
    if (steps.length === 0) {
      out.diagnostics.push({ severity: 'error', message: `plugin ${refs[i].spec} defines no step`, loc: refs[i].loc, hint: 'export a step made with `defineStep({ kind, inputs, output, params: paramsOf<P>(), run })`' });
    }
    for (const s of steps) {
      const at = locateKind(sf.getFilePath(), sources.get(refs[i].file) ?? '', s.kind);
      if (builtinKinds.includes(s.kind) || seen.has(s.kind)) {
        out.diagnostics.push({ severity: 'error', message: `step kind \`${s.kind}\` is already defined${seen.has(s.kind) ? ` in ${seen.get(s.kind)}` : ' by fxflow'}`, loc: at, hint: 'give the plugin step another `kind`' });
      }
      seen.set(s.kind, refs[i].spec);
      for (const [port, t] of [...Object.entries(s.inputs), ['output', s.output] as const]) {
        if (!ARTIFACT_TYPES.includes(t as ArtifactType)) {
          out.diagnostics.push({ severity: 'error', message: `step \`${s.kind}\`: ${port === 'output' ? 'output' : `input \`${port}\``} has unknown artifact type \`${t}\``, loc: at, hint: suggestionHint(t, [...ARTIFACT_TYPES], 'an artifact type') });
        }
      }
      out.extracted.push(s);
    }
  }
  for (const i of conv.issues) out.diagnostics.push({ severity: 'error', message: i.message, loc: { file: path.relative(process.cwd(), i.file) || i.file, line: i.line, col: i.col } });
  if (out.diagnostics.some((d) => d.severity === 'error')) return out;

  // Plugins are ES modules: a .ts file counts as one only under a package.json of type module.
  for (const r of refs) {
    if (r.file.endsWith('.ts') && !underEsmPackage(r.file)) {
      out.diagnostics.push({
        severity: 'error',
        message: `plugin ${r.spec} would load as CommonJS: no package.json with "type": "module" above it`,
        loc: r.loc,
        hint: 'rename it to .mts, or add `"type": "module"` to the package.json of its project (`fxflow init` writes one)',
      });
    }
  }
  if (out.diagnostics.some((d) => d.severity === 'error')) return out;

  // Load the code. tsx compiles TypeScript on import (types were checked above).
  const { tsImport } = await import('tsx/esm/api');
  aliasFxflow();
  for (const r of refs) {
    let mod: Record<string, unknown>;
    try {
      mod = (await tsImport(pathToFileURL(r.file).href, import.meta.url)) as Record<string, unknown>;
    } catch (e) {
      out.diagnostics.push({ severity: 'error', message: `cannot load plugin ${r.spec}: ${(e as Error).message.split('\n')[0]}`, loc: r.loc });
      continue;
    }
    const hash = sha256(sources.get(r.file)!);
    for (const value of Object.values(mod)) {
      if (!isStepDef(value)) continue;
      if (out.steps.some((s) => s.kind === value.kind)) continue; // default + named export of one step
      out.steps.push(withPluginKey(value, hash));
    }
  }
  return out;
}

function messageText(d: TsDiagnostic): string {
  const m = d.getMessageText();
  if (typeof m === 'string') return m;
  const parts: string[] = [];
  const walk = (c: typeof m, depth: number): void => {
    parts.push(`${'  '.repeat(depth)}${c.getMessageText()}`);
    for (const n of c.getNext() ?? []) walk(n, depth + 1);
  };
  walk(m, 0);
  return parts.join(' ');
}

function underEsmPackage(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (path.dirname(dir) === dir) return false;
  }
}

function isStepDef(v: unknown): v is AnyStepDef {
  return typeof v === 'object' && v !== null && typeof (v as AnyStepDef).kind === 'string' && typeof (v as AnyStepDef).run === 'function' && typeof (v as AnyStepDef).output === 'string';
}

/** A plugin step whose cache key also covers the plugin's source. */
function withPluginKey(def: AnyStepDef, sourceHash: string): AnyStepDef {
  const inner = def.fingerprint;
  return {
    ...def,
    fingerprint: async (params, ctx) => ({ plugin: sourceHash, inner: inner ? await inner(params, ctx) : null }),
  };
}

function locateKind(file: string, text: string, kind: string): SourceLocation {
  const lines = text.split('\n');
  const rx = new RegExp(`kind\\s*:\\s*['"\`]${kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`);
  const i = lines.findIndex((l) => rx.test(l));
  return { file: path.relative(process.cwd(), file) || file, line: i >= 0 ? i + 1 : 1, col: i >= 0 ? lines[i].search(rx) + 1 : 1 };
}
