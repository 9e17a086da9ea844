import { loadPipelineSchema } from '../../parser/validate.js';
import { loadPlan } from '../../pipeline.js';
import type { JsonSchema } from '../../schema/fromTypes.js';
import { builtinRegistry } from '../../steps/index.js';
import { parse, printUsage, type Command, type Io } from '../common.js';
import { styleFor } from '../format.js';

/** A schema's type in a few characters: `integer ≥ 2`, `"csv" | "synthetic"`, `number[]`. */
function typeOf(s: JsonSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(typeOf).join(' | ');
  if (s.type === 'array') return `${typeOf((s.items as JsonSchema | undefined) ?? {})}[]`;
  if (s.type === 'object' && s.maxProperties === 1) return `one of ${Object.keys((s.properties as object | undefined) ?? {}).join(', ')}`;
  let t = String(s.type ?? 'any');
  if (s.minimum !== undefined) t += ` ≥ ${s.minimum}`;
  if (s.exclusiveMinimum !== undefined) t += ` > ${s.exclusiveMinimum}`;
  if (s.maximum !== undefined) t += ` ≤ ${s.maximum}`;
  return t;
}

async function cmdSteps(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) return printUsage(stepsCommand, io);
  // With a pipeline, its plugins' kinds are listed too (from the same metadata the validator uses).
  const plan = positionals[0] ? await loadPlan(positionals[0]) : undefined;
  const registry = builtinRegistry();
  const defs = (loadPipelineSchema().$defs ?? {}) as Record<string, JsonSchema>;
  const kinds = new Map(registry.kinds().map((k) => [k, registry.get(k)!] as const));
  for (const n of plan?.nodes ?? []) if (!kinds.has(n.kind)) kinds.set(n.kind, n.def);
  const out = [...kinds.values()].map((def) => {
    const schema = defs[`params.${def.kind}`] ?? (plan?.pluginParams?.[def.kind] as JsonSchema | undefined) ?? { properties: {} };
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const param = (name: string, p: JsonSchema, when?: string) => ({
      name,
      ...(when ? { when } : {}),
      type: typeOf(p),
      default: p.default,
      description: p.description as string | undefined,
    });
    // A union discriminated on `model:` (train): each branch's own params, with the branch named.
    const tag = (schema.discriminator as { propertyName?: string } | undefined)?.propertyName;
    const branches = tag && Array.isArray(schema.oneOf) ? (schema.oneOf as JsonSchema[]) : [];
    return {
      kind: def.kind,
      description: def.description,
      inputs: def.inputs,
      output: def.output,
      params: [
        ...Object.entries(props).map(([name, p]) => param(name, p)),
        ...branches.flatMap((b) => {
          const bp = (b.properties ?? {}) as Record<string, JsonSchema>;
          const when = `${tag}: ${String(bp[tag!]?.const)}`;
          return Object.entries(bp)
            .filter(([name]) => name !== tag)
            .map(([name, p]) => param(name, p, when));
        }),
      ],
    };
  });
  if (values.json) {
    io.out.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const style = styleFor(io.out);
  for (const s of out) {
    const ins =
      Object.entries(s.inputs)
        .map(([p, t]) => `${p}: ${t}`)
        .join(', ') || '—';
    io.out.write(`${style.bold(s.kind)}  (${ins}) → ${s.output}\n  ${s.description}\n`);
    for (const p of s.params) {
      const def = p.default === undefined ? '' : ` = ${JSON.stringify(p.default)}`;
      io.out.write(
        `    ${style.cyan(p.name)}${p.when ? ` (${p.when})` : ''}: ${p.type}${style.dim(def)}${p.description ? `  ${style.dim(p.description)}` : ''}\n`,
      );
    }
    io.out.write('\n');
  }
  return 0;
}

export const stepsCommand: Command = {
  usage: `Usage: fxflow steps [FILE] [--json]

Lists the built-in step kinds (and, given a pipeline FILE, its plugins' kinds) with their input
ports, output type and parameters: type, default and description, from the same metadata the
validator and the editor schema use. Never executes plugin code: plugins are read from source.`,
  run: cmdSteps,
};
