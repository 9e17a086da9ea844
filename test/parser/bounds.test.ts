import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../src/parser/index.js';
import { SCHEMA_FILE } from '../../src/parser/validate.js';

/**
 * Size-like parameters (bars, periods, windows, horizons, folds, rounds, leaves, batch sizes, …)
 * have maxima: `bars: 1e23` passed `validate` and then failed with "Invalid typed array length"
 * and no location. Every integer parameter of every built-in step is found in the generated schema
 * and tried with 1e23 (refused at validate, at its line and column) and with its maximum (accepted).
 */

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  maximum?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  discriminator?: { propertyName: string };
  const?: unknown;
};
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $defs: Record<string, Schema> };

/** Every integer-valued place in a step's params: the path to it and its schema. */
function integerPaths(node: Schema, path: (string | number)[] = []): { path: (string | number)[]; s: Schema }[] {
  if (node.type === 'integer') return [{ path, s: node }];
  if (node.type === 'array' && node.items) return integerPaths(node.items, [...path, 0]);
  if (node.anyOf) return node.anyOf.flatMap((b) => integerPaths(b, path));
  const out: { path: (string | number)[]; s: Schema }[] = [];
  for (const [k, v] of Object.entries(node.properties ?? {})) out.push(...integerPaths(v, [...path, k]));
  return out;
}

/** `{ a: { b: [ { c: v } ] } }` from a path; `indicators[0]` needs the tagged entry's key, which the path holds. */
function nest(path: (string | number)[], v: unknown): unknown {
  if (path.length === 0) return v;
  const [head, ...rest] = path;
  return typeof head === 'number' ? [nest(rest, v)] : { [head]: nest(rest, v) };
}

/** Params a step needs beside the one tried, so that only that one can be wrong. */
const BASE: Record<string, Record<string, unknown>> = {
  fetch: { source: 'synthetic' },
  split: {},
  train: { model: 'gbm' },
  backtest: {},
  features: {},
  encode: {},
  regime: { columns: ['ret_1'] },
};

const kinds = Object.keys(schema.$defs)
  .filter((k) => k.startsWith('params.'))
  .map((k) => k.slice('params.'.length));
/** A step's params, or each branch of a discriminated union (train's `model:`) with its tag value as the base params. */
function variantsOf(kind: string): { name: string; node: Schema; base: Record<string, unknown> }[] {
  const node = schema.$defs[`params.${kind}`];
  const tag = node.discriminator?.propertyName;
  if (!tag || !node.oneOf) return [{ name: kind, node, base: BASE[kind] }];
  return node.oneOf.map((b) => ({ name: `${kind}(${String(b.properties![tag].const)})`, node: b, base: { [tag]: b.properties![tag].const } }));
}

const cases = kinds.flatMap((kind) =>
  variantsOf(kind).flatMap(({ name, node, base }) => integerPaths(node).map(({ path, s }) => ({ kind, name, base, path, s }))),
);

function validate(kind: string, path: (string | number)[], value: string, base: Record<string, unknown> = BASE[kind]) {
  const withObj = { ...base, ...(nest(path, '@@') as Record<string, unknown>) };
  const line = `    with: ${JSON.stringify(withObj).replace('"@@"', value)}`;
  const text = `version: 1\nname: t\nsteps:\n  s:\n    uses: ${kind}\n${line}\n`;
  const r = parsePipelineText(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });
  return { diagnostics: r.diagnostics, col: line.indexOf(value) + 1 };
}

describe('size-like parameters have maxima', () => {
  it('the schema gives every integer parameter of every built-in step a maximum', () => {
    expect(cases.length).toBeGreaterThan(80);
    expect(cases.filter((c) => c.s.maximum === undefined).map((c) => `${c.name}.${c.path.join('.')}`)).toEqual([]);
  });

  it.each(cases.map((c) => [`${c.name}.${c.path.join('.')}`, c] as const))(
    '%s: 1e23 is refused at validate, at its line and column; its maximum is accepted',
    (_name, c) => {
      const bad = validate(c.kind, c.path, '1e23', c.base);
      const mine = bad.diagnostics.filter((d) => d.loc?.line === 6 && d.loc.col === bad.col);
      expect(
        mine.map((d) => d.message),
        JSON.stringify(bad.diagnostics),
      ).toEqual([expect.stringMatching(new RegExp(`must be <= ${c.s.maximum}, got 1e\\+23$`))]);
      const ok = validate(c.kind, c.path, String(c.s.maximum), c.base);
      expect(ok.diagnostics.filter((d) => d.loc?.line === 6 && d.loc.col === ok.col)).toEqual([]);
    },
  );

  it('the reported case: `bars: 1e23` names the limit', () => {
    const r = parsePipelineText('version: 1\nname: t\nsteps:\n  c:\n    uses: fetch\n    with: { source: synthetic, bars: 1e23 }\n', '/tmp/p.yaml', {
      displayFile: 'p.yaml',
    });
    expect(r.diagnostics.map((d) => [d.loc?.line, d.loc?.col, d.message])).toEqual([[6, 38, '`bars` of step `c` (fetch) must be <= 10000000, got 1e+23']]);
  });
});
