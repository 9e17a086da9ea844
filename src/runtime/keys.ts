import path from 'node:path';
import { canonicalJson, sha256 } from '../core/hash.js';
import type { Plan, PlanNode } from '../compiler/index.js';
import type { FingerprintContext } from '../steps/define.js';

/**
 * Cache keys. key = hash(step kind, step version, canonical params, the keys of its inputs, the
 * seed if the step is seeded, its external fingerprint). The same key means the same output, so a
 * hit is always safe, and a param edit changes exactly that node's key and its descendants'.
 */

/** Bump to invalidate every cached artifact (a change in how keys or artifacts are formed). */
const KEY_FORMAT = 1;

export interface NodeKey {
  key: string;
  /** What the key was made of, kept in the run history to explain later misses. */
  basis: KeyBasis;
  /**
   * Set when the key cannot be known without running plugin code that was not run (a plan read
   * without importing plugins, `Plan.pluginKeyCode`): why. `key` is then not a cache key.
   */
  unknown?: string;
}

export interface KeyBasis {
  kind: string;
  version: number;
  params: Record<string, unknown>;
  inputs: Record<string, string>;
  seed: number | null;
  fingerprint: unknown;
}

/**
 * `known`: keys of node ids computed before for an earlier plan of the same search, where an id
 * names one recipe (src/compiler/variants.ts): reused, so a round neither rehashes data files nor
 * earlier trials.
 */
export async function computeKeys(plan: Plan, known?: ReadonlyMap<string, NodeKey>): Promise<Map<string, NodeKey>> {
  // Imported here, not at the top: a fully cached rerun uses this module's flattenParams without loading the YAML parser.
  const { toPointer } = await import('../parser/yaml.js');
  const dir = plan.spec.dir;
  const fpCtx = (n: PlanNode): FingerprintContext => ({
    pipelineDir: dir,
    resolvePath: (p: string) => path.resolve(dir, p),
    locate: (at) => plan.spec.positions.valueLoc(toPointer(['steps', n.step ?? n.id, 'with', ...at])),
  });
  // Fingerprints (e.g. hashing data files) are independent: do them concurrently.
  const fingerprints = new Map<string, unknown>(
    await Promise.all(
      plan.nodes.map(
        async (n): Promise<[string, unknown]> => [n.id, n.def.fingerprint && !known?.has(n.id) ? await n.def.fingerprint(n.params as never, fpCtx(n)) : null],
      ),
    ),
  );
  const keys = new Map<string, NodeKey>();
  for (const n of plan.nodes) {
    const had = known?.get(n.id);
    if (had) {
      keys.set(n.id, had);
      continue;
    }
    const basis: KeyBasis = {
      kind: n.kind,
      version: n.def.version,
      params: n.def.keyParams ? n.def.keyParams(n.params as never) : n.params,
      inputs: Object.fromEntries(Object.entries(n.inputs).map(([port, src]) => [port, keys.get(src)!.key])),
      seed: n.def.seeded ? plan.spec.seed : null,
      fingerprint: fingerprints.get(n.id) ?? null,
    };
    const code = plan.pluginKeyCode?.[n.kind];
    const upstream = Object.values(n.inputs).find((src) => keys.get(src)!.unknown);
    const unknown = code
      ? `its key depends on the plugin's ${code.map((c) => `${c}()`).join(', ')}, which only \`fxflow run\` executes`
      : upstream !== undefined
        ? `its input \`${upstream}\` has no key yet`
        : undefined;
    keys.set(n.id, unknown ? { key: '', basis, unknown } : { key: keyOf(basis), basis });
  }
  return keys;
}

export function keyOf(basis: KeyBasis): string {
  return sha256(canonicalJson({ format: KEY_FORMAT, ...basis })).slice(0, 32);
}

/** Flattens params to `path → leaf value`, paths like `indicators[0].rsi.period`. */
export function flattenParams(value: unknown, prefix = ''): [string, unknown][] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [[prefix, []]];
    return value.flatMap((v, i) => flattenParams(v, `${prefix}[${i}]`));
  }
  if (value !== null && typeof value === 'object') {
    // Code-unit order, as canonicalJson's: the same on every machine (localeCompare follows the
    // ICU locale, and its first call loads a collator: ≈ 10 ms of a fully cached rerun).
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return [[prefix, {}]];
    return entries.flatMap(([k, v]) => flattenParams(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

/** Why a node misses the cache, compared with the last successful run of the same step id. */
export function explainMiss(node: PlanNode, now: KeyBasis, previous: KeyBasis | undefined, inputReasons: Map<string, string>): string {
  if (!previous) return 'not run before';
  const reasons: string[] = [];
  if (previous.kind !== now.kind) return `step kind changed ${previous.kind} → ${now.kind}`;
  if (previous.version !== now.version) reasons.push(`step version ${previous.version} → ${now.version}`);
  const a = new Map(flattenParams(previous.params));
  const b = new Map(flattenParams(now.params));
  const changed: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const va = a.get(k);
    const vb = b.get(k);
    if (canonicalJson(va) !== canonicalJson(vb)) {
      changed.push(`param \`${k}\` ${va === undefined ? '(unset)' : canonicalJson(va)} → ${vb === undefined ? '(unset)' : canonicalJson(vb)}`);
    }
  }
  reasons.push(...changed.slice(0, 3));
  if (changed.length > 3) reasons.push(`${changed.length - 3} more params`);
  for (const [port, key] of Object.entries(now.inputs)) {
    if (previous.inputs[port] !== key) {
      const src = node.inputs[port];
      reasons.push(`input \`${port}\` changed (${src}${inputReasons.has(src) ? ` reruns` : ' differs'})`);
    }
  }
  if (previous.seed !== now.seed) reasons.push(`seed ${previous.seed} → ${now.seed}`);
  if (canonicalJson(previous.fingerprint) !== canonicalJson(now.fingerprint)) reasons.push('external data changed');
  return reasons.length ? reasons.join('; ') : 'artifact missing from the store';
}
