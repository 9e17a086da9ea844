import { DEVICES } from '../backend/index.js';
import type { ExtractedStep, JsonSchema } from './fromTypes.js';
import { MATRIX_SCHEMA, SEARCH_SCHEMA, SELECT_SCHEMA } from './matrix.js';

/**
 * The pipeline file's JSON Schema (2020-12), built from the steps' extracted params schemas.
 * `$defs.step` is the shape every step shares; `$defs.typedStep` adds, per `uses`, the params
 * schema of that kind (`$defs["params.<kind>"]`) so editors complete and document `with:`.
 * The parser validates in two phases over the same file: the shell first, then each step's
 * `with` against its kind's params, which keeps error messages about one thing at a time.
 */

export const SCHEMA_ID = 'https://fxflow.dev/schema/pipeline.schema.json';
export const STEP_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';
export const VAR_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';

export function paramsDefName(kind: string): string {
  return `params.${kind}`;
}

/**
 * The editor's view of a params schema: wherever a number, integer or boolean goes, a `${…}`
 * reference is also accepted (it is resolved before validation at run time, so the runtime uses
 * the strict schema). Without this, editors flag `"${vars.horizon}"` in a list of integers.
 */
function allowReferences(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowReferences);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema as JsonSchema)) {
    out[k] = k === 'default' || k === 'enum' || k === 'const' || k === 'examples' ? v : allowReferences(v);
  }
  const t = out.type;
  if (t === 'number' || t === 'integer' || t === 'boolean' || out.enum !== undefined) {
    const { description, default: def, ...rest } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      anyOf: [rest, { $ref: '#/$defs/reference' }],
      ...(def !== undefined ? { default: def } : {}),
    };
  }
  return out;
}

/** What the pipeline schema needs of a step: its kind, ports and params (not how it was read). */
export type StepSchemaSource = Pick<ExtractedStep, 'kind' | 'description' | 'file' | 'inputs' | 'output' | 'params'>;

/** The `$defs` a step kind contributes: its params schema and the editor's lenient copy. */
function stepDefs(s: StepSchemaSource): Record<string, JsonSchema> {
  const params: JsonSchema = {
    title: `${s.kind} params`,
    description: s.description,
    ...s.params,
    'x-fxflow-step': { inputs: s.inputs, output: s.output, source: s.file },
  };
  return { [paramsDefName(s.kind)]: params, [`editor.${paramsDefName(s.kind)}`]: allowReferences(params) as JsonSchema };
}

/** The `typedStep` branch that gives `with:` its kind's params schema in editors. */
function typedBranch(kind: string): JsonSchema {
  return {
    if: { type: 'object', properties: { uses: { const: kind } }, required: ['uses'] },
    then: { type: 'object', properties: { with: { $ref: `#/$defs/editor.${paramsDefName(kind)}` } } },
  };
}

/** The schema with more step kinds (a pipeline's plugins) added, for validating that pipeline. */
export function extendPipelineSchema(schema: JsonSchema, steps: StepSchemaSource[]): JsonSchema {
  const out = structuredClone(schema) as JsonSchema & { $defs: Record<string, JsonSchema & { properties?: Record<string, JsonSchema>; allOf?: JsonSchema[] }> };
  for (const s of steps) {
    Object.assign(out.$defs, stepDefs(s));
    const uses = out.$defs.step.properties!.uses as { enum: string[] };
    uses.enum = [...new Set([...uses.enum, s.kind])].sort();
    out.$defs.typedStep.allOf!.push(typedBranch(s.kind));
  }
  return out;
}

export function buildPipelineSchema(steps: ExtractedStep[], version: string): JsonSchema {
  const kinds = steps.map((s) => s.kind).sort();
  const defs: Record<string, JsonSchema> = {};
  const byKind = [...steps].sort((a, b) => a.kind.localeCompare(b.kind));
  for (const s of byKind) Object.assign(defs, stepDefs(s));
  defs.reference = {
    description: 'A reference to a variable, resolved before validation: `${vars.name}`.',
    type: 'string',
    pattern: '^\\$\\{\\s*[A-Za-z_][\\w]*\\.[A-Za-z_][\\w-]*\\s*\\}$',
  };
  defs.step = {
    type: 'object',
    description: 'A step: `uses` names its kind, `from` its inputs, `with` its parameters.',
    required: ['uses'],
    additionalProperties: false,
    properties: {
      uses: { description: 'The step kind.', enum: kinds },
      from: {
        description: "Inputs: one step id, or a mapping from the kind's input ports to step ids.",
        anyOf: [
          { type: 'string', pattern: STEP_ID_PATTERN },
          { type: 'object', additionalProperties: { type: 'string', pattern: STEP_ID_PATTERN } },
        ],
      },
      with: { description: 'Parameters of the step kind.', type: 'object' },
      description: { description: 'What this step is for (shown by `fxflow plan`).', type: 'string' },
    },
  };
  defs.typedStep = { allOf: [{ $ref: '#/$defs/step' }, ...byKind.map((s) => typedBranch(s.kind))] };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'fxflow pipeline',
    description: `An fxflow pipeline (fxflow ${version}). Steps form a DAG through \`from\`; every step's output is cached by content.`,
    type: 'object',
    required: ['version', 'name', 'steps'],
    additionalProperties: false,
    properties: {
      version: { description: 'Pipeline language version.', const: 1 },
      name: {
        description: 'Pipeline name, used in run history.',
        type: 'string',
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      },
      description: { description: 'What the pipeline is for.', type: 'string' },
      plugins: {
        description:
          'TypeScript files, relative to the pipeline and inside its folder, whose `defineStep` exports add step kinds (imported only by `run`, `watch` and `export`).',
        type: 'array',
        items: { type: 'string', pattern: '\\.(ts|mts)$' },
      },
      seed: {
        description: 'Seed of every seeded step: the same pipeline and seed give bit-identical results.',
        type: 'integer',
        minimum: 0,
        maximum: 4294967295,
        default: 42,
      },
      device: {
        description:
          "Default `device` of every step that takes one (neural `train` models): `auto` takes the first that works of tfjs-node-gpu (a CUDA GPU), tfjs-node, wasm, pure-JS cpu; `gpu` fails with the reason when no GPU backend loads; `cpu` skips the GPU. A step's own `device:` wins; `fxflow run --device` overrides this.",
        enum: [...DEVICES],
        default: 'auto',
      },
      vars: {
        description: 'Values referenced as `${vars.name}`.',
        type: 'object',
        propertyNames: { pattern: VAR_NAME_PATTERN },
        additionalProperties: true,
      },
      matrix: MATRIX_SCHEMA,
      search: SEARCH_SCHEMA,
      select: SELECT_SCHEMA,
      steps: {
        description: 'Steps by id.',
        type: 'object',
        minProperties: 1,
        propertyNames: { pattern: STEP_ID_PATTERN },
        additionalProperties: { $ref: '#/$defs/typedStep' },
      },
    },
    $defs: defs,
  };
}
