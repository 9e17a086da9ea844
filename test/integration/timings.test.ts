import { beforeAll, describe, expect, it } from 'vitest';
import { fxflow, parseRun, workdir, type JsonRun } from '../helpers/cli.js';

/**
 * `fxflow run --json` says where the time went: per step its input load, compute and store times,
 * per run its start-up, store open, run and close. Only orderings that hold by construction are
 * checked (one clock, nested intervals), never how long anything took.
 */

type Timed = JsonRun & {
  durationMs: number;
  timings: Record<'startupMs' | 'storeOpenMs' | 'runMs' | 'closeMs' | 'totalMs', number>;
  steps: (JsonRun['steps'][number] & Record<'loadMs' | 'computeMs' | 'storeMs', number>)[];
};

const RUN_FIELDS = ['startupMs', 'storeOpenMs', 'runMs', 'closeMs', 'totalMs'] as const;
const STEP_FIELDS = ['durationMs', 'loadMs', 'computeMs', 'storeMs'] as const;
// Each field is rounded to the microsecond on its own: a sum of n of them may differ by n/2 µs.
const ROUNDING = 0.005;

function finite(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function checkShape(run: Timed): void {
  expect(run.status).toBe('succeeded');
  for (const f of RUN_FIELDS) expect(finite(run.timings[f]), `timings.${f} = ${run.timings[f]}`).toBe(true);
  for (const s of run.steps) for (const f of STEP_FIELDS) expect(finite(s[f]), `${s.id}.${f} = ${s[f]}`).toBe(true);
  const t = run.timings;
  // Intervals of one clock (performance.now(), from the process's start), one after the other.
  expect(t.totalMs).toBeGreaterThanOrEqual(t.runMs);
  expect(t.totalMs + ROUNDING).toBeGreaterThanOrEqual(t.startupMs + t.storeOpenMs + t.runMs + t.closeMs);
  // The scheduler runs inside the run phase, and every step's work inside the scheduler.
  expect(t.runMs).toBeGreaterThanOrEqual(run.durationMs);
  for (const s of run.steps) {
    expect(run.durationMs).toBeGreaterThanOrEqual(s.computeMs);
    expect(run.durationMs).toBeGreaterThanOrEqual(s.storeMs);
    // A step's duration is its input load and its work (not its store write), as before.
    expect(s.durationMs + ROUNDING).toBeGreaterThanOrEqual(s.loadMs + s.computeMs);
  }
}

describe('run --json timings', () => {
  let dir: string;
  beforeAll(() => {
    dir = workdir();
  });

  it('a first run reports load, compute and store per step and the run phases', async () => {
    const r = await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const run = parseRun(r) as Timed;
    checkShape(run);
    expect(run.steps.map((s) => s.cached)).toEqual([false, false, false, false, false]);
    // Every computed step wrote its artifact in a DuckDB transaction: that is never free.
    for (const s of run.steps) expect(s.storeMs, s.id).toBeGreaterThan(0);
  });

  it('a cached rerun has load, compute and store 0 for every step', async () => {
    const r = await fxflow(['run', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const run = parseRun(r) as Timed;
    checkShape(run);
    for (const s of run.steps) {
      expect(s.cached, s.id).toBe(true);
      expect({ id: s.id, loadMs: s.loadMs, computeMs: s.computeMs, storeMs: s.storeMs }).toEqual({ id: s.id, loadMs: 0, computeMs: 0, storeMs: 0 });
    }
  });
});
