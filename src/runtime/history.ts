import { rungs, topFidelity } from '../evaluation/halving.js';
import type { DuckDBValue } from '@duckdb/node-api';
import type { Plan } from '../compiler/index.js';
import { RunError } from '../core/diagnostics.js';
import type { KeyBasis } from './keys.js';
import type { OverfitStats } from '../evaluation/overfitting.js';
import type { Store, StoreTx } from './store.js';

/**
 * The run history: every query on runs, step runs, params, metrics, a sweep's variants, the models
 * they trained and gc's choice of runs. The CLI, the HTML report and the scheduler read and write
 * the history through this module only; ./store.ts owns the file, its schema, the artifact
 * catalogue and the transactions these queries run in (and, on open, marks runs a killed process
 * left `running` as interrupted).
 */

// ---- writing ----

export interface RunStart {
  id: string;
  pipeline: string;
  file: string;
  fileHash: string;
  gitCommit: string | null;
  gitDirty: boolean | null;
  seed: number;
  text: string;
  version: string;
}

export async function beginRun(store: Store, r: RunStart): Promise<void> {
  await store.query(`INSERT INTO runs VALUES ($1, $2, $3, $4, $5, $6, epoch_ms($7::BIGINT), NULL, 'running', $8, $9, NULL, $10)`, [
    r.id,
    r.pipeline,
    r.file,
    r.fileHash,
    r.gitCommit,
    r.gitDirty,
    Date.now(),
    r.seed,
    r.text,
    r.version,
  ]);
}

export async function setRunGit(store: Store, id: string, commit: string | null, dirty: boolean | null): Promise<void> {
  await store.query(`UPDATE runs SET git_commit = $2, git_dirty = $3 WHERE id = $1`, [id, commit, dirty]);
}

export async function endRun(store: Store, id: string, status: string, error?: string): Promise<void> {
  await store.query(`UPDATE runs SET status = $2, ended_at = epoch_ms($4::BIGINT), error = $3 WHERE id = $1`, [id, status, error ?? null, Date.now()]);
}

/**
 * A whole run's row, ended, in the caller's transaction: how a run recorded without opening the
 * store (./cached-run.ts, through its journal) is written.
 */
export function runRowWriter(r: RunStart & { startedAt: number; endedAt: number; status: string; error?: string }): (tx: StoreTx) => Promise<void> {
  return async (tx) => {
    await tx.run(
      `INSERT INTO runs (id, pipeline, file, file_hash, git_commit, git_dirty, started_at, ended_at, status, seed, pipeline_text, error, fxflow_version)
       VALUES ($1, $2, $3, $4, $5, $6, epoch_ms($7::BIGINT), epoch_ms($8::BIGINT), $9, $10, $11, $12, $13)`,
      [
        r.id,
        r.pipeline,
        r.file,
        r.fileHash,
        r.gitCommit,
        r.gitDirty,
        Math.round(r.startedAt),
        Math.round(r.endedAt),
        r.status,
        r.seed,
        r.text,
        r.error ?? null,
        r.version,
      ],
    );
  };
}

/** A step run's history rows: the step run, its flattened params and its metrics. */
export interface StepRecord {
  run: StepRunRecord;
  flatParams: [string, unknown][];
  metrics: Record<string, number>;
  /** The step was recorded before in this run (a damaged input recomputed): its earlier rows go. */
  again?: boolean;
}

export interface StepRunRecord {
  runId: string;
  stepId: string;
  kind: string;
  key: string;
  cached: boolean;
  /** Epoch ms, fractional (microsecond resolution in the store). */
  startedAt: number;
  durationMs: number;
  status: 'ok' | 'failed' | 'skipped' | 'cancelled';
  error?: string;
  params: unknown;
  inputs: Record<string, string>;
  fingerprint: unknown;
  stepVersion: number;
  seed: number | null;
  summary?: string;
  warnings: string[];
}

/** Records a step run with its flattened params and metrics, in one transaction. */
export async function recordStep(store: Store, step: StepRecord): Promise<void> {
  await store.transaction(stepRowsWriter(step));
}

/**
 * Writes a step run's rows in the caller's transaction (replacing any of the same run and step: a
 * damaged input recomputed is recorded again). Passed to `Store.putArtifact`, they commit with the
 * artifact the step made.
 */
export function stepRowsWriter({ run: s, flatParams, metrics, again }: StepRecord): (tx: StoreTx) => Promise<void> {
  return async (tx) => {
    await tx.run(`INSERT OR REPLACE INTO step_runs VALUES ($1, $2, $3, $4, $5, make_timestamp($6::BIGINT), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, [
      // Microseconds: cached steps start within the same millisecond, and history lists steps
      // in the order they started.
      s.runId,
      s.stepId,
      s.kind,
      s.key,
      s.cached,
      Math.round(s.startedAt * 1000),
      s.durationMs,
      s.status,
      s.error ?? null,
      JSON.stringify(s.params),
      JSON.stringify(s.inputs),
      JSON.stringify(s.fingerprint ?? null),
      s.stepVersion,
      s.seed,
      s.summary ?? null,
      JSON.stringify(s.warnings),
    ]);
    if (again) {
      await tx.run(`DELETE FROM params WHERE run_id = $1 AND step_id = $2`, [s.runId, s.stepId]);
      await tx.run(`DELETE FROM metrics WHERE run_id = $1 AND step_id = $2`, [s.runId, s.stepId]);
    }
    // One statement per table: a step can have dozens of params and metrics, and each
    // statement is a round trip (this is on the path of every cached step in watch mode).
    await tx.insert(
      'params',
      flatParams.map(([p, v]) => [s.runId, s.stepId, p, JSON.stringify(v)]),
    );
    await tx.insert(
      'metrics',
      Object.entries(metrics).map(([name, value]) => [s.runId, s.stepId, name, value]),
      { doubles: [3] },
    );
  };
}

// ---- runs ----

/** A run as recorded: the one type every reader of the history gets. */
export interface RunRow {
  id: string;
  pipeline: string;
  status: string;
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff` as DuckDB writes a TIMESTAMP. */
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
  file: string;
  seed: number;
  error: string | null;
  /** The pipeline file as it was when the run started. */
  text: string;
}

const RUN_COLS = `r.id, r.pipeline, r.status, CAST(r.started_at AS VARCHAR) AS started_at, CAST(r.ended_at AS VARCHAR) AS ended_at,
  date_diff('millisecond', r.started_at, r.ended_at) AS duration_ms, r.git_commit, r.git_dirty, r.file, r.seed, r.error, r.pipeline_text`;
/** Newest first; runs started in the same microsecond are ordered by id, so the order is total. */
const NEWEST_FIRST = 'r.started_at DESC, r.id DESC';

function toRun(r: Record<string, unknown>): RunRow {
  return {
    id: String(r.id),
    pipeline: String(r.pipeline),
    status: String(r.status),
    startedAt: String(r.started_at),
    endedAt: r.ended_at === null ? null : String(r.ended_at),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    gitCommit: r.git_commit === null ? null : String(r.git_commit),
    gitDirty: r.git_dirty === null ? null : Boolean(r.git_dirty),
    file: String(r.file),
    seed: Number(r.seed),
    error: r.error === null ? null : String(r.error),
    text: String(r.pipeline_text),
  };
}

/** How a run is named on the command line (the CLI's help quotes it). */
export const RUN_REF_HELP = 'an id, a unique prefix of one, `latest` (the newest run) or `latest~N` (N runs before it)';

/** Ids listed in an "ambiguous" error. */
const AMBIGUOUS_SHOWN = 5;

/**
 * A run by reference: `latest` is the newest run of the store (by start time, then id),
 * `latest~N` the Nth before it; anything else is a full run id or a prefix of exactly one. The
 * same rule for every command. An unknown, ambiguous or malformed reference is a RunError saying
 * what the store holds.
 */
export async function resolveRun(store: Store, ref: string): Promise<RunRow> {
  if (ref.startsWith('latest')) {
    const m = /^latest(?:~(\d+))?$/.exec(ref);
    if (!m) throw new RunError(`\`${ref}\` is not a run reference`, { hint: `a run is ${RUN_REF_HELP}` });
    const back = m[1] === undefined ? 0 : Number(m[1]);
    const r = Number.isSafeInteger(back) ? await store.query(`SELECT ${RUN_COLS} FROM runs r ORDER BY ${NEWEST_FIRST} LIMIT 1 OFFSET $1`, [back]) : [];
    if (r.length) return toRun(r[0]);
    const n = await countRuns(store);
    if (n === 0) throw new RunError('there are no runs yet in this store', { hint: 'fxflow run FILE makes one' });
    throw new RunError(`there is no run ${ref}: the store has ${n} run${n === 1 ? '' : 's'}`, {
      hint: n === 1 ? '`latest` is the only one' : `\`latest~${n - 1}\` is the oldest; \`fxflow runs\` lists them`,
    });
  }
  if (!ref) throw new RunError('an empty run reference', { hint: `a run is ${RUN_REF_HELP}` });
  const r = await store.query(`SELECT ${RUN_COLS} FROM runs r WHERE starts_with(r.id, $1) ORDER BY ${NEWEST_FIRST} LIMIT ${AMBIGUOUS_SHOWN + 1}`, [ref]);
  const exact = r.find((x) => x.id === ref);
  if (exact) return toRun(exact);
  if (r.length === 1) return toRun(r[0]);
  if (r.length > 1) {
    const ids = r.slice(0, AMBIGUOUS_SHOWN).map((x) => String(x.id));
    throw new RunError(
      `run \`${ref}\` is ambiguous: it starts ${r.length > AMBIGUOUS_SHOWN ? `more than ${AMBIGUOUS_SHOWN}` : r.length} run ids (${ids.join(', ')}${r.length > AMBIGUOUS_SHOWN ? ', …' : ''})`,
      {
        hint: 'give more of the run id',
      },
    );
  }
  throw new RunError(`no run \`${ref}\` in this store`, { hint: '`fxflow runs` lists the runs; `latest` is the newest' });
}

/** The newest run with a completed step whose artifact (still in the store) is of `type`, e.g. `Report`. */
export async function newestRunWithArtifact(store: Store, type: string): Promise<RunRow | undefined> {
  const rows = await store.query(
    `SELECT ${RUN_COLS} FROM runs r
     WHERE EXISTS (SELECT 1 FROM step_runs s JOIN artifacts a ON a.key = s.key WHERE s.run_id = r.id AND a.type = $1 AND s.status = 'ok')
     ORDER BY ${NEWEST_FIRST} LIMIT 1`,
    [type],
  );
  return rows.length ? toRun(rows[0]) : undefined;
}

export async function countRuns(store: Store): Promise<number> {
  return Number((await store.query(`SELECT count(*)::INTEGER AS n FROM runs`))[0].n);
}

/** A run in `fxflow runs`: the run, how many steps it computed and took from the cache, its metrics. */
export interface RunListing {
  run: RunRow;
  computed: number;
  cached: number;
  /** `step.name` → value. */
  metrics: Record<string, number>;
}

/** The newest `limit` runs (of `pipeline`, when given), newest first. */
export async function listRuns(store: Store, opts: { pipeline?: string; limit: number }): Promise<RunListing[]> {
  const runs = await store.query(
    `SELECT ${RUN_COLS},
            (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.status = 'ok' AND NOT s.cached)::INTEGER AS computed,
            (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.cached)::INTEGER AS cached
     FROM runs r WHERE ($1::VARCHAR IS NULL OR r.pipeline = $1) ORDER BY ${NEWEST_FIRST} LIMIT $2`,
    [opts.pipeline ?? null, opts.limit],
  );
  const metricRows = runs.length
    ? await store.query(
        `SELECT run_id, step_id, name, value FROM metrics WHERE run_id IN (${runs.map((_, i) => `$${i + 1}`).join(',')}) ORDER BY run_id, step_id, name`,
        runs.map((r) => String(r.id)),
      )
    : [];
  const metrics = new Map<string, Record<string, number>>();
  for (const m of metricRows) {
    const rec = metrics.get(String(m.run_id)) ?? {};
    rec[`${m.step_id}.${m.name}`] = m.value as number;
    metrics.set(String(m.run_id), rec);
  }
  return runs.map((r) => ({ run: toRun(r), computed: Number(r.computed), cached: Number(r.cached), metrics: metrics.get(String(r.id)) ?? {} }));
}

/** How a page of runs is sorted: a run column, or `metric:NAME` (a metric's value, the first step's that has it). */
export type RunSort = 'started' | 'duration' | 'pipeline' | 'status' | 'id' | `metric:${string}`;

export interface RunPageQuery {
  pipeline?: string;
  status?: string;
  sort: RunSort;
  desc: boolean;
  offset: number;
  limit: number;
}

export interface RunPage {
  /** Runs matching the filters, all pages. */
  total: number;
  runs: RunListing[];
}

const SORT_COLS: Record<string, string> = {
  started: 'r.started_at',
  duration: 'duration_ms',
  pipeline: 'r.pipeline',
  status: 'r.status',
  id: 'r.id',
};

/**
 * One page of the runs, filtered and sorted in the database (a store of ten thousand runs reads
 * only the page shown), ties newest first. Unknown values never reach the SQL text: the sort
 * column comes from a fixed list, a metric's name is a bound parameter.
 */
export async function pageRuns(store: Store, q: RunPageQuery): Promise<RunPage> {
  const metric = q.sort.startsWith('metric:') ? q.sort.slice('metric:'.length) : undefined;
  const order = metric !== undefined ? 'sort_value' : (SORT_COLS[q.sort] ?? SORT_COLS.started);
  const dir = q.desc ? 'DESC' : 'ASC';
  const where = `($1::VARCHAR IS NULL OR r.pipeline = $1) AND ($2::VARCHAR IS NULL OR r.status = $2)`;
  const total = Number((await store.query(`SELECT count(*)::INTEGER AS n FROM runs r WHERE ${where}`, [q.pipeline ?? null, q.status ?? null]))[0].n);
  const runs = await store.query(
    `WITH m AS (SELECT run_id, arg_min(value, step_id) AS v FROM metrics WHERE name = $3 GROUP BY run_id),
     c AS (SELECT run_id, count(*) FILTER (WHERE status = 'ok' AND NOT cached)::INTEGER AS computed, count(*) FILTER (WHERE cached)::INTEGER AS cached
           FROM step_runs GROUP BY run_id)
     SELECT ${RUN_COLS}, m.v AS sort_value, COALESCE(c.computed, 0) AS computed, COALESCE(c.cached, 0) AS cached
     FROM runs r LEFT JOIN m ON m.run_id = r.id LEFT JOIN c ON c.run_id = r.id WHERE ${where}
     ORDER BY ${order} ${dir} NULLS LAST, ${NEWEST_FIRST} LIMIT $4 OFFSET $5`,
    [q.pipeline ?? null, q.status ?? null, metric ?? null, q.limit, q.offset],
  );
  const metricRows = runs.length
    ? await store.query(
        `SELECT run_id, step_id, name, value FROM metrics WHERE run_id IN (${runs.map((_, i) => `$${i + 1}`).join(',')}) ORDER BY run_id, step_id, name`,
        runs.map((r) => String(r.id)),
      )
    : [];
  const metrics = new Map<string, Record<string, number>>();
  for (const m of metricRows) {
    const rec = metrics.get(String(m.run_id)) ?? {};
    rec[`${m.step_id}.${m.name}`] = m.value as number;
    metrics.set(String(m.run_id), rec);
  }
  return {
    total,
    runs: runs.map((r) => ({ run: toRun(r), computed: Number(r.computed), cached: Number(r.cached), metrics: metrics.get(String(r.id)) ?? {} })),
  };
}

/** What the runs can be filtered and sorted by: pipeline names, statuses and metric names in the store. */
export async function runFacets(store: Store): Promise<{ pipelines: string[]; statuses: string[]; metrics: string[] }> {
  const col = async (sql: string): Promise<string[]> => (await store.query(sql)).map((r) => String(r.v));
  return {
    pipelines: await col(`SELECT DISTINCT pipeline AS v FROM runs ORDER BY v`),
    statuses: await col(`SELECT DISTINCT status AS v FROM runs ORDER BY v`),
    metrics: await col(`SELECT DISTINCT name AS v FROM metrics ORDER BY v`),
  };
}

// ---- step runs, params, metrics ----

export interface StepRow {
  nodeId: string;
  /** The YAML step id (differs from nodeId in a sweep). */
  step: string;
  kind: string;
  key: string;
  cached: boolean;
  status: string;
  durationMs: number;
  error: string | null;
  params: Record<string, unknown>;
  summary: string | null;
  warnings: string[];
  /** Input port → the key of the artifact it read (a graph of the run links keys to its steps). */
  inputs: Record<string, string>;
}

/** A run's step runs, in the order they started. */
export async function runSteps(store: Store, runId: string): Promise<StepRow[]> {
  const rows = await store.query(
    `SELECT s.step_id, COALESCE(n.step_id, s.step_id) AS step, s.kind, s.key, s.cached, s.status, s.duration_ms, s.error,
            CAST(s.params AS VARCHAR) AS params, s.summary, CAST(s.warnings AS VARCHAR) AS warnings, CAST(s.inputs AS VARCHAR) AS inputs
     FROM step_runs s LEFT JOIN run_nodes n ON n.run_id = s.run_id AND n.node_id = s.step_id
     WHERE s.run_id = $1 ORDER BY s.started_at, s.step_id`,
    [runId],
  );
  return rows.map((r) => ({
    nodeId: String(r.step_id),
    step: String(r.step),
    kind: String(r.kind),
    key: String(r.key),
    cached: Boolean(r.cached),
    status: String(r.status),
    durationMs: Number(r.duration_ms),
    error: r.error === null ? null : String(r.error),
    params: r.params === null ? {} : (JSON.parse(String(r.params)) as Record<string, unknown>),
    summary: r.summary === null ? null : String(r.summary),
    warnings: r.warnings === null ? [] : (JSON.parse(String(r.warnings)) as string[]),
    inputs: r.inputs === null ? {} : (JSON.parse(String(r.inputs)) as Record<string, string>),
  }));
}

/** Flattened params of a run: `node id` → `path` → JSON text of the value. */
export async function runParams(store: Store, runId: string): Promise<Map<string, Map<string, string>>> {
  const rows = await store.query(`SELECT step_id, path, CAST(value AS VARCHAR) AS value FROM params WHERE run_id = $1 ORDER BY step_id, path`, [runId]);
  const out = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const m = out.get(String(r.step_id)) ?? new Map<string, string>();
    m.set(String(r.path), String(r.value));
    out.set(String(r.step_id), m);
  }
  return out;
}

/** Metrics of a run: `node.name` → value. */
export async function runMetrics(store: Store, runId: string): Promise<Map<string, number | null>> {
  const rows = await store.query(`SELECT step_id, name, value FROM metrics WHERE run_id = $1 ORDER BY step_id, name`, [runId]);
  return new Map(rows.map((r) => [`${r.step_id}.${r.name}`, r.value === null ? null : Number(r.value)]));
}

function parseJson(v: unknown): unknown {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

/** What a recorded step run was made of (its cache key's basis), to say why a step reruns. */
function basisFromRow(row: Record<string, unknown>): KeyBasis {
  return {
    kind: String(row.kind),
    version: Number(row.step_version),
    params: (parseJson(row.params) ?? {}) as Record<string, unknown>,
    inputs: (parseJson(row.inputs) ?? {}) as Record<string, string>,
    seed: row.seed === null || row.seed === undefined ? null : Number(row.seed),
    fingerprint: parseJson(row.fingerprint) ?? null,
  };
}

/** The basis of the most recent completed run of every step id of a pipeline, in one query. */
export async function lastStepBases(store: Store, pipeline: string): Promise<Map<string, KeyBasis>> {
  const rows = await store.query(
    `SELECT DISTINCT ON (s.step_id) s.step_id, s.kind, s.step_version, CAST(s.params AS VARCHAR) AS params, CAST(s.inputs AS VARCHAR) AS inputs,
            s.seed, CAST(s.fingerprint AS VARCHAR) AS fingerprint
     FROM step_runs s JOIN runs r ON r.id = s.run_id
     WHERE r.pipeline = $1 AND s.status = 'ok'
     ORDER BY s.step_id, s.started_at DESC`,
    [pipeline],
  );
  return new Map(rows.map((r) => [String(r.step_id), basisFromRow(r)]));
}

// ---- comparing runs ----

export interface ParamChange {
  /** Node id (the step id outside sweeps). */
  step: string;
  path: string;
  /** Where it is written in the YAML: `steps.model.with.alpha`. */
  yamlPath: string;
  from: unknown;
  to: unknown;
}

/** The YAML path of a flattened param of a node: `model[alpha=1]` + `alpha` → `steps.model.with.alpha`. */
export function yamlPath(nodeId: string, path: string): string {
  const step = nodeId.replace(/[[@#].*$/, '');
  return `steps.${step}.with${path.startsWith('[') || path === '' ? '' : '.'}${path}`;
}

const parseText = (s: string | undefined): unknown => (s === undefined ? undefined : JSON.parse(s));

export function paramChanges(a: Map<string, Map<string, string>>, b: Map<string, Map<string, string>>): ParamChange[] {
  const out: ParamChange[] = [];
  const steps = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const step of steps) {
    const pa = a.get(step);
    const pb = b.get(step);
    // A step present in only one run is a structural change, listed by `diff` among the steps.
    if (!pa || !pb) continue;
    for (const path of [...new Set([...pa.keys(), ...pb.keys()])].sort()) {
      if (pa.get(path) !== pb.get(path)) out.push({ step, path, yamlPath: yamlPath(step, path), from: parseText(pa.get(path)), to: parseText(pb.get(path)) });
    }
  }
  return out;
}

/** `model.alpha 1 → 10` for people. */
export function formatChange(c: ParamChange): string {
  const v = (x: unknown): string => (x === undefined ? '(unset)' : JSON.stringify(x));
  return `${c.step}.${c.path} ${v(c.from)} → ${v(c.to)}`;
}

/** Params changed since the previous run of the same pipeline (none for its first run). */
export async function changesSincePrevious(store: Store, runId: string): Promise<ParamChange[]> {
  const prev = await store.query(
    `SELECT p.id FROM runs r JOIN runs p ON p.pipeline = r.pipeline AND (p.started_at < r.started_at OR (p.started_at = r.started_at AND p.id < r.id))
     WHERE r.id = $1 ORDER BY p.started_at DESC, p.id DESC LIMIT 1`,
    [runId],
  );
  if (!prev.length) return [];
  return paramChanges(await runParams(store, String(prev[0].id)), await runParams(store, runId));
}

// ---- sweeps ----

type PlanSelect = NonNullable<Plan['select']>;
type MatrixValues = NonNullable<Plan['variants']>[number]['values'];

/**
 * A sweep's results: per variant, the metrics of the nodes it uses (named `step.metric`, the same
 * names as a plain run's), the selection score, and which variant `select:` picked.
 */
export interface VariantResult {
  index: number;
  values: MatrixValues;
  label: string;
  /** `step.name` → value, over the nodes this variant uses. */
  metrics: Record<string, number>;
  score?: number;
  selected: boolean;
}

export interface SweepResult {
  names: string[];
  variants: VariantResult[];
  select?: PlanSelect;
  /** Index of the selected variant. */
  selected?: number;
  /** Why nothing was selected, when `select:` is set but no variant has the metric. */
  note?: string;
  /** Is the winner real: its deflated Sharpe and the sweep's PBO (./search-run.ts). */
  overfit?: SweepOverfit;
  /** A halving search's rungs: the fidelity of each and how many trials ran at it. */
  halving?: SweepHalving;
}

export interface SweepHalving {
  param: string;
  rungs: { fidelity: number; trials: number }[];
}

/** The overfitting statistics of a sweep's selected variant, with the plain-language line shown beside the leaderboard. */
export type SweepOverfit = OverfitStats & { segment?: string; line: string };

/** What summarizeSweep needs of a step's outcome (the scheduler's StepOutcome). */
interface OutcomeMetrics {
  id: string;
  status: string;
  metrics: Record<string, number>;
}

export function summarizeSweep(plan: Plan, steps: readonly OutcomeMetrics[]): SweepResult | undefined {
  if (!plan.variants) return undefined;
  const outcome = new Map(steps.map((s) => [s.id, s]));
  const names = plan.spec.matrix?.names ?? [];
  const variants: VariantResult[] = plan.variants.map((v) => {
    const metrics: Record<string, number> = {};
    let score: number | undefined;
    for (const n of plan.nodes) {
      if (!n.variants?.includes(v.index)) continue;
      const o = outcome.get(n.id);
      if (!o || o.status !== 'ok') continue;
      for (const [k, val] of Object.entries(o.metrics)) metrics[`${n.step ?? n.id}.${k}`] = val;
      if (plan.select && n.step === plan.select.step) {
        const x = Object.hasOwn(o.metrics, plan.select.name) ? o.metrics[plan.select.name] : undefined;
        if (typeof x === 'number' && Number.isFinite(x)) score = x;
      }
    }
    return { index: v.index, values: v.values, label: v.label, metrics, ...(score !== undefined ? { score } : {}), selected: false };
  });
  const halving = plan.search?.spec.halving;
  const out: SweepResult = {
    names,
    variants,
    ...(plan.select ? { select: plan.select } : {}),
    ...(halving
      ? {
          halving: {
            param: halving.param,
            rungs: rungs(halving).map((f) => ({ fidelity: f, trials: variants.filter((v) => v.values[halving.param] === f).length })),
          },
        }
      : {}),
  };
  if (plan.select) {
    const sign = plan.select.mode === 'max' ? 1 : -1;
    let best: VariantResult | undefined;
    // A halving search's winner is among the trials that reached its highest rung.
    const top = halving ? topFidelity(halving, variants) : undefined;
    const eligible = (v: VariantResult) => !halving || v.values[halving.param] === top;
    // Ties keep the earlier variant: the choice is deterministic.
    for (const v of variants) if (v.score !== undefined && eligible(v) && (!best || sign * (v.score - best.score!) > 0)) best = v;
    if (best) {
      best.selected = true;
      out.selected = best.index;
    } else {
      const some = steps.find((s) => plan.byId.get(s.id)?.step === plan.select!.step && s.status === 'ok');
      out.note = some
        ? `no variant has metric \`${plan.select.name}\` in step \`${plan.select.step}\` (it has: ${Object.keys(some.metrics).join(', ') || 'no metrics'})`
        : `no variant completed step \`${plan.select.step}\``;
    }
  }
  return out;
}

/**
 * Writes a sweep's rows (its variants, which variants use each node) in one transaction,
 * replacing rows of the same key: one statement per table instead of one commit per row
 * (≈ 165 ms for a 12-variant sweep, at the end of every sweep run).
 */
export async function recordSweep(store: Store, runId: string, plan: Plan, sweep: SweepResult): Promise<void> {
  const select = sweep.select ? `${sweep.select.metric}${sweep.select.on ? ` on ${sweep.select.on}` : ''} (${sweep.select.mode})` : null;
  const variants: DuckDBValue[][] = sweep.variants.map((v) => [
    runId,
    v.index,
    v.label,
    JSON.stringify(v.values),
    JSON.stringify(v.metrics),
    select,
    v.score ?? null,
    v.selected,
  ]);
  const nodes: DuckDBValue[][] = plan.nodes.map((n) => [runId, n.id, n.step ?? n.id, JSON.stringify(n.variants ?? [])]);
  await store.transaction(async (tx) => {
    await tx.insert('run_variants', variants, { orReplace: true, doubles: [6] });
    await tx.insert('run_nodes', nodes, { orReplace: true });
    if (sweep.overfit) await tx.insert('run_overfit', [[runId, JSON.stringify(sweep.overfit)]], { orReplace: true });
  });
}

/** Which variants use each node of a sweep run (node id → variant indices). */
export async function nodeVariants(store: Store, runId: string): Promise<Map<string, number[]>> {
  const rows = await store.query(`SELECT node_id, CAST(variants AS VARCHAR) AS variants FROM run_nodes WHERE run_id = $1`, [runId]);
  return new Map(rows.map((r) => [String(r.node_id), JSON.parse(String(r.variants)) as number[]]));
}

/** A sweep's recorded overfitting statistics (undefined for a run without them). */
export async function loadOverfit(store: Store, runId: string): Promise<SweepOverfit | undefined> {
  const rows = await store.query(`SELECT stats FROM run_overfit WHERE run_id = $1`, [runId]);
  return rows.length ? (JSON.parse(String(rows[0].stats)) as SweepOverfit) : undefined;
}

export interface StoredVariant {
  index: number;
  label: string;
  values: MatrixValues;
  metrics: Record<string, number>;
  select: string | null;
  score: number | null;
  selected: boolean;
}

/** A run's variants as recorded, in matrix order (empty for a plain run). */
export async function loadVariants(store: Store, runId: string): Promise<StoredVariant[]> {
  const rows = await store.query(`SELECT idx, label, vals, metrics, select_metric, score, selected FROM run_variants WHERE run_id = $1 ORDER BY idx`, [runId]);
  return rows.map((r) => ({
    index: Number(r.idx),
    label: String(r.label),
    values: JSON.parse(String(r.vals)) as MatrixValues,
    metrics: JSON.parse(String(r.metrics)) as Record<string, number>,
    select: r.select_metric === null ? null : String(r.select_metric),
    score: r.score === null ? null : Number(r.score),
    selected: Boolean(r.selected),
  }));
}

// ---- models ----

/**
 * A trained model in the store, with the latest run and pipeline that produced or reused it
 * (Model artifacts joined to step runs and runs by key; no table of its own).
 */
export interface ModelEntry {
  key: string;
  /** The model kind (`ridge`, `gbm`, …) from the train step's params; `?` if unknown. */
  model: string;
  pipeline: string | null;
  step: string | null;
  run: string | null;
  /** UTC, to the second. */
  createdAt: string;
  bytes: number;
  metrics: Record<string, number>;
}

/** Every Model artifact (of `pipeline`'s runs, when given), newest first. */
export async function listModels(store: Store, pipeline?: string): Promise<ModelEntry[]> {
  const rows = await store.query(
    `WITH latest AS (
       SELECT s.key, s.run_id, s.step_id, s.params, r.pipeline, r.started_at,
              row_number() OVER (PARTITION BY s.key ORDER BY r.started_at DESC, r.id DESC) AS rn
       FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE s.status = 'ok')
     SELECT a.key, CAST(a.created_at AS VARCHAR) AS created_at, a.meta, a.bytes,
            l.run_id, l.step_id, l.params, l.pipeline
     FROM artifacts a LEFT JOIN latest l ON l.key = a.key AND l.rn = 1
     WHERE a.type = 'Model' AND ($1::VARCHAR IS NULL OR l.pipeline = $1)
     ORDER BY a.created_at DESC, a.key`,
    [pipeline ?? null],
  );
  return rows.map((r) => {
    const meta = JSON.parse(String(r.meta)) as { metrics?: Record<string, number> };
    const params = r.params ? (JSON.parse(String(r.params)) as { model?: string }) : {};
    return {
      key: String(r.key),
      model: params.model ?? '?',
      pipeline: (r.pipeline as string | null) ?? null,
      step: (r.step_id as string | null) ?? null,
      run: (r.run_id as string | null) ?? null,
      createdAt: String(r.created_at).slice(0, 19),
      bytes: Number(r.bytes),
      metrics: meta.metrics ?? {},
    };
  });
}

/** A replay step's Report in the store with the latest run that made or reused it: its retrained models are registry entries. */
export interface ReplayReportEntry {
  key: string;
  pipeline: string;
  step: string;
  run: string;
  /** UTC, to the second. */
  createdAt: string;
  params: Record<string, unknown>;
}

/** Every Report of a `replay` step (of `pipeline`'s runs, when given), newest first. */
export async function listReplayReports(store: Store, pipeline?: string): Promise<ReplayReportEntry[]> {
  const rows = await store.query(
    `WITH latest AS (
       SELECT s.key, s.run_id, s.step_id, CAST(s.params AS VARCHAR) AS params, r.pipeline,
              row_number() OVER (PARTITION BY s.key ORDER BY r.started_at DESC, r.id DESC) AS rn
       FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE s.status = 'ok' AND s.kind = 'replay')
     SELECT a.key, CAST(a.created_at AS VARCHAR) AS created_at, l.run_id, l.step_id, l.params, l.pipeline
     FROM artifacts a JOIN latest l ON l.key = a.key AND l.rn = 1
     WHERE a.type = 'Report' AND ($1::VARCHAR IS NULL OR l.pipeline = $1)
     ORDER BY a.created_at DESC, a.key`,
    [pipeline ?? null],
  );
  return rows.map((r) => ({
    key: String(r.key),
    pipeline: String(r.pipeline),
    step: String(r.step_id),
    run: String(r.run_id),
    createdAt: String(r.created_at).slice(0, 19),
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
  }));
}

// ---- model registry: lineage and stages ----

/** A step run with what its cache key was made of: the links (input keys) a model's lineage follows. */
export interface StepLink {
  nodeId: string;
  kind: string;
  key: string;
  status: string;
  params: Record<string, unknown>;
  /** Input port → the input's key. */
  inputs: Record<string, string>;
  fingerprint: unknown;
  seed: number | null;
  stepVersion: number;
}

/**
 * The newest run (or run `runId`) that made or reused the artifact `key` (a completed step with that key), with
 * every step run of that run: a model's lineage is followed from its train step through the input
 * keys. Undefined when no run names the key.
 */
export async function runOfArtifact(store: Store, key: string, runId?: string): Promise<{ run: RunRow; steps: StepLink[] } | undefined> {
  const runs = await store.query(
    `SELECT ${RUN_COLS} FROM runs r WHERE EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = r.id AND s.key = $1 AND s.status = 'ok')
       AND ($2::VARCHAR IS NULL OR r.id = $2)
     ORDER BY ${NEWEST_FIRST} LIMIT 1`,
    [key, runId ?? null],
  );
  if (!runs.length) return undefined;
  const run = toRun(runs[0]);
  const rows = await store.query(
    `SELECT step_id, kind, key, status, CAST(params AS VARCHAR) AS params, CAST(inputs AS VARCHAR) AS inputs, CAST(fingerprint AS VARCHAR) AS fingerprint,
            seed, step_version
     FROM step_runs WHERE run_id = $1 ORDER BY started_at, step_id`,
    [run.id],
  );
  const steps = rows.map((r): StepLink => {
    const b = basisFromRow(r);
    return {
      nodeId: String(r.step_id),
      kind: b.kind,
      key: String(r.key),
      status: String(r.status),
      params: b.params,
      inputs: b.inputs,
      fingerprint: b.fingerprint,
      seed: b.seed,
      stepVersion: b.version,
    };
  });
  return { run, steps };
}

/** The Model artifacts a run made or reused: `step id` → key, in the order the steps started. */
export async function modelsOfRun(store: Store, runId: string): Promise<{ step: string; key: string }[]> {
  const rows = await store.query(
    `SELECT s.step_id, s.key FROM step_runs s JOIN artifacts a ON a.key = s.key
     WHERE s.run_id = $1 AND s.status = 'ok' AND a.type = 'Model' ORDER BY s.started_at, s.step_id`,
    [runId],
  );
  return rows.map((r) => ({ step: String(r.step_id), key: String(r.key) }));
}

/** A model's stages: `champion` and `challenger` are held by one model at a time; `archived` by any number. */
export const STAGES = ['champion', 'challenger', 'archived'] as const;
export type Stage = (typeof STAGES)[number];
const EXCLUSIVE: readonly Stage[] = ['champion', 'challenger'];

export function isStage(s: string): s is Stage {
  return (STAGES as readonly string[]).includes(s);
}

/** One event of the stage history. */
export interface StageEvent {
  seq: number;
  key: string;
  stage: Stage;
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff`. */
  at: string;
  by: string;
  note: string | null;
}

function toStageEvent(r: Record<string, unknown>): StageEvent {
  return {
    seq: Number(r.seq),
    key: String(r.key),
    stage: String(r.stage) as Stage,
    at: String(r.changed_at),
    by: String(r.by_user),
    note: r.note === null ? null : String(r.note),
  };
}

/** The stage history (of one model, when `key` is given), oldest first. */
export async function stageHistory(store: Store, key?: string): Promise<StageEvent[]> {
  const rows = await store.query(
    `SELECT seq, key, stage, CAST(changed_at AS VARCHAR) AS changed_at, by_user, note FROM model_stages
     WHERE ($1::VARCHAR IS NULL OR key = $1) ORDER BY seq`,
    [key ?? null],
  );
  return rows.map(toStageEvent);
}

/** Every model's current stage (its newest event): key → stage. Models never staged are absent. */
export async function currentStages(store: Store): Promise<Map<string, Stage>> {
  const rows = await store.query(`SELECT DISTINCT ON (key) key, stage FROM model_stages ORDER BY key, seq DESC`);
  return new Map(rows.map((r) => [String(r.key), String(r.stage) as Stage]));
}

/** The model holding `stage` now (champion or challenger), if any. */
export async function stageHolder(store: Store, stage: Stage): Promise<string | undefined> {
  const rows = await store.query(
    `WITH cur AS (SELECT DISTINCT ON (key) key, stage, seq FROM model_stages ORDER BY key, seq DESC)
     SELECT key FROM cur WHERE stage = $1 ORDER BY seq DESC LIMIT 1`,
    [stage],
  );
  return rows.length ? String(rows[0].key) : undefined;
}

/**
 * Appends a stage event for `key`. Promoting to an exclusive stage (champion, challenger) first
 * appends an `archived` event for the model holding it (note: superseded by whom), in the same
 * transaction, so there is one holder at a time and the previous one stays in the history.
 * Returns the events appended, in order.
 */
export async function recordStage(store: Store, e: { key: string; stage: Stage; by: string; note?: string; at?: number }): Promise<StageEvent[]> {
  const at = Math.round((e.at ?? Date.now()) * 1000);
  return store.transaction(async (tx) => {
    let seq = Number((await tx.rows(`SELECT COALESCE(max(seq), 0)::BIGINT AS s FROM model_stages`))[0].s);
    const added: number[] = [];
    const append = async (key: string, stage: Stage, note: string | null): Promise<void> => {
      seq += 1;
      await tx.run(`INSERT INTO model_stages VALUES ($1, $2, $3, make_timestamp($4::BIGINT), $5, $6)`, [seq, key, stage, at, e.by, note]);
      added.push(seq);
    };
    if (EXCLUSIVE.includes(e.stage)) {
      const holders = await tx.rows(
        `WITH cur AS (SELECT DISTINCT ON (key) key, stage FROM model_stages ORDER BY key, seq DESC) SELECT key FROM cur WHERE stage = $1 AND key <> $2 ORDER BY key`,
        [e.stage, e.key],
      );
      for (const h of holders) await append(String(h.key), 'archived', `superseded as ${e.stage} by ${e.key.slice(0, 12)}`);
    }
    await append(e.key, e.stage, e.note ?? null);
    const rows = await tx.rows(
      `SELECT seq, key, stage, CAST(changed_at AS VARCHAR) AS changed_at, by_user, note FROM model_stages WHERE seq >= $1 ORDER BY seq`,
      [added[0]],
    );
    return rows.map(toStageEvent);
  });
}

/** How a model is named on the command line (`predict`, `models show|promote|demote` quote it). */
export const MODEL_REF_HELP =
  'a model id (a prefix of its key, as `fxflow models` lists them), a stage (`champion`, `challenger`), or a run (`latest`, `latest~N`, a run id) for the model it trained';

/**
 * A model by reference: a stage's current holder, the model a run trained (`step`: which train step,
 * when it trained several), or a unique prefix of a Model artifact's key (else of a run id). `runId`
 * is the run named, when a run was. An unknown or ambiguous reference is a RunError.
 */
export async function resolveModel(store: Store, ref: string, opts: { step?: string } = {}): Promise<{ key: string; runId?: string }> {
  if (ref === 'champion' || ref === 'challenger') {
    const key = await stageHolder(store, ref);
    if (key) return { key };
    const past = (await stageHistory(store)).filter((e) => e.stage === ref).pop();
    throw new RunError(`no model is the ${ref} now`, {
      hint: past
        ? `the last ${ref} was ${past.key.slice(0, 12)} (\`fxflow models history\`); promote one with \`fxflow models promote ID --stage ${ref}\``
        : `promote one with \`fxflow models promote ID --stage ${ref}\` (\`fxflow models\` lists the ids)`,
    });
  }
  if (ref === 'archived')
    throw new RunError('`archived` is a stage many models hold', { hint: 'name one model by its id (`fxflow models history` lists them)' });
  if (!ref) throw new RunError('an empty model reference', { hint: `a model is ${MODEL_REF_HELP}` });
  if (!ref.startsWith('latest')) {
    const keys = await store.query(`SELECT key FROM artifacts WHERE type = 'Model' AND starts_with(key, $1) ORDER BY key LIMIT ${AMBIGUOUS_SHOWN + 1}`, [ref]);
    if (keys.length === 1) return { key: String(keys[0].key) };
    if (keys.length > 1)
      throw new RunError(`model \`${ref}\` is ambiguous: it starts ${keys.length > AMBIGUOUS_SHOWN ? `more than ${AMBIGUOUS_SHOWN}` : keys.length} model ids`, {
        hint: `give more of the id: ${keys
          .slice(0, AMBIGUOUS_SHOWN)
          .map((k) => String(k.key).slice(0, 16))
          .join(', ')}`,
      });
    const runs = await store.query(`SELECT id FROM runs WHERE starts_with(id, $1) LIMIT 1`, [ref]);
    if (!runs.length) throw new RunError(`no model or run \`${ref}\` in this store`, { hint: `a model is ${MODEL_REF_HELP}; \`fxflow models\` lists them` });
  }
  const run = await resolveRun(store, ref);
  const models = await modelsOfRun(store, run.id);
  const picked = opts.step === undefined ? models : models.filter((m) => m.step === opts.step || m.step.startsWith(`${opts.step}[`));
  if (picked.length === 1) return { key: picked[0].key, runId: run.id };
  if (!models.length)
    throw new RunError(`run ${run.id} has no trained model in the store`, { hint: 'pick another run (`fxflow runs`) or a model id (`fxflow models`)' });
  if (!picked.length)
    throw new RunError(`run ${run.id} has no model from step \`${opts.step}\``, { hint: `its models come from: ${models.map((m) => m.step).join(', ')}` });
  throw new RunError(`run ${run.id} trained ${picked.length} models (${picked.map((m) => m.step).join(', ')})`, {
    hint: 'pick one with `--step ID`, or name it by its model id',
  });
}

// ---- gc ----

/**
 * Retention. A run is kept if it is among the `keepLast` newest runs or started within
 * `olderThanMs`; with neither option every run is kept. An artifact is removed only when no kept
 * run references its key (any step run of a kept run, computed or cached — every node of a run is
 * recorded in it, so the inputs a kept run needs are kept too). Run history is never removed:
 * `fxflow show` of an old run still works and says which artifacts are gone.
 */
export interface GcOptions {
  keepLast?: number;
  olderThanMs?: number;
  dryRun?: boolean;
  now?: number;
}

export interface GcResult {
  runs: number;
  keptRuns: number;
  artifacts: number;
  removed: { key: string; kind: string; bytes: number }[];
  bytes: number;
}

export async function collectGarbage(store: Store, opts: GcOptions): Promise<GcResult> {
  const now = opts.now ?? Date.now();
  const runs = await store.query(`SELECT r.id, epoch_ms(r.started_at) AS t FROM runs r ORDER BY ${NEWEST_FIRST}`);
  const any = opts.keepLast !== undefined || opts.olderThanMs !== undefined;
  const kept = runs.filter((r, i) => {
    if (!any) return true;
    if (opts.keepLast !== undefined && i < opts.keepLast) return true;
    if (opts.olderThanMs !== undefined && Number(r.t) >= now - opts.olderThanMs) return true;
    return false;
  });
  const { doomed, total } = await store.transaction(async (tx) => {
    await tx.run(`CREATE OR REPLACE TEMP TABLE gc_kept (id VARCHAR)`);
    await tx.insert(
      'gc_kept',
      kept.map((r) => [String(r.id)]),
    );
    const doomed = await tx.rows(
      `SELECT key, kind, bytes FROM artifacts
       WHERE key NOT IN (SELECT s.key FROM step_runs s JOIN gc_kept k ON k.id = s.run_id) ORDER BY created_at, key`,
    );
    const total = Number((await tx.rows(`SELECT count(*)::INTEGER AS n FROM artifacts`))[0].n);
    await tx.run(`DROP TABLE gc_kept`);
    return { doomed, total };
  });
  const removed = doomed.map((d) => ({ key: String(d.key), kind: String(d.kind), bytes: Number(d.bytes) }));
  if (!opts.dryRun && removed.length) {
    // One transaction: catalogue rows and chunks go together, wherever the chunks are.
    await store.deleteArtifacts(removed.map((d) => d.key));
    await store.query('CHECKPOINT');
  }
  return { runs: runs.length, keptRuns: kept.length, artifacts: total, removed, bytes: removed.reduce((s, d) => s + d.bytes, 0) };
}
