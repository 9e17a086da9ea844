import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunError } from '../../src/core/diagnostics.js';
import {
  beginRun,
  changesSincePrevious,
  collectGarbage,
  endRun,
  lastStepBases,
  listModels,
  listRuns,
  loadVariants,
  recordStep,
  resolveRun,
  runMetrics,
  runParams,
  runSteps,
  stepRowsWriter,
  type StepRecord,
} from '../../src/runtime/history.js';
import { Store } from '../../src/runtime/store.js';
import { loadReportInput } from '../../src/report/load.js';

/** The run history read through src/runtime/history.ts, in-process on a temp store. */

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-history-'));
  store = await Store.open(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface FakeStep {
  id: string;
  key: string;
  cached?: boolean;
  status?: StepRecord['run']['status'];
  params?: Record<string, unknown>;
  metrics?: Record<string, number>;
}

const step = (runId: string, s: FakeStep, i: number, t0 = 0): StepRecord => ({
  run: {
    runId,
    stepId: s.id,
    kind: s.id === 'model' ? 'train' : 'fetch',
    key: s.key,
    cached: s.cached ?? false,
    startedAt: t0 + i,
    durationMs: 5,
    status: s.status ?? 'ok',
    params: s.params ?? {},
    inputs: i ? { data: 'k0' } : {},
    fingerprint: null,
    stepVersion: 2,
    seed: null,
    warnings: [],
  },
  flatParams: Object.entries(s.params ?? {}),
  metrics: s.metrics ?? {},
});

/** A finished run started at `at` (UTC), its steps recorded in order. */
async function addRun(id: string, at: string, steps: FakeStep[], pipeline = 'p'): Promise<void> {
  await beginRun(store, {
    id,
    pipeline,
    file: `${pipeline}.yaml`,
    fileHash: 'h',
    gitCommit: null,
    gitDirty: null,
    seed: 7,
    text: `name: ${pipeline}\n`,
    version: 'test',
  });
  for (const [i, s] of steps.entries()) await recordStep(store, step(id, s, i, Date.parse(`${at.replace(' ', 'T')}Z`)));
  await endRun(store, id, 'succeeded');
  // Fixed times: the order of runs is then known, not left to the clock.
  await store.query(`UPDATE runs SET started_at = $2::TIMESTAMP, ended_at = $2::TIMESTAMP + INTERVAL 3 SECOND WHERE id = $1`, [id, at]);
}

async function refError(ref: string): Promise<RunError> {
  const e = await resolveRun(store, ref).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, `resolveRun(${ref}) should fail`).toBeInstanceOf(RunError);
  return e as RunError;
}

describe('resolveRun: one rule for a run reference', () => {
  it('says there are no runs in an empty store, for latest and latest~N', async () => {
    expect((await refError('latest')).message).toBe('there are no runs yet in this store');
    expect((await refError('latest~2')).message).toBe('there are no runs yet in this store');
  });

  it('latest is the newest run, latest~N the Nth before it, whatever the pipeline; beyond the history says how many there are', async () => {
    await addRun('20260101-000000-aaa111', '2026-01-01 00:00:00', [{ id: 'data', key: 'k0' }]);
    await addRun('20260102-000000-bbb222', '2026-01-02 00:00:00', [{ id: 'data', key: 'k0' }], 'other');
    await addRun('20260103-000000-ccc333', '2026-01-03 00:00:00', [{ id: 'data', key: 'k0' }]);
    expect((await resolveRun(store, 'latest')).id).toBe('20260103-000000-ccc333');
    expect((await resolveRun(store, 'latest~0')).id).toBe('20260103-000000-ccc333');
    expect((await resolveRun(store, 'latest~1')).id).toBe('20260102-000000-bbb222');
    expect((await resolveRun(store, 'latest~2')).id).toBe('20260101-000000-aaa111');
    const beyond = await refError('latest~3');
    expect(beyond.message).toBe('there is no run latest~3: the store has 3 runs');
    expect(beyond.hint).toContain('`latest~2` is the oldest');
    expect((await refError('latest~99999999999999999999999')).message).toMatch(/^there is no run latest~9+: the store has 3 runs$/);
  });

  it('a run is the whole row: pipeline, times, duration, file, seed, the pipeline text', async () => {
    await addRun('20260101-000000-aaa111', '2026-01-01 00:00:00', [{ id: 'data', key: 'k0' }]);
    expect(await resolveRun(store, 'latest')).toEqual({
      id: '20260101-000000-aaa111',
      pipeline: 'p',
      status: 'succeeded',
      startedAt: '2026-01-01 00:00:00',
      endedAt: '2026-01-01 00:00:03',
      durationMs: 3000,
      gitCommit: null,
      gitDirty: null,
      file: 'p.yaml',
      seed: 7,
      error: null,
      text: 'name: p\n',
    });
  });

  it('a malformed latest is refused as such, not looked up as an id', async () => {
    await addRun('20260101-000000-aaa111', '2026-01-01 00:00:00', []);
    for (const ref of ['latest~', 'latest~x', 'latest-1', 'latest~-1', 'latest~1.5']) {
      const e = await refError(ref);
      expect(e.message).toBe(`\`${ref}\` is not a run reference`);
      expect(e.hint).toContain('`latest~N`');
    }
    expect((await refError('')).message).toBe('an empty run reference');
  });

  it('an id or a unique prefix; an ambiguous prefix lists the runs it matches; an unknown one says so', async () => {
    await addRun('20260101-000000-aaa111', '2026-01-01 00:00:00', []);
    await addRun('20260101-000000-aab222', '2026-01-01 00:00:01', []);
    await addRun('20260101-000000-aa', '2026-01-01 00:00:02', []);
    expect((await resolveRun(store, '20260101-000000-aaa')).id).toBe('20260101-000000-aaa111');
    expect((await resolveRun(store, '20260101-000000-aab222')).id).toBe('20260101-000000-aab222');
    // A full id that is also a prefix of others is that run.
    expect((await resolveRun(store, '20260101-000000-aa')).id).toBe('20260101-000000-aa');
    const amb = await refError('20260101-000000-a');
    expect(amb.message).toBe('run `20260101-000000-a` is ambiguous: it starts 3 run ids (20260101-000000-aa, 20260101-000000-aab222, 20260101-000000-aaa111)');
    expect(amb.hint).toBe('give more of the run id');
    const unknown = await refError('2025');
    expect(unknown.message).toBe('no run `2025` in this store');
    expect(unknown.hint).toContain('`fxflow runs` lists the runs');
  });

  it('an ambiguous prefix of many runs lists five and says there are more', async () => {
    for (let i = 0; i < 7; i++) await addRun(`r${i}`, `2026-01-0${i + 1} 00:00:00`, []);
    const e = await refError('r');
    expect(e.message).toBe('run `r` is ambiguous: it starts more than 5 run ids (r6, r5, r4, r3, r2, …)');
  });
});

describe('history queries', () => {
  beforeEach(async () => {
    await addRun('r1', '2026-01-01 00:00:00', [
      { id: 'data', key: 'k0', params: { bars: 300 } },
      { id: 'model', key: 'k1', params: { model: 'ridge', alpha: 1 }, metrics: { val_ic_y: 0.5 } },
    ]);
    await addRun('r2', '2026-01-02 00:00:00', [
      { id: 'data', key: 'k0', cached: true, params: { bars: 300 } },
      { id: 'model', key: 'k2', params: { model: 'ridge', alpha: 10 }, metrics: { val_ic_y: 0.25 } },
    ]);
    await addRun('q1', '2026-01-03 00:00:00', [{ id: 'data', key: 'k9', status: 'failed', params: { bars: 5 } }], 'q');
  });

  it('listRuns: newest first, computed/cached counts and metrics, filtered by pipeline, limited', async () => {
    const all = await listRuns(store, { limit: 20 });
    expect(all.map((r) => [r.run.id, r.computed, r.cached])).toEqual([
      ['q1', 0, 0],
      ['r2', 1, 1],
      ['r1', 2, 0],
    ]);
    expect(all[1].metrics).toEqual({ 'model.val_ic_y': 0.25 });
    expect((await listRuns(store, { pipeline: 'p', limit: 1 })).map((r) => r.run.id)).toEqual(['r2']);
    expect(await listRuns(store, { pipeline: 'none', limit: 5 })).toEqual([]);
  });

  it('runSteps, runParams, runMetrics of one run', async () => {
    const steps = await runSteps(store, 'r2');
    expect(steps.map((s) => [s.nodeId, s.step, s.key, s.cached, s.status])).toEqual([
      ['data', 'data', 'k0', true, 'ok'],
      ['model', 'model', 'k2', false, 'ok'],
    ]);
    expect(steps[1].params).toEqual({ model: 'ridge', alpha: 10 });
    expect(await runParams(store, 'r2')).toEqual(
      new Map([
        ['data', new Map([['bars', '300']])],
        [
          'model',
          new Map([
            ['alpha', '10'],
            ['model', '"ridge"'],
          ]),
        ],
      ]),
    );
    expect(await runMetrics(store, 'r1')).toEqual(new Map([['model.val_ic_y', 0.5]]));
  });

  it('changesSincePrevious compares with the previous run of the same pipeline only', async () => {
    expect(await changesSincePrevious(store, 'r2')).toEqual([{ step: 'model', path: 'alpha', yamlPath: 'steps.model.with.alpha', from: 1, to: 10 }]);
    expect(await changesSincePrevious(store, 'r1')).toEqual([]);
    // q1 is the newest run, but of another pipeline: nothing before it.
    expect(await changesSincePrevious(store, 'q1')).toEqual([]);
  });

  it('lastStepBases: the basis of the newest completed run of each step of a pipeline', async () => {
    const bases = await lastStepBases(store, 'p');
    expect(bases.get('model')).toEqual({
      kind: 'train',
      version: 2,
      params: { model: 'ridge', alpha: 10 },
      inputs: { data: 'k0' },
      seed: null,
      fingerprint: null,
    });
    // q1's data step failed: no basis recorded for it.
    expect((await lastStepBases(store, 'q')).size).toBe(0);
  });

  it('a sweep run with no variants recorded has none', async () => {
    expect(await loadVariants(store, 'r1')).toEqual([]);
  });
});

describe('models and gc', () => {
  const put = (key: string, type: string, rows?: StepRecord) =>
    store.putArtifact(
      key,
      { type, kind: type === 'Model' ? 'train' : 'fetch', stepVersion: 2, meta: { metrics: { val_ic_y: 0.5 }, warnings: [] } },
      Uint8Array.of(1, 2, 3),
      rows && stepRowsWriter(rows),
    );

  it('listModels: each Model artifact with the newest run that used it; a step row commits with its artifact', async () => {
    await addRun('r1', '2026-01-01 00:00:00', []);
    await put('k1', 'Model', step('r1', { id: 'model', key: 'k1', params: { model: 'gbm' } }, 1));
    await put('k0', 'Candles', step('r1', { id: 'data', key: 'k0' }, 0));
    await addRun('r2', '2026-01-02 00:00:00', [{ id: 'model', key: 'k1', cached: true, params: { model: 'gbm' } }], 'p2');
    const models = await listModels(store);
    expect(models.map((m) => [m.key, m.model, m.run, m.pipeline, m.step, m.bytes, m.metrics])).toEqual([
      ['k1', 'gbm', 'r2', 'p2', 'model', 3, { val_ic_y: 0.5 }],
    ]);
    expect(await listModels(store, 'p')).toEqual([]);
    expect((await runSteps(store, 'r1')).map((s) => s.key)).toEqual(['k0', 'k1']);
  });

  it('collectGarbage keeps what the kept runs reference; a dry run removes nothing', async () => {
    await addRun('r1', '2026-01-01 00:00:00', [{ id: 'data', key: 'ka' }]);
    await addRun('r2', '2026-01-02 00:00:00', [{ id: 'data', key: 'kb' }]);
    await addRun('r3', '2026-01-03 00:00:00', [
      { id: 'data', key: 'kb', cached: true },
      { id: 'model', key: 'kc' },
    ]);
    for (const k of ['ka', 'kb', 'kc', 'kd']) await put(k, 'Candles');
    const keys = (r: { removed: { key: string }[] }) => r.removed.map((x) => x.key).sort();
    const dry = await collectGarbage(store, { keepLast: 1, dryRun: true });
    expect([dry.runs, dry.keptRuns, dry.artifacts, keys(dry), dry.bytes]).toEqual([3, 1, 4, ['ka', 'kd'], 6]);
    expect(await store.hasArtifact('ka')).toBe(true);
    // Started within a day and a half of Jan 3 noon: r2 and r3.
    const byAge = await collectGarbage(store, { olderThanMs: 36 * 3600e3, now: Date.parse('2026-01-03T12:00:00Z'), dryRun: true });
    expect([byAge.keptRuns, keys(byAge)]).toEqual([2, ['ka', 'kd']]);
    const none = await collectGarbage(store, {});
    expect([none.keptRuns, keys(none)]).toEqual([3, ['kd']]);
    const last = await collectGarbage(store, { keepLast: 1 });
    expect(keys(last)).toEqual(['ka']);
    expect(await store.hasArtifact('ka')).toBe(false);
    expect(await store.hasArtifact('kb')).toBe(true);
    // The history stays: the removed artifact's run is still there.
    expect((await resolveRun(store, 'latest~2')).id).toBe('r1');
  });
});

describe('the report reads runs by the same rule', () => {
  it('latest is the newest run even without a report; the error names the newest run that has one', async () => {
    await addRun('r1', '2026-01-01 00:00:00', []);
    await store.putArtifact(
      'kr',
      { type: 'Report', kind: 'backtest', stepVersion: 1, meta: { metrics: {}, warnings: [] } },
      Uint8Array.of(1),
      stepRowsWriter(step('r1', { id: 'report', key: 'kr' }, 0)),
    );
    await addRun('r2', '2026-01-02 00:00:00', [{ id: 'data', key: 'k0' }], 'plain');
    const e = await loadReportInput(store, 'latest').then(
      () => undefined,
      (x: unknown) => x as RunError,
    );
    expect(e).toBeInstanceOf(RunError);
    expect(e!.message).toBe('run r2 (plain) has no backtest report');
    expect(e!.hint).toBe('the newest run with one is r1 (p): fxflow report r1');
    // By id: its steps, to say what it ran instead.
    const byId = await loadReportInput(store, 'r2').then(
      () => undefined,
      (x: unknown) => x as RunError,
    );
    expect(byId!.hint).toBe('its steps: data (fetch, ok)');
    await expect(loadReportInput(store, 'latest~5')).rejects.toThrow('there is no run latest~5: the store has 2 runs');
  });
});

describe('one home for the run history', () => {
  it('no SQL on the store outside src/runtime/store.ts and src/runtime/history.ts', () => {
    const root = path.resolve(import.meta.dirname, '../../src');
    const allowed = new Set(['runtime/store.ts', 'runtime/history.ts']);
    // A statement on one of the store's tables, or a raw query through the store.
    const sql =
      /\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:runs|step_runs|params|metrics|run_variants|run_nodes|artifacts|artifact_chunks|meta)\b|\bstore\??\.(?:query|transaction)\(/;
    const offenders: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const file = path.join(d, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (/\.ts$/.test(name)) {
          const rel = path.relative(root, file).split(path.sep).join('/');
          if (allowed.has(rel)) continue;
          readFileSync(file, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (sql.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(root);
    expect(offenders, 'run-history SQL belongs in src/runtime/history.ts').toEqual([]);
  });
});
