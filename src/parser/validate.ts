import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { paramsDefName, SCHEMA_ID } from '../schema/pipeline.js';
import type { JsonSchema } from '../schema/fromTypes.js';
import { displayPath, fromPointer, type PositionMap } from './yaml.js';

/**
 * JSON Schema validation (ajv, draft 2020-12) of a pipeline, in two phases over the one generated
 * schema: the shell (top-level keys, step shape, `uses`), then each step's `with` against its
 * kind's params (filling defaults). ajv's raw errors are turned into one located, plain-language
 * diagnostic per problem: tagged unions report the branch the user meant, not every branch.
 */

// ajv ships CommonJS; under NodeNext its default export arrives as the module object.
const Ajv2020 = ajv2020Module.default;
type Ajv = InstanceType<typeof Ajv2020>;

export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/pipeline.schema.json', import.meta.url));

let cachedSchema: JsonSchema | undefined;
export function loadPipelineSchema(): JsonSchema {
  cachedSchema ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as JsonSchema;
  return cachedSchema;
}

export class PipelineValidator {
  private readonly ajv: Ajv;
  private readonly shell: ValidateFunction;
  private readonly params = new Map<string, ValidateFunction>();
  readonly kinds: string[];

  constructor(schema: JsonSchema = loadPipelineSchema()) {
    this.ajv = new Ajv2020({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true });
    this.ajv.addVocabulary(['x-fxflow-step']);
    this.ajv.addSchema(schema);
    const defs = (schema.$defs ?? {}) as Record<string, JsonSchema>;
    this.kinds = Object.keys(defs)
      .filter((k) => k.startsWith('params.'))
      .map((k) => k.slice('params.'.length));
    // The shell: steps checked against the common step shape only; params come in phase two.
    const props = schema.properties as Record<string, JsonSchema>;
    const shellSchema: JsonSchema = {
      ...schema,
      $id: `${SCHEMA_ID.replace(/\.schema\.json$/, "")}.shell.json`,
      properties: { ...props, steps: { ...props.steps, additionalProperties: { $ref: `${SCHEMA_ID}#/$defs/step` } } },
      $defs: undefined,
    };
    delete shellSchema.$defs;
    this.shell = this.ajv.compile(shellSchema);
  }

  /** Validates the shell in place (fills top-level defaults such as `seed`). */
  validateShell(doc: unknown, positions: PositionMap): Diagnostic[] {
    if (this.shell(doc)) return [];
    return convertErrors(this.shell.errors ?? [], '', positions, { scope: 'pipeline' });
  }

  /** Validates a step's `with` in place, filling defaults. */
  validateParams(kind: string, value: unknown, pointer: string, positions: PositionMap, stepId: string): Diagnostic[] {
    let fn = this.params.get(kind);
    if (!fn) {
      fn = this.ajv.getSchema(`${SCHEMA_ID}#/$defs/${paramsDefName(kind)}`);
      if (!fn) throw new Error(`no params schema for step kind ${kind}`);
      this.params.set(kind, fn);
    }
    if (fn(value)) return [];
    return convertErrors(fn.errors ?? [], pointer, positions, { scope: 'params', kind, stepId });
  }
}

interface ErrorContext {
  scope: 'pipeline' | 'params';
  kind?: string;
  stepId?: string;
}

type AjvError = ErrorObject & { data?: unknown; parentSchema?: JsonSchema; schema?: unknown };

type Resolved = AjvError;

const MAX_DIAGNOSTICS = 50;

export function convertErrors(
  errors: AjvError[],
  basePointer: string,
  positions: PositionMap,
  ctx: ErrorContext,
): Diagnostic[] {
  // A wrong type makes every other complaint about the same value noise: report it alone.
  const rank = (e: Resolved): number => (e.keyword === 'type' ? 0 : 1);
  const resolved = resolveComposites(errors).sort((a, b) => rank(a) - rank(b));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of resolved) {
    const d = toDiagnostic(e, basePointer, positions, ctx);
    if (!d) continue;
    // One diagnostic per value (unknown keys each have their own path).
    const key = d.path ?? `${d.loc?.line}:${d.loc?.col}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
    if (out.length >= MAX_DIAGNOSTICS) break;
  }
  return out;
}

/**
 * Replaces each anyOf/oneOf failure and its branches' errors by the errors of the branch the user
 * evidently meant; drops if/then bookkeeping errors. Innermost composites first.
 */
function resolveComposites(errors: AjvError[]): Resolved[] {
  let errs: Resolved[] = errors.filter((e) => e.keyword !== 'if');
  const composites = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const comp of composites) {
    const prefix = `${comp.schemaPath}/`;
    const members = errs.filter((e): e is AjvError => e !== comp && 'schemaPath' in e && e.schemaPath.startsWith(prefix));
    errs = errs.filter((e) => e !== comp && !members.includes(e as AjvError));
    errs.push(...chooseBranch(comp, members, prefix));
  }
  return errs;
}

function chooseBranch(comp: AjvError, members: AjvError[], prefix: string): Resolved[] {
  const branches = (Array.isArray(comp.schema) ? comp.schema : []) as JsonSchema[];
  const byBranch = new Map<number, AjvError[]>();
  for (const m of members) {
    const i = Number(m.schemaPath.slice(prefix.length).split('/')[0]);
    if (!byBranch.has(i)) byBranch.set(i, []);
    byBranch.get(i)!.push(m);
  }
  const data = comp.data;
  // Otherwise, the one branch whose type matches the value's type, if there is exactly one.
  const t = jsonType(data);
  const matching = branches
    .map((b, i) => ({ b, i }))
    .filter(({ b }) => b.type === t || (Array.isArray(b.type) && b.type.includes(t)) || (t === 'integer' && b.type === 'number'));
  if (matching.length === 1) return byBranch.get(matching[0].i) ?? [];
  return [comp];
}

function escapePtr(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A tagged union from the params types: an object holding exactly one of its keys. */
function isTagged(schema: JsonSchema | undefined): boolean {
  return !!schema && schema.minProperties === 1 && schema.maxProperties === 1 && schema.additionalProperties === false;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function describeType(schema: JsonSchema): string {
  if (schema.enum) return `one of ${(schema.enum as unknown[]).map(show).join(', ')}`;
  if (schema.const !== undefined) return show(schema.const);
  const t = schema.type;
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  if (t === 'integer') return 'an integer';
  if (t === 'number') return 'a number';
  if (t === 'string') return 'a string';
  if (t === 'boolean') return 'true or false';
  return String(t ?? 'a value');
}

function toDiagnostic(e: Resolved, base: string, positions: PositionMap, ctx: ErrorContext): Diagnostic | undefined {
  const pointer = base + e.instancePath;
  const segs = fromPointer(pointer);
  const name = [...segs].reverse().find((s) => !/^\d+$/.test(s)) ?? 'value';
  const where = displayPath(segs);
  const inStep = ctx.scope === 'params' ? ` of step \`${ctx.stepId}\` (${ctx.kind})` : '';
  const d = (message: string, hint?: string, atKey = false, path = where, ptr = pointer): Diagnostic => ({
    severity: 'error',
    message,
    loc: atKey ? positions.keyLoc(ptr) : positions.valueLoc(ptr),
    path,
    hint,
  });

  const err = e;
  const tagNoun = segs.includes('indicators') ? 'indicator' : 'option';
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const prop = String(params.additionalProperty);
      const allowed = Object.keys((err.parentSchema?.properties as object | undefined) ?? {});
      const ptr = `${pointer}/${escapePtr(prop)}`;
      const path = displayPath([...segs, prop]);
      if (isTagged(err.parentSchema)) {
        return d(`unknown ${tagNoun} \`${prop}\`${inStep}`, suggestionHint(prop, allowed, `an ${tagNoun}`), true, path, ptr);
      }
      let what = `unknown key \`${prop}\``;
      if (ctx.scope === 'params') what = `unknown parameter \`${prop}\`${inStep}`;
      else if (segs.length === 2 && segs[0] === 'steps') what = `unknown key \`${prop}\` in step \`${segs[1]}\``;
      const hint = allowed.length ? suggestionHint(prop, allowed, ctx.scope === 'params' ? 'a parameter' : 'a key') : 'this mapping takes no keys';
      return d(what, hint, true, path, ptr);
    }
    case 'required': {
      const prop = String(params.missingProperty);
      const noun = ctx.scope === 'params' ? 'parameter' : 'key';
      const owner = segs.length === 2 && segs[0] === 'steps' ? ` in step \`${segs[1]}\`` : inStep;
      const hint = prop === 'uses' ? 'add `uses: <kind>`, e.g. `uses: fetch`' : `add \`${prop}:\``;
      return d(`missing required ${noun} \`${prop}\`${owner}`, hint, segs.length > 0);
    }
    case 'type': {
      const expected = describeType({ type: params.type });
      const got = err.data;
      let hint: string | undefined;
      if (typeof got === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(got.trim()) && /number|integer/.test(String(params.type))) {
        hint = 'remove the quotes to write a number';
      } else if (typeof got === 'number' && !Number.isInteger(got) && params.type === 'integer') {
        hint = 'write a whole number';
      }
      return d(`\`${name}\`${inStep} must be ${expected}, got ${show(got)}`, hint);
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      if (name === 'uses' && segs[0] === 'steps') {
        return d(`unknown step kind \`${String(err.data)}\` in step \`${segs[1]}\``, suggestionHint(String(err.data), allowed, 'a step kind'));
      }
      const hint = typeof err.data === 'string' ? suggestionHint(err.data, allowed, 'one of') : `expected one of: ${allowed.join(', ')}`;
      return d(`\`${name}\`${inStep} must be one of ${allowed.map((a) => `\`${a}\``).join(', ')}, got ${show(err.data)}`, hint);
    }
    case 'const':
      return d(`\`${name}\`${inStep} must be ${show(params.allowedValue)}, got ${show(err.data)}`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return d(`\`${name}\`${inStep} ${err.message}, got ${show(err.data)}`);
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(err.data) ? err.data.length : 0;
      return d(`\`${name}\`${inStep} ${err.message}, got ${n}`);
    }
    case 'maxProperties':
      if (isTagged(err.parentSchema)) {
        const keys = Object.keys((err.data as object | null) ?? {});
        return d(`an entry of \`${name}\`${inStep} holds one ${tagNoun}, found ${keys.map((k) => `\`${k}\``).join(', ')}`, 'write each as its own list item (`- rsi: {…}` on one line, `- ema: {…}` on the next)');
      }
      return d(`\`${name}\`${inStep} ${err.message}`);
    case 'minProperties':
      if (isTagged(err.parentSchema)) {
        const allowed = Object.keys((err.parentSchema?.properties as object | undefined) ?? {});
        return d(`an empty entry in \`${name}\`${inStep}`, `write one of: ${allowed.join(', ')}`);
      }
      if (name === 'steps') return d('the pipeline has no steps', 'add at least one step under `steps:`');
      return d(`\`${name}\`${inStep} ${err.message}`);
    case 'propertyNames': {
      const bad = String(params.propertyName);
      const ptr = `${pointer}/${escapePtr(bad)}`;
      const noun = name === 'steps' ? 'step id' : name === 'vars' ? 'variable name' : 'key';
      return d(
        `invalid ${noun} \`${bad}\``,
        `${noun}s start with a letter or \`_\` and hold letters, digits, \`_\` and \`-\``,
        true,
        displayPath([...segs, bad]),
        ptr,
      );
    }
    case 'pattern':
      // Reported through propertyNames when it concerns a key.
      if (err.propertyName !== undefined) return undefined;
      return d(`\`${name}\`${inStep} ${show(err.data)} does not match the expected form ${String(params.pattern)}`);
    case 'anyOf':
    case 'oneOf': {
      const options = (Array.isArray(err.schema) ? (err.schema as JsonSchema[]) : []).map(describeType);
      return d(`\`${name}\`${inStep} must be ${options.join(' or ')}, got ${show(err.data)}`);
    }
    default:
      return d(`\`${name}\`${inStep} ${err.message ?? 'is invalid'}`);
  }
}
