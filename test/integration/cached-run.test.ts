import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactFile } from '../../src/runtime/artifact-files.js';
import { cachedMap, edit, fxflow, parseRun, workdir, type JsonRun } from '../helpers/cli.js';

/**
 * A rerun whose every step is a hit runs without opening DuckDB (issue 18): its history goes to a
 * journal file, which the next command that opens the store ingests before it reads anything.
 */

const QUICK = 'pipelines/quickstart.yaml';
type Run = JsonRun & { journal?: boolean; report?: string; timings: { storeOpenMs: number } };
const journal = (dir: string): string[] => {
  const d = path.join(dir, '.fxflow', 'journal');
  return existsSync(d) ? readdirSync(d).sort() : [];
};

describe('a fully cached rerun', () => {
  it('is recorded through the journal: runs, show and gc see it; its report is the one drawn for the same keys', async () => {
    const dir = workdir();
    const first = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    expect(first.status).toBe('succeeded');
    expect(first.journal).toBeUndefined();
    expect(existsSync(first.report!)).toBe(true);

    // Two at once: neither waits for the other, and both are recorded.
    const [a, b] = (await Promise.all([fxflow(['run', QUICK, '--json'], { cwd: dir }), fxflow(['run', QUICK, '--json'], { cwd: dir })])).map(
      (r) => parseRun(r) as Run,
    );
    for (const r of [a, b]) {
      expect(r.status).toBe('succeeded');
      expect(r.journal).toBe(true);
      expect(r.timings.storeOpenMs).toBe(0);
      expect(Object.values(cachedMap(r)).every(Boolean)).toBe(true);
      expect(r.metrics).toEqual(first.metrics);
      expect(r.report).toBe(first.report);
    }
    expect(journal(dir)).toEqual([`${a.runId}.json`, `${b.runId}.json`].sort());

    // The next command that opens the store ingests them first.
    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { id: string; status: string }[];
    expect(runs.map((r) => r.id).sort()).toEqual([first.runId, a.runId, b.runId].sort());
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(journal(dir)).toEqual([]);
    const show = JSON.parse((await fxflow(['show', a.runId, '--json'], { cwd: dir })).stdout) as { metrics: Record<string, number>; steps: unknown[] };
    expect(show.metrics['report.sharpe']).toBe(first.metrics.report.sharpe);
    expect(show.steps.length).toBe(5);

    // gc ingests a pending entry before it chooses: the newest run (journalled) keeps its artifacts.
    const c = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    expect(c.journal).toBe(true);
    const gc = JSON.parse((await fxflow(['gc', '--keep-last', '1', '--json'], { cwd: dir })).stdout) as { removed: unknown[]; keptRuns: number };
    expect(gc.keptRuns).toBe(1);
    expect(gc.removed).toEqual([]);
    const again = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    expect(again.journal).toBe(true);
  }, 180_000);

  it('opens the store when a step is not a hit by its files, or no report was drawn for this text', async () => {
    const dir = workdir();
    const first = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    // The same keys, another text (a comment): the report shows the text, so it is drawn again.
    edit(path.join(dir, QUICK), 'version: 1', '# a comment\nversion: 1');
    const edited = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    expect(edited.journal).toBeUndefined();
    expect(Object.values(cachedMap(edited)).every(Boolean)).toBe(true);
    expect(edited.report).not.toBe(first.report);
    expect((parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run).journal).toBe(true);
    // The model's file gone: not a hit, recomputed in a run that opens the store.
    const model = first.steps.find((s) => s.id === 'model')!.key;
    rmSync(artifactFile(path.join(dir, '.fxflow'), model));
    const rerun = parseRun(await fxflow(['run', QUICK, '--json'], { cwd: dir })) as Run;
    expect(rerun.journal).toBeUndefined();
    expect(cachedMap(rerun)).toMatchObject({ candles: true, features: true, dataset: true, model: false });
    expect(rerun.metrics).toEqual(first.metrics);
  }, 180_000);
});
