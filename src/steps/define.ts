import path from 'node:path';
import type { ArtifactMap, ArtifactType } from '../core/artifacts.js';
import type { Device } from '../backend/index.js';
import type { ParamIssue, SourceLocation } from '../core/diagnostics.js';

/**
 * The step contract: the one place a step kind is declared. A step is a typed function of its
 * inputs and params; it knows nothing of caching, YAML or the CLI.
 *
 * Params are a TypeScript type named through `paramsOf<P>()`. `npm run schema` reads that type with
 * ts-morph and writes its JSON Schema (descriptions, defaults and bounds from JSDoc) into schema/.
 * A property with a JSDoc `@default` is optional in YAML and always present when `run` is called, so
 * declare it non-optional in the type.
 */

export interface StepContext {
  /** The step's id in the pipeline. */
  readonly stepId: string;
  /** The pipeline's seed (only passed to steps that declare `seeded: true`; 0 otherwise). */
  readonly seed: number;
  /** Directory of the pipeline file: relative paths in params resolve against it. */
  readonly pipelineDir: string;
  /** Resolves a path written in the pipeline relative to the pipeline file. */
  resolvePath(p: string): string;
  /** A line for the user (progress view and run log). */
  log(message: string): void;
  /** A warning: shown, stored with the step run, never fatal. */
  warn(message: string): void;
  /** Fraction done in [0, 1], with an optional short message. */
  progress(fraction: number, message?: string): void;
  /** Aborted when the run is cancelled; long loops should check `signal.aborted`. */
  readonly signal: AbortSignal;
  /**
   * A directory in the store for files that outlive one attempt of this step (neural training's
   * checkpoints): `<store>/checkpoints/<cache key>`, so a rerun after a kill finds them. Absent
   * where the runner has no store directory.
   */
  readonly workDir?: string;
  /**
   * Compute threads this step may use: its share of `--jobs` (default: the machine's cores). Kinds
   * that parallelise internally (gbm, random_forest) use it unless their own `threads` is set.
   */
  readonly threads?: number;
  /**
   * The part of the DAG feeding input `port` (see `Lineage`), so a step can recompute what its input
   * was made from on other data (the split's leakage probe). Absent where the runner cannot (a worker).
   */
  lineage?(port: string, through: readonly ArtifactType[]): Lineage | undefined;
}

/** What a runner knows of a step run; `makeStepContext` fills in the rest. */
export interface StepContextInit {
  stepId: string;
  seed: number;
  pipelineDir: string;
  /** Default: a signal that never aborts. */
  signal?: AbortSignal;
  workDir?: string;
  threads?: number;
  /** Default (each of the three): say nothing. */
  log?: (message: string) => void;
  warn?: (message: string) => void;
  progress?: (fraction: number, message?: string) => void;
  lineage?: StepContext['lineage'];
}

/** The one constructor of a StepContext: the scheduler, a lineage rerun and a pool worker all call it. */
export function makeStepContext(init: StepContextInit): StepContext {
  const quiet = (): void => {};
  const { pipelineDir } = init;
  return {
    stepId: init.stepId,
    seed: init.seed,
    pipelineDir,
    resolvePath: (p) => path.resolve(pipelineDir, p),
    log: init.log ?? quiet,
    warn: init.warn ?? quiet,
    progress: init.progress ?? quiet,
    signal: init.signal ?? new AbortController().signal,
    workDir: init.workDir,
    threads: init.threads,
    lineage: init.lineage,
  };
}

/**
 * A step upstream of an input port, reached by following only links from steps whose output is one
 * of the asked types (for the leakage probe: Candles and Features, never a Model or Dataset).
 */
export interface LineageStep {
  id: string;
  kind: string;
  output: ArtifactType;
  /** One of fxflow's own step kinds (false for a plugin's). */
  builtin: boolean;
  /** Ids of the steps it reads that are in the lineage too. */
  inputs: string[];
}

export interface Lineage {
  /** Inputs before the steps that read them; the step wired to the port is last. */
  steps: LineageStep[];
  /** A step's output in this run (computed, or loaded from the store). */
  output(id: string): Promise<unknown>;
  /**
   * Reruns, in order, every lineage step that depends on a replaced one, with the replaced steps'
   * outputs given and every other input as in this run; returns each rerun step's output by id.
   * Nothing is stored, logged or cached. A rerun step's error is thrown as a `LineageError`.
   */
  rerun(replace: ReadonlyMap<string, unknown>): Promise<Map<string, unknown>>;
}

/** A step that failed while its lineage was rerun, with the step's id and kind. */
export class LineageError extends Error {
  constructor(
    readonly stepId: string,
    readonly kind: string,
    cause: unknown,
  ) {
    super(`step \`${stepId}\` (${kind}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface FingerprintContext {
  readonly pipelineDir: string;
  resolvePath(p: string): string;
  /** Where a param (path relative to `with`, e.g. `['path', 1]`) is written in the YAML, for errors. */
  locate?(path: (string | number)[]): SourceLocation | undefined;
}

/** A source `fxflow watch` polls: a changed token reruns the pipeline (whose keys decide what recomputes). */
export interface SourcePoll {
  /** What is polled, for the `changed:` line (never a connection string), e.g. `postgres:market.candles`. */
  label: string;
  intervalMs: number;
  /** A cheap summary of the source that changes when it does (a thrown error is reported once and polling goes on). */
  token(): Promise<string>;
}

/** A step upstream of the one being checked, as written in the pipeline (params validated). */
export interface UpstreamStep {
  id: string;
  kind: string;
  params: Record<string, unknown>;
}

/** What a step's check() can see of the DAG around it, at compile time. */
export interface CheckContext {
  /**
   * The nearest step of `kind` upstream (following `from` links, breadth first), e.g. the
   * features step whose target horizons a split's embargo must cover.
   */
  upstream(kind: string): UpstreamStep | undefined;
  /** The step wired to one of this step's input ports (e.g. backtest's `model`), if it exists. */
  input?(port: string): UpstreamStep | undefined;
  /** The pipeline's default `device` (top-level `device:` or `fxflow run --device`), for steps that take one. */
  device?: Device;
  /** The steps feeding input `port` as `StepContext.lineage` will see them at run time. */
  lineage?(port: string, through: readonly ArtifactType[]): LineageStep[];
  /**
   * Whether the param at `path` (relative to `with`) is written in the YAML rather than filled in
   * from its `@default`: a default never conflicts with another param, a written value may.
   */
  written?(path: (string | number)[]): boolean;
}

declare const paramsBrand: unique symbol;
/** Phantom marker carrying the params type; it has no runtime content. */
export interface ParamsMarker<P> {
  readonly [paramsBrand]?: P;
}
/** Names a step's params type for both the compiler (typing `run`) and the schema generator. */
export function paramsOf<P>(): ParamsMarker<P> {
  return {};
}

export type InputPorts = Record<string, ArtifactType>;
/** The inputs `run` receives: every port's artifact, optional ports possibly absent. */
export type InputsOf<I extends InputPorts, Opt extends keyof I = never> = { [K in Exclude<keyof I, Opt>]: ArtifactMap[I[K]] } & {
  [K in Opt]?: ArtifactMap[I[K]];
};

export interface StepDef<P, I extends InputPorts, O extends ArtifactType, Opt extends keyof I & string = never> {
  /** The name written after `uses:`. */
  kind: string;
  /** Bump when outputs change for the same inputs and params: it is part of the cache key. */
  version: number;
  /** One line for `fxflow steps` and the schema. */
  description: string;
  /** Input port → artifact type. A single-port step accepts `from: stepId`. */
  inputs: I;
  /** Ports that may be left unconnected. */
  optionalInputs?: Opt[];
  output: O;
  params: ParamsMarker<P>;
  /** True if the output depends on the pipeline seed (then the seed is part of the cache key). */
  seeded?: boolean;
  /**
   * Where the step may run when the plan is worth a pool of worker processes (src/runtime/pool):
   * `heavy`: its run time dwarfs sending its inputs (a model fit); two or more in a plan start a
   * pool. `joins`: it runs in the pool once there is one (its inputs are already held there), but
   * is no reason to start one. Absent: always on the main thread. Built-in kinds only.
   */
  worker?: 'heavy' | 'joins';
  /**
   * The params as the cache key sees them, when some only change how fast the output is made,
   * never the output (a thread count). Default: all of them.
   */
  keyParams?(params: P): Record<string, unknown>;
  /**
   * What identifies the step's external inputs (e.g. a data file's content hash). Part of the cache
   * key, so an edited data file invalidates the step. Errors here surface before anything runs.
   */
  fingerprint?(params: P, ctx: FingerprintContext): unknown | Promise<unknown>;
  /** External files the step reads, absolute (watch mode reruns the step when one changes). */
  files?(params: P, ctx: FingerprintContext): string[] | Promise<string[]>;
  /** True when the fingerprint reads a source besides `files()` (a database table): file stamps then cannot vouch for the key (the plan memo is not used). */
  readsBeyondFiles?(params: P): boolean;
  /** How `fxflow watch` notices a change to what `readsBeyondFiles` reads (no file to watch there): a token it polls. */
  poll?(params: P): SourcePoll | undefined;
  /** Cross-field checks at compile time, reported at the YAML location of `with` + path. */
  check?(params: P, ctx?: CheckContext): ParamIssue[];
  /**
   * Completes params whose defaults depend on other params (the chosen model's), after check().
   * The result is what the cache key and `run` see, so writing a default out or leaving it out
   * gives the same key. Plain defaults belong in JSDoc `@default` instead.
   */
  resolve?(params: P, ctx?: CheckContext): P;
  run(inputs: InputsOf<I, Opt>, params: P, ctx: StepContext): Promise<ArtifactMap[O]>;
  /** Numbers recorded as run metrics (on a cache hit too). */
  metrics?(output: ArtifactMap[O]): Record<string, number>;
  /**
   * Every name `metrics()` can record, so that `select.metric` is checked before anything runs.
   * A `<…>` part stands for a name known only at run time (`val_ic_<target>` for `val_ic_fwd_ret_4`).
   * Absent (a plugin that does not say): any name is accepted.
   */
  metricNames?: readonly string[];
  /** A short line shown when the step finishes, e.g. "49,937 bars, 2012-12-19 → 2020-12-29". */
  summary?(output: ArtifactMap[O]): string;
}

/** A step definition with its type parameters erased, as the registry and runtime hold it. */
export interface AnyStepDef {
  kind: string;
  version: number;
  description: string;
  inputs: InputPorts;
  optionalInputs?: string[];
  output: ArtifactType;
  seeded?: boolean;
  worker?: 'heavy' | 'joins';
  keyParams?(params: never): Record<string, unknown>;
  fingerprint?(params: never, ctx: FingerprintContext): unknown | Promise<unknown>;
  files?(params: never, ctx: FingerprintContext): string[] | Promise<string[]>;
  readsBeyondFiles?(params: never): boolean;
  poll?(params: never): SourcePoll | undefined;
  check?(params: never, ctx?: CheckContext): ParamIssue[];
  resolve?(params: never, ctx?: CheckContext): unknown;
  run(inputs: never, params: never, ctx: StepContext): Promise<unknown>;
  metrics?(output: never): Record<string, number>;
  metricNames?: readonly string[];
  summary?(output: never): string;
}

/** Whether `name` is one of the declared metric names (a `<…>` part matches one or more characters). */
export function isDeclaredMetric(name: string, declared: readonly string[]): boolean {
  return declared.some((d) => {
    if (!d.includes('<')) return d === name;
    const re = d
      .split(/<[^>]*>/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.+');
    return new RegExp(`^${re}$`).test(name);
  });
}

export function defineStep<P, I extends InputPorts, O extends ArtifactType, Opt extends keyof I & string = never>(
  def: StepDef<P, I, O, Opt>,
): StepDef<P, I, O, Opt> {
  return def;
}
