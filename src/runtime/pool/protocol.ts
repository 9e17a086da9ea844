/**
 * What the step pool (pool.ts) and its workers (worker.ts) say to each other. Its own module so
 * that a worker does not load the pool (its process spawning, the compiler's types).
 */

/**
 * One input of a task: the artifact's id in this pool, and its encoded bytes (in shared memory)
 * unless the worker already holds it decoded from an earlier task.
 */
export interface TaskInput {
  artifact: number;
  bytes?: Uint8Array;
}

export interface WorkerTask {
  id: number;
  kind: string;
  stepId: string;
  seed: number;
  pipelineDir: string;
  params: unknown;
  inputs: Record<string, TaskInput>;
  workDir?: string;
  /** Compute threads the step may use in the worker (StepContext.threads). */
  threads: number;
}

export type WorkerReply =
  | { id: number; type: 'done'; bytes: Uint8Array }
  | { id: number; type: 'error'; name: string; message: string; hint?: string }
  | { id: number; type: 'log' | 'warn'; message: string }
  | { id: number; type: 'progress'; fraction: number; message?: string };

/** Decoded input artifacts a worker keeps between tasks (worker.ts evicts in the same order): a backtest reads three (model, dataset, candles). */
const WORKER_CACHE = 4;

/**
 * Moves `item` to the newest end of `list` and keeps the last WORKER_CACHE: the worker's cache of
 * decoded inputs and the pool's record of it, which must agree, both call this.
 */
export function keepRecent<T>(list: T[], item: T): void {
  list.splice(0, list.length, ...[...list.filter((x) => x !== item), item].slice(-WORKER_CACHE));
}
