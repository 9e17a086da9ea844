import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { pageRuns } from '../../src/runtime/history.js';
import { LiveProgress, readLiveRun, readLiveRuns, type LiveRun } from '../../src/runtime/live.js';
import { SilentProgress } from '../../src/runtime/progress.js';
import { Store } from '../../src/runtime/store.js';
import { StoreSnapshot } from '../../src/ui/snapshot.js';

/** The pieces under `fxflow ui`: a run's live file, the snapshot of a store held by a writer, a page of runs. */

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const nodes: { id: string; kind: string; inputs: Record<string, string> }[] = [
  { id: 'candles', kind: 'fetch', inputs: {} },
  { id: 'model', kind: 'train', inputs: { dataset: 'candles' } },
];

describe('live file of a running run', () => {
  it('follows the progress events, and is removed when the run is recorded', async () => {
    const dir = tmp();
    const live = new LiveProgress(dir, 'r1', 'demo', nodes, new SilentProgress());
    live.start(nodes);
    const file = path.join(dir, 'live', 'r1.json');
    const read = (): LiveRun => JSON.parse(readFileSync(file, 'utf8')) as LiveRun;
    expect(read().steps.map((s) => [s.id, s.state])).toEqual([
      ['candles', 'waiting'],
      ['model', 'waiting'],
    ]);
    expect(read().steps[1].inputs).toEqual({ dataset: 'candles' });
    live.stepStarted('candles', { cached: true });
    live.stepFinished('candles', { status: 'ok', cached: true, durationMs: 3, summary: '10 bars' });
    live.stepStarted('model', { cached: false, reason: 'not run before' });
    live.stepProgress('model', 0.5, 'epoch 5/10');
    // Writes are throttled; finish() writes what is pending.
    await live.finish();
    const r = read();
    expect(r.pid).toBe(process.pid);
    expect(r.steps).toMatchObject([
      { id: 'candles', state: 'ok', cached: true, durationMs: 3, summary: '10 bars' },
      { id: 'model', state: 'running', cached: false, fraction: 0.5, message: 'epoch 5/10', reason: 'not run before' },
    ]);
    expect(readLiveRun(dir, 'r1')?.runId).toBe('r1');
    expect(readLiveRuns(dir).map((x) => x.runId)).toEqual(['r1']);
    live.close();
    expect(existsSync(file)).toBe(false);
    expect(readLiveRun(dir, 'r1')).toBeUndefined();
  });

  it('ignores the file of a process that is gone (a killed run) and ids that are not file names', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'live'));
    // A pid that certainly exited: a child that has been waited for.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const run: LiveRun = { runId: 'dead', pipeline: 'p', pid: Number(gone), startedAt: 1, updatedAt: 1, steps: [], logs: [] };
    writeFileSync(path.join(dir, 'live', 'dead.json'), JSON.stringify(run));
    expect(readLiveRun(dir, 'dead')).toBeUndefined();
    expect(readLiveRuns(dir)).toEqual([]);
    expect(readLiveRun(dir, '../dead')).toBeUndefined();
  });
});

describe('the store as the UI reads it', () => {
  it('reads a store another process holds for writing, without taking its lock', async () => {
    const dir = tmp();
    const writer = await Store.open(dir);
    const row = (id: string, t: string): DuckDBValue[] => [id, 'p', 'f', 'h', null, null, t, t, 'succeeded', 1, 'name: p\n', null, 'test'];
    await writer.transaction((tx) => tx.insert('runs', [row('a', '2024-01-01 00:00:00')]));
    // DuckDB refuses a second open of the file while the writer holds it, even read-only.
    const other = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api'; try { await DuckDBInstance.create(${JSON.stringify(path.join(dir, 'fxflow.duckdb'))}, { access_mode: 'READ_ONLY' }); console.log('opened'); } catch (e) { console.log(e.message.split('\\n')[0]); }`,
      ],
      { cwd: process.cwd() },
    );
    expect(other.stdout.toString()).toMatch(/Could not set lock on file|Conflicting lock/);
    const snap = new StoreSnapshot(dir);
    try {
      const count = (): Promise<number> => snap.read(async (s) => (await pageRuns(s, { sort: 'started', desc: true, offset: 0, limit: 10 })).total);
      expect(await count()).toBe(1);
      // A later commit of the writer is seen on the next read.
      await writer.transaction((tx) => tx.insert('runs', [row('b', '2024-01-02 00:00:00')]));
      expect(await count()).toBe(2);
      // The writer still owns its file: it writes and closes as usual.
      await writer.transaction((tx) => tx.insert('runs', [row('c', '2024-01-03 00:00:00')]));
    } finally {
      await writer.close();
      await snap.close();
    }
    const reopened = await Store.open(dir, { waitMs: 0 });
    expect((await pageRuns(reopened, { sort: 'started', desc: true, offset: 0, limit: 10 })).runs.map((r) => r.run.id)).toEqual(['c', 'b', 'a']);
    await reopened.close();
  });

  it('says clearly when there is no store', () => {
    const dir = tmp();
    expect(() => new StoreSnapshot(path.join(dir, 'none'))).toThrow(/there is no fxflow store at .*none \(no fxflow.duckdb in it\)/);
  });

  it('pages runs: filters, sorts by a metric with runs lacking it last, pages', async () => {
    const dir = tmp();
    const store = await Store.open(dir);
    // Hand-made: five runs, sharpe 0.5, 2, (none), -1, 2 (ties newest first), two failed.
    const runs = [
      ['r1', '2024-01-01 00:00:00', 'succeeded', 0.5],
      ['r2', '2024-01-02 00:00:00', 'failed', 2],
      ['r3', '2024-01-03 00:00:00', 'succeeded', undefined],
      ['r4', '2024-01-04 00:00:00', 'failed', -1],
      ['r5', '2024-01-05 00:00:00', 'succeeded', 2],
    ] as const;
    await store.transaction(async (tx) => {
      await tx.insert(
        'runs',
        runs.map(([id, t, st]) => [id, id === 'r1' ? 'other' : 'p', 'f', 'h', null, null, t, t, st, 1, '', null, 'test']),
      );
      await tx.insert(
        'metrics',
        runs.filter((r) => r[3] !== undefined).map(([id, , , v]) => [id, 'report', 'sharpe', v as number]),
        { doubles: [3] },
      );
    });
    const ids = async (q: Partial<Parameters<typeof pageRuns>[1]>): Promise<string[]> =>
      (await pageRuns(store, { sort: 'started', desc: true, offset: 0, limit: 10, ...q })).runs.map((r) => r.run.id);
    expect(await ids({})).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(await ids({ sort: 'metric:sharpe' })).toEqual(['r5', 'r2', 'r1', 'r4', 'r3']);
    expect(await ids({ sort: 'metric:sharpe', desc: false })).toEqual(['r4', 'r1', 'r5', 'r2', 'r3']);
    expect(await ids({ status: 'failed' })).toEqual(['r4', 'r2']);
    expect(await ids({ pipeline: 'other' })).toEqual(['r1']);
    const page2 = await pageRuns(store, { sort: 'started', desc: true, offset: 2, limit: 2 });
    expect([page2.total, page2.runs.map((r) => r.run.id)]).toEqual([5, ['r3', 'r2']]);
    expect((await pageRuns(store, { sort: 'metric:sharpe', desc: true, offset: 0, limit: 1 })).runs[0].metrics).toEqual({ 'report.sharpe': 2 });
    await store.close();
  });
});
