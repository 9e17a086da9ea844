import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PlanNode } from '../compiler/index.js';
import { CancelledError, RunError } from '../core/diagnostics.js';
import { decodeArtifact, encodeArtifact } from '../runtime/codec.js';
import type { StepContext } from '../steps/define.js';
import { builtinRegistry } from '../steps/index.js';
import { WORKER_CACHE, type TaskInput, type WorkerReply, type WorkerTask } from './protocol.js';

export type { TaskInput, WorkerReply, WorkerTask } from './protocol.js';

/**
 * Worker threads for CPU-heavy steps, so that `--jobs 2` keeps two cores busy: the scheduler stays
 * on the main thread and writes the store from there (one writer); a step of a heavy kind is
 * handed to an idle worker with its inputs encoded, and its output comes back encoded. The step's
 * code and inputs are the same as on the main thread, so results are bit-identical.
 */

/** Kinds worth a thread: their run time dwarfs copying their inputs. */
export const HEAVY_KINDS = new Set(['train']);

const WORKER_JS = fileURLToPath(new URL('./worker.js', import.meta.url));

export class StepPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: (() => void)[] = [];
  private next = 1;
  private closed = false;
  /**
   * Each input artifact encoded once, into shared memory: a sweep's variants all read the same
   * dataset, which would otherwise be encoded on this (the scheduling) thread for every task.
   */
  private readonly encoded = new WeakMap<object, TaskInput & { bytes: Uint8Array }>();
  /** Per worker, the artifacts it holds decoded (see worker.ts's cache). */
  private readonly held = new WeakMap<Worker, number[]>();
  private nextArtifact = 1;
  /** How many input artifacts were sent to a worker as bytes (the rest it already held). */
  inputsSent = 0;
  private readonly builtin = builtinRegistry();

  private constructor(
    private readonly size: number,
    /** Compute threads each worker's step may use: the pool's share of `--jobs`. */
    private readonly threadsPerWorker: number,
  ) {
    // Started now, so their start-up (module loading, ≈ 100–200 ms each) overlaps the steps that
    // run before the first heavy one instead of delaying it.
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const w = new Worker(WORKER_JS);
    w.unref();
    this.all.push(w);
    return w;
  }

  /**
   * A pool of `size` workers sharing `jobs` compute threads (each step in a worker gets
   * jobs / size of them, at least 1), or undefined where workers cannot run (e.g. from TypeScript sources).
   */
  static create(size: number, jobs = size): StepPool | undefined {
    if (size < 2 || !existsSync(WORKER_JS)) return undefined;
    return new StepPool(size, Math.max(1, Math.floor(jobs / size)));
  }

  /** Whether this node runs in a worker: a heavy kind whose code is the built-in one. */
  handles(node: PlanNode): boolean {
    const b = this.builtin.get(node.kind);
    return HEAVY_KINDS.has(node.kind) && b !== undefined && b.version === node.def.version;
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    if (this.all.length < this.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.queue.push(() => resolve(this.acquire())));
  }

  private releaseWorker(w: Worker): void {
    this.idle.push(w);
    this.queue.shift()?.();
  }

  async run(node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext): Promise<unknown> {
    if (this.closed) throw new CancelledError();
    const shared = Object.entries(inputs).map(([port, v]) => [port, this.share(v)] as const);
    const w = await this.acquire();
    const held = this.held.get(w) ?? [];
    const taskInputs: Record<string, TaskInput> = {};
    for (const [port, s] of shared) {
      if (held.includes(s.artifact)) taskInputs[port] = { artifact: s.artifact };
      else {
        taskInputs[port] = s;
        this.inputsSent++;
      }
      // The worker keeps the last WORKER_CACHE artifacts it was sent, in this order.
      held.splice(0, held.length, ...[...held.filter((a) => a !== s.artifact), s.artifact].slice(-WORKER_CACHE));
    }
    this.held.set(w, held);
    const id = this.next++;
    try {
      const bytes = await new Promise<Uint8Array>((resolve, reject) => {
        const onAbort = (): void => reject(new CancelledError());
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        const onMessage = (m: WorkerReply): void => {
          if (m.id !== id) return;
          if (m.type === 'log' || m.type === 'warn') (m.type === 'log' ? ctx.log : ctx.warn)(m.message);
          else if (m.type === 'progress') ctx.progress(m.fraction, m.message);
          else {
            w.off('message', onMessage);
            w.off('error', onError);
            ctx.signal.removeEventListener('abort', onAbort);
            if (m.type === 'done') resolve(m.bytes);
            else if (m.type === 'error') reject(m.name === 'RunError' ? new RunError(m.message, { hint: m.hint }) : Object.assign(new Error(m.message), { name: m.name }));
          }
        };
        const onError = (e: Error): void => reject(e);
        w.on('message', onMessage);
        w.on('error', onError);
        const task: WorkerTask = { id, kind: node.kind, stepId: ctx.stepId, seed: ctx.seed, pipelineDir: ctx.pipelineDir, params: node.params, inputs: taskInputs, workDir: ctx.workDir, threads: this.threadsPerWorker };
        w.postMessage(task);
      });
      this.releaseWorker(w);
      return decodeArtifact(bytes);
    } catch (e) {
      // A cancelled or crashed worker may still be busy: replace it rather than reuse it.
      void w.terminate();
      this.all.splice(this.all.indexOf(w), 1);
      this.queue.shift()?.();
      throw e;
    }
  }

  /** The input's encoding, made once per artifact object and shared (not copied) with every worker. */
  private share(value: unknown): TaskInput & { bytes: Uint8Array } {
    if (value === null || typeof value !== 'object') return { artifact: this.nextArtifact++, bytes: encodeArtifact(value) };
    let s = this.encoded.get(value);
    if (!s) {
      const plain = encodeArtifact(value);
      const bytes = new Uint8Array(new SharedArrayBuffer(plain.byteLength));
      bytes.set(plain);
      s = { artifact: this.nextArtifact++, bytes };
      this.encoded.set(value, s);
    }
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
