import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { spaceSize, suggest, type SearchParam, type SearchSpace } from '../evaluation/search.js';
import { isObj, type VariantBuilder } from './matrix.js';
import type { MatrixSpec, SearchSpec } from './spec.js';
import { displayPath, toPointer, type PositionMap } from './yaml.js';

/**
 * `search:` → the space, the sampler's settings and the first round's trials as variants.
 *
 * ```yaml
 * search:
 *   method: tpe            # or random
 *   trials: 40
 *   space:
 *     alpha: { loguniform: [0.01, 100] }
 *     horizon: { choice: [1, 4, 24] }
 * select: { metric: report.sharpe, on: val, mode: max }
 * ```
 *
 * Steps reference the parameters as `${matrix.alpha}`, as they would a matrix dimension. A random
 * search draws every trial here; TPE draws `startup` here and the rest while it runs, from the
 * scores so far (src/runtime/search-run.ts). The shape is the schema's job; only what it cannot say
 * (bounds in order, a log scale above 0, a finite space with fewer values than trials, `select:`
 * present for TPE) is checked here.
 */
export function expandSearch(
  doc: Record<string, unknown>,
  rawSteps: unknown,
  positions: PositionMap,
  diagnostics: Diagnostic[],
  build: VariantBuilder,
): { matrix: MatrixSpec; search: SearchSpec } | undefined {
  const raw = doc.search;
  // A bad search still lets the rest of the file be checked: each parameter takes a value from its space.
  const fallback = (): undefined => {
    build([isObj(raw) && isObj(raw.space) ? fallbackValues(raw.space) : {}], 0, diagnostics);
    return undefined;
  };
  if (!isObj(raw) || !isObj(raw.space) || typeof raw.trials !== 'number') return fallback(); // the schema reports it
  const err = (message: string, path: (string | number)[], hint?: string, atKey = false): void => {
    const ptr = toPointer(path);
    diagnostics.push({ severity: 'error', message, loc: atKey ? positions.keyLoc(ptr) : positions.valueLoc(ptr), path: displayPath(path), hint });
  };
  const before = diagnostics.length;
  if ('matrix' in doc)
    err('a pipeline has either `matrix:` or `search:`, not both', ['search'], 'sweep a grid with `matrix:`, or draw from a space with `search:`', true);
  const method = raw.method === 'random' ? 'random' : 'tpe';
  if (method === 'tpe' && !isObj(doc.select))
    err(
      'a TPE search needs `select:` to score its trials',
      ['search', 'method'],
      'add e.g. `select: { metric: report.sharpe, on: val, mode: max }`, or use `method: random`',
    );
  const space: SearchSpace = {};
  for (const [name, d] of Object.entries(raw.space)) {
    if (!isObj(d)) return fallback();
    const at = ['search', 'space', name];
    const p = paramOf(d);
    if (!p) return fallback(); // the schema reports it
    space[name] = p;
    if (p.type === 'choice') continue;
    const kind = p.type === 'int' ? 'int' : p.type;
    if (!(p.low < p.high) && !(p.type === 'int' && p.low === p.high))
      err(`\`${name}\`: the low bound ${p.low} is not below the high bound ${p.high}`, [...at, kind], `write \`{ ${kind}: [low, high] }\` with low < high`);
    else if ((p.type === 'loguniform' || (p.type === 'int' && p.log)) && p.low <= 0)
      err(`\`${name}\`: a log scale needs a low bound above 0, got ${p.low}`, [...at, kind], 'use a positive low bound, or `uniform`/`int` without `log`');
  }
  const trials = raw.trials;
  const size = spaceSize(space);
  if (trials > size)
    err(
      `${trials} trials, but the space has only ${size} distinct values`,
      ['search', 'trials'],
      size <= 1000 ? 'for every combination, use `matrix:` (a grid)' : `ask for at most ${size} trials`,
    );
  const names = Object.keys(space);
  // A `${matrix.x}` that no parameter defines.
  const text = JSON.stringify(rawSteps ?? {});
  for (const m of text.matchAll(/\$\{matrix\.([A-Za-z_][A-Za-z0-9_-]*)\}/g))
    if (!names.includes(m[1]))
      err(`\`\${matrix.${m[1]}}\` names no parameter of \`search.space\``, ['search', 'space'], suggestionHint(m[1], names, 'a parameter'), true);
  if (diagnostics.length > before) return fallback();

  const seed = typeof raw.seed === 'number' ? raw.seed : typeof doc.seed === 'number' ? doc.seed : 42;
  const startup = typeof raw.startup === 'number' ? raw.startup : 10;
  const first = suggest(space, [], method === 'random' ? trials : Math.min(startup, trials), { method, seed, startup });
  const variants = build(first, 0, diagnostics);
  const dependent = isObj(rawSteps) ? Object.keys(rawSteps).filter((id) => JSON.stringify(rawSteps[id]).includes('${matrix.')) : [];
  return {
    matrix: { names, variants },
    search: {
      method,
      trials,
      seed,
      startup,
      space,
      names,
      dependent,
      expand: (values, at, ds) => build(values, at, ds, { steps: variants[0].steps, only: new Set(dependent) }),
    },
  };
}

function paramOf(d: Record<string, unknown>): SearchParam | undefined {
  const pair = (v: unknown): [number, number] | undefined =>
    Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : undefined;
  if (Array.isArray(d.choice) && d.choice.length) return { type: 'choice', values: d.choice };
  for (const type of ['uniform', 'loguniform', 'int'] as const) {
    const b = pair(d[type]);
    if (!b) continue;
    if (type === 'int') return { type, low: b[0], high: b[1], ...(d.log === true ? { log: true } : {}) };
    return { type, low: b[0], high: b[1] };
  }
  return undefined;
}

/** A value of each parameter, for checking the steps of a search that has errors. */
function fallbackValues(space: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(space)) {
    if (!isObj(d)) continue;
    const first = Object.values(d).find(Array.isArray);
    out[k] = first?.length ? (first as unknown[])[0] : 0;
  }
  return out;
}
