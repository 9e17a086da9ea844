import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { rungs, type HalvingSpec } from '../evaluation/halving.js';
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
    const h = isObj(raw) && isObj(raw.halving) && typeof raw.halving.param === 'string' ? { [raw.halving.param]: raw.halving.min ?? 1 } : {};
    build([{ ...(isObj(raw) && isObj(raw.space) ? fallbackValues(raw.space) : {}), ...h }], 0, diagnostics);
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
  const halving = isObj(raw.halving) ? halvingOf(raw.halving, space, err) : undefined;
  if (halving) {
    // ⌊n/η⌋ go up from each rung: fewer than η^(rungs−1) trials and none reaches `max`.
    const need = halving.eta ** (rungs(halving).length - 1);
    if (trials < need)
      err(
        `with ${trials} trials and eta ${halving.eta}, no trial would reach the last rung (${halving.param} = ${halving.max}): successive halving needs at least ${need}`,
        ['search', 'trials'],
        `ask for at least ${need} trials, or raise \`min\` or \`eta\` for fewer rungs`,
      );
  }
  const names = [...Object.keys(space), ...(halving ? [halving.param] : [])];
  // A `${matrix.x}` that no parameter defines.
  const text = JSON.stringify(rawSteps ?? {});
  if (halving && !text.includes(`\${matrix.${halving.param}}`))
    err(
      `no step reads the fidelity \`\${matrix.${halving.param}}\`: every rung would run the same trial`,
      ['search', 'halving', 'param'],
      `pass it to the step it should cut short, e.g. \`n_estimators: "\${matrix.${halving.param}}"\` (gbm) or \`epochs: "\${matrix.${halving.param}}"\``,
    );
  for (const m of text.matchAll(/\$\{matrix\.([A-Za-z_][A-Za-z0-9_-]*)\}/g))
    if (!names.includes(m[1]))
      err(`\`\${matrix.${m[1]}}\` names no parameter of \`search.space\``, ['search', 'space'], suggestionHint(m[1], names, 'a parameter'), true);
  if (diagnostics.length > before) return fallback();

  const seed = typeof raw.seed === 'number' ? raw.seed : typeof doc.seed === 'number' ? doc.seed : 42;
  const startup = typeof raw.startup === 'number' ? raw.startup : 10;
  const drawn = suggest(space, [], method === 'random' ? trials : Math.min(startup, trials), { method, seed, startup });
  // With halving every trial starts on the first rung.
  const first = halving ? drawn.map((v) => ({ ...v, [halving.param]: rungs(halving)[0] })) : drawn;
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
      ...(halving ? { halving } : {}),
      names,
      dependent,
      expand: (values, at, ds) => build(values, at, ds, { steps: variants[0].steps, only: new Set(dependent) }),
    },
  };
}

/** `halving:`, its bounds checked (the shape is the schema's); undefined (with an error) when unusable. */
function halvingOf(
  raw: Record<string, unknown>,
  space: SearchSpace,
  err: (message: string, path: (string | number)[], hint?: string, atKey?: boolean) => void,
): HalvingSpec | undefined {
  const { param, min, max } = raw;
  const eta = typeof raw.eta === 'number' ? raw.eta : 3;
  if (typeof param !== 'string' || typeof min !== 'number' || typeof max !== 'number') return undefined; // the schema reports it
  const at = ['search', 'halving'];
  if (Object.hasOwn(space, param)) {
    err(
      `\`${param}\` is both a parameter of \`search.space\` and the halving fidelity`,
      [...at, 'param'],
      'the fidelity is set by the rungs, not drawn: remove it from `space`',
    );
    return undefined;
  }
  if (!(min < max)) {
    err(
      `the halving's \`min\` ${min} is not below its \`max\` ${max}`,
      [...at, 'min'],
      'write e.g. `{ param: rounds, min: 50, max: 450 }` (3 rungs with eta 3)',
    );
    return undefined;
  }
  if (max / min < eta)
    err(
      `\`max\` ${max} is less than \`eta\` (${eta}) times \`min\` ${min}: there is no second rung`,
      [...at, 'max'],
      `raise \`max\` to at least ${min * eta}, or lower \`eta\``,
    );
  return { param, min, max, eta };
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
