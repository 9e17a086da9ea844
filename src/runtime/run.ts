import path from 'node:path';
import { lineageOf, type Plan, type PlanNode } from '../compiler/index.js';
import { CancelledError, RunError } from '../core/diagnostics.js';
import { sha256 } from '../core/hash.js';
import { coreBudget } from '../core/threads.js';
import { LineageError, makeStepContext, type Lineage, type StepContext } from '../steps/define.js';
import { decodeArtifact, encodeArtifactParts } from './codec.js';
import { computeKeys, explainMiss, type KeyBasis, type NodeKey } from './keys.js';
import type { ProgressReporter } from './progress.js';
import { gitInfo, newRunId, stepRecordOf, type StepOutcome } from './run-record.js';
import { beginRun, endRun, lastStepBases, recordStep, setRunGit, stepRowsWriter, type StepRecord } from './history.js';
import type { Store } from './store.js';
import { VERSION } from '../version.js';

/**
 * The scheduler: runs a plan's nodes as soon as their inputs are ready, up to `concurrency`
 * computing at a time (a step run in a worker is stored after its slot is freed). A node whose key
 * is in the store is a hit and is not loaded unless a computing descendant needs it. A failed node
 * skips its descendants; independent branches go on. Every outcome is recorded in the run history.
 */

export interface RunResult {
  runId: string;
  pipeline: string;
  /** `interrupted`: set by runPipeline for a run its caller stopped (SIGINT/SIGTERM; a SIGKILLed one is marked at the next open). */
  status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  durationMs: number;
  steps: StepOutcome[];
  /** The first failure, for the exit message. */
  error?: Error;
  /** The outputs of the nodes in `RunOptions.need` that completed. */
  outputs: Map<string, unknown>;
}

export interface RunOptions {
  store: Store;
  progress: ProgressReporter;
  concurrency?: number;
  /** Compute threads a step run here may use (StepContext.threads). Default: `concurrency`, else the cores. */
  threads?: number;
  signal?: AbortSignal;
  /** Keys computed beforehand (e.g. so a missing data file fails before the store is touched). */
  keys?: Map<string, NodeKey>;
  /** Runs a node's step instead of calling it here (in a pool worker, src/runtime/pool). */
  execute?: (node: PlanNode, inputs: Record<string, unknown>, ctx: StepContext) => Promise<unknown> | undefined;
  /** The git state of the pipeline's folder, asked for early by the caller (default: asked here, during the run). */
  git?: Promise<{ commit: string | null; dirty: boolean | null }>;
  /**
   * Node ids whose outputs the caller reads after the run (export, the HTML report): a cached one
   * is loaded and checked, and recomputed in this run if damaged; they come back in `outputs`.
   */
  need?: string[];
  /**
   * A round of a search (./search-run.ts): records into run `id` (begun by its first round, ended by
   * the caller); nodes in `done` (with the same key) ran in an earlier round and are neither run nor
   * recorded again.
   */
  round?: { id: string; first: boolean; done: ReadonlyMap<string, StepOutcome> };
  /** The run's id, when the caller made it beforehand (runPipeline: it names the run's live file). */
  runId?: string;
}

/**
 * The reason to abort a run's signal with when the user stopped it (SIGINT/SIGTERM): the run is
 * then recorded as `interrupted` (a rerun reuses every step that completed). Aborted for any other
 * reason (watch: a newer save), it ends `cancelled`.
 */
export class Interruption {
  constructor(readonly by: string) {}
}

/** Where a computed step's time went (StepOutcome's `loadMs`, `computeMs`, `storeMs`). */
type StepTimes = Pick<StepOutcome, 'loadMs' | 'computeMs' | 'storeMs'>;
const NO_TIMES: Readonly<StepTimes> = { loadMs: 0, computeMs: 0, storeMs: 0 };

function errorText(e: unknown): string {
  if (e instanceof RunError) return e.message + (e.hint ? ` (hint: ${e.hint})` : '');
  if (e instanceof Error) return e.message;
  return String(e);
}

export async function runPlan(plan: Plan, opts: RunOptions): Promise<RunResult> {
  const { store, progress } = opts;
  const spec = plan.spec;
  const runId = opts.round?.id ?? opts.runId ?? newRunId();
  const t0 = performance.now();
  // Fingerprinting reads the data files: a missing one fails here, before any run is recorded.
  const keys = opts.keys ?? (await computeKeys(plan));
  // Asking git takes two process spawns: do it while the steps run, and record it at the end.
  const git = opts.git ?? gitInfo(spec.dir);
  if (!opts.round || opts.round.first)
    await beginRun(store, {
      id: runId,
      pipeline: spec.name,
      file: spec.file,
      fileHash: sha256(spec.text),
      gitCommit: null,
      gitDirty: null,
      seed: spec.seed,
      text: spec.text,
      version: VERSION,
    });

  const done = opts.round?.done;
  const earlier = (n: PlanNode): StepOutcome | undefined => {
    const o = done?.get(n.id);
    return o && o.key === keys.get(n.id)!.key ? o : undefined;
  };
  const todo = plan.nodes.filter((n) => !earlier(n));
  progress.start(todo.map((n) => ({ id: n.id, kind: n.kind })));
  // Every cache lookup of the plan in one query.
  const hits = await store.artifactInfos([...new Set([...keys.values()].map((k) => k.key))]);
  // What each step was made of last time, to say why a miss recomputes (queried once, lazily used).
  const previous = lastStepBases(store, spec.name);
  previous.catch(() => undefined);
  const outcomes = new Map<string, StepOutcome>();
  const values = new Map<string, Promise<unknown>>();
  const consumers = new Map<string, number>();
  for (const n of todo) for (const src of new Set(Object.values(n.inputs))) consumers.set(src, (consumers.get(src) ?? 0) + 1);
  const missReasons = new Map<string, string>();
  let firstError: Error | undefined;

  const need = new Set(opts.need ?? []);
  // A needed output is kept to the end of the run (one more consumer than it has).
  for (const id of need) consumers.set(id, (consumers.get(id) ?? 0) + 1);
  const DAMAGED = 'its stored output was damaged or missing';
  // A stored output that failed its checksum or is gone: its catalogue row is dropped before it is
  // recomputed, so a failure leaves a miss, never a hit without bytes. `by`: the step that says so.
  const dropDamaged = async (id: string, key: string, by: string): Promise<void> => {
    await store.deleteArtifact(key);
    progress.stepLog(by, `artifact of step ${id} (key ${key.slice(0, 12)}) damaged or missing in the store: recomputing it`, 'warn');
  };

  /**
   * A node's output: from memory if computed in this run, else from the store. A stored output
   * that fails its checksum or is gone (a cache hit does not read its bytes) is recomputed here,
   * inside this run (after dropDamaged), so the step that needs it goes on.
   */
  const valueOf = (id: string, by: string): Promise<unknown> => {
    let v = values.get(id);
    if (!v) {
      const key = keys.get(id)!.key;
      v = store.getArtifactBytes(key).then(async (bytes) => {
        if (bytes) return decodeArtifact(bytes);
        await dropDamaged(id, key, by);
        const node = plan.byId.get(id)!;
        const { outcome, output } = await computeNode(node, DAMAGED, () => undefined, [], true);
        // The step was reported (and recorded) as a cache hit: it now reads as computed.
        const earlier = outcomes.get(id);
        if (earlier) Object.assign(earlier, outcome);
        progress.stepLog(by, `artifact of step ${id} damaged: recomputed`, 'warn');
        return output;
      });
      values.set(id, v);
    }
    return v;
  };
  // A step's output for a lineage rerun: from memory if this run holds it, else decoded from the
  // store without joining `values` (whose entries are released as their consumers finish).
  const outputOf = (id: string): Promise<unknown> => values.get(id) ?? valueOfUncounted(id);
  const valueOfUncounted = async (id: string): Promise<unknown> => {
    const bytes = await store.getArtifactBytes(keys.get(id)!.key);
    if (!bytes)
      throw new RunError(`cached output of step \`${id}\` could not be read (missing, or failed its checksum)`, { hint: 'rerun: the step will be recomputed' });
    return decodeArtifact(bytes);
  };
  const lineageFor = (node: PlanNode, ctx: StepContext, port: string, through: readonly string[]): Lineage | undefined => {
    const start = node.inputs[port];
    if (start === undefined) return undefined;
    const steps = lineageOf(start, through, (id) => {
      const n = plan.byId.get(id);
      return n && { kind: n.kind, def: n.def, inputs: Object.values(n.inputs) };
    });
    // Loaded once per lineage: a rerun per sampled time reads the same inputs again.
    const loaded = new Map<string, Promise<unknown>>();
    const output = (id: string): Promise<unknown> => {
      let v = loaded.get(id);
      if (!v) loaded.set(id, (v = outputOf(id)));
      return v;
    };
    return {
      steps,
      output,
      async rerun(replace) {
        const out = new Map<string, unknown>();
        for (const s of steps) {
          if (replace.has(s.id) || !s.inputs.some((i) => replace.has(i) || out.has(i))) continue;
          const n = plan.byId.get(s.id)!;
          const inputs: Record<string, unknown> = {};
          for (const [p, src] of Object.entries(n.inputs)) inputs[p] = replace.get(src) ?? out.get(src) ?? (await output(src));
          if (ctx.signal.aborted) throw new CancelledError();
          // Silent: these runs are the caller's means, not steps of the pipeline.
          const quiet = makeStepContext({ stepId: n.id, seed: n.def.seeded ? spec.seed : 0, pipelineDir: spec.dir, signal: ctx.signal, threads: ctx.threads });
          try {
            out.set(s.id, await n.def.run(inputs as never, n.params as never, quiet));
          } catch (e) {
            if (e instanceof CancelledError) throw e;
            throw new LineageError(n.id, n.kind, e);
          }
        }
        return out;
      },
    };
  };
  const release = (id: string): void => {
    const left = (consumers.get(id) ?? 0) - 1;
    consumers.set(id, left);
    if (left <= 0) values.delete(id);
  };

  /**
   * Runs a node's step (here, or in a worker through `execute`) and stores its output together
   * with its history row. Throws if the step fails. `computed` may be called once the step's work
   * is over, before its output is stored.
   */
  const computeNode = async (
    node: PlanNode,
    reason: string,
    computed: () => void,
    warnings: string[],
    again = false,
    times: StepTimes = { ...NO_TIMES },
  ): Promise<{ outcome: StepOutcome; output: unknown }> => {
    const { key, basis } = keys.get(node.id)!;
    const started = performance.timeOrigin + performance.now();
    const ts = performance.now();
    const ctx: StepContext = makeStepContext({
      stepId: node.id,
      seed: node.def.seeded ? spec.seed : 0,
      pipelineDir: spec.dir,
      log: (m) => progress.stepLog(node.id, m, 'info'),
      warn: (m) => {
        warnings.push(m);
        progress.stepLog(node.id, m, 'warn');
      },
      progress: (f, m) => progress.stepProgress(node.id, Math.max(0, Math.min(1, f)), m),
      signal: opts.signal,
      workDir: path.join(store.dir, 'checkpoints', key),
      threads: opts.threads ?? coreBudget(opts.concurrency),
      lineage: (port, through) => lineageFor(node, ctx, port, through),
    });
    const inputs: Record<string, unknown> = {};
    for (const [port, src] of Object.entries(node.inputs)) inputs[port] = await valueOf(src, node.id);
    const tc = performance.now();
    times.loadMs = tc - ts;
    if (ctx.signal.aborted) throw new CancelledError();
    let elsewhere: Promise<unknown> | undefined;
    let output: unknown;
    try {
      elsewhere = opts.execute?.(node, inputs, ctx);
      output = await (elsewhere ?? node.def.run(inputs as never, node.params as never, ctx));
    } finally {
      // Kept for a step that fails too (its outcome reports how long it ran).
      times.computeMs = performance.now() - tc;
    }
    const durationMs = performance.now() - ts;
    // A step that ran elsewhere (a worker) frees its slot now: the next one starts there while
    // this thread stores the output. One that ran here keeps it until stored, or the next step,
    // computing on this thread, would hold back the store's callbacks (and its ✓ line).
    if (elsewhere) computed();
    if (ctx.signal.aborted) throw new CancelledError();
    const metrics = node.def.metrics?.(output as never) ?? {};
    const summary = node.def.summary?.(output as never);
    const outcome: StepOutcome = { id: node.id, kind: node.kind, key, cached: false, status: 'ok', durationMs, ...times, summary, metrics, warnings, reason };
    // Store before anyone reads it: the transaction commits the whole artifact or nothing, and
    // the step's history row with it (a run killed once the step shows done keeps both).
    const tStore = performance.now();
    await store.putArtifact(
      key,
      { type: node.def.output, kind: node.kind, stepVersion: node.def.version, meta: { metrics, summary, warnings } },
      encodeArtifactParts(output),
      stepRowsWriter({ ...stepRecord(outcome, basis, started), again }),
    );
    outcome.storeMs = times.storeMs = performance.now() - tStore;
    values.set(node.id, Promise.resolve(output));
    return { outcome, output };
  };

  /** `computed` may be called once the step's work is over, before its output is stored. */
  const runNode = async (node: PlanNode, computed: () => void): Promise<StepOutcome> => {
    const { key, basis } = keys.get(node.id)!;
    const started = performance.timeOrigin + performance.now();
    const ts = performance.now();
    const base = { id: node.id, kind: node.kind, key, warnings: [] as string[], metrics: {} as Record<string, number>, ...NO_TIMES };
    let info = hits.get(key);
    let reason: string | undefined;
    if (info && need.has(node.id)) {
      // The caller reads this output after the run (export, the HTML report): check it now, so a
      // damaged one is recomputed in this run instead of failing the caller.
      const bytes = await store.getArtifactBytes(key);
      if (bytes) values.set(node.id, Promise.resolve(decodeArtifact(bytes)));
      else {
        await dropDamaged(node.id, key, node.id);
        info = undefined;
        reason = DAMAGED;
      }
    }
    if (info) {
      progress.stepStarted(node.id, { cached: true });
      const o: StepOutcome = {
        ...base,
        cached: true,
        status: 'ok',
        durationMs: performance.now() - ts,
        summary: info.meta.summary,
        metrics: info.meta.metrics,
        warnings: info.meta.warnings,
      };
      record(o, basis, started);
      return o;
    }
    if (reason === undefined) {
      const prev = (await previous).get(node.id);
      reason = explainMiss(node, basis, prev, missReasons);
    }
    missReasons.set(node.id, reason);
    progress.stepStarted(node.id, { cached: false, reason });
    const warnings: string[] = [];
    const times: StepTimes = { ...NO_TIMES };
    try {
      return (await computeNode(node, reason, computed, warnings, false, times)).outcome;
    } catch (e) {
      const cancelled = e instanceof CancelledError || (opts.signal?.aborted ?? false);
      const o: StepOutcome = {
        ...base,
        cached: false,
        status: cancelled ? 'cancelled' : 'failed',
        durationMs: performance.now() - ts,
        ...times,
        error: errorText(e),
        warnings,
        reason,
      };
      if (!cancelled) firstError ??= e instanceof Error ? e : new Error(String(e));
      record(o, basis, started);
      return o;
    } finally {
      for (const src of new Set(Object.values(node.inputs))) release(src);
    }
  };

  // The history rows of cached, failed and skipped steps are written behind the scheduler (the
  // store queues them in order) so a cached step does not hold up its dependants; the run waits
  // for all of them before it ends. A computed step's row commits with its artifact (computeNode).
  // A failed write fails the run (it is awaited below; caught here so that it is never an
  // unhandled rejection while the scheduler goes on).
  const records: Promise<void>[] = [];
  let recordError: Error | undefined;
  const record = (o: StepOutcome, basis: KeyBasis, started: number): void => {
    const r = stepRecord(o, basis, started);
    records.push(
      recordStep(store, r).catch((e: unknown) => {
        recordError ??= e instanceof Error ? e : new Error(String(e));
      }),
    );
  };
  const stepRecord = (o: StepOutcome, basis: KeyBasis, started: number): StepRecord => stepRecordOf(runId, o, basis, started);

  // Dependency-driven scheduling with a bound on nodes computing at once.
  const limit = coreBudget(opts.concurrency);
  for (const n of plan.nodes) {
    const o = earlier(n);
    if (o) outcomes.set(n.id, o);
  }
  const waiting = new Set(todo);
  let active = 0;
  let unfinished = 0;
  await new Promise<void>((done) => {
    const pump = (): void => {
      for (const node of [...waiting]) {
        const deps = Object.values(node.inputs).map((d) => outcomes.get(d));
        if (deps.some((d) => d === undefined)) continue;
        if (deps.some((d) => d!.status !== 'ok') || opts.signal?.aborted) {
          waiting.delete(node);
          const cancelled = opts.signal?.aborted ?? false;
          const o: StepOutcome = {
            id: node.id,
            kind: node.kind,
            key: keys.get(node.id)!.key,
            cached: false,
            status: cancelled ? 'cancelled' : 'skipped',
            durationMs: 0,
            ...NO_TIMES,
            warnings: [],
            metrics: {},
            error: cancelled ? 'cancelled' : `input ${deps.find((d) => d!.status !== 'ok')!.id} did not complete`,
          };
          outcomes.set(node.id, o);
          progress.stepFinished(node.id, o);
          for (const src of new Set(Object.values(node.inputs))) release(src);
          continue;
        }
        if (active >= limit) break;
        waiting.delete(node);
        active++;
        unfinished++;
        // A step run in a worker frees its slot before its output is stored (see runNode).
        let freed = false;
        const free = (): void => {
          if (freed) return;
          freed = true;
          active--;
          pump();
        };
        void runNode(node, free).then((o) => {
          outcomes.set(node.id, o);
          progress.stepFinished(node.id, o);
          unfinished--;
          if (freed) pump();
          else free();
        });
      }
      if (waiting.size === 0 && unfinished === 0) done();
    };
    pump();
  });
  await progress.finish();

  const steps = plan.nodes.map((n) => outcomes.get(n.id)!);
  await Promise.all(records);
  if (recordError) firstError ??= recordError;
  const ended = steps.some((s) => s.status === 'failed') || recordError ? 'failed' : steps.some((s) => s.status === 'cancelled') ? 'cancelled' : 'succeeded';
  // Stopped by the user (not by watch's newer save): recorded as interrupted, its end row written once.
  const reason: unknown = opts.signal?.aborted ? opts.signal.reason : undefined;
  const status: RunResult['status'] = ended !== 'succeeded' && reason instanceof Interruption ? 'interrupted' : ended;
  const endError = status === 'interrupted' ? `interrupted by ${(reason as Interruption).by}` : firstError ? errorText(firstError) : undefined;
  const outputs = new Map<string, unknown>();
  for (const id of need) {
    const v = values.get(id);
    if (v && outcomes.get(id)?.status === 'ok') outputs.set(id, await v);
  }
  if (!opts.round) {
    const { commit, dirty } = await git;
    await setRunGit(store, runId, commit, dirty);
    await endRun(store, runId, status, endError);
  }
  return { runId, pipeline: spec.name, status, durationMs: performance.now() - t0, steps, error: firstError, outputs };
}
