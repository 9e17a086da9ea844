import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DiagnosticError, RunError } from '../core/diagnostics.js';
import type { Artifact } from '../core/artifacts.js';
import { loadPlan, planUpTo } from '../pipeline.js';
import { SCHEMA_FILE } from '../parser/validate.js';
import { decodeArtifact } from '../runtime/codec.js';
import { artifactTable, exportTable } from '../runtime/export.js';
import { computeKeys, explainMiss } from '../runtime/keys.js';
import { ListrProgress, PlainProgress, SilentProgress, formatMs, type ProgressReporter } from '../runtime/progress.js';
import { basisFromRow, runPlan, type RunResult } from '../runtime/run.js';
import { Store, STORE_FILE } from '../runtime/store.js';
import { VERSION } from '../version.js';
import { fmtNum, renderDiagnostic, styleFor, table, type Style } from './format.js';

/**
 * The `fxflow` command line. Thin: parse argv, call the library, print, choose the exit code
 * (0 ok, 1 failure while running, 2 bad input). User errors never print a stack trace.
 */

const EXIT_RUN = 1;
const EXIT_INPUT = 2;

class UsageError extends Error {}

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

const HELP: Record<string, string> = {
  main: `fxflow ${VERSION} — declarative ML pipelines for market time series

Usage: fxflow <command> [options]

Commands:
  run FILE               run a pipeline (cached steps are reused)
  validate FILE          check a pipeline: YAML, schema, DAG (runs nothing)
  plan FILE              show what would run and why
  runs                   list recent runs with status and headline metrics
  export FILE STEP --out PATH
                         write a step's output as .csv or .parquet
  schema                 print the pipeline JSON Schema

Global options:
  --store DIR            store folder (default: .fxflow in the working directory)
  -h, --help             help for a command
  -v, --version          print the version

Exit codes: 0 ok, 1 a failure while running, 2 bad input (pipeline or arguments).`,
  run: `Usage: fxflow run FILE [--json] [--jobs N] [--store DIR]

Runs the pipeline. Steps whose inputs and params are unchanged are read from the cache.
  --json       print a machine-readable summary (progress goes to stderr)
  --jobs N     run at most N independent steps at once (default: CPU cores)`,
  validate: `Usage: fxflow validate FILE

Parses the pipeline, validates it against the schema and compiles its DAG. Runs nothing.`,
  plan: `Usage: fxflow plan FILE [--json] [--store DIR]

Lists the steps in run order with their cache key, and for each step that would run, why:
which param or input changed since the last run of that step.`,
  runs: `Usage: fxflow runs [--pipeline NAME] [--limit N] [--json] [--store DIR]

Recent runs, newest first, with status, duration and headline metrics.`,
  export: `Usage: fxflow export FILE STEP --out PATH [--store DIR]

Writes STEP's output as CSV or Parquet (by PATH's extension), running what it needs first:
Candles/Features: the frame; Dataset: rows with segment and fold; Model: out-of-sample
predictions per target with ts, segment and fold; Report: per-bar position and equity.`,
  schema: `Usage: fxflow schema

Prints the pipeline JSON Schema (for editors: \`# yaml-language-server: $schema=…\`).`,
};

const GLOBAL_OPTIONS = {
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

function storeDir(opt: string | undefined): string {
  return path.resolve(opt ?? (process.env.FXFLOW_STORE || '.fxflow'));
}

function needFile(positionals: string[], cmd: string): string {
  const f = positionals[0];
  if (!f) throw new UsageError(`\`fxflow ${cmd}\` needs a pipeline file, e.g. \`fxflow ${cmd} pipelines/quickstart.yaml\``);
  return f;
}

async function openStore(dir: string, io: Io): Promise<Store> {
  return Store.open(dir, { onWait: (m) => io.err.write(`${m}\n`) });
}

function progressFor(stream: NodeJS.WriteStream, json: boolean, io: Io): ProgressReporter {
  if (json) return io.err.isTTY ? new SilentProgress() : new PlainProgress(io.err);
  return stream.isTTY && !process.env.CI ? new ListrProgress() : new PlainProgress(stream);
}

/** Headline metrics of a run: the metrics of its last step that has any. */
function headline(result: RunResult): { step: string; metrics: Record<string, number> } | undefined {
  for (let i = result.steps.length - 1; i >= 0; i--) {
    const s = result.steps[i];
    if (s.status === 'ok' && Object.keys(s.metrics).length) return { step: s.id, metrics: s.metrics };
  }
  return undefined;
}

async function cmdRun(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, jobs: { type: 'string' } });
  if (values.help) return help('run', io);
  const file = needFile(positionals, 'run');
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs takes a whole number ≥ 1, got \`${values.jobs}\``);
  const plan = await loadPlan(file);
  // Keys first: a missing data file is reported before the store is opened or written.
  const keys = await computeKeys(plan);
  const dir = storeDir(values.store);
  const style = styleFor(io.out);
  const store = await openStore(dir, io);
  let result: RunResult;
  // SIGINT/SIGTERM cancel cleanly: running steps see the signal, nothing half-written is stored.
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!values.json) io.out.write(`${style.bold('fxflow')} run ${style.cyan(plan.spec.name)} · ${plan.nodes.length} steps · store ${path.relative(process.cwd(), dir) || '.'}\n`);
    result = await runPlan(plan, { store, keys, progress: progressFor(io.out, !!values.json, io), concurrency: jobs, signal: abort.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
  if (values.json) {
    const metrics: Record<string, Record<string, number>> = {};
    for (const s of result.steps) if (Object.keys(s.metrics).length) metrics[s.id] = s.metrics;
    io.out.write(
      `${JSON.stringify(
        {
          runId: result.runId,
          pipeline: result.pipeline,
          status: result.status,
          durationMs: Math.round(result.durationMs * 1000) / 1000,
          steps: result.steps.map((s) => ({
            id: s.id,
            kind: s.kind,
            key: s.key,
            cached: s.cached,
            status: s.status,
            durationMs: Math.round(s.durationMs * 1000) / 1000,
            ...(s.summary ? { summary: s.summary } : {}),
            ...(s.reason && !s.cached ? { reason: s.reason } : {}),
            ...(s.error ? { error: s.error } : {}),
            ...(s.warnings.length ? { warnings: s.warnings } : {}),
          })),
          metrics,
          ...(result.error ? { error: result.error.message } : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    printRunSummary(result, io, style);
  }
  if (result.status === 'succeeded') return 0;
  if (result.error && !values.json) printRunError(result.error, io);
  return EXIT_RUN;
}

function printRunSummary(result: RunResult, io: Io, style: Style): void {
  const h = headline(result);
  if (h) {
    io.out.write(`\n${style.bold(`${h.step} metrics`)}\n`);
    const entries = Object.entries(h.metrics);
    io.out.write(`${table(['metric', 'value'], entries.map(([k, v]) => [k, fmtNum(v)]))}\n`);
  }
  const computed = result.steps.filter((s) => s.status === 'ok' && !s.cached).length;
  const cached = result.steps.filter((s) => s.cached).length;
  const failed = result.steps.filter((s) => s.status === 'failed').length;
  const parts = [`${computed} computed`, `${cached} cached`];
  if (failed) parts.push(style.red(`${failed} failed`));
  const status = result.status === 'succeeded' ? style.green('succeeded') : style.red(result.status);
  io.out.write(`\nrun ${result.runId} ${status} in ${formatMs(result.durationMs)} · ${parts.join(', ')}\n`);
}

function printRunError(e: Error, io: Io): void {
  const style = styleFor(io.err);
  if (e instanceof RunError) {
    const where = e.loc ? `${e.loc.file}:${e.loc.line}:${e.loc.col}: ` : '';
    io.err.write(`${where}${style.red('error')}: ${e.message}\n${e.hint ? `  ${style.cyan('hint')}: ${e.hint}\n` : ''}`);
  } else {
    io.err.write(`${style.red('error')}: ${e.message}\n`);
    if (process.env.FXFLOW_DEBUG && e.stack) io.err.write(`${e.stack}\n`);
  }
}

async function cmdValidate(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {});
  if (values.help) return help('validate', io);
  const plan = await loadPlan(needFile(positionals, 'validate'));
  const style = styleFor(io.out);
  io.out.write(`${style.green('ok')}: ${plan.spec.displayFile} — pipeline ${plan.spec.name}, ${plan.nodes.length} steps: ${plan.nodes.map((n) => n.id).join(' → ')}\n`);
  return 0;
}

async function cmdPlan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) return help('plan', io);
  const plan = await loadPlan(needFile(positionals, 'plan'));
  const keys = await computeKeys(plan);
  const dir = storeDir(values.store);
  const store = existsSync(path.join(dir, STORE_FILE)) ? await openStore(dir, io) : undefined;
  const rows: { id: string; kind: string; inputs: string; key: string; state: 'cached' | 'run'; reason?: string }[] = [];
  const rerun = new Map<string, string>();
  try {
    for (const n of plan.nodes) {
      const k = keys.get(n.id)!;
      const hit = store ? await store.hasArtifact(k.key) : false;
      let reason: string | undefined;
      if (!hit) {
        const prev = store ? await store.lastStepRun(plan.spec.name, n.id) : undefined;
        reason = explainMiss(n, k.basis, prev ? basisFromRow(prev) : undefined, rerun);
        rerun.set(n.id, reason);
      }
      rows.push({ id: n.id, kind: n.kind, inputs: Object.values(n.inputs).join(', '), key: k.key, state: hit ? 'cached' : 'run', reason });
    }
  } finally {
    await store?.close();
  }
  if (values.json) {
    io.out.write(`${JSON.stringify({ pipeline: plan.spec.name, steps: rows }, null, 2)}\n`);
    return 0;
  }
  const style = styleFor(io.out);
  io.out.write(
    `${table(
      ['step', 'kind', 'from', 'key', 'state'],
      rows.map((r) => [r.id, r.kind, r.inputs || '—', r.key.slice(0, 12), r.state === 'cached' ? 'cached' : `run: ${r.reason}`]),
      style,
    )}\n`,
  );
  const n = rows.filter((r) => r.state === 'run').length;
  io.out.write(`\n${n === 0 ? 'everything is cached' : `${n} of ${rows.length} steps would run`}\n`);
  return 0;
}

async function cmdRuns(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' }, pipeline: { type: 'string' }, limit: { type: 'string' } });
  if (values.help) return help('runs', io);
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    if (values.json) io.out.write('[]\n');
    else io.out.write(`no runs yet in ${path.relative(process.cwd(), dir) || dir} (fxflow run FILE makes one)\n`);
    return 0;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit takes a whole number ≥ 1, got \`${values.limit}\``);
  const store = await openStore(dir, io);
  try {
    const runs = await store.query(
      `SELECT r.id, r.pipeline, r.status, CAST(r.started_at AS VARCHAR) AS started_at,
              date_diff('millisecond', r.started_at, r.ended_at) AS duration_ms, r.git_commit, r.git_dirty,
              (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.status = 'ok' AND NOT s.cached) AS computed,
              (SELECT count(*) FROM step_runs s WHERE s.run_id = r.id AND s.cached) AS cached
       FROM runs r WHERE ($1::VARCHAR IS NULL OR r.pipeline = $1) ORDER BY r.started_at DESC, r.id DESC LIMIT ${limit}`,
      [values.pipeline ?? null],
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
    if (values.json) {
      io.out.write(
        `${JSON.stringify(
          runs.map((r) => ({
            id: r.id,
            pipeline: r.pipeline,
            status: r.status,
            startedAt: r.started_at,
            durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
            gitCommit: r.git_commit,
            gitDirty: r.git_dirty,
            computed: Number(r.computed),
            cached: Number(r.cached),
            metrics: metrics.get(String(r.id)) ?? {},
          })),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    if (!runs.length) {
      io.out.write('no runs match\n');
      return 0;
    }
    const HEAD = ['sharpe', 'total_return', 'max_drawdown', 'hit_rate', 'trades'];
    const rows = runs.map((r) => {
      const m = metrics.get(String(r.id)) ?? {};
      const pick = (name: string): string => {
        const k = Object.keys(m).find((key) => key.endsWith(`.${name}`));
        return k ? fmtNum(m[k]) : '—';
      };
      return [
        String(r.id),
        String(r.pipeline),
        String(r.status),
        String(r.started_at).slice(0, 19),
        r.duration_ms === null ? '—' : formatMs(Number(r.duration_ms)),
        `${r.computed}/${r.cached}`,
        ...HEAD.map(pick),
      ];
    });
    io.out.write(`${table(['run', 'pipeline', 'status', 'started (UTC)', 'took', 'computed/cached', ...HEAD], rows, styleFor(io.out))}\n`);
  } finally {
    await store.close();
  }
  return 0;
}

async function cmdExport(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' } });
  if (values.help) return help('export', io);
  const [file, stepId] = positionals;
  if (!file || !stepId) throw new UsageError('`fxflow export` needs a pipeline file and a step id, e.g. `fxflow export pipelines/quickstart.yaml features --out features.csv`');
  if (!values.out) throw new UsageError('`fxflow export` needs `--out PATH` (.csv or .parquet)');
  const ext = path.extname(values.out).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet') throw new UsageError(`--out must end in .csv or .parquet, got \`${values.out}\``);
  const full = await loadPlan(file);
  if (!full.byId.has(stepId)) {
    throw new UsageError(`pipeline ${full.spec.name} has no step \`${stepId}\` (steps: ${full.nodes.map((n) => n.id).join(', ')})`);
  }
  const plan = planUpTo(full, stepId);
  const keys = await computeKeys(plan);
  const store = await openStore(storeDir(values.store), io);
  let artifact: Artifact;
  try {
    const key = keys.get(stepId)!.key;
    let bytes = await store.getArtifactBytes(key);
    if (!bytes) {
      io.err.write(`${stepId} is not cached yet: running ${plan.nodes.map((n) => n.id).join(' → ')}\n`);
      const result = await runPlan(plan, { store, keys, progress: new PlainProgress(io.err) });
      if (result.status !== 'succeeded') {
        if (result.error) printRunError(result.error, io);
        return EXIT_RUN;
      }
      bytes = await store.getArtifactBytes(key);
      if (!bytes) throw new RunError(`output of ${stepId} missing after the run`);
    }
    artifact = decodeArtifact<Artifact>(bytes);
  } finally {
    await store.close();
  }
  const t = artifactTable(artifact);
  await exportTable(t, values.out);
  io.out.write(`wrote ${values.out}: ${t.rows.toLocaleString('en-US')} rows × ${t.names.length} columns (${artifact.type} of step ${stepId})\n`);
  return 0;
}

function cmdSchema(argv: string[], io: Io): number {
  const { values } = parse(argv, {});
  if (values.help) return help('schema', io);
  io.out.write(readFileSync(SCHEMA_FILE, 'utf8'));
  return 0;
}

function help(cmd: string, io: Io): number {
  io.out.write(`${HELP[cmd] ?? HELP.main}\n`);
  return 0;
}

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number> | number> = {
  run: cmdRun,
  validate: cmdValidate,
  plan: cmdPlan,
  runs: cmdRuns,
  export: cmdExport,
  schema: cmdSchema,
};

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  // Global options may come before the command: `fxflow --store DIR run FILE`.
  const args = [...argv];
  const lead: string[] = [];
  while (args.length && args[0].startsWith('-')) {
    const a = args.shift()!;
    lead.push(a);
    if (a === '--store' && args.length) lead.push(args.shift()!);
  }
  const [cmd, ...rest] = args;
  try {
    if (!cmd) {
      if (lead.includes('--version') || lead.includes('-v')) {
        io.out.write(`${VERSION}\n`);
        return 0;
      }
      const unknown = lead.find((a) => !['--help', '-h', '--store'].includes(a) && !lead[lead.indexOf(a) - 1]?.startsWith('--store'));
      if (unknown) throw new UsageError(`unknown option ${unknown}`);
      return help('main', io);
    }
    const fn = COMMANDS[cmd];
    if (!fn) {
      const { suggestionHint } = await import('../core/diagnostics.js');
      throw new UsageError(`unknown command \`${cmd}\`; ${suggestionHint(cmd, Object.keys(COMMANDS), 'a command')}`);
    }
    const all = [...lead, ...rest];
    if (all.includes('--version') || all.includes('-v')) {
      io.out.write(`${VERSION}\n`);
      return 0;
    }
    return await fn(all, io);
  } catch (e) {
    const style = styleFor(io.err);
    if (e instanceof DiagnosticError) {
      const sources = new Map<string, string[]>();
      for (const d of e.diagnostics) io.err.write(`${renderDiagnostic(d, style, sources)}\n`);
      const n = e.diagnostics.filter((d) => d.severity === 'error').length;
      io.err.write(`${n} error${n === 1 ? '' : 's'}\n`);
      return EXIT_INPUT;
    }
    if (e instanceof UsageError) {
      io.err.write(`${style.red('error')}: ${e.message}\nrun \`fxflow ${cmd && COMMANDS[cmd] ? `${cmd} ` : ''}--help\` for usage\n`);
      return EXIT_INPUT;
    }
    printRunError(e instanceof Error ? e : new Error(String(e)), io);
    return EXIT_RUN;
  }
}
