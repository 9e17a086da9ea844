import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { RunError } from '../core/diagnostics.js';
import { sha256 } from '../core/hash.js';
import {
  ARTIFACTS_DIR,
  artifactFile,
  artifactName,
  readArtifactFile,
  readSidecar,
  SIDECAR_SUFFIX,
  TMP_SUFFIX,
  writeFileAtomic,
  writeSidecar,
  type SidecarEntry,
} from './artifact-files.js';

/**
 * The store: a folder holding artifacts as files (content-addressed by cache key:
 * `artifacts/<2 chars>/<key>`) and one DuckDB file with their catalogue (type, size, sha256, the
 * step's metrics) and the run history's tables. This module owns both, the schema, the journal of
 * runs recorded without opening DuckDB (./cached-run.ts writes it, `open` ingests it), and the
 * low-level query/transaction API; every query on the run history (runs, step runs, params,
 * metrics, variants, models, gc's choice of runs) is in ./history.ts.
 *
 * An artifact is written to a temporary name in its folder, fsynced and renamed into place before
 * its catalogue row commits; a hit needs the row and the file, and a read verifies the size and
 * the sha256, so a run killed at any point never leaves something a later run takes for a wrong
 * hit (a file without a row is a miss, removed by gc; a row without a file is a miss). Stores
 * written before (artifacts as BLOB chunks in DuckDB tables) are read as they are.
 *
 * One connection, and every operation goes through a queue: DuckDB transactions are per
 * connection, and steps finish concurrently.
 */

export const STORE_FILE = 'fxflow.duckdb';

/**
 * DuckDB's binding, imported when a store is opened: loading it takes ≈ 0.3 s, which commands
 * that open no store (`--help`, `validate`) and library users who only parse must not pay.
 */
type DuckDB = typeof import('@duckdb/node-api');
const SCHEMA_VERSION = '1';
/**
 * Stores written before artifacts moved to files (issue 18) hold them as BLOB chunks of 16 MB, read
 * as they are: each process that wrote artifacts put their chunks in a table of its own, named by this
 * prefix, the time and a random suffix. DuckDB's checkpoint (at every close) rewrites the row
 * group new rows are appended to, with all the blobs already in it: with one table for all chunks,
 * a run that stored a few KB closed in 1.5 s on a store holding 640 MB (0.3 s at 130 MB), and
 * the file grew to twice its data. A table per writer bounds that to what the run wrote.
 * Tables left empty by deletions are dropped.
 */
const CHUNK_TABLE_PREFIX = 'chunks_';
const LEGACY_CHUNKS = 'artifact_chunks';
/** `artifacts.chunk_table` of an artifact stored as a file (no table has this name). */
const IN_FILE = '@file';
const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Artifact `key` as a hit without opening DuckDB (./cached-run.ts): its sidecar (written once its
 * catalogue row committed) and its file, of the size the sidecar says. Undefined if either is
 * missing or they disagree. The bytes are not read (nor checked: a step that reads them does).
 */
export function sidecarHit(dir: string, key: string): { type: string; meta: ArtifactMeta } | undefined {
  const entry = readSidecar(dir, key);
  return entry && { type: entry.type, meta: decodeMeta(entry.meta) };
}

/** Where runs recorded without opening DuckDB (./cached-run.ts) wait for the next open to ingest them. */
export const JOURNAL_DIR = 'journal';

/** A value in a journalled statement: what JSON holds, a non-finite number as `{ $num: "NaN" }`. */
type JournalValue = string | number | boolean | null;
/** One statement of a journalled run, replayed on the store's connection in the ingest transaction. */
export type JournalOp = { run: string; values: JournalValue[] } | { insert: string; rows: JournalValue[][]; orReplace?: boolean; doubles?: number[] };

/** A journal file: the statements that record one run, ingested once (by `id`) in one transaction. */
export interface JournalEntry {
  id: string;
  ops: JournalOp[];
}

const encodeJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v));
const decodeJson = (text: string): unknown =>
  JSON.parse(text, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && typeof (v as { $num?: unknown }).$num === 'string' ? Number((v as { $num: string }).$num) : v,
  );

/** Writes a journal entry into the store in `dir` (temporary name, fsync, rename): the next open ingests it. */
export function writeJournal(dir: string, entry: JournalEntry): string {
  const file = path.join(dir, JOURNAL_DIR, `${entry.id}.json`);
  writeFileAtomic(file, [Buffer.from(encodeJson(entry))]);
  return file;
}

/** A StoreTx that records its statements for a journal entry instead of running them (reads are not allowed). */
export function journalTx(ops: JournalOp[]): StoreTx {
  return {
    run: async (sql, values = []) => {
      ops.push({ run: sql, values: values as JournalValue[] });
    },
    rows: () => Promise.reject(new Error('a journalled transaction cannot read')),
    insert: async (table, rows, opts = {}) => {
      if (rows.length) ops.push({ insert: table, rows: rows as JournalValue[][], ...opts });
    },
  };
}

export interface ArtifactInfo {
  key: string;
  type: string;
  kind: string;
  stepVersion: number;
  bytes: number;
  createdAt: string;
  /** Metrics and summary of the step that made it, so a cache hit needs no artifact load. */
  meta: ArtifactMeta;
}

export interface ArtifactMeta {
  metrics: Record<string, number>;
  summary?: string;
  warnings: string[];
}

const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS artifacts (
     key VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, kind VARCHAR NOT NULL, step_version INTEGER NOT NULL,
     bytes BIGINT NOT NULL, chunks INTEGER NOT NULL, sha256 VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
     meta JSON NOT NULL)`,
  // Chunks of artifacts written before chunk tables (see CHUNK_TABLE_PREFIX); new stores leave it empty.
  `CREATE TABLE IF NOT EXISTS artifact_chunks (key VARCHAR NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL)`,
  // Where an artifact's chunks are (NULL: artifact_chunks, for artifacts stored before this column).
  `ALTER TABLE artifacts ADD COLUMN IF NOT EXISTS chunk_table VARCHAR`,
  `CREATE TABLE IF NOT EXISTS runs (
     id VARCHAR PRIMARY KEY, pipeline VARCHAR NOT NULL, file VARCHAR NOT NULL, file_hash VARCHAR NOT NULL,
     git_commit VARCHAR, git_dirty BOOLEAN, started_at TIMESTAMP NOT NULL, ended_at TIMESTAMP,
     status VARCHAR NOT NULL, seed BIGINT NOT NULL, pipeline_text VARCHAR NOT NULL, error VARCHAR,
     fxflow_version VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS step_runs (
     run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, key VARCHAR NOT NULL,
     cached BOOLEAN NOT NULL, started_at TIMESTAMP NOT NULL, duration_ms DOUBLE NOT NULL, status VARCHAR NOT NULL,
     error VARCHAR, params JSON, inputs JSON, fingerprint JSON, step_version INTEGER, seed BIGINT,
     summary VARCHAR, warnings JSON, PRIMARY KEY (run_id, step_id))`,
  `CREATE TABLE IF NOT EXISTS params (run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, path VARCHAR NOT NULL, value JSON)`,
  `CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value DOUBLE)`,
  // Sweeps (./history.ts): each variant of a run with its matrix values and score, and
  // which variants use each node of the run.
  `CREATE TABLE IF NOT EXISTS run_variants (
     run_id VARCHAR NOT NULL, idx INTEGER NOT NULL, label VARCHAR NOT NULL, vals JSON NOT NULL, metrics JSON NOT NULL,
     select_metric VARCHAR, score DOUBLE, selected BOOLEAN NOT NULL, PRIMARY KEY (run_id, idx))`,
  // Journal files (./cached-run.ts) already ingested: an ingest killed after its commit, before it
  // removed the file, is not ingested twice.
  `CREATE TABLE IF NOT EXISTS journal_ingested (id VARCHAR PRIMARY KEY, ingested_at TIMESTAMP NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS run_nodes (run_id VARCHAR NOT NULL, node_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, variants JSON NOT NULL, PRIMARY KEY (run_id, node_id))`,
  // A sweep's overfitting statistics of its winner (deflated Sharpe, PBO: ./search-run.ts), as JSON.
  `CREATE TABLE IF NOT EXISTS run_overfit (run_id VARCHAR PRIMARY KEY, stats JSON NOT NULL)`,
  // The model registry's stage events (./history.ts): appended, never updated or deleted, so a
  // model's stage is its newest event and every earlier champion stays in the history.
  `CREATE TABLE IF NOT EXISTS model_stages (
     seq BIGINT PRIMARY KEY, key VARCHAR NOT NULL, stage VARCHAR NOT NULL, changed_at TIMESTAMP NOT NULL, by_user VARCHAR NOT NULL, note VARCHAR)`,
];

function infoFromRow(row: Record<string, unknown>): ArtifactInfo {
  return {
    key: String(row.key),
    type: String(row.type),
    kind: String(row.kind),
    stepVersion: Number(row.step_version),
    bytes: Number(row.bytes),
    createdAt: String(row.created_at),
    meta: decodeMeta(String(row.meta)),
  };
}

/**
 * JSON has no NaN or ±Infinity (JSON.stringify writes null): a non-finite metric is kept in an
 * artifact's meta as the string "NaN", "Infinity" or "-Infinity", so a cache hit shows what the
 * step computed.
 */
function encodeMeta(meta: ArtifactMeta): string {
  return JSON.stringify(meta, (k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

function decodeMeta(text: string): ArtifactMeta {
  const meta = JSON.parse(text) as ArtifactMeta;
  for (const [k, v] of Object.entries(meta.metrics ?? {})) {
    if (typeof v === 'string') meta.metrics[k] = Number(v);
  }
  return meta;
}

/**
 * What a DuckDB error says about the store file, as an error for the user, or undefined for one
 * that is not about the file. A lock conflict is recognised by DuckDB's own words ("Could not set
 * lock on file", "Conflicting lock"): a bare /lock/ also matches "block", which every corruption
 * message names.
 */
export function storeFileError(file: string, e: unknown): RunError | 'locked' | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  if (/Could not set lock on file|Conflicting lock is held/i.test(msg)) return 'locked';
  const first = msg.split('\n')[0];
  if (/Corrupt database file|checksum .* does not match|not a valid DuckDB database file/i.test(msg)) {
    return new RunError(`the store ${file} is damaged: ${first}`, {
      hint: `move it aside and rerun: \`mv ${file} ${file}.damaged\` — the next run rebuilds the cache (the old run history stays readable in the moved file as far as it is intact)`,
    });
  }
  // DuckDB's words for ENOSPC/EDQUOT, and for EFBIG (a file-size limit, `ulimit -f`).
  const full = /No space left on device|Disk quota exceeded/i.test(msg)
    ? 'no space left on device'
    : /File too large/i.test(msg)
      ? 'the file-size limit (ulimit -f) was reached'
      : undefined;
  if (full) {
    return new RunError(`${full} while writing the store at ${file}: free space and rerun; the store is intact (${first})`, {
      hint: 'what was committed before stays readable; the rerun reuses every step that completed',
    });
  }
  return undefined;
}

/**
 * The low-level API the run history (./history.ts) writes through inside one transaction: raw
 * statements on the store's one connection, which only a transaction's callback may use.
 */
export interface StoreTx {
  run(sql: string, values?: DuckDBValue[]): Promise<void>;
  rows(sql: string, values?: DuckDBValue[]): Promise<Record<string, unknown>[]>;
  /**
   * Inserts rows, at most 1,000 a statement. `doubles`: the columns bound as DOUBLE (a JS number
   * that is a whole number is otherwise bound as BIGINT: 1e300 fails, "bigint out of int64 range").
   */
  insert(table: string, rows: DuckDBValue[][], opts?: { orReplace?: boolean; doubles?: number[] }): Promise<void>;
}

export class Store {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private get file(): string {
    return path.join(this.dir, STORE_FILE);
  }

  private constructor(
    readonly dir: string,
    private readonly duck: DuckDB,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /**
   * Opens (creating if needed) the store in `dir`. If another fxflow process holds it, waits up to
   * `waitMs` (telling `onWait` once), then fails with a message naming the holder.
   */
  static async open(dir: string, opts: { waitMs?: number; onWait?: (msg: string) => void; readOnly?: boolean } = {}): Promise<Store> {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, STORE_FILE);
    const deadline = Date.now() + (opts.waitMs ?? 30_000);
    let told = false;
    const duck = await import('@duckdb/node-api');
    for (;;) {
      try {
        const instance = await duck.DuckDBInstance.create(file, { threads: '2', ...(opts.readOnly ? { access_mode: 'READ_ONLY' } : {}) });
        const conn = await instance.connect();
        const store = new Store(dir, duck, instance, conn);
        if (!opts.readOnly) await store.init();
        return store;
      } catch (e) {
        const msg = (e as Error).message;
        const known = storeFileError(file, e);
        if (known instanceof RunError) throw known;
        if (known !== 'locked')
          throw new RunError(`cannot open the store ${file}: ${msg.split('\n')[0]}`, { hint: 'is it an fxflow store? `--store DIR` picks another folder' });
        const holder = /PID (\d+)/.exec(msg)?.[1];
        if (Date.now() >= deadline) {
          throw new RunError(`the store ${file} is in use by another fxflow process${holder ? ` (PID ${holder})` : ''}`, {
            hint: 'wait for it to finish, or use another store with `--store DIR`',
          });
        }
        if (!told) {
          opts.onWait?.(`waiting for the store ${file}, held by another fxflow process${holder ? ` (PID ${holder})` : ''}…`);
          told = true;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async init(): Promise<void> {
    for (const sql of DDL) await this.conn.run(sql);
    await this.conn.run(`INSERT INTO meta VALUES ('schema_version', $1) ON CONFLICT DO NOTHING`, [SCHEMA_VERSION]);
    // Only one process holds the store at a time, so a run still marked running was killed.
    await this.conn.run(`UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, started_at) WHERE status = 'running'`);
    await this.ingestJournal();
  }

  /**
   * Ingests the journal (runs recorded without opening DuckDB, ./cached-run.ts) before anything reads the history:
   * every entry not ingested before, in one transaction, then removes the files. A kill before the
   * commit leaves them for the next open; one after it, before the removal, finds them recorded
   * in journal_ingested. A file that does not parse, or whose statements fail, is set aside as `.bad`.
   */
  private async ingestJournal(): Promise<void> {
    const dir = path.join(this.dir, JOURNAL_DIR);
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      return;
    }
    if (!names.length) return;
    const entries: { file: string; entry: JournalEntry }[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        entries.push({ file, entry: decodeJson(readFileSync(file, 'utf8')) as JournalEntry });
      } catch {
        renameSync(file, `${file}.bad`);
      }
    }
    const ingest = async (tx: StoreTx, entry: JournalEntry): Promise<void> => {
      if ((await tx.rows(`SELECT 1 FROM journal_ingested WHERE id = $1`, [entry.id])).length) return;
      for (const op of entry.ops) {
        if ('run' in op) await tx.run(op.run, op.values);
        else await tx.insert(op.insert, op.rows, { orReplace: op.orReplace, doubles: op.doubles });
      }
      await tx.run(`INSERT INTO journal_ingested VALUES ($1, epoch_ms($2::BIGINT))`, [entry.id, Date.now()]);
    };
    try {
      await this.transaction(async (tx) => {
        for (const { entry } of entries) await ingest(tx, entry);
      });
    } catch {
      // One entry the store refuses (hand-edited, or from another version) must not keep the
      // others out, nor the store closed: each on its own, a refused one set aside as `.bad`.
      for (const e of entries) {
        try {
          await this.transaction((tx) => ingest(tx, e.entry));
        } catch {
          renameSync(e.file, `${e.file}.bad`);
        }
      }
    }
    for (const { file } of entries) rmSync(file, { force: true });
  }

  /** Serialises every operation on the one connection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    // A damaged file or a full disk is said as such, whichever query meets it.
    const run = (): Promise<T> =>
      fn().catch((e: unknown) => {
        const known = storeFileError(this.file, e);
        throw known instanceof RunError ? known : e;
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Keys of chunk rows no catalogue row points to (a consistency check: there should be none). */
  async orphanChunks(): Promise<string[]> {
    return this.exclusive(async () => {
      const tables = await this.rows(`SELECT table_name AS t FROM duckdb_tables() WHERE NOT temporary AND (table_name = $1 OR starts_with(table_name, $2))`, [
        LEGACY_CHUNKS,
        CHUNK_TABLE_PREFIX,
      ]);
      const out: string[] = [];
      for (const { t } of tables) {
        const table = String(t);
        const rows = await this.rows(
          `SELECT DISTINCT c.key FROM ${quoteIdent(table)} c WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.key = c.key AND COALESCE(a.chunk_table, '${LEGACY_CHUNKS}') = $1)`,
          [table],
        );
        out.push(...rows.map((r) => String(r.key)));
      }
      return out.sort();
    });
  }

  private async tableExists(name: string): Promise<boolean> {
    return (await this.rows(`SELECT 1 FROM duckdb_tables() WHERE table_name = $1 AND NOT temporary`, [name])).length > 0;
  }

  private async rows(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    const r = await this.conn.runAndReadAll(sql, values);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  async query(sql: string, values: DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
    return this.exclusive(() => this.rows(sql, values));
  }

  // ---- artifacts ----

  async artifactInfo(key: string): Promise<ArtifactInfo | undefined> {
    return (await this.artifactInfos([key])).get(key);
  }

  async hasArtifact(key: string): Promise<boolean> {
    return (await this.artifactInfos([key])).has(key);
  }

  /**
   * Runs fn in one transaction on the connection (serialised like every operation): committed, or
   * rolled back if it throws. fn writes through `tx` only; calling the store's own methods from it
   * would wait for this transaction and never run.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const out = await fn(this.tx);
        await this.conn.run('COMMIT');
        return out;
      } catch (e) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  private readonly tx: StoreTx = {
    run: async (sql, values = []) => {
      await this.conn.run(sql, values);
    },
    rows: (sql, values = []) => this.rows(sql, values),
    insert: (table, rows, opts = {}) => this.insertRows(table, rows, opts),
  };

  /**
   * Stores an artifact: its bytes in its file (temporary name, fsync, rename), then its catalogue
   * row in one transaction, then its sidecar. A key already present is left as it is. With
   * `alsoWrite` (the history rows of the step run that made it, ./history.ts), those rows commit
   * with the catalogue row: a run killed once the step is reported done has both or neither, and
   * one killed before the commit leaves at most a file without a row (a miss; gc removes it).
   */
  async putArtifact(
    key: string,
    info: { type: string; kind: string; stepVersion: number; meta: ArtifactMeta },
    bytes: Uint8Array | readonly Uint8Array[],
    alsoWrite?: (tx: StoreTx) => Promise<void>,
  ): Promise<void> {
    const file = artifactFile(this.dir, key);
    // Parts (encodeArtifactParts) are hashed and written as they are, never joined into one buffer.
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    // A row whose file is gone is no hit (artifactInfos): its artifact is written again, the row replaced.
    let row: SidecarEntry | undefined;
    if (!(await this.hasArtifact(key))) {
      row = {
        key,
        type: info.type,
        kind: info.kind,
        stepVersion: info.stepVersion,
        bytes: parts.reduce((n, p) => n + p.byteLength, 0),
        sha256: sha256(parts),
        meta: encodeMeta(info.meta),
      };
      try {
        writeFileAtomic(file, parts);
      } catch (e) {
        // A full disk or a file-size limit is said as such (the file's folder is the store's).
        const known = storeFileError(this.dir, e);
        throw known instanceof RunError ? known : e;
      }
    }
    let inserted = false;
    try {
      inserted = await this.transaction(async (tx) => {
        if (alsoWrite) await alsoWrite(tx);
        if (!row) return false;
        await this.conn.run(`DELETE FROM artifacts WHERE key = $1`, [key]);
        await this.conn.run(
          `INSERT INTO artifacts (key, type, kind, step_version, bytes, chunks, sha256, created_at, meta, chunk_table)
           VALUES ($1, $2, $3, $4, $5, 0, $6, epoch_ms($7::BIGINT), $8, $9)`,
          [key, row.type, row.kind, row.stepVersion, row.bytes, row.sha256, Date.now(), row.meta, IN_FILE],
        );
        return true;
      });
    } catch (e) {
      // No row points to it: a file left would only be an orphan for gc.
      if (row) rmSync(file, { force: true });
      throw e;
    }
    // The sidecar lets a rerun whose steps are all hits skip DuckDB (./cached-run.ts); it is written
    // only once the row has committed, so a sidecar stands for a catalogued artifact.
    if (inserted && row) writeSidecar(file, row);
  }

  /** Removes one artifact (catalogue row and bytes) in one transaction, e.g. one that fails its checksum. */
  async deleteArtifact(key: string): Promise<void> {
    await this.deleteArtifacts([key]);
  }

  /**
   * Removes artifacts: their files (sidecar first), then their catalogue rows and chunks in one
   * transaction; a chunk table they leave empty is dropped. Killed
   * in between, a row is left without its file: a miss.
   */
  async deleteArtifacts(keys: string[]): Promise<void> {
    if (!keys.length) return;
    await this.transaction(async () => {
      await this.conn.run(`CREATE OR REPLACE TEMP TABLE doomed_keys (key VARCHAR)`);
      await this.insertRows(
        'doomed_keys',
        keys.map((k) => [k]),
      );
      const tables = await this.rows(
        `SELECT DISTINCT COALESCE(chunk_table, '${LEGACY_CHUNKS}') AS t FROM artifacts WHERE key IN (SELECT key FROM doomed_keys)`,
      );
      for (const { t } of tables) {
        const table = String(t);
        if (table === IN_FILE) {
          const files = await this.rows(`SELECT key FROM artifacts WHERE chunk_table = $1 AND key IN (SELECT key FROM doomed_keys)`, [IN_FILE]);
          for (const { key } of files) {
            const file = artifactFile(this.dir, String(key));
            rmSync(`${file}${SIDECAR_SUFFIX}`, { force: true });
            rmSync(file, { force: true });
          }
          continue;
        }
        if (!(await this.tableExists(table))) continue;
        await this.conn.run(`DELETE FROM ${quoteIdent(table)} WHERE key IN (SELECT key FROM doomed_keys)`);
        if (table !== LEGACY_CHUNKS) {
          const left = await this.rows(`SELECT count(*)::INTEGER AS n FROM ${quoteIdent(table)}`);
          if (Number(left[0].n) === 0) await this.conn.run(`DROP TABLE ${quoteIdent(table)}`);
        }
      }
      await this.conn.run(`DELETE FROM artifacts WHERE key IN (SELECT key FROM doomed_keys)`);
      await this.conn.run(`DROP TABLE doomed_keys`);
    });
  }

  /**
   * The artifact's bytes, or undefined if absent or if its size or checksum does not match. A file
   * is read with one read into a buffer of its own (decodeArtifact then views it without a copy),
   * outside the connection's queue.
   */
  async getArtifactBytes(key: string): Promise<Uint8Array | undefined> {
    const head = await this.query(`SELECT bytes, chunks, sha256, COALESCE(chunk_table, '${LEGACY_CHUNKS}') AS chunk_table FROM artifacts WHERE key = $1`, [
      key,
    ]);
    if (!head.length) return undefined;
    const total = Number(head[0].bytes);
    const table = String(head[0].chunk_table);
    if (table === IN_FILE) return readArtifactFile(artifactFile(this.dir, key), total, String(head[0].sha256));
    return this.exclusive(async () => {
      let result;
      try {
        result = await this.conn.run(`SELECT data FROM ${quoteIdent(table)} WHERE key = $1 ORDER BY idx`, [key]);
      } catch (e) {
        // A chunk table gone (a hand-edited store) reads as a damaged artifact; checked only then,
        // not on every read.
        if (await this.tableExists(table)) throw e;
        return undefined;
      }
      const out = new Uint8Array(total);
      let o = 0;
      let chunks = 0;
      // Each chunk's bytes straight from its vector (getItemBytes): a row's BLOB value would be one
      // more copy of it (Buffer.from), ≈ 30 ms and as much memory again for a 65 MB dataset.
      for (let c = 0; c < result.chunkCount; c++) {
        const chunk = result.getChunk(c);
        const data = chunk.getColumnVector(0);
        if (!(data instanceof this.duck.DuckDBBlobVector)) return undefined;
        for (let r = 0; r < chunk.rowCount; r++, chunks++) {
          const b = data.getItemBytes(r);
          if (b === null || o + b.byteLength > total) return undefined;
          out.set(b, o);
          o += b.byteLength;
        }
      }
      if (chunks !== Number(head[0].chunks) || o !== total || sha256(out) !== head[0].sha256) return undefined;
      return out;
    });
  }

  /**
   * Files in the artifacts folder that no catalogue row accounts for: temporary files and files of
   * writers killed before their row committed, or of deletions killed before theirs. Only the
   * process holding the store writes artifacts, so while it is open none of these is in use.
   */
  async orphanFiles(): Promise<{ file: string; bytes: number }[]> {
    const root = path.join(this.dir, ARTIFACTS_DIR);
    if (!existsSync(root)) return [];
    const rows = await this.query(`SELECT key FROM artifacts WHERE chunk_table = $1`, [IN_FILE]);
    const known = new Set(rows.map((r) => artifactName(String(r.key))));
    const out: { file: string; bytes: number }[] = [];
    for (const sub of readdirSync(root)) {
      const folder = path.join(root, sub);
      if (!statSync(folder).isDirectory()) continue;
      for (const name of readdirSync(folder)) {
        const base = name.endsWith(SIDECAR_SUFFIX) ? name.slice(0, -SIDECAR_SUFFIX.length) : name;
        if (!name.endsWith(TMP_SUFFIX) && known.has(base)) continue;
        const file = path.join(folder, name);
        out.push({ file, bytes: statSync(file).size });
      }
    }
    return out.sort((x, y) => x.file.localeCompare(y.file));
  }

  /** Removes orphanFiles(); returns what it removed. */
  async removeOrphanFiles(): Promise<{ file: string; bytes: number }[]> {
    const orphans = await this.orphanFiles();
    for (const o of orphans) rmSync(o.file, { force: true });
    return orphans;
  }

  private async insertRows(
    table: string,
    rows: DuckDBValue[][],
    { orReplace = false, doubles = [] }: { orReplace?: boolean; doubles?: number[] } = {},
  ): Promise<void> {
    if (!rows.length) return;
    const width = rows[0].length;
    // At most 1,000 rows a statement: one statement per row is a round trip each.
    for (let r0 = 0; r0 < rows.length; r0 += 1000) {
      const part = rows.slice(r0, r0 + 1000);
      const tuples = part.map((_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
      // Unlisted parameters (holes) keep the type inferred from their value.
      const types: DuckDBType[] = [];
      for (let r = 0; r < part.length; r++) for (const c of doubles) types[r * width + c] = this.duck.DOUBLE;
      await this.conn.run(`INSERT ${orReplace ? 'OR REPLACE ' : ''}INTO ${quoteIdent(table)} VALUES ${tuples.join(', ')}`, part.flat(), types);
    }
  }

  /**
   * Catalogue rows of several artifacts in one query (the cache lookups of a whole plan). An
   * artifact whose file is gone (a deletion killed before its rows went) is not among them.
   */
  async artifactInfos(keys: string[]): Promise<Map<string, ArtifactInfo>> {
    const out = new Map<string, ArtifactInfo>();
    if (!keys.length) return out;
    const rows = await this.query(
      `SELECT key, type, kind, step_version, bytes, CAST(created_at AS VARCHAR) AS created_at, meta, chunk_table FROM artifacts WHERE key IN (${keys.map((_, i) => `$${i + 1}`).join(', ')})`,
      keys,
    );
    for (const row of rows) {
      const key = String(row.key);
      if (row.chunk_table === IN_FILE && !existsSync(artifactFile(this.dir, key))) continue;
      out.set(key, infoFromRow(row));
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.catch(() => undefined);
    this.closed = true;
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } catch (e) {
      // Closing checkpoints the write-ahead log into the file; if that fails (a full disk) the log
      // stays beside it and the next open replays it.
      const known = storeFileError(this.file, e);
      throw known instanceof RunError ? known : e;
    }
  }
}
