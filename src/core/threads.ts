import { availableParallelism } from 'node:os';

/**
 * The core budget: how many cores fxflow may keep busy (`--jobs`). The one place that says what
 * "all cores" means, so the scheduler, the worker pools and the kernels' `threads: 0` agree.
 */
export function coreBudget(jobs?: number): number {
  if (jobs === undefined) return availableParallelism();
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new RangeError(`the core budget (jobs) must be a whole number ≥ 1, got ${jobs}`);
  return jobs;
}

/** A step's `threads` param: 0 (or absent) = the whole core budget, else that many. */
export function resolveThreads(threads: number | undefined): number {
  const t = threads ?? 0;
  return t > 0 ? Math.floor(t) : coreBudget();
}

/**
 * `--jobs` as written on a command line: a whole number ≥ 1, or the reason it is not (the CLI
 * turns that into a usage error). Decimal digits only: `Number()` would take `0x2`, `2e0` or ` 2`.
 */
export function parseJobs(text: string): number | { error: string } {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) return { error: `--jobs takes a whole number of cores ≥ 1 (default: all ${availableParallelism()}), got \`${text}\`` };
  return n;
}
