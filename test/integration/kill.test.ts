import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runRowWriter } from '../../src/runtime/history.js';
import { journalTx, Store, writeJournal, type JournalOp } from '../../src/runtime/store.js';
import { cachedMap, fxflow, parseRun, REPO, spawnFxflow, workdir } from '../helpers/cli.js';

/**
 * A run killed with SIGKILL at several points leaves no half-written artifact: every artifact in
 * the store reads back with a valid checksum, and the next run completes with results identical
 * to an uninterrupted run in a fresh store.
 */

function bigger(dir: string): string {
  const f = path.join(dir, 'pipelines', 'quickstart.yaml');
  // More bars, so that each step takes long enough for the kill to land while work is in flight.
  writeFileSync(f, readFileSync(f, 'utf8').replace('bars: 20000', 'bars: 150000'));
  return 'pipelines/quickstart.yaml';
}

/** Starts a run and SIGKILLs it as soon as stdout shows `✓ <afterStep>`. Resolves with the output. */
function runAndKill(dir: string, file: string, afterStep: string): Promise<{ stdout: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnFxflow(['run', file], { cwd: dir });
    let stdout = '';
    let killed = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!killed && new RegExp(`✓ ${afterStep}\\s`).test(stdout)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ stdout, signal }));
  });
}

async function checkStoreIntegrity(dir: string): Promise<number> {
  const store = await Store.open(path.join(dir, '.fxflow'));
  try {
    const keys = (await store.query('SELECT key FROM artifacts')).map((r) => String(r.key));
    for (const k of keys) expect(await store.getArtifactBytes(k), `artifact ${k} must read back whole`).toBeDefined();
    expect(await store.orphanChunks()).toEqual([]);
    // A writer killed before its row committed may leave its file (or a temporary one): never a hit.
    for (const o of await store.orphanFiles()) {
      const key = path.basename(o.file).split('.')[0];
      expect(await store.hasArtifact(key), `orphan ${o.file} must not be a hit`).toBe(false);
    }
    return keys.length;
  } finally {
    await store.close();
  }
}

describe('SIGKILL mid-run', () => {
  it('never leaves a half artifact, and the rerun equals an uninterrupted run', async () => {
    const ref = workdir();
    const refFile = bigger(ref);
    const reference = parseRun(await fxflow(['run', refFile, '--json'], { cwd: ref }));
    expect(reference.status).toBe('succeeded');

    const dir = workdir();
    const file = bigger(dir);
    let interrupted = 0;
    for (const after of ['candles', 'features', 'dataset']) {
      const r = await runAndKill(dir, file, after);
      if (r.signal === 'SIGKILL') interrupted++;
      await checkStoreIntegrity(dir);
    }
    // At least one kill must have landed before the run finished, or the test proved nothing.
    expect(interrupted).toBeGreaterThan(0);

    const rerun = parseRun(await fxflow(['run', file, '--json'], { cwd: dir }));
    expect(rerun.status).toBe('succeeded');
    expect(rerun.steps.map((s) => s.key)).toEqual(reference.steps.map((s) => s.key));
    expect(rerun.metrics).toEqual(reference.metrics);
    // Steps finished before a kill are reused.
    expect(cachedMap(rerun).candles).toBe(true);

    const runs = JSON.parse((await fxflow(['runs', '--json'], { cwd: dir })).stdout) as { status: string }[];
    expect(runs.filter((r) => r.status === 'interrupted').length).toBe(interrupted);
    // gc removes whatever killed writers left behind.
    expect((await fxflow(['gc'], { cwd: dir })).code).toBe(0);
    const after = await Store.open(path.join(dir, '.fxflow'));
    try {
      expect(await after.orphanFiles()).toEqual([]);
    } finally {
      await after.close();
    }

    await fxflow(['export', file, 'report', '--out', 'r.csv'], { cwd: dir });
    await fxflow(['export', refFile, 'report', '--out', 'r.csv'], { cwd: ref });
    expect(readFileSync(path.join(dir, 'r.csv'), 'utf8')).toBe(readFileSync(path.join(ref, 'r.csv'), 'utf8'));
  }, 240_000);
});

describe('SIGKILL right after a step completes', () => {
  it('keeps the history row of that step with its artifact (issue 17: it was written behind the scheduler and lost)', async () => {
    const dir = workdir();
    const file = bigger(dir);
    const r = await runAndKill(dir, file, 'features');
    // The kill must land before the run ends, or the test proved nothing.
    expect(r.signal).toBe('SIGKILL');
    const store = await Store.open(path.join(dir, '.fxflow'));
    try {
      const rows = await store.query(
        `SELECT s.step_id, s.status, s.cached, s.key FROM step_runs s JOIN artifacts a ON a.key = s.key WHERE s.step_id IN ('candles', 'features')`,
      );
      expect(rows.map((x) => [x.step_id, x.status, x.cached]).sort()).toEqual([
        ['candles', 'ok', false],
        ['features', 'ok', false],
      ]);
      expect((await store.query(`SELECT status FROM runs`)).map((x) => x.status)).toEqual(['interrupted']);
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe('SIGKILL while the journal is ingested', () => {
  it('records every journalled run exactly once, wherever the kill lands', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-journal-kill-'));
    await (await Store.open(dir)).close();
    // Many entries, so that the ingest takes long enough for the kill to land in it (or not: the
    // outcome must be the same either way).
    const N = 400;
    for (let i = 0; i < N; i++) {
      const id = `r${String(i).padStart(4, '0')}`;
      const ops: JournalOp[] = [];
      await runRowWriter({
        id,
        pipeline: 'p',
        file: 'p.yaml',
        fileHash: 'h',
        gitCommit: null,
        gitDirty: null,
        seed: 1,
        text: '',
        version: 'test',
        startedAt: Date.now(),
        endedAt: Date.now(),
        status: 'succeeded',
      })(journalTx(ops));
      writeJournal(dir, { id, ops });
    }
    const storeJs = pathToFileURL(path.join(REPO, 'dist', 'runtime', 'store.js')).href;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { Store } = await import(${JSON.stringify(storeJs)}); process.stdout.write('opening\\n'); await Store.open(${JSON.stringify(dir)});`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => {
      child.stdout.once('data', () => child.kill('SIGKILL'));
      child.on('close', () => resolve());
    });
    const store = await Store.open(dir);
    try {
      expect(await store.query(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM runs`)).toEqual([{ n: N, d: N }]);
      expect(await store.query(`SELECT count(*)::INTEGER AS n FROM journal_ingested`)).toEqual([{ n: N }]);
    } finally {
      await store.close();
    }
    expect(readdirSync(path.join(dir, 'journal')).filter((f) => f.endsWith('.json'))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
