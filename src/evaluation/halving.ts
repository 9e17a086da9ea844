import { canonicalJson } from '../core/hash.js';

/**
 * Early stopping of bad trials by asynchronous successive halving (ASHA; Li, Jamieson, Rostamizadeh
 * et al. 2020, "A system for massively parallel hyperparameter tuning", Algorithm 2). Every trial
 * starts at the lowest fidelity (e.g. 50 boosting rounds); a trial among the best 1/η of those
 * finished on its rung goes up to the next rung (η times the fidelity), so only the promising ones
 * ever run at full fidelity. A free slot takes the highest promotable trial first, a new trial
 * only when none is. When every trial has been drawn and every round has ended, nothing further
 * is promotable and the search stops: it then holds what synchronous successive halving would
 * (⌊n/η⌋ of the n on each rung went up).
 *
 * Pure: the rungs come from the spec, the promotions from the scores so far; ties keep the earlier
 * trial, so the same scores give the same promotions.
 */

export interface HalvingSpec {
  /** The parameter the steps read as `${matrix.<param>}` (not in the search space). */
  param: string;
  min: number;
  max: number;
  /** Reduction factor: the best 1/η of a rung go up; each rung has η times the fidelity. */
  eta: number;
}

/**
 * The fidelity of each rung: `min`, …, `max`, geometric, as many rungs as whole factors of η fit
 * between them (min · η^k exactly when max/min is a power of η). Integers when both ends are.
 */
export function rungs(h: HalvingSpec): number[] {
  const k = Math.max(1, Math.round(Math.log(h.max / h.min) / Math.log(h.eta)));
  const ints = Number.isInteger(h.min) && Number.isInteger(h.max);
  const out: number[] = [];
  for (let i = 0; i <= k; i++) {
    const x = i === k ? h.max : h.min * (h.max / h.min) ** (i / k);
    // Rounded: min·η^k computed through a power is off in its last bit (3 · 3^2 = 27.000000000000004).
    out.push(ints ? Math.round(x) : Number(x.toPrecision(12)));
  }
  return out;
}

/** A trial's result as the sweep recorded it: its values (the fidelity among them) and its score. */
export interface RungResult {
  values: Record<string, unknown>;
  /** Higher is better (the caller flips a `min` metric); undefined for a trial without a score. */
  score?: number;
}

/** The configuration of a trial: its values less the fidelity. */
export function configOf(values: Record<string, unknown>, param: string): Record<string, unknown> {
  const { [param]: _f, ...rest } = values;
  return rest;
}

/**
 * Up to `slots` promotions, highest rung first: each is a trial's configuration with the next
 * rung's fidelity. A trial is promotable from rung k when it is among the best ⌊n_k/η⌋ of the n_k
 * scored on rung k and is not on rung k+1 already (results holds every trial run so far).
 */
export function promotions(h: HalvingSpec, results: readonly RungResult[], slots: number): Record<string, unknown>[] {
  const ladder = rungs(h);
  const rungOf = (v: Record<string, unknown>): number => ladder.indexOf(v[h.param] as number);
  const on = new Set(results.map((r) => `${rungOf(r.values)} ${canonicalJson(configOf(r.values, h.param))}`));
  const out: Record<string, unknown>[] = [];
  for (let k = ladder.length - 2; k >= 0 && out.length < slots; k--) {
    const scored = results.map((r, i) => ({ r, i })).filter(({ r }) => rungOf(r.values) === k && typeof r.score === 'number' && Number.isFinite(r.score));
    // Best first; ties keep the earlier trial.
    scored.sort((a, b) => b.r.score! - a.r.score! || a.i - b.i);
    const top = scored.slice(0, Math.floor(scored.length / h.eta));
    for (const { r } of top) {
      if (out.length >= slots) break;
      const config = configOf(r.values, h.param);
      const key = `${k + 1} ${canonicalJson(config)}`;
      if (on.has(key)) continue;
      on.add(key);
      out.push({ ...config, [h.param]: ladder[k + 1] });
    }
  }
  return out;
}

/** The highest rung's fidelity among the scored results (the winner is chosen on it), if any. */
export function topFidelity(h: HalvingSpec, results: readonly RungResult[]): number | undefined {
  let top: number | undefined;
  for (const r of results) {
    const f = r.values[h.param];
    if (typeof r.score === 'number' && Number.isFinite(r.score) && typeof f === 'number' && (top === undefined || f > top)) top = f;
  }
  return top;
}
