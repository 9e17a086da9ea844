import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { beginRun, recordStep, runRowWriter, stepRowsWriter } from '../../src/runtime/history.js';
import { artifactFile } from '../../src/runtime/artifact-files.js';
import { journalTx, Store, writeJournal, type JournalEntry, type JournalOp, type StoreTx } from '../../src/runtime/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const meta = { metrics: { sharpe: 1.25 }, summary: 'ok', warnings: [] };

/** Flips one bit in the middle of an artifact's file (damage on purpose). */
function flipBit(file: string): void {
  const b = readFileSync(file);
  b[b.length >> 1] ^= 0x10;
  writeFileSync(file, b);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('store', () => {
  it('stores an artifact as a file named by its key, with a sidecar, and reads it back', async () => {
    const store = await Store.open(dir);
    const bytes = new Uint8Array(40 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4099) bytes[i] = i % 251;
    await store.putArtifact('k1', { type: 'Features', kind: 'features', stepVersion: 1, meta }, bytes);
    // The bytes as they are, at <store>/artifacts/<2 chars>/<key>; no temporary file left.
    const file = path.join(dir, 'artifacts', 'k1', 'k1');
    expect(artifactFile(dir, 'k1')).toBe(file);
    expect(Buffer.compare(readFileSync(file), Buffer.from(bytes))).toBe(0);
    expect(readdirSync(path.dirname(file)).sort()).toEqual(['k1', 'k1.json']);
    expect(JSON.parse(readFileSync(`${file}.json`, 'utf8'))).toMatchObject({ key: 'k1', type: 'Features', bytes: bytes.length, sha256: sha(bytes) });
    // The catalogue row holds the checksum (an independent hash of the bytes).
    expect(await store.query(`SELECT bytes, sha256 FROM artifacts WHERE key = 'k1'`)).toEqual([{ bytes: BigInt(bytes.length), sha256: sha(bytes) }]);
    const back = await store.getArtifactBytes('k1');
    expect(back?.length).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(back!), Buffer.from(bytes))).toBe(0);
    const info = await store.artifactInfo('k1');
    expect(info?.meta.metrics.sharpe).toBe(1.25);
    expect(await store.getArtifactBytes('missing')).toBeUndefined();
    expect(await store.orphanFiles()).toEqual([]);
    await store.close();
  });

  it('reads, and deletes, artifacts of stores written before files (artifact_chunks, then a chunk table per writer); writes new ones as files', async () => {
    // The oldest layout: every artifact's chunks in artifact_chunks (with a primary key), no chunk_table column.
    const inst = await DuckDBInstance.create(path.join(dir, 'fxflow.duckdb'));
    const c = await inst.connect();
    await c.run(`CREATE TABLE artifacts (key VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, kind VARCHAR NOT NULL, step_version INTEGER NOT NULL,
      bytes BIGINT NOT NULL, chunks INTEGER NOT NULL, sha256 VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, meta JSON NOT NULL)`);
    await c.run('CREATE TABLE artifact_chunks (key VARCHAR NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, idx))');
    const old = Uint8Array.from([5, 6, 7]);
    await c.run(`INSERT INTO artifact_chunks VALUES ('old', 0, '\\x05\\x06\\x07'::BLOB)`);
    await c.run(`INSERT INTO artifacts VALUES ('old', 'Candles', 'fetch', 1, 3, 1, '${sha(old)}', now(), '${JSON.stringify(meta)}')`);
    // The layout before files: a chunk table per writer, named in chunk_table; two chunks.
    const mid = Uint8Array.from([1, 2, 3, 4]);
    await c.run('ALTER TABLE artifacts ADD COLUMN chunk_table VARCHAR');
    await c.run('CREATE TABLE "chunks_20260101000000000_abc" (key VARCHAR NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL)');
    await c.run(`INSERT INTO "chunks_20260101000000000_abc" VALUES ('mid', 1, '\\x03\\x04'::BLOB), ('mid', 0, '\\x01\\x02'::BLOB)`);
    await c.run(
      `INSERT INTO artifacts VALUES ('mid', 'Candles', 'fetch', 1, 4, 2, '${sha(mid)}', now(), '${JSON.stringify(meta)}', 'chunks_20260101000000000_abc')`,
    );
    c.closeSync();
    inst.closeSync();

    const store = await Store.open(dir);
    expect(Array.from((await store.getArtifactBytes('old'))!)).toEqual([5, 6, 7]);
    expect(Array.from((await store.getArtifactBytes('mid'))!)).toEqual([1, 2, 3, 4]);
    expect([...(await store.artifactInfos(['old', 'mid'])).keys()].sort()).toEqual(['mid', 'old']);
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
    await store.putArtifact('new', { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, bytes);
    await store.putArtifact('new', { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, bytes);
    expect(Array.from((await store.getArtifactBytes('new'))!)).toEqual(Array.from(bytes));
    expect(existsSync(artifactFile(dir, 'new'))).toBe(true);
    expect(await store.query(`SELECT count(*)::INTEGER AS n FROM artifact_chunks`)).toEqual([{ n: 1 }]);
    await store.deleteArtifacts(['old', 'mid', 'new']);
    expect(await store.getArtifactBytes('old')).toBeUndefined();
    expect(await store.getArtifactBytes('new')).toBeUndefined();
    expect(existsSync(artifactFile(dir, 'new'))).toBe(false);
    expect(await store.query(`SELECT count(*)::INTEGER AS n FROM artifact_chunks`)).toEqual([{ n: 0 }]);
    // The per-writer table emptied by the deletion is dropped.
    expect(await store.query(`SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'chunks_')`)).toEqual([]);
    expect(await store.query(`SELECT count(*)::INTEGER AS n FROM artifacts`)).toEqual([{ n: 0 }]);
    expect(await store.orphanChunks()).toEqual([]);
    await store.close();
  });

  it('writes rows in one transaction, replacing rows of the same key', async () => {
    const store = await Store.open(dir);
    const variant = (i: number, score: number) => ['r1', i, `v${i}`, '{}', '{}', 'sharpe (max)', score, false];
    type Rows = Parameters<StoreTx['insert']>[1];
    const replaceRows = (variants: Rows, nodes: Rows) =>
      store.transaction(async (tx) => {
        await tx.insert('run_variants', variants, { orReplace: true, doubles: [6] });
        await tx.insert('run_nodes', nodes, { orReplace: true });
      });
    await replaceRows([variant(0, 1), variant(1, 2)], [['r1', 'a', 'a', '[0,1]']]);
    await replaceRows([variant(1, 5)], []);
    expect(await store.query(`SELECT idx, score FROM run_variants WHERE run_id = 'r1' ORDER BY idx`)).toEqual([
      { idx: 0, score: 1 },
      { idx: 1, score: 5 },
    ]);
    expect(await store.query(`SELECT node_id FROM run_nodes WHERE run_id = 'r1'`)).toEqual([{ node_id: 'a' }]);
    // A failing batch writes nothing of itself: the variants before the bad node row are rolled back.
    await expect(replaceRows([variant(2, 9)], [['r1', null, 'x', '[]']])).rejects.toThrow();
    expect(await store.query(`SELECT count(*)::INTEGER AS n FROM run_variants WHERE run_id = 'r1'`)).toEqual([{ n: 2 }]);
    await store.close();
  });

  it('treats an artifact whose bytes do not match their checksum as absent', async () => {
    const store = await Store.open(dir);
    await store.putArtifact('k', { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, new Uint8Array([1, 2, 3, 4]));
    writeFileSync(artifactFile(dir, 'k'), Uint8Array.of(9, 9, 9, 9));
    expect(await store.getArtifactBytes('k')).toBeUndefined();
    await store.close();
  });

  it('treats an artifact whose file is gone or shortened as absent, and one without its file as no hit', async () => {
    const store = await Store.open(dir);
    const bytes = new Uint8Array(20 * 1024 * 1024).fill(7);
    await store.putArtifact('gone', { type: 'Features', kind: 'features', stepVersion: 1, meta }, bytes);
    await store.putArtifact('short', { type: 'Features', kind: 'features', stepVersion: 1, meta }, bytes);
    rmSync(artifactFile(dir, 'gone'));
    truncateSync(artifactFile(dir, 'short'), 1000);
    expect(await store.getArtifactBytes('gone')).toBeUndefined();
    expect(await store.getArtifactBytes('short')).toBeUndefined();
    expect([...(await store.artifactInfos(['gone', 'short'])).keys()]).toEqual(['short']);
    expect(await store.hasArtifact('gone')).toBe(false);
    await store.close();
  });

  it('finds files no catalogue row accounts for (a killed writer, a killed deletion) and removes them', async () => {
    const store = await Store.open(dir);
    await store.putArtifact('kept', { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, Uint8Array.of(1, 2));
    // What a writer killed before its row committed leaves: a temporary file, or a renamed one without a row.
    const orphan = artifactFile(dir, 'ab12');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(orphan), { recursive: true });
    writeFileSync(orphan, Uint8Array.of(3));
    writeFileSync(`${orphan}.4242.xyz.tmp`, Uint8Array.of(4, 4));
    writeFileSync(`${artifactFile(dir, 'kept')}.99.abc.tmp`, Uint8Array.of(5));
    const found = await store.orphanFiles();
    expect(found.map((o) => path.basename(o.file))).toEqual(['ab12', 'ab12.4242.xyz.tmp', 'kept.99.abc.tmp']);
    expect(found.reduce((n, o) => n + o.bytes, 0)).toBe(4);
    // Not a hit: no catalogue row.
    expect(await store.hasArtifact('ab12')).toBe(false);
    await store.removeOrphanFiles();
    expect(await store.orphanFiles()).toEqual([]);
    expect(Array.from((await store.getArtifactBytes('kept'))!)).toEqual([1, 2]);
    await store.close();
  });

  it('serialises concurrent writes on its one connection', async () => {
    const store = await Store.open(dir);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.putArtifact(`k${i}`, { type: 'Candles', kind: 'fetch', stepVersion: 1, meta }, new Uint8Array([i, i, i]))),
    );
    for (let i = 0; i < 20; i++) expect(Array.from((await store.getArtifactBytes(`k${i}`))!)).toEqual([i, i, i]);
    await store.close();
  });

  it('marks runs left running by a killed process as interrupted when reopened', async () => {
    const a = await Store.open(dir);
    await beginRun(a, { id: 'r1', pipeline: 'p', file: 'f', fileHash: 'h', gitCommit: null, gitDirty: null, seed: 1, text: 't', version: '0' });
    await a.close();
    const b = await Store.open(dir);
    const [row] = await b.query(`SELECT status FROM runs WHERE id = 'r1'`);
    expect(row.status).toBe('interrupted');
    await b.close();
  });
});

describe('a damaged cached artifact', () => {
  it('is recomputed by the run that finds it damaged, which goes on and succeeds', async () => {
    const { mkdtempSync: mk, writeFileSync } = await import('node:fs');
    const { parsePipelineText } = await import('../../src/parser/index.js');
    const { compile } = await import('../../src/compiler/index.js');
    const { builtinRegistry } = await import('../../src/steps/index.js');
    const { runPlan } = await import('../../src/runtime/run.js');
    const { SilentProgress } = await import('../../src/runtime/progress.js');
    const work = mk(path.join(tmpdir(), 'fxflow-damage-'));
    const text = 'version: 1\nname: d\nsteps:\n  candles: { uses: fetch, with: { bars: 300 } }\n  features: { uses: features, from: candles }\n';
    writeFileSync(path.join(work, 'p.yaml'), text);
    const plan = compile(parsePipelineText(text, path.join(work, 'p.yaml')).spec!, builtinRegistry()).plan!;
    const store = await Store.open(path.join(work, '.fxflow'));
    const first = await runPlan(plan, { store, progress: new SilentProgress() });
    expect(first.status).toBe('succeeded');
    // Damage candles' stored bytes, then change features so it must read candles back.
    const candlesKey = first.steps[0].key;
    flipBit(artifactFile(path.join(work, '.fxflow'), candlesKey));
    const text2 = text.replace('from: candles }', 'from: candles, with: { returns: [2] } }');
    const plan2 = compile(parsePipelineText(text2, path.join(work, 'p.yaml')).spec!, builtinRegistry()).plan!;
    const logs: string[] = [];
    const progress = Object.assign(new SilentProgress(), { stepLog: (id: string, m: string) => void logs.push(`${id}: ${m}`) });
    const second = await runPlan(plan2, { store, progress });
    expect(second.status).toBe('succeeded');
    expect(second.steps.map((s) => [s.id, s.cached, s.status])).toEqual([
      ['candles', false, 'ok'],
      ['features', false, 'ok'],
    ]);
    expect(logs).toContain('features: artifact of step candles damaged: recomputed');
    expect(await store.getArtifactBytes(candlesKey)).toBeDefined();
    // Recorded once per step, as computed, with its metrics once.
    const rows = await store.query(`SELECT step_id, cached FROM step_runs WHERE run_id = $1 ORDER BY step_id`, [second.runId]);
    expect(rows).toEqual([
      { step_id: 'candles', cached: false },
      { step_id: 'features', cached: false },
    ]);
    const m = await store.query(
      `SELECT name, count(*)::INTEGER AS n FROM metrics WHERE run_id = $1 AND step_id = 'candles' GROUP BY name HAVING count(*) > 1`,
      [second.runId],
    );
    expect(m).toEqual([]);
    const third = await runPlan(plan2, { store, progress: new SilentProgress() });
    expect(third.status).toBe('succeeded');
    expect(third.steps.map((s) => s.cached)).toEqual([true, true]);
    await store.close();
  });
});

describe('metrics of any double value', () => {
  it("stores 1e300 (a whole number past int64), NaN and ±Infinity, in the history and in an artifact's meta", async () => {
    const store = await Store.open(dir);
    const metrics = { big: 1e300, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, small: 2 };
    await beginRun(store, { id: 'r1', pipeline: 'p', file: 'p.yaml', fileHash: 'h', gitCommit: null, gitDirty: null, seed: 1, text: '', version: 'test' });
    await recordStep(store, {
      run: {
        runId: 'r1',
        stepId: 's',
        kind: 'backtest',
        key: 'k',
        cached: false,
        startedAt: Date.now(),
        durationMs: 1,
        status: 'ok',
        params: {},
        inputs: {},
        fingerprint: null,
        stepVersion: 1,
        seed: null,
        warnings: [],
      },
      flatParams: [],
      metrics,
    });
    const rows = await store.query(`SELECT name, value FROM metrics WHERE run_id = 'r1' ORDER BY name`);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.value]))).toEqual(metrics);
    await store.putArtifact('k', { type: 'Report', kind: 'backtest', stepVersion: 1, meta: { metrics, warnings: [] } }, Uint8Array.of(1));
    expect((await store.artifactInfo('k'))!.meta.metrics).toEqual(metrics);
    await store.close();
  });
});

describe('a failure writing the history', () => {
  it('fails the run and marks it failed, not left running', async () => {
    const { parsePipelineText } = await import('../../src/parser/index.js');
    const { compile } = await import('../../src/compiler/index.js');
    const { builtinRegistry } = await import('../../src/steps/index.js');
    const { runPlan } = await import('../../src/runtime/run.js');
    const { SilentProgress } = await import('../../src/runtime/progress.js');
    const text = 'version: 1\nname: h\nsteps:\n  candles: { uses: fetch, with: { bars: 300 } }\n';
    const plan = compile(parsePipelineText(text, path.join(dir, 'p.yaml')).spec!, builtinRegistry()).plan!;
    const store = await Store.open(path.join(dir, 'store'));
    expect((await runPlan(plan, { store, progress: new SilentProgress() })).status).toBe('succeeded');
    // A metrics table that refuses the cached step's metrics (bars: 300 > 0): a real write failure.
    await store.query('DROP TABLE metrics');
    await store.query('CREATE TABLE metrics (run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value DOUBLE CHECK (value < 0))');
    const r = await runPlan(plan, { store, progress: new SilentProgress() });
    expect(r.steps[0].cached).toBe(true);
    expect(r.status).toBe('failed');
    expect(r.error?.message).toMatch(/CHECK constraint/i);
    const [row] = await store.query(`SELECT status FROM runs WHERE id = $1`, [r.runId]);
    expect(row.status).toBe('failed');
    await store.close();
  });
});

describe('the journal (runs recorded without opening DuckDB)', () => {
  const run = (id: string) => ({
    id,
    pipeline: 'p',
    file: 'p.yaml',
    fileHash: 'h',
    gitCommit: null,
    gitDirty: null,
    seed: 7,
    text: 'steps: {}',
    version: 'test',
    startedAt: Date.parse('2026-02-03T04:05:06Z'),
    endedAt: Date.parse('2026-02-03T04:05:07Z'),
    status: 'succeeded',
  });
  const step = (runId: string, metrics: Record<string, number>) => ({
    run: {
      runId,
      stepId: 's',
      kind: 'backtest',
      key: 'k',
      cached: true,
      startedAt: Date.parse('2026-02-03T04:05:06Z'),
      durationMs: 1,
      status: 'ok' as const,
      params: { a: 1 },
      inputs: {},
      fingerprint: null,
      stepVersion: 1,
      seed: null,
      warnings: [],
    },
    flatParams: [['a', 1]] as [string, unknown][],
    metrics,
  });
  async function entry(id: string, metrics: Record<string, number>): Promise<JournalEntry> {
    const ops: JournalOp[] = [];
    await runRowWriter(run(id))(journalTx(ops));
    await stepRowsWriter(step(id, metrics))(journalTx(ops));
    return { id, ops };
  }
  const counts = async (store: Store) =>
    (
      await store.query(
        `SELECT (SELECT count(*) FROM runs)::INTEGER AS runs, (SELECT count(*) FROM step_runs)::INTEGER AS steps, (SELECT count(*) FROM params)::INTEGER AS params, (SELECT count(*) FROM metrics)::INTEGER AS metrics`,
      )
    )[0];

  it('is ingested at the next open, with its values as written (NaN and ±Infinity included), and its file removed', async () => {
    await Store.open(dir).then((s) => s.close());
    const metrics = { sharpe: 1.5, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, big: 1e300 };
    const file = writeJournal(dir, await entry('r1', metrics));
    expect(file).toBe(path.join(dir, 'journal', 'r1.json'));
    const store = await Store.open(dir);
    expect(existsSync(file)).toBe(false);
    expect(await store.query(`SELECT id, status, seed, CAST(started_at AS VARCHAR) AS t FROM runs`)).toEqual([
      { id: 'r1', status: 'succeeded', seed: 7n, t: '2026-02-03 04:05:06' },
    ]);
    expect(await store.query(`SELECT step_id, cached FROM step_runs WHERE run_id = 'r1'`)).toEqual([{ step_id: 's', cached: true }]);
    const rows = await store.query(`SELECT name, value FROM metrics WHERE run_id = 'r1'`);
    expect(Object.fromEntries(rows.map((r) => [r.name, r.value]))).toEqual(metrics);
    await store.close();
  });

  it('is ingested once: an entry found again (a kill after the commit, before the file went) adds nothing', async () => {
    await Store.open(dir).then((s) => s.close());
    const e = await entry('r1', { x: 1 });
    writeJournal(dir, e);
    await Store.open(dir).then((s) => s.close());
    writeJournal(dir, e);
    writeJournal(dir, await entry('r2', { x: 2 }));
    const store = await Store.open(dir);
    expect(await counts(store)).toEqual({ runs: 2, steps: 2, params: 2, metrics: 2 });
    expect(readdirSync(path.join(dir, 'journal'))).toEqual([]);
    await store.close();
  });

  it('commits all of an entry or none of it; an entry the store refuses is set aside, the others go in', async () => {
    await Store.open(dir).then((s) => s.close());
    const good = await entry('r1', { x: 1 });
    const bad = await entry('r2', { x: 2 });
    // Its run row and params go in, then a statement fails: none of r2 may stay.
    bad.ops.push({ run: 'INSERT INTO no_such_table VALUES (1)', values: [] });
    writeJournal(dir, good);
    writeJournal(dir, bad);
    // And a half-written temporary file (a journal writer killed before its rename) is not read.
    writeFileSync(path.join(dir, 'journal', 'r3.json.1.x.tmp'), '{"id":"r3","ops":[');
    const store = await Store.open(dir);
    expect(await store.query(`SELECT id FROM runs`)).toEqual([{ id: 'r1' }]);
    expect(await counts(store)).toEqual({ runs: 1, steps: 1, params: 1, metrics: 1 });
    expect(readdirSync(path.join(dir, 'journal')).sort()).toEqual(['r2.json.bad', 'r3.json.1.x.tmp']);
    await store.close();
  });
});
