import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeStepContext, type StepContext } from '../../src/steps/define.js';

/** A StepContext for calling a step's `run` directly in unit tests; collects logs and warnings. */
export function testContext(opts: { stepId?: string; seed?: number; pipelineDir?: string } = {}): StepContext & {
  logs: string[];
  warnings: string[];
} {
  const logs: string[] = [];
  const warnings: string[] = [];
  const ctx = makeStepContext({
    stepId: opts.stepId ?? 'test',
    seed: opts.seed ?? 42,
    pipelineDir: opts.pipelineDir ?? process.cwd(),
    log: (m: string) => void logs.push(m),
    warn: (m: string) => void warnings.push(m),
  });
  return Object.assign(ctx, { logs, warnings });
}

/** Absolute path of the team's shared forex data folder (../shared/data/forex beside the repo). */
export const SHARED_FOREX = fileURLToPath(new URL('../../../shared/data/forex', import.meta.url));

/**
 * Path of a shared data file, or undefined when the folder is absent; in that case prints a visible
 * skip message. Use with `describe.skipIf(!file)` / `it.skipIf(!file)`.
 */
export function sharedFile(name: string): string | undefined {
  const p = path.join(SHARED_FOREX, name);
  if (existsSync(p)) return p;
  console.warn(`[skip] ${name} not found in ${SHARED_FOREX}: tests that need the shared forex data are skipped`);
  return undefined;
}
