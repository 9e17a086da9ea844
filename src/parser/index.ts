import { readFile, stat } from 'node:fs/promises';
import { isDevice } from '../backend/index.js';
import path from 'node:path';
import { errorsOnly, type Diagnostic } from '../core/diagnostics.js';
import { specialKind } from '../core/files.js';
import { thousands } from '../core/format.js';
import { interpolate } from './interpolate.js';
import { PipelineValidator } from './validate.js';
import { loadYaml, toPointer, type LoadedYaml, type PositionMap } from './yaml.js';
import { expandVariants, isObj, variantBuilder } from './matrix.js';
import { expandSearch } from './search.js';
import { readSelect } from './select.js';
import type { ParseResult, StepSpec } from './spec.js';

export type { ParseResult, PipelineSpec, StepSpec } from './spec.js';

let sharedValidator: PipelineValidator | undefined;
function defaultValidator(): PipelineValidator {
  sharedValidator ??= new PipelineValidator();
  return sharedValidator;
}

export function parsePipelineText(
  text: string,
  file: string,
  opts: { displayFile?: string; validator?: PipelineValidator; loaded?: LoadedYaml } = {},
): ParseResult {
  const displayFile = opts.displayFile ?? file;
  // Text handed in directly (not through readPipelineFile) gets the same limit.
  if (text.length > MAX_PIPELINE_BYTES / 4) {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_PIPELINE_BYTES) return { diagnostics: [tooLarge(bytes, displayFile)] };
  }
  // A caller that already read the YAML (for its `plugins:`) passes it in rather than parsing twice.
  const loaded = opts.loaded ?? loadYaml(text, displayFile);
  const diagnostics = [...loaded.diagnostics];
  if (errorsOnly(diagnostics).length) return { diagnostics };
  const { positions } = loaded;
  const raw = loaded.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    diagnostics.push({
      severity: 'error',
      message: 'a pipeline file must be a mapping with `version`, `name` and `steps`',
      loc: positions.valueLoc(''),
      hint: 'start from `fxflow init` or pipelines/quickstart.yaml',
    });
    return { diagnostics };
  }
  const doc = raw as Record<string, unknown>;
  const vars = isObj(doc.vars) ? doc.vars : {};
  // Interpolate everything but `vars` itself (variables are values, not templates); with a matrix,
  // `steps` is interpolated once per variant (src/parser/matrix.ts).
  const rawSteps = doc.steps;
  for (const key of Object.keys(doc)) {
    if (key === 'vars' || (key === 'matrix' && 'matrix' in doc) || (key === 'steps' && ('matrix' in doc || 'search' in doc))) continue;
    doc[key] = interpolate(doc[key], { vars, matrix: undefined }, positions, diagnostics, [key]);
  }

  const validator = opts.validator ?? defaultValidator();
  const searched =
    'search' in doc ? expandSearch(doc, rawSteps, positions, diagnostics, variantBuilder(doc, rawSteps, vars, positions, validator, buildSteps)) : undefined;
  const variants = searched
    ? searched.matrix
    : 'matrix' in doc
      ? expandVariants(doc, rawSteps, vars, positions, diagnostics, validator, buildSteps)
      : undefined;
  if (!variants) diagnostics.push(...validator.validateShell(doc, positions));
  const steps: StepSpec[] = variants ? (variants.variants[0]?.steps ?? []) : buildSteps(doc.steps, diagnostics);
  const select = readSelect(doc.select);

  function buildSteps(stepsObj: unknown, diagnostics: Diagnostic[]): StepSpec[] {
    const steps: StepSpec[] = [];
    if (isObj(stepsObj)) {
      for (const [id, step] of Object.entries(stepsObj)) {
        if (!isObj(step)) continue; // reported by the shell
        const uses = step.uses;
        if (typeof uses !== 'string' || !validator.kinds.includes(uses)) continue; // reported by the shell
        const w = step.with === undefined || step.with === null ? {} : step.with;
        if (typeof w !== 'object' || Array.isArray(w)) continue; // reported by the shell
        const withValue = w as Record<string, unknown>;
        diagnostics.push(...validator.validateParams(uses, withValue, toPointer(['steps', id, 'with']), positions, id));
        steps.push({
          id,
          uses,
          from: step.from as StepSpec['from'],
          with: withValue,
          description: typeof step.description === 'string' ? step.description : undefined,
        });
      }
    }
    return steps;
  }

  if (errorsOnly(diagnostics).length) return { diagnostics: byPosition(withoutEchoes(diagnostics)) };
  const abs = path.resolve(file);
  return {
    diagnostics,
    spec: {
      file: abs,
      displayFile,
      dir: path.dirname(abs),
      text,
      version: 1,
      name: String(doc.name),
      description: typeof doc.description === 'string' ? doc.description : undefined,
      seed: typeof doc.seed === 'number' ? doc.seed : 42,
      device: isDevice(doc.device) ? doc.device : 'auto',
      vars,
      steps,
      positions,
      ...(variants ? { matrix: variants } : {}),
      ...(searched ? { search: searched.search } : {}),
      ...(select ? { select } : {}),
    },
  };
}

/** A value that failed interpolation also fails the schema; report the cause, not the echo. */
function withoutEchoes(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    if (d.path === undefined) return true;
    if (seen.has(d.path)) return false;
    seen.add(d.path);
    return true;
  });
}

/** Most diagnostics reported for one file; a file with more is usually one mistake repeated. */
export const MAX_DIAGNOSTICS = 50;

/** Diagnostics in reading order, as a compiler lists them, bounded. */
export function byPosition(ds: Diagnostic[]): Diagnostic[] {
  const sorted = [...ds].sort((a, b) => (a.loc?.line ?? 0) - (b.loc?.line ?? 0) || (a.loc?.col ?? 0) - (b.loc?.col ?? 0));
  if (sorted.length <= MAX_DIAGNOSTICS) return sorted;
  const rest = sorted.length - MAX_DIAGNOSTICS;
  return [...sorted.slice(0, MAX_DIAGNOSTICS), { severity: 'error', message: `${rest} more error${rest === 1 ? '' : 's'} not shown` }];
}

/**
 * Largest pipeline file accepted, in bytes. A hand-written pipeline is a few KB and a large sweep a
 * few tens; parsing is roughly linear (a 50 MB file took 94 s and 1.7 GB), and the text is stored
 * with every run, so anything near this is a generated file gone wrong.
 */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

function tooLarge(bytes: number, file: string): Diagnostic {
  return {
    severity: 'error',
    message: `pipeline file ${file} is ${thousands(bytes)} bytes; the limit is ${thousands(MAX_PIPELINE_BYTES)} bytes (1 MiB)`,
    hint: 'a pipeline describes steps, not data: move large value lists into a data file, or split the sweep into several pipelines',
  };
}

/** Reads a pipeline file; a missing, special or oversized file is a diagnostic, not a crash or a hang. */
export async function readPipelineFile(file: string): Promise<{ text: string; displayFile: string } | { diagnostics: Diagnostic[] }> {
  const fail = (message: string, hint?: string) => ({ diagnostics: [{ severity: 'error' as const, message, hint }] });
  try {
    // Checked before reading: a FIFO or /dev/zero would block or grow without end.
    const st = await stat(file);
    if (!st.isFile()) {
      return st.isDirectory()
        ? fail(`pipeline path is a directory, not a file: ${file}`, 'name the pipeline YAML file, e.g. pipelines/quickstart.yaml')
        : fail(`pipeline path is not a regular file (a ${specialKind(st)}): ${file}`, 'name a pipeline YAML file on disk');
    }
    if (st.size > MAX_PIPELINE_BYTES) return { diagnostics: [tooLarge(st.size, file)] };
    const text = await readFile(file, 'utf8');
    // The file may have grown between stat and read.
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_PIPELINE_BYTES) return { diagnostics: [tooLarge(bytes, file)] };
    return { text, displayFile: path.relative(process.cwd(), file) || file };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? fail(`pipeline file not found: ${file}`, 'check the path; `fxflow init` scaffolds a pipeline')
      : fail(`cannot read pipeline file ${file}: ${(e as Error).message}`);
  }
}

/** Reads and parses a pipeline file. */
export async function parsePipelineFile(file: string, opts: { validator?: PipelineValidator } = {}): Promise<ParseResult> {
  const read = await readPipelineFile(file);
  if ('diagnostics' in read) return read;
  return parsePipelineText(read.text, file, { displayFile: read.displayFile, validator: opts.validator });
}
