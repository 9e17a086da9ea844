import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs the built `fxflow` bin as a user would, in a working directory of the test's own. */

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(REPO, 'bin', 'fxflow.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function fxflow(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnFxflow(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The test process's environment without settings that would redirect the CLI. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FXFLOW_STORE;
  delete env.FXFLOW_DEBUG;
  return env;
}

export function spawnFxflow(args: string[], opts: { cwd: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    // CI=1 picks the plain line renderer; NO_COLOR keeps messages greppable.
    env: { ...cleanEnv(), CI: '1', NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh working directory holding a copy of pipelines/ (so edits never touch the repo). */
export function workdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-it-'));
  cpSync(path.join(REPO, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true });
  return dir;
}

/** Rewrites a pipeline file in place with a text replacement (which must match). */
export function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit: ${String(from)} not found in ${file}`);
  writeFileSync(file, next);
}

export interface JsonRun {
  runId: string;
  status: string;
  steps: { id: string; kind: string; key: string; cached: boolean; status: string; durationMs: number; reason?: string; error?: string }[];
  metrics: Record<string, Record<string, number>>;
}

export function parseRun(r: CliResult): JsonRun {
  try {
    return JSON.parse(r.stdout) as JsonRun;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}

export function cachedMap(run: JsonRun): Record<string, boolean> {
  return Object.fromEntries(run.steps.map((s) => [s.id, s.cached]));
}
