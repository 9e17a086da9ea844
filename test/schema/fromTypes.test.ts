import { Project } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { extractSteps, TypeToSchema } from '../../src/schema/fromTypes.js';

const SOURCE = `
declare function defineStep<T>(def: T): T;
declare function paramsOf<P>(): P;

export interface RsiParams {
  /** Lookback in bars.
   * @default 14
   * @integer
   * @minimum 2 */
  period: number;
}
export type Indicator = { rsi: RsiParams } | { ema: { period: number } };
export interface MyParams {
  /** Where the data comes from. @default "csv" */
  source: 'csv' | 'synthetic';
  /** A file. */
  path?: string;
  /** Lags. @default [1] @integer @minimum 1 */
  lags: number[];
  /** Indicators. */
  indicators: Indicator[];
  /** Flag. */
  on?: boolean;
  /** Free-form tags. */
  tags?: Record<string, string>;
  /** Bars, or auto. @default "auto" @integer @minimum 0 */
  embargo: 'auto' | number;
}
export default defineStep({
  kind: 'mine',
  description: 'A test step',
  inputs: { candles: 'Candles' },
  output: 'Features',
  params: paramsOf<MyParams>(),
});
`;

describe('params schema from TypeScript types', () => {
  it('converts types, JSDoc descriptions, defaults and bounds', () => {
    const project = new Project({ useInMemoryFileSystem: true });
    const sf = project.createSourceFile('/steps/mine/index.ts', SOURCE);
    const conv = new TypeToSchema();
    const [step] = extractSteps(sf, conv, '/');
    expect(conv.issues).toEqual([]);
    expect(step.kind).toBe('mine');
    expect(step.inputs).toEqual({ candles: 'Candles' });
    expect(step.output).toBe('Features');
    const p = step.params as { properties: Record<string, Record<string, unknown>>; required: string[]; additionalProperties: boolean };
    expect(p.additionalProperties).toBe(false);
    // Properties with a default are optional in YAML; `indicators` has none and is required.
    expect(p.required).toEqual(['indicators']);
    expect(p.properties.source).toEqual({ description: 'Where the data comes from.', enum: ['csv', 'synthetic'], default: 'csv' });
    expect(p.properties.path).toEqual({ description: 'A file.', type: 'string' });
    expect(p.properties.lags).toEqual({ description: 'Lags.', type: 'array', items: { type: 'integer', minimum: 1 }, default: [1] });
    expect(p.properties.on).toEqual({ description: 'Flag.', type: 'boolean' });
    expect(p.properties.tags).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
    // Numeric tags on a union go to its number branch (ajv's strict mode refuses them on the union).
    expect(p.properties.embargo).toEqual({ description: 'Bars, or auto.', anyOf: [{ type: 'integer', minimum: 0 }, { const: 'auto' }], default: 'auto' });
    // A union of single-key objects becomes one object holding exactly one of the keys.
    const ind = p.properties.indicators as { items: Record<string, unknown> };
    expect(ind.items).toEqual({
      type: 'object',
      properties: {
        rsi: {
          type: 'object',
          properties: { period: { description: 'Lookback in bars.', type: 'integer', minimum: 2, default: 14 } },
          additionalProperties: false,
        },
        ema: { type: 'object', properties: { period: { type: 'number' } }, required: ['period'], additionalProperties: false },
      },
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
    });
  });

  it('a union discriminated by a string-literal property becomes oneOf + discriminator, each branch with its own defaults', () => {
    const project = new Project({ useInMemoryFileSystem: true });
    const src = `declare function defineStep<T>(def: T): T;
declare function paramsOf<P>(): P;
/** Linear. */
interface A {
  /** The kind. @default "a" */
  kind: 'a';
  /** Penalty. @default 1 @minimum 0 */
  alpha: number;
}
/** Trees. */
interface B {
  kind: 'b';
  /** Depth. @default 6 @integer @minimum 0 @maximum 64 */
  depth: number;
}
export default defineStep({ kind: 'fit', inputs: {}, output: 'Model', params: paramsOf<A | B>() });
`;
    const conv = new TypeToSchema();
    const [step] = extractSteps(project.createSourceFile('/u.ts', src), conv, '/');
    expect(conv.issues).toEqual([]);
    expect(step.params).toEqual({
      type: 'object',
      properties: { kind: { enum: ['a', 'b'], description: 'The kind.', default: 'a' } },
      required: ['kind'],
      discriminator: { propertyName: 'kind' },
      oneOf: [
        {
          description: 'Linear.',
          type: 'object',
          properties: { kind: { const: 'a' }, alpha: { description: 'Penalty.', type: 'number', default: 1, minimum: 0 } },
          additionalProperties: false,
        },
        {
          description: 'Trees.',
          type: 'object',
          properties: { kind: { const: 'b' }, depth: { description: 'Depth.', type: 'integer', default: 6, minimum: 0, maximum: 64 } },
          additionalProperties: false,
        },
      ],
    });
  });

  it('reports a step without paramsOf at its location', () => {
    const project = new Project({ useInMemoryFileSystem: true });
    const sf = project.createSourceFile(
      '/s.ts',
      `declare function defineStep<T>(d: T): T;\n\nexport default defineStep({ kind: 'x', inputs: {}, output: 'Candles' });\n`,
    );
    const conv = new TypeToSchema();
    extractSteps(sf, conv, '/');
    expect(conv.issues).toHaveLength(1);
    expect(conv.issues[0]).toMatchObject({ line: 3, message: expect.stringContaining('paramsOf') });
  });
});

describe('what a step is known by without running its code', () => {
  const STEPS = `
declare function defineStep<T>(def: T): T;
declare function paramsOf<P>(): P;
const base = { version: 1 };
const V = 3;
export default defineStep({
  kind: 'plain',
  version: 4,
  description: 'd',
  inputs: { features: 'Features', candles: \`Candles\` },
  optionalInputs: ['candles'],
  output: 'Features',
  seeded: true,
  params: paramsOf<{}>(),
  fingerprint: () => 'x',
  resolve(p: {}) { return p; },
});
export const named = defineStep({ kind: 'named', version: 1, inputs: {}, output: 'Report', params: paramsOf<{}>() });
const later = defineStep({ kind: 'later', version: 1, inputs: {}, output: 'Report', params: paramsOf<{}>() });
export { later as renamed };
const hidden = defineStep({ kind: 'hidden', version: 1, inputs: {}, output: 'Report', params: paramsOf<{}>() });
export const computed = defineStep({ ...base, kind: 'computed', version: V, inputs: { x: String('Features') }, output: 'Report', params: paramsOf<{}>() });
`;
  it("reads literals, member names, export status and the kind's position; flags what only code could tell", () => {
    const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile('/p/steps.ts', STEPS);
    const steps = new Map(extractSteps(sf, new TypeToSchema(), '/p').map((s) => [s.kind, s]));
    expect(steps.get('plain')).toMatchObject({
      version: 4,
      seeded: true,
      inputs: { features: 'Features', candles: 'Candles' },
      optionalInputs: ['candles'],
      output: 'Features',
      members: ['kind', 'version', 'description', 'inputs', 'optionalInputs', 'output', 'seeded', 'params', 'fingerprint', 'resolve'],
      unreadable: [],
      exported: true,
      at: { line: 7, col: 3 },
    });
    expect(steps.get('named')).toMatchObject({ exported: true, unreadable: [], seeded: undefined, optionalInputs: [] });
    expect(steps.get('later')!.exported).toBe(true);
    expect(steps.get('hidden')!.exported).toBe(false);
    expect(steps.get('computed')).toMatchObject({ exported: true, version: undefined, unreadable: ['...', 'version', 'inputs'] });
  });
});
