import { coreBudget } from '../core/threads.js';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DataPart } from './files.js';
import type { ParseJob, ParseReply } from './parse-worker.js';
import { parseInto, type Layout, type RawBars, type ReadOptions } from './reader.js';

/**
 * Parsing several parts (files) at once: pooled worker threads (parse-worker.ts) take parts from a
 * queue while the main thread parses the rest itself, so a slow-starting or missing worker only
 * means the main thread does more. Who parses a part never changes its bars (the same parseInto
 * runs on the same bytes), so the joined result is bit-identical to the serial path's.
 *
 * The worker entry is a module next to this one: `parse-worker.js` in dist/, or the `.ts` source
 * under tsx/vitest, loaded through tsx's register API. If it cannot start, parts are parsed here.
 */

/** Below this many bytes in all, parts are parsed on the main thread: worker start-up would dominate. */
export const MIN_PARALLEL_BYTES = 4 << 20;

interface Pooled {
  worker: Worker;
  ready: Promise<boolean>;
  busy: boolean;
  /** Settles the job in flight when the worker dies. */
  onDeath?: () => void;
  /** Takes the reply to the job in flight. */
  onReply?: (m: ParseReply) => void;
}

const pool: Pooled[] = [];
let broken = false;

function bootSource(): string {
  // CommonJS (eval'd); loads the ESM entry with import(), registering tsx first for a .ts entry.
  return [
    "const { workerData, parentPort } = require('node:worker_threads');",
    '(async () => {',
    '  if (workerData.tsx) { const m = await import(workerData.tsx); (m.register ?? m.default.register)(); }',
    '  await import(workerData.entry);',
    '})().catch((e) => parentPort.postMessage({ bootError: String((e && e.stack) || e) }));',
  ].join('\n');
}

function entry(): { entry: string; tsx?: string } | undefined {
  const self = import.meta.url;
  if (self.endsWith('.js')) return { entry: new URL('./parse-worker.js', self).href };
  try {
    // tsx's package exports give require() the .cjs API, which cannot register from a worker.
    const api = createRequire(self)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs');
    return { entry: new URL('./parse-worker.ts', self).href, tsx: pathToFileURL(api).href };
  } catch {
    return undefined;
  }
}

function spawn(): Pooled | undefined {
  const e = entry();
  if (!e) return undefined;
  let worker: Worker;
  try {
    worker = new Worker(bootSource(), { eval: true, workerData: e });
  } catch {
    return undefined;
  }
  const p: Pooled = { worker, busy: false, ready: Promise.resolve(false) };
  p.ready = new Promise<boolean>((resolve) => {
    const drop = (): void => {
      const i = pool.indexOf(p);
      if (i >= 0) pool.splice(i, 1);
      resolve(false);
      p.onDeath?.();
    };
    worker.on('message', (m: ParseReply | { ready?: boolean; bootError?: string }) => {
      if ('id' in m) p.onReply?.(m);
      else if (m.ready) resolve(true);
      else if (m.bootError !== undefined) {
        // The entry is missing or does not load: stay single-threaded from now on.
        broken = true;
        void worker.terminate();
        drop();
      }
    });
    worker.on('error', drop);
    worker.on('exit', drop);
  });
  // After the listeners: adding a 'message' listener refs the worker's port again.
  worker.unref();
  return p;
}

/** Grows the pool to k workers (while they can start). */
function grow(k: number): void {
  while (!broken && pool.length < k) {
    const p = spawn();
    if (!p) break;
    pool.push(p);
  }
}

/** Starts up to k pooled parse workers; resolves to how many are ready. */
export function warmParseWorkers(k = coreBudget() - 1): Promise<number> {
  grow(k);
  // The workers are unref'd: a timer keeps the process up while someone waits for them.
  const keep = setInterval(() => {}, 1 << 30);
  return Promise.all(pool.slice(0, k).map((p) => p.ready)).then((r) => {
    clearInterval(keep);
    return r.filter(Boolean).length;
  });
}

export type ParallelMode = 'auto' | 'never' | 'always';

/** Whether the parts are worth parsing in parallel. */
export function wantParallel(parts: DataPart[], mode: ParallelMode): boolean {
  if (mode === 'never' || parts.length < 2 || coreBudget() < 2 || broken) return false;
  return mode === 'always' || parts.reduce((s, p) => s + p.bytes.length, 0) >= MIN_PARALLEL_BYTES;
}

/** How many bars a part gave, or the serial error (thrown by parseInto here). */
export type PartResult = { n: number } | { error: unknown };

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Parses every part k into `out` from row `offsets[k]` on (room: its rowBound), with file index k,
 * on the main thread and the pooled workers together; worker columns come back transferred and
 * are copied into place. Layouts are the caller's (computed first, as the serial path does). A
 * part that failed in a worker is re-parsed here, so its error is exactly the serial one.
 */
export async function parsePartsParallel(
  parts: DataPart[],
  read: ReadOptions,
  layouts: Layout[],
  out: RawBars,
  offsets: number[],
): Promise<{ results: PartResult[]; workerParts: number }> {
  const results: (PartResult | undefined)[] = new Array(parts.length);
  const parseHere = (k: number): PartResult => {
    const p = parts[k];
    out.n = offsets[k];
    try {
      parseInto(p.bytes, p.name, layouts[k], out, k);
      return { n: out.n - offsets[k] };
    } catch (error) {
      return { error };
    }
  };
  // Not awaited: workers that are not ready yet leave their share to this thread.
  grow(Math.min(parts.length - 1, coreBudget() - 1));
  const queue = parts.map((_, k) => k);
  const failed = new Set<number>();
  let workerParts = 0;
  let inFlight = 0;
  let settle: (() => void) | undefined;

  const feed = (w: Pooled): void => {
    if (w.busy || queue.length === 0) return;
    const k = queue.shift()!;
    const p = parts[k];
    w.busy = true;
    inFlight++;
    w.worker.ref(); // keep the process alive while a result is owed
    let finished = false;
    const finish = (r: PartResult | undefined): void => {
      if (finished) return;
      finished = true;
      w.onReply = undefined;
      w.onDeath = undefined;
      w.busy = false;
      w.worker.unref();
      // A dead worker's part (r undefined) is parsed here instead.
      results[k] = r ?? parseHere(k);
      if (r) workerParts++;
      inFlight--;
      if (inFlight === 0) settle?.();
      if (r) feed(w);
    };
    w.onReply = (m) => {
      if (m.id !== k) return;
      if (!m.ok) {
        failed.add(k); // re-parsed below for the exact error
        finish({ n: 0 });
        return;
      }
      const o = offsets[k];
      const n = m.n;
      out.t.set(m.t.subarray(0, n), o);
      out.open.set(m.open.subarray(0, n), o);
      out.high.set(m.high.subarray(0, n), o);
      out.low.set(m.low.subarray(0, n), o);
      out.close.set(m.close.subarray(0, n), o);
      out.volume.set(m.volume.subarray(0, n), o);
      out.line.set(m.line.subarray(0, n), o);
      out.file.fill(k, o, o + n);
      finish({ n });
    };
    w.onDeath = () => finish(undefined);
    // A copy of just this part's bytes (it may be a view into a larger buffer), moved not cloned.
    // Not .slice(): on a Node Buffer that is a view, and moving it would detach the caller's data.
    const bytes = new Uint8Array(p.bytes);
    const job: ParseJob = { id: k, name: p.name, bytes, read, fileIndex: k };
    w.worker.postMessage(job, [bytes.buffer]);
  };

  // Idle ready workers take parts first, and each takes the next part as it replies.
  for (const w of pool) void w.ready.then((ok) => ok && feed(w));
  await tick();
  while (queue.length > 0) {
    const k = queue.shift()!;
    results[k] = parseHere(k);
    await tick();
  }
  if (inFlight > 0) await new Promise<void>((r) => (settle = r));
  for (const k of [...failed].sort((a, b) => a - b)) results[k] = parseHere(k);
  return { results: results as PartResult[], workerParts };
}
