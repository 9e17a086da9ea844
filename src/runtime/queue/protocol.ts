import { existsSync, watch } from 'node:fs';
import path from 'node:path';

/**
 * What the coordinator (./executor.ts) and a queue worker (./worker.ts) say to each other through
 * BullMQ: a job per step, its id the step's content key (so two coordinators enqueueing the same
 * step make one job), inputs and output named by key in the shared artifact cache (./cache.ts).
 */

export interface StepJob {
  kind: string;
  stepId: string;
  seed: number;
  pipelineDir: string;
  params: unknown;
  /** Input port → content key of the artifact in the shared cache. */
  inputs: Record<string, string>;
  /** Content key the output is written under. */
  output: string;
  /** The step's output type and version, for the cache's sidecar. */
  type: string;
  stepVersion: number;
  /** The coordinator's fxflow version: a worker of another version refuses the job (its code may differ). */
  fxflow: string;
}

export interface StepJobResult {
  /** The output was in the cache already: nothing was computed. */
  cached: boolean;
  warnings: string[];
  /** Wall time of reading the inputs, of the step's own work, of writing the output (ms). */
  loadMs: number;
  computeMs: number;
  storeMs: number;
  /** `host:pid` of the worker that ran it. */
  worker: string;
}

/**
 * A step's error as a job's failure reason: BullMQ keeps only a message, so a step's error name
 * and hint travel as JSON behind this marker, and the coordinator raises the same error.
 */
export const ERROR_MARK = 'fxflow-step-error:';

export interface StepError {
  name: string;
  message: string;
  hint?: string;
}

/**
 * Fault injection for tests only (FXFLOW_WORKER_HOLD, FXFLOW_QUEUE_HOLD = DIR): a worker or the
 * coordinator stops at a point of interest until DIR/release exists, so that a test can kill a
 * process, or Redis, exactly there instead of relying on timing.
 */
export function released(dir: string): boolean {
  return existsSync(path.join(dir, 'release'));
}

/** Resolves once DIR/release exists (see released). */
export function release(dir: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const w = watch(dir, () => {
      if (released(dir)) {
        w.close();
        resolve();
      }
    });
    if (released(dir)) {
      w.close();
      resolve();
    }
  });
}
