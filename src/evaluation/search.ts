import { canonicalJson } from '../core/hash.js';
import { makeRng, type Rng } from '../data/rng.js';
import { normalCdf } from '../core/normal.js';

/**
 * Hyper-parameter search beyond grids: random search and a tree-structured Parzen estimator (TPE,
 * Bergstra, Bardenet, Bengio & Kégl 2011, "Algorithms for hyper-parameter optimization"), in the
 * form hyperopt and Optuna use by default: each parameter modelled on its own, the trials so far
 * split into the best γ share ("good") and the rest, a Parzen density l(x) of the good and g(x)
 * of the rest, and the candidate (of 24 drawn from l) maximising l(x)/g(x) suggested.
 *
 * Pure and seeded: the suggestions of a round depend only on the seed, the round's position (the
 * number of trials before it) and the results so far, so the same seed gives the same trials.
 */

export type SearchParam =
  | { type: 'uniform'; low: number; high: number }
  | { type: 'loguniform'; low: number; high: number }
  | { type: 'int'; low: number; high: number; log?: boolean }
  | { type: 'choice'; values: unknown[] };

export type SearchSpace = Record<string, SearchParam>;

export type TrialValues = Record<string, unknown>;

export interface Observation {
  values: TrialValues;
  /** Lower is better; undefined for a trial that failed or has no score (left out of the model). */
  loss?: number;
}

export interface SamplerOptions {
  method: 'random' | 'tpe';
  seed: number;
  /** Trials drawn at random before TPE models anything (default 10). */
  startup?: number;
  /** Candidates drawn from l(x) per suggestion (default 24). */
  candidates?: number;
  /** Share of the trials that count as good (default 0.25, at most 25 trials). */
  gamma?: number;
}

/** Significant digits kept of a sampled real: readable labels, and equal values for near-equal draws. */
const DIGITS = 4;

/**
 * The next `count` trials. A batch (one round of `--jobs` width) is drawn from the same model
 * without results between its members; they differ by their random candidates, and an exact
 * repeat of an earlier trial is redrawn a few times.
 */
export function suggest(space: SearchSpace, history: Observation[], count: number, opts: SamplerOptions): TrialValues[] {
  const rng = makeRng(mix(opts.seed, history.length));
  const startup = opts.startup ?? 10;
  const scored = history.filter((h) => typeof h.loss === 'number' && Number.isFinite(h.loss));
  const useTpe = opts.method === 'tpe' && history.length >= startup && scored.length >= 2;
  const models = useTpe ? Object.fromEntries(Object.entries(space).map(([k, p]) => [k, fit(p, k, scored, opts.gamma ?? 0.25)])) : undefined;
  const seen = new Set(history.map((h) => canonicalJson(h.values)));
  const out: TrialValues[] = [];
  for (let i = 0; i < count; i++) {
    let v: TrialValues = {};
    for (let attempt = 0; attempt < 10; attempt++) {
      v = {};
      for (const [k, p] of Object.entries(space)) v[k] = models ? models[k](rng, opts.candidates ?? 24) : fromInternal(p, sampleUniform(p, rng));
      if (!seen.has(canonicalJson(v))) break;
    }
    seen.add(canonicalJson(v));
    out.push(v);
  }
  return out;
}

function mix(seed: number, n: number): number {
  return Math.imul((Math.trunc(seed) ^ 0x5bd1e995) >>> 0, 0x27d4eb2d) + n * 0x9e3779b1;
}

// ---- numeric parameters, in an internal real space (log for loguniform) ----

interface Bounds {
  lo: number;
  hi: number;
}

function bounds(p: Exclude<SearchParam, { type: 'choice' }>): Bounds {
  if (p.type === 'uniform') return { lo: p.low, hi: p.high };
  if (p.type === 'loguniform') return { lo: Math.log(p.low), hi: Math.log(p.high) };
  // int: [low, high + 1) floored, so every integer has the same share.
  return p.log ? { lo: Math.log(p.low), hi: Math.log(p.high + 1) } : { lo: p.low, hi: p.high + 1 };
}

function sampleUniform(p: SearchParam, rng: Rng): number {
  if (p.type === 'choice') return rng.int(p.values.length);
  const b = bounds(p);
  return b.lo + rng.next() * (b.hi - b.lo);
}

/** Internal value → the parameter's value (a choice's internal value is its index). */
function fromInternal(p: SearchParam, u: number): unknown {
  switch (p.type) {
    case 'choice':
      return p.values[u];
    case 'uniform':
      return clamp(round(u), p.low, p.high);
    case 'loguniform':
      return clamp(round(Math.exp(u)), p.low, p.high);
    case 'int':
      return clamp(Math.floor(p.log ? Math.exp(u) : u), p.low, p.high);
  }
}

/** A parameter's value → internal (the inverse of fromInternal, at the middle of an integer's cell). */
function toInternal(p: SearchParam, v: unknown): number {
  switch (p.type) {
    case 'choice': {
      const i = p.values.findIndex((x) => canonicalJson(x) === canonicalJson(v));
      return i < 0 ? 0 : i;
    }
    case 'uniform':
      return Number(v);
    case 'loguniform':
      return Math.log(Number(v));
    case 'int':
      return p.log ? Math.log(Number(v) + 0.5) : Number(v) + 0.5;
  }
}

function round(x: number): number {
  return Number(x.toPrecision(DIGITS));
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

// ---- TPE ----

type Draw = (rng: Rng, candidates: number) => unknown;

/** Splits the scored trials into good and bad for one parameter and returns its sampler. */
function fit(p: SearchParam, name: string, scored: Observation[], gamma: number): Draw {
  const sorted = [...scored].sort((a, b) => a.loss! - b.loss!);
  const nGood = Math.min(25, Math.max(1, Math.ceil(gamma * sorted.length)));
  const good = sorted.slice(0, nGood).map((o) => toInternal(p, o.values[name]));
  const bad = sorted.slice(nGood).map((o) => toInternal(p, o.values[name]));
  if (p.type === 'choice') {
    const l = categorical(good, p.values.length);
    const g = categorical(bad, p.values.length);
    return (rng, n) => {
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < n; c++) {
        const i = pick(l, rng);
        const s = Math.log(l[i]) - Math.log(g[i]);
        if (s > bestScore) {
          bestScore = s;
          best = i;
        }
      }
      return p.values[best];
    };
  }
  const b = bounds(p);
  const l = parzen(good, b);
  const g = parzen(bad, b);
  return (rng, n) => {
    let best = l.sample(rng);
    let bestScore = -Infinity;
    for (let c = 0; c < n; c++) {
      const x = c === 0 ? best : l.sample(rng);
      const s = l.logPdf(x) - g.logPdf(x);
      if (s > bestScore) {
        bestScore = s;
        best = x;
      }
    }
    return fromInternal(p, best);
  };
}

/** Category probabilities: counts plus a prior of one per category. */
function categorical(obs: number[], k: number): number[] {
  const w = new Array<number>(k).fill(1);
  for (const i of obs) w[i]++;
  const t = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / t);
}

function pick(p: number[], rng: Rng): number {
  let u = rng.next();
  for (let i = 0; i < p.length; i++) {
    u -= p[i];
    if (u < 0) return i;
  }
  return p.length - 1;
}

interface Parzen {
  sample(rng: Rng): number;
  logPdf(x: number): number;
}

/**
 * hyperopt's adaptive Parzen estimator: a Gaussian at each observation and one prior Gaussian at the
 * middle of the range (σ = the range), each truncated to the range; an observation's σ is the larger
 * gap to its sorted neighbours (the prior's mean among them), clipped to [range / min(100, n + 1), range].
 */
function parzen(obs: number[], b: Bounds): Parzen {
  const range = b.hi - b.lo;
  const prior = (b.lo + b.hi) / 2;
  const mus = [...obs, prior].sort((x, y) => x - y);
  const minSigma = range / Math.min(100, mus.length);
  const sigmas = mus.map((m, i) => {
    const left = i > 0 ? m - mus[i - 1] : m - b.lo;
    const right = i < mus.length - 1 ? mus[i + 1] - m : b.hi - m;
    return clamp(Math.max(left, right), minSigma, range);
  });
  // The prior keeps σ = range (the first Gaussian at `prior`, whichever index it sorted to).
  const pi = mus.indexOf(prior);
  sigmas[pi] = range;
  const mass = mus.map((m, i) => normalCdf((b.hi - m) / sigmas[i]) - normalCdf((b.lo - m) / sigmas[i]));
  const k = mus.length;
  const logNorm = Math.log(k);
  return {
    sample(rng) {
      const i = rng.int(k);
      for (let t = 0; t < 100; t++) {
        const x = mus[i] + sigmas[i] * rng.normal();
        if (x >= b.lo && x < b.hi) return x;
      }
      return b.lo + rng.next() * range;
    },
    logPdf(x) {
      let s = 0;
      for (let i = 0; i < k; i++) {
        const z = (x - mus[i]) / sigmas[i];
        s += Math.exp(-0.5 * z * z) / (sigmas[i] * Math.sqrt(2 * Math.PI) * mass[i]);
      }
      return Math.log(s) - logNorm;
    },
  };
}

/** Number of distinct values a space can take (Infinity with a real parameter): a search cannot have more trials than that. */
export function spaceSize(space: SearchSpace): number {
  let n = 1;
  for (const p of Object.values(space)) {
    if (p.type === 'choice') n *= p.values.length;
    else if (p.type === 'int') n *= p.high - p.low + 1;
    else return Infinity;
  }
  return n;
}
