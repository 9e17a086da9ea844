import { parentPort } from 'node:worker_threads';
import { emptyRaw, layoutFor, parseInto, rowBound, type RawBars, type ReadOptions } from './reader.js';

/**
 * Worker-thread entry of parallel.ts: parses one part (file) per message with the very reader the
 * main thread uses, and sends its columns back as transferred ArrayBuffers (no copy). A bad row
 * is only flagged: the main thread re-parses that part itself to throw the exact serial error.
 */

export interface ParseJob {
  id: number;
  name: string;
  bytes: Uint8Array;
  read: ReadOptions;
  fileIndex: number;
}

/** A parsed part: the reader's own columns (the main thread adds the file index and zones). */
export type ParseReply =
  | ({ id: number; ok: true } & Pick<RawBars, 'n' | 't' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'line'>)
  | { id: number; ok: false; message: string };

const port = parentPort;
if (port) {
  port.on('message', (job: ParseJob) => {
    let reply: ParseReply;
    try {
      const layout = layoutFor(job.bytes, job.name, job.read);
      const raw = emptyRaw(rowBound(job.bytes));
      parseInto(job.bytes, job.name, layout, raw, job.fileIndex);
      const { n, t, open, high, low, close, volume, line } = raw;
      reply = { id: job.id, ok: true, n, t, open, high, low, close, volume, line };
      // emptyRaw allocates plain ArrayBuffers: moved to the main thread, not copied.
      port.postMessage(
        reply,
        [t, open, high, low, close, volume, line].map((a) => a.buffer as ArrayBuffer),
      );
    } catch (e) {
      reply = { id: job.id, ok: false, message: e instanceof Error ? e.message : String(e) };
      port.postMessage(reply);
    }
  });
  port.postMessage({ ready: true });
}
