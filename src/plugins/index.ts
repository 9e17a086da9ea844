import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { register } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Diagnostic as TsDiagnostic } from 'ts-morph';
import { ARTIFACT_TYPES, type ArtifactType } from '../core/artifacts.js';
import { suggestionHint, type Diagnostic, type SourceLocation } from '../core/diagnostics.js';
import { canonicalJson, sha256 } from '../core/hash.js';
import { specialKind } from '../core/files.js';
import type { ExtractedStep } from '../schema/fromTypes.js';
import type { AnyStepDef, InputPorts } from '../steps/define.js';

/**
 * Custom steps in TypeScript. A pipeline's `plugins: [./steps/x.ts]` files export steps made with
 * the same `defineStep` as the built-ins. ts-morph type-checks each file (a type error is reported
 * at its TS file:line:col) and reads its `defineStep` calls: params type → JSON Schema, so the
 * step's `with:` gets the same located validation as a built-in, and kind, version, ports and
 * `seeded` from their literals. That is all `validate`, `plan` and `steps` use: reading a pipeline
 * never runs its code. Only `execute: true` (run, watch, export) then imports the files with tsx,
 * and checks that what they export is what their source said.
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

export interface PluginOptions {
  /** The pipeline's folder: plugins must be inside it. */
  pipelineDir: string;
  /** Import the plugins' code (run, watch, export). Otherwise their steps are read from source only. */
  execute: boolean;
}

export interface LoadedPlugins {
  /** Imported steps, or with `execute: false` steps built from their source alone (their `run` refuses). */
  steps: AnyStepDef[];
  extracted: ExtractedStep[];
  diagnostics: Diagnostic[];
  /** The plugin files (for watch mode). */
  files: string[];
  /**
   * With `execute: false`: kinds whose cache key depends on code of theirs that was not run
   * (`fingerprint`, `keyParams`, `resolve`), each with those members' names.
   */
  keyCode: Record<string, string[]>;
}

/** Members of a step whose result goes into its cache key (or into the params the key sees). */
const KEY_MEMBERS = ['fingerprint', 'keyParams', 'resolve'];

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
  return { file: displayFile(sf.getFilePath()), line, col: column };
}

export async function loadPlugins(refs: PluginRef[], builtinKinds: string[], opts: PluginOptions): Promise<LoadedPlugins> {
  const out: LoadedPlugins = { steps: [], extracted: [], diagnostics: [], files: refs.map((r) => r.file), keyCode: {} };
  if (refs.length === 0) return out;

  const sources = new Map<string, string>();
  for (const r of refs) {
    const outside = outsideFolder(r, opts.pipelineDir);
    if (outside) {
      out.diagnostics.push(outside);
      continue;
    }
    try {
      // A named pipe or device would block or never end: refuse it before reading.
      const st = await stat(r.file);
      if (!st.isFile()) {
        out.diagnostics.push({
          severity: 'error',
          message: `plugin path is not a regular file (a ${specialKind(st)}): ${r.spec}`,
          loc: r.loc,
          hint: 'name a .ts file',
        });
        continue;
      }
      sources.set(r.file, await readFile(r.file, 'utf8'));
    } catch {
      out.diagnostics.push({
        severity: 'error',
        message: `plugin file not found: ${r.spec}`,
        loc: r.loc,
        hint: `paths are relative to the pipeline file (looked for ${r.file})`,
      });
    }
  }
  if (out.diagnostics.length) return out;

  // Plugins are ES modules: a .ts file counts as one only under a package.json of type module.
  // Checked before the type-check, which costs seconds and would not change this answer.
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
  const byFile = new Map<string, ExtractedStep[]>();
  for (const [i, sf] of files.entries()) {
    const steps = extractSteps(sf, conv, path.dirname(sf.getFilePath()));
    byFile.set(refs[i].file, steps);
    if (steps.length === 0) {
      out.diagnostics.push({
        severity: 'error',
        message: `plugin ${refs[i].spec} defines no step`,
        loc: refs[i].loc,
        hint: 'export a step made with `defineStep({ kind, inputs, output, params: paramsOf<P>(), run })`',
      });
    }
    for (const s of steps) {
      const at: SourceLocation = { file: displayFile(refs[i].file), ...s.at };
      if (builtinKinds.includes(s.kind) || seen.has(s.kind)) {
        out.diagnostics.push({
          severity: 'error',
          message: `step kind \`${s.kind}\` is already defined${seen.has(s.kind) ? ` in ${seen.get(s.kind)}` : ' by fxflow'}`,
          loc: at,
          hint: 'give the plugin step another `kind`',
        });
      }
      seen.set(s.kind, refs[i].spec);
      for (const [port, t] of [...Object.entries(s.inputs), ['output', s.output] as const]) {
        if (!ARTIFACT_TYPES.includes(t as ArtifactType)) {
          out.diagnostics.push({
            severity: 'error',
            message: `step \`${s.kind}\`: ${port === 'output' ? 'output' : `input \`${port}\``} has unknown artifact type \`${t}\``,
            loc: at,
            hint: suggestionHint(t, [...ARTIFACT_TYPES], 'an artifact type'),
          });
        }
      }
      if (s.unreadable.length) {
        const what = s.unreadable.map((u) => (u === '...' ? 'a spread (`...`)' : `\`${u}\``)).join(', ');
        out.diagnostics.push({
          severity: 'error',
          message: `step \`${s.kind}\`: ${what} in defineStep({…}) cannot be read without running the plugin`,
          loc: at,
          hint: "write `version` as a number, `inputs` as `{ port: 'Type' }`, `output` as a string, `seeded` as true/false and `optionalInputs` as a list of strings, all literally: validate and plan read them from the source and never run plugin code",
        });
      } else if (!s.exported) {
        out.diagnostics.push({
          severity: 'error',
          message: `step \`${s.kind}\` is not exported from ${refs[i].spec}`,
          loc: at,
          hint: 'export it: `export default defineStep({…})` or `export const step = defineStep({…})`',
        });
      }
      out.extracted.push(s);
    }
  }
  for (const i of conv.issues) out.diagnostics.push({ severity: 'error', message: i.message, loc: { file: displayFile(i.file), line: i.line, col: i.col } });
  if (out.diagnostics.some((d) => d.severity === 'error')) return out;

  if (!opts.execute) {
    for (const r of refs) {
      const hash = sha256(sources.get(r.file)!);
      for (const s of byFile.get(r.file) ?? []) {
        out.steps.push(fromSource(s, hash));
        const code = s.members.filter((m) => KEY_MEMBERS.includes(m));
        if (code.length) out.keyCode[s.kind] = code;
      }
    }
    return out;
  }

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
    const exported = Object.values(mod).filter(isStepDef);
    for (const s of byFile.get(r.file) ?? []) {
      const def = exported.find((d) => d.kind === s.kind);
      const differs = def ? differences(s, def) : ['not exported when imported'];
      if (differs.length) {
        out.diagnostics.push({
          severity: 'error',
          message: `step \`${s.kind}\` as imported differs from its source: ${differs.join('; ')}`,
          loc: { file: displayFile(r.file), ...s.at },
          hint: 'validate and plan read the step from its source without running it; keep defineStep({…}) literal and do not change the step after it is made',
        });
        continue;
      }
      out.steps.push(withPluginKey(def!, hash));
    }
  }
  return out;
}

/**
 * A plugin must live in the pipeline's folder or below (after following symbolic links): a
 * pipeline file someone sends you cannot point `fxflow run` at code elsewhere on your machine.
 */
function outsideFolder(r: PluginRef, pipelineDir: string): Diagnostic | undefined {
  const hint =
    'a pipeline loads plugins only from its own folder or below it: copy the plugin next to the pipeline (e.g. steps/my_step.ts) and name it by a relative path';
  if (path.isAbsolute(r.spec)) return { severity: 'error', message: `plugin path ${r.spec} is absolute`, loc: r.loc, hint };
  const inside = (root: string, file: string): boolean => {
    const rel = path.relative(root, file);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (!inside(pipelineDir, r.file)) return { severity: 'error', message: `plugin ${r.spec} is outside the pipeline's folder`, loc: r.loc, hint };
  let real: string;
  try {
    real = realpathSync(r.file);
  } catch {
    return undefined; // a missing file is reported as such
  }
  if (!inside(realpathSync(pipelineDir), real)) {
    return { severity: 'error', message: `plugin ${r.spec} is a link to ${real}, outside the pipeline's folder`, loc: r.loc, hint };
  }
  return undefined;
}

/** What differs between a step as its source declares it and as its module exports it. */
function differences(s: ExtractedStep, def: AnyStepDef): string[] {
  const out: string[] = [];
  const cmp = (what: string, source: unknown, imported: unknown): void => {
    if (canonicalJson(source) !== canonicalJson(imported))
      out.push(`${what} ${canonicalJson(source)} in the source, ${canonicalJson(imported ?? null)} when imported`);
  };
  cmp('version', s.version, def.version);
  cmp('inputs', s.inputs, def.inputs);
  cmp('output', s.output, def.output);
  cmp('seeded', s.seeded ?? false, def.seeded ?? false);
  cmp('optionalInputs', [...s.optionalInputs].sort(), [...(def.optionalInputs ?? [])].sort());
  cmp(
    'functions',
    KEY_MEMBERS.filter((m) => s.members.includes(m)),
    KEY_MEMBERS.filter((m) => typeof def[m as keyof AnyStepDef] === 'function'),
  );
  return out;
}

/**
 * A plugin step as its source declares it, for commands that never run plugin code: everything
 * the compiler and the cache key need (kind, version, ports, seeded, the source hash) but no code.
 * Its fingerprint is what `withPluginKey` gives a step without one, so a plan's keys equal a run's.
 */
function fromSource(s: ExtractedStep, sourceHash: string): AnyStepDef {
  return {
    kind: s.kind,
    version: s.version!,
    description: s.description,
    inputs: s.inputs as InputPorts,
    ...(s.optionalInputs.length ? { optionalInputs: s.optionalInputs } : {}),
    output: s.output as ArtifactType,
    ...(s.seeded ? { seeded: true } : {}),
    fingerprint: () => ({ plugin: sourceHash, inner: null }),
    run: () => Promise.reject(new Error(`plugin step \`${s.kind}\` was read from its source only; load the pipeline with \`execute: true\` to run it`)),
  };
}

function displayFile(file: string): string {
  return path.relative(process.cwd(), file) || file;
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
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as AnyStepDef).kind === 'string' &&
    typeof (v as AnyStepDef).run === 'function' &&
    typeof (v as AnyStepDef).output === 'string'
  );
}

/** A plugin step whose cache key also covers the plugin's source. */
function withPluginKey(def: AnyStepDef, sourceHash: string): AnyStepDef {
  const inner = def.fingerprint;
  return {
    ...def,
    fingerprint: async (params, ctx) => ({ plugin: sourceHash, inner: inner ? await inner(params, ctx) : null }),
  };
}
