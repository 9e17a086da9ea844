import { RunError } from '../core/diagnostics.js';
import type { Store } from '../runtime/store.js';

/** Run history queries shared by `runs`, `diff` and `show`: finding a run, its params and metrics, comparing two. */

export interface RunRow {
  id: string;
  pipeline: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  gitCommit: string | null;
  gitDirty: boolean | null;
  file: string;
  seed: number;
  error: string | null;
  text: string;
}

const RUN_COLS = `id, pipeline, status, CAST(started_at AS VARCHAR) AS started_at, CAST(ended_at AS VARCHAR) AS ended_at,
  date_diff('millisecond', started_at, ended_at) AS duration_ms, git_commit, git_dirty, file, seed, error, pipeline_text`;

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

/**
 * A run by reference: `latest` (optionally `latest` of a pipeline), a full id, or a unique prefix of
 * one. An unknown or ambiguous reference is a RunError with a hint.
 */
export async function resolveRun(store: Store, ref: string, pipeline?: string): Promise<RunRow> {
  if (ref === 'latest' || /^latest~\d+$/.test(ref)) {
    const back = ref === 'latest' ? 0 : Number(ref.slice(7));
    const r = await store.query(
      `SELECT ${RUN_COLS} FROM runs WHERE ($1::VARCHAR IS NULL OR pipeline = $1) ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ${back}`,
      [pipeline ?? null],
    );
    if (!r.length) throw new RunError(back ? `there is no run ${ref}` : 'there are no runs yet', { hint: '`fxflow runs` lists the runs' });
    return toRun(r[0]);
  }
  const r = await store.query(`SELECT ${RUN_COLS} FROM runs WHERE starts_with(id, $1) ORDER BY started_at DESC LIMIT 5`, [ref]);
  const exact = r.find((x) => x.id === ref);
  if (exact) return toRun(exact);
  if (r.length === 1) return toRun(r[0]);
  if (r.length > 1) throw new RunError(`run \`${ref}\` is ambiguous: ${r.map((x) => String(x.id)).join(', ')}`, { hint: 'give more of the run id' });
  throw new RunError(`no run \`${ref}\` in this store`, { hint: '`fxflow runs` lists the runs; `latest` is the newest' });
}

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
}

export async function runSteps(store: Store, runId: string): Promise<StepRow[]> {
  const rows = await store.query(
    `SELECT s.step_id, COALESCE(n.step_id, s.step_id) AS step, s.kind, s.key, s.cached, s.status, s.duration_ms, s.error,
            CAST(s.params AS VARCHAR) AS params, s.summary, CAST(s.warnings AS VARCHAR) AS warnings
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

const parse = (s: string | undefined): unknown => (s === undefined ? undefined : JSON.parse(s));

export function paramChanges(a: Map<string, Map<string, string>>, b: Map<string, Map<string, string>>): ParamChange[] {
  const out: ParamChange[] = [];
  const steps = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const step of steps) {
    const pa = a.get(step);
    const pb = b.get(step);
    // A step present in only one run is a structural change, listed by `diff` among the steps.
    if (!pa || !pb) continue;
    for (const path of [...new Set([...pa.keys(), ...pb.keys()])].sort()) {
      if (pa.get(path) !== pb.get(path)) out.push({ step, path, yamlPath: yamlPath(step, path), from: parse(pa.get(path)), to: parse(pb.get(path)) });
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
