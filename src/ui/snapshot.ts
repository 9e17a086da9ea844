import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunError } from '../core/diagnostics.js';
import { ARTIFACTS_DIR } from '../runtime/artifact-files.js';
import { JOURNAL_DIR, STORE_FILE, Store } from '../runtime/store.js';

/**
 * How the UI reads a store without ever holding it. DuckDB locks its file per process, for
 * readers too: a read-only open fails while a run writes ("Conflicting lock is held"), and a
 * reader holding the file would make a starting run wait. So the UI never opens the store's file:
 * it copies the database (and its write-ahead log, and the journal of runs recorded without
 * opening DuckDB) into a private folder and opens the copy, whose `artifacts` folder links to the
 * store's (artifact files are written once under their final name, so reading them is safe). A
 * copy is made again only when the files changed (their size and modification time); a copy taken
 * while a run wrote (the files changed during the copy) is retried, and if it still cannot be
 * opened the previous copy keeps serving. Queries run one at a time on the copy.
 */

const COPY_TRIES = 5;

type Signature = string;

export class StoreSnapshot {
  private store?: Store;
  private sig?: Signature;
  private folder?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly root: string;
  private closed = false;

  /** Fails with a clear message when `dir` holds no store. */
  constructor(readonly dir: string) {
    if (!existsSync(path.join(dir, STORE_FILE))) {
      throw new RunError(`there is no fxflow store at ${dir} (no ${STORE_FILE} in it)`, {
        hint: existsSync(dir)
          ? 'run a pipeline first (`fxflow run pipelines/quickstart.yaml`), or point at a store with `--store DIR`'
          : 'the folder does not exist: give the store of your runs with `--store DIR` (default: .fxflow in the working directory)',
      });
    }
    this.root = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-'));
  }

  /** The store's files as they are now: the database, its WAL and the journal's entries. */
  private signature(): Signature {
    const stat = (f: string): string => {
      try {
        const s = statSync(f);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return '-';
      }
    };
    const db = path.join(this.dir, STORE_FILE);
    let journal: string[] = [];
    try {
      journal = readdirSync(path.join(this.dir, JOURNAL_DIR))
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch {
      // no journal
    }
    return [stat(db), stat(`${db}.wal`), journal.join(',')].join('|');
  }

  private copyInto(folder: string): void {
    mkdirSync(folder, { recursive: true });
    const db = path.join(this.dir, STORE_FILE);
    copyFileSync(db, path.join(folder, STORE_FILE));
    if (existsSync(`${db}.wal`)) copyFileSync(`${db}.wal`, path.join(folder, `${STORE_FILE}.wal`));
    const journal = path.join(this.dir, JOURNAL_DIR);
    if (existsSync(journal)) {
      mkdirSync(path.join(folder, JOURNAL_DIR));
      for (const n of readdirSync(journal).filter((x) => x.endsWith('.json'))) {
        try {
          copyFileSync(path.join(journal, n), path.join(folder, JOURNAL_DIR, n));
        } catch {
          // ingested (and removed) by a run meanwhile: it is in the database now
        }
      }
    }
    symlinkSync(path.join(this.dir, ARTIFACTS_DIR), path.join(folder, ARTIFACTS_DIR));
  }

  /** A fresh copy if the store changed; the previous one when a new copy cannot be opened. */
  private async refresh(): Promise<Store> {
    if (!existsSync(path.join(this.dir, STORE_FILE))) throw new RunError(`the store ${this.dir} is gone (no ${STORE_FILE} in it)`);
    const now = this.signature();
    if (this.store && now === this.sig) return this.store;
    let lastError: unknown;
    for (let i = 0; i < COPY_TRIES; i++) {
      const before = this.signature();
      const folder = path.join(this.root, `copy-${Date.now()}-${i}`);
      try {
        this.copyInto(folder);
        // Changed while copying: the copy may be torn; take another.
        if (this.signature() !== before) throw new Error('the store changed while it was copied');
        // The copy is private: opening it read-write ingests the copied journal there (as a run's open would).
        const store = await Store.open(folder, { waitMs: 0 });
        await this.dropCurrent();
        this.store = store;
        this.sig = before;
        this.folder = folder;
        return store;
      } catch (e) {
        lastError = e;
        rmSync(folder, { recursive: true, force: true });
      }
    }
    if (this.store) return this.store;
    throw lastError instanceof RunError ? lastError : new RunError(`cannot read the store ${this.dir}: ${(lastError as Error).message.split('\n')[0]}`);
  }

  private async dropCurrent(): Promise<void> {
    const old = this.store;
    const folder = this.folder;
    this.store = undefined;
    this.folder = undefined;
    if (old) await old.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  }

  /** Runs `fn` on an up-to-date copy of the store, one call at a time. */
  read<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw new RunError('the UI is shutting down');
      return fn(await this.refresh());
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    await this.dropCurrent();
    rmSync(this.root, { recursive: true, force: true });
  }
}
