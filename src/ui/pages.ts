import { drawdownSeries } from '../backtest/metrics.js';
import type { Model, Report } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { fmtNum, thousands } from '../core/format.js';
import { pctTick } from '../report/html.js';
import { esc, lineChart, scatterChart, type Series } from '../report/svg.js';
import { decodeArtifact } from '../runtime/codec.js';
import {
  changesSincePrevious,
  currentStages,
  formatChange,
  listModels,
  loadVariants,
  pageRuns,
  paramChanges,
  resolveRun,
  runFacets,
  runMetrics,
  runParams,
  runSteps,
  stageHistory,
  yamlPath,
  type RunRow,
  type RunSort,
  type StepRow,
  type StoredVariant,
} from '../runtime/history.js';
import { readLiveRun, readLiveRuns, type LiveRun } from '../runtime/live.js';
import { formatMs } from '../runtime/progress.js';
import type { Store } from '../runtime/store.js';
import { dagSvg, stateLine, type DagNode } from './dag.js';

/**
 * The UI's pages, rendered on the server as HTML (every value through `esc`), with the report's
 * SVG charts. A page is a pure function of the store copy, the live files and its URL's query,
 * so every view can be bookmarked and shared.
 */

export interface Page {
  status: number;
  title: string;
  body: string;
}

/** A run's URL. */
const runHref = (id: string): string => `/runs/${encodeURIComponent(id)}`;
const qs = (params: Record<string, string | number | undefined>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
};
const statusBadge = (s: string): string => `<span class="status s-${esc(s.replace(/[^a-z]/g, ''))}">${esc(s)}</span>`;
const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2'];

export function errorPage(status: number, message: string, hint?: string): Page {
  const title = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : status === 403 ? 'Refused' : 'Error';
  return {
    status,
    title,
    body: `<h1>${esc(title)}</h1><p class="error" data-error>${esc(message)}</p>${hint ? `<p class="sub">${esc(hint)}</p>` : ''}<p><a href="/">← all runs</a></p>`,
  };
}

/** A RunError as a page (an unknown run is a 404); anything else is passed on. */
export function runErrorPage(e: unknown, status = 404): Page {
  if (e instanceof RunError) return errorPage(status, e.message, e.hint);
  throw e;
}

// ---- runs ----

const RUN_COLUMNS: { sort: RunSort; label: string }[] = [
  { sort: 'id', label: 'run' },
  { sort: 'pipeline', label: 'pipeline' },
  { sort: 'status', label: 'status' },
  { sort: 'started', label: 'started (UTC)' },
  { sort: 'duration', label: 'took' },
];
const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
/** Metric columns shown in the runs table (the most common on the page; any metric can be sorted by). */
const METRIC_COLUMNS = 5;

/** The value of metric `name` in a run's `step.name` map: the first step's (as the database sorts by). */
function metricOf(metrics: Record<string, number>, name: string): number | undefined {
  const key = Object.keys(metrics)
    .filter((k) => k.endsWith(`.${name}`))
    .sort()[0];
  return key === undefined ? undefined : metrics[key];
}

export async function runsPage(store: Store, dir: string, q: URLSearchParams): Promise<Page> {
  const facets = await runFacets(store);
  const notes: string[] = [];
  const pipeline = q.get('pipeline') || undefined;
  const status = q.get('status') || undefined;
  let sort = (q.get('sort') || 'started') as RunSort;
  const known = RUN_COLUMNS.some((c) => c.sort === sort) || (sort.startsWith('metric:') && facets.metrics.includes(sort.slice(7)));
  if (!known) {
    notes.push(`cannot sort by \`${sort}\`: no such column or metric in this store; sorted by start time`);
    sort = 'started';
  }
  const desc = q.get('dir') !== 'asc';
  const size = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(Number(q.get('size') ?? PAGE_SIZE)) || PAGE_SIZE));
  const pageNo = Math.max(1, Math.trunc(Number(q.get('page') ?? 1)) || 1);
  const { total, runs } = await pageRuns(store, { pipeline, status, sort, desc, offset: (pageNo - 1) * size, limit: size });
  const live = new Map(readLiveRuns(dir).map((r) => [r.runId, r]));

  // Metric columns: the sorted-by metric, then the names most runs on this page have.
  const counts = new Map<string, number>();
  for (const r of runs)
    for (const name of new Set(Object.keys(r.metrics).map((k) => k.slice(k.indexOf('.') + 1)))) counts.set(name, (counts.get(name) ?? 0) + 1);
  const byCount = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([n]) => n);
  const sortMetric = sort.startsWith('metric:') ? sort.slice(7) : undefined;
  const metricCols = [...new Set([...(sortMetric ? [sortMetric] : []), ...byCount])].slice(0, METRIC_COLUMNS);

  const base = { pipeline, status, size: size === PAGE_SIZE ? undefined : size };
  const th = (s: RunSort, label: string): string => {
    const active = s === sort;
    const next = active && desc ? 'asc' : 'desc';
    return `<th><a href="/${esc(qs({ ...base, sort: s, dir: next }))}"${active ? ` class="sorted ${desc ? 'desc' : 'asc'}"` : ''}>${esc(label)}</a></th>`;
  };
  const option = (value: string, label: string, selected: boolean): string =>
    `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;
  const filters = `<form class="filters" method="get" action="/">
<label>pipeline <select name="pipeline">${option('', 'all', !pipeline)}${facets.pipelines.map((p) => option(p, p, p === pipeline)).join('')}</select></label>
<label>status <select name="status">${option('', 'all', !status)}${facets.statuses.map((s) => option(s, s, s === status)).join('')}</select></label>
<label>sort by <select name="sort">${RUN_COLUMNS.map((c) => option(c.sort, c.label, c.sort === sort)).join('')}${facets.metrics.map((m) => option(`metric:${m}`, `metric ${m}`, sort === `metric:${m}`)).join('')}</select></label>
<label><select name="dir">${option('desc', 'descending', desc)}${option('asc', 'ascending', !desc)}</select></label>
<button type="submit">apply</button></form>`;

  const rows = runs.map(({ run: r, computed, cached, metrics }) => {
    const l = live.get(r.id);
    const st = l ? 'running' : r.status;
    return `<tr data-run="${esc(r.id)}" data-status="${esc(st)}"><td><input type="checkbox" name="run" value="${esc(r.id)}" aria-label="compare ${esc(r.id)}"></td>
<td><a href="${esc(runHref(r.id))}"><code>${esc(r.id)}</code></a></td><td>${esc(r.pipeline)}</td><td>${statusBadge(st)}</td>
<td>${esc(r.startedAt.slice(0, 19))}</td><td class="n">${r.durationMs === null || l ? '—' : esc(formatMs(r.durationMs))}</td>
<td><code>${r.gitCommit ? esc(r.gitCommit.slice(0, 10)) + (r.gitDirty ? '*' : '') : '—'}</code></td><td class="n">${computed}/${cached}</td>
${metricCols.map((m) => `<td class="n">${esc(fmtNum(metricOf(metrics, m)))}</td>`).join('')}</tr>`;
  });
  const from = total ? (pageNo - 1) * size + 1 : 0;
  const to = Math.min(total, pageNo * size);
  const pager = `<p class="pager" data-total="${total}">runs ${thousands(from)}–${thousands(to)} of ${thousands(total)}${
    pageNo > 1 ? ` · <a rel="prev" href="/${esc(qs({ ...base, sort, dir: desc ? undefined : 'asc', page: pageNo - 1 }))}">← newer page</a>` : ''
  }${to < total ? ` · <a rel="next" href="/${esc(qs({ ...base, sort, dir: desc ? undefined : 'asc', page: pageNo + 1 }))}">next page →</a>` : ''}</p>`;
  const liveList = [...live.values()].length
    ? `<p class="live-runs">in progress: ${[...live.values()].map((l) => `<a href="${esc(runHref(l.runId))}">${esc(l.pipeline)} <code>${esc(l.runId)}</code></a>`).join(', ')}</p>`
    : '';
  const body = `<h1>Runs</h1>${notes.map((n) => `<p class="notice">${esc(n)}</p>`).join('')}${liveList}${filters}
<form method="get" action="/compare" class="compare-form">
<div class="tbl"><table class="runs"><thead><tr><th></th>${RUN_COLUMNS.map((c) => th(c.sort, c.label)).join('')}<th>git</th><th>computed/cached</th>${metricCols
    .map((m) => th(`metric:${m}`, m))
    .join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div>
${total ? '' : '<p class="sub">No run matches.</p>'}${pager}
<button type="submit">compare selected runs (2–6)</button></form>`;
  return { status: 200, title: 'Runs', body };
}

// ---- one run ----

/** The run's graph from its history rows: inputs are keys, linked to the step that made each key in this run. */
function historyNodes(steps: StepRow[]): DagNode[] {
  const byKey = new Map(steps.map((s) => [s.key, s.nodeId]));
  return steps.map((s) => ({
    id: s.nodeId,
    kind: s.kind,
    inputs: Object.values(s.inputs)
      .map((k) => byKey.get(k))
      .filter((x): x is string => x !== undefined),
    state: s.status,
    cached: s.cached,
    durationMs: s.durationMs,
  }));
}

function liveNodes(live: LiveRun): DagNode[] {
  return live.steps.map((s) => ({
    id: s.id,
    kind: s.kind,
    inputs: Object.values(s.inputs),
    state: s.state,
    cached: s.cached,
    durationMs: s.durationMs,
    fraction: s.fraction,
  }));
}

/** The live state of a run as its page's script receives it (server-sent events). */
export function liveMessage(live: LiveRun): unknown {
  return {
    runId: live.runId,
    steps: live.steps.map((s) => ({
      id: s.id,
      state: s.state,
      cached: s.cached,
      line: `${s.kind} · ${stateLine(s)}`,
      fraction: s.fraction ?? null,
      message: s.message ?? s.reason ?? '',
      summary: s.summary ?? s.error ?? '',
    })),
    logs: live.logs.slice(-10).map((l) => `${l.step}: ${l.level === 'warn' ? 'warning: ' : ''}${l.message}`),
  };
}

function stepsTable(nodes: DagNode[], extra: Map<string, { summary: string; message?: string }>): string {
  const rows = nodes.map((n) => {
    const x = extra.get(n.id);
    return `<tr data-step="${esc(n.id)}" data-state="${esc(n.state)}"><td><code>${esc(n.id)}</code></td><td>${esc(n.kind)}</td><td class="st">${statusBadge(n.state)}</td>
<td class="line">${esc(stateLine(n))}</td><td class="summary">${esc(x?.summary ?? '')}${x?.message ? `<div class="sub msg">${esc(x.message)}</div>` : ''}</td></tr>`;
  });
  return `<div class="tbl"><table class="steps"><thead><tr><th>step</th><th>kind</th><th>state</th><th>cached / took</th><th>summary</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function runFacts(run: Pick<RunRow, 'id' | 'status' | 'startedAt' | 'durationMs' | 'gitCommit' | 'gitDirty' | 'file' | 'seed'>, status: string): string {
  return kv([
    ['run', `<code>${esc(run.id)}</code>`],
    ['status', statusBadge(status)],
    ['started (UTC)', esc(run.startedAt.slice(0, 19))],
    ['took', run.durationMs === null ? '—' : esc(formatMs(run.durationMs))],
    ['git commit', run.gitCommit ? `<code>${esc(run.gitCommit)}</code>${run.gitDirty ? ' (uncommitted changes)' : ''}` : '—'],
    ['file', `<code>${esc(run.file)}</code>`],
    ['seed', esc(String(run.seed))],
  ]);
}

/** Loss per epoch (train, validation) and the learning rate of each neural model a run trained, from the stored epoch history. */
async function trainingCurves(store: Store, steps: StepRow[], types: Map<string, string>): Promise<string> {
  const out: string[] = [];
  for (const s of steps) {
    if (s.status !== 'ok' || types.get(s.key) !== 'Model') continue;
    const bytes = await store.getArtifactBytes(s.key);
    if (!bytes) continue;
    const model = decodeArtifact<Model>(bytes);
    (model.state ?? []).forEach((st, fold) => {
      const h = (st as { history?: { epoch: number; trainLoss: number; valLoss: number; lr: number }[] } | null)?.history;
      if (!Array.isArray(h) || !h.length) return;
      const x = Float64Array.from(h, (e) => e.epoch);
      const name = `${s.nodeId}${model.state.length > 1 ? ` fold ${fold}` : ''}`;
      out.push(
        `<div class="panel">${lineChart({
          name: 'loss',
          title: `${name}: loss per epoch (standardised targets)`,
          x,
          series: [
            { name: 'train', y: Float64Array.from(h, (e) => e.trainLoss), color: '#2563eb' },
            { name: 'validation', y: Float64Array.from(h, (e) => e.valLoss), color: '#d97706' },
          ],
          yFormat: (v, step) => v.toFixed(Math.max(0, -Math.floor(Math.log10(step || 1)))),
          xFormat: (e) => `epoch ${Math.round(e)}`,
          height: 220,
        })}${lineChart({
          name: 'lr',
          title: `${name}: learning rate`,
          x,
          series: [{ name: 'learning rate', y: Float64Array.from(h, (e) => e.lr), color: '#059669' }],
          yFormat: (v) => v.toExponential(1),
          xFormat: (e) => `epoch ${Math.round(e)}`,
          height: 160,
        })}</div>`,
      );
    });
  }
  return out.length ? `<h2>Training curves</h2>${out.join('')}` : '';
}

export async function runPage(store: Store, dir: string, ref: string): Promise<Page> {
  let run: RunRow | undefined;
  let live = readLiveRun(dir, ref);
  try {
    run = await resolveRun(store, ref);
  } catch (e) {
    // A run that started after the store was last copied is known from its live file only.
    if (!live) return runErrorPage(e);
  }
  if (run && !live) live = readLiveRun(dir, run.id);
  if (!run) {
    const l = live!;
    const nodes = liveNodes(l);
    const extra = new Map(l.steps.map((s) => [s.id, { summary: s.summary ?? s.error ?? '', message: s.message ?? s.reason }]));
    return {
      status: 200,
      title: `${l.pipeline} · ${l.runId}`,
      body: `<h1>${esc(l.pipeline)}</h1><p class="sub">run <code>${esc(l.runId)}</code> · ${statusBadge('running')}</p>
<h2>Steps</h2><div class="panel dag-panel" data-live="${esc(l.runId)}">${dagSvg(nodes)}</div>${stepsTable(nodes, extra)}<ul class="notes live-log"></ul>`,
    };
  }
  const steps = await runSteps(store, run.id);
  const status = live ? 'running' : run.status;
  const nodes = live ? liveNodes(live) : historyNodes(steps);
  const extra = new Map<string, { summary: string; message?: string }>(
    live
      ? live.steps.map((s) => [s.id, { summary: s.summary ?? s.error ?? '', message: s.message ?? s.reason }])
      : steps.map((s) => [s.nodeId, { summary: s.summary ?? s.error ?? '' }]),
  );
  const types = new Map([...(await store.artifactInfos([...new Set(steps.map((s) => s.key))])).values()].map((a) => [a.key, a.type]));
  const params = await runParams(store, run.id);
  const metrics = await runMetrics(store, run.id);
  const changes = await changesSincePrevious(store, run.id);
  const variants = await loadVariants(store, run.id);
  const reports = steps.filter((s) => s.status === 'ok' && types.get(s.key) === 'Report').map((s) => s.nodeId);
  const warnings = steps.flatMap((s) => s.warnings.map((w) => `<li class="warn"><code>${esc(s.nodeId)}</code> ${esc(w)}</li>`));
  const paramRows = [...params.entries()].flatMap(([step, m]) =>
    [...m.entries()].map(([p, v]) => `<tr><td><code>${esc(step)}</code></td><td><code>${esc(p)}</code></td><td><code>${esc(v)}</code></td></tr>`),
  );
  const metricRows = [...metrics.entries()].map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td class="n">${esc(fmtNum(v))}</td></tr>`);
  const sections = [
    `<h1>${esc(run.pipeline)}</h1>`,
    // A live run's row in the copy was marked ended when the copy was opened: it has no duration yet.
    runFacts(live ? { ...run, durationMs: null } : run, status),
    run.error ? `<p class="error">${esc(run.error)}</p>` : '',
    `<p class="actions"><a href="/compare${esc(qs({ run: run.id }))}&amp;run=latest">compare with the latest run</a>${variants.length ? ` · <a href="/sweeps/${esc(encodeURIComponent(run.id))}">sweep leaderboard (${variants.length} variants)</a>` : ''}</p>`,
    `<h2>Steps</h2><div class="panel dag-panel"${live ? ` data-live="${esc(run.id)}"` : ''}>${dagSvg(nodes)}</div>${stepsTable(nodes, extra)}`,
    live ? '<ul class="notes live-log"></ul>' : '',
    changes.length
      ? `<h2>Changed since the previous run</h2><ul class="notes">${changes.map((c) => `<li><code>${esc(formatChange(c))}</code></li>`).join('')}</ul>`
      : '',
    metricRows.length ? `<h2>Metrics</h2><div class="tbl"><table class="metrics">${metricRows.join('')}</table></div>` : '',
    `<h2>Warnings and data-quality notes</h2>${warnings.length ? `<ul class="notes">${warnings.join('')}</ul>` : '<p class="sub">No step reported a warning.</p>'}`,
    ...reports.map(
      (id) =>
        `<h2>Backtest report: <code>${esc(id)}</code></h2><iframe class="report" sandbox title="backtest report of ${esc(id)}" src="${esc(`${runHref(run.id)}/report${qs({ step: id })}`)}"></iframe>`,
    ),
    live ? '' : await trainingCurves(store, steps, types),
    paramRows.length
      ? `<h2>Parameters</h2><div class="tbl"><table class="params"><tr><th>step</th><th>param</th><th>value</th></tr>${paramRows.join('')}</table></div>`
      : '',
    `<h2>Pipeline</h2><pre class="yaml">${esc(run.text)}</pre>`,
  ];
  return { status: 200, title: `${run.pipeline} · ${run.id}`, body: sections.join('\n') };
}

// ---- compare ----

export const COMPARE_MIN = 2;
export const COMPARE_MAX = 6;

async function reportOf(store: Store, runId: string): Promise<{ step: string; report: Report } | undefined> {
  const steps = await runSteps(store, runId);
  const types = await store.artifactInfos([...new Set(steps.map((s) => s.key))]);
  const s = steps.filter((x) => x.status === 'ok' && types.get(x.key)?.type === 'Report').sort((a, b) => a.nodeId.localeCompare(b.nodeId))[0];
  if (!s) return undefined;
  const bytes = await store.getArtifactBytes(s.key);
  return bytes ? { step: s.nodeId, report: decodeArtifact<Report>(bytes) } : undefined;
}

/** Series of different runs on one time axis: the union of their bars, NaN where a run has none. */
function aligned(curves: { index: Float64Array; y: Float64Array }[]): { x: Float64Array; ys: Float64Array[] } {
  const all = new Set<number>();
  for (const c of curves) for (const t of c.index) all.add(t);
  const x = Float64Array.from([...all].sort((a, b) => a - b));
  const at = new Map<number, number>();
  x.forEach((t, i) => at.set(t, i));
  const ys = curves.map((c) => {
    const y = new Float64Array(x.length).fill(Number.NaN);
    c.index.forEach((t, i) => (y[at.get(t)!] = c.y[i]));
    return y;
  });
  return { x, ys };
}

export async function comparePage(store: Store, q: URLSearchParams): Promise<Page> {
  const refs = q.getAll('run').filter(Boolean);
  if (refs.length < COMPARE_MIN || refs.length > COMPARE_MAX)
    return errorPage(
      400,
      `pick ${COMPARE_MIN} to ${COMPARE_MAX} runs to compare (got ${refs.length})`,
      'tick their boxes in the runs table, or add ?run=ID&run=ID to the URL',
    );
  const runs: RunRow[] = [];
  for (const ref of refs) {
    try {
      runs.push(await resolveRun(store, ref));
    } catch (e) {
      return runErrorPage(e);
    }
  }
  const label = (r: RunRow, i: number): string => `${i + 1}: ${r.id}`;
  const params = await Promise.all(runs.map((r) => runParams(store, r.id)));
  // What changed, as `fxflow diff` says it: each run against the first.
  const changed = new Map<string, { step: string; path: string }>();
  for (let i = 1; i < runs.length; i++)
    for (const c of paramChanges(params[0], params[i])) changed.set(`${c.step}\u0000${c.path}`, { step: c.step, path: c.path });
  const value = (i: number, step: string, path: string): string => params[i].get(step)?.get(path) ?? '(unset)';
  const head = `<tr><th>parameter</th>${runs.map((r, i) => `<th><a href="${esc(runHref(r.id))}">${esc(label(r, i))}</a></th>`).join('')}</tr>`;
  const paramRows = [...changed.values()].map(
    ({ step, path }) =>
      `<tr data-param="${esc(yamlPath(step, path))}"><td><code>${esc(yamlPath(step, path))}</code></td>${runs
        .map((_, i) => `<td class="${value(i, step, path) !== value(0, step, path) ? 'changed' : ''}"><code>${esc(value(i, step, path))}</code></td>`)
        .join('')}</tr>`,
  );
  const metrics = await Promise.all(runs.map((r) => runMetrics(store, r.id)));
  const names = [...new Set(metrics.flatMap((m) => [...m.keys()]))].sort();
  const metricRows = names.map(
    (n) =>
      `<tr><td><code>${esc(n)}</code></td>${metrics.map((m, i) => `<td class="n${i && m.get(n) !== metrics[0].get(n) ? ' changed' : ''}">${esc(fmtNum(m.get(n)))}</td>`).join('')}</tr>`,
  );
  const reports = await Promise.all(runs.map((r) => reportOf(store, r.id)));
  const withReport = runs.map((r, i) => ({ r, i, rep: reports[i] })).filter((x) => x.rep !== undefined);
  let charts = '<p class="sub">None of these runs has a backtest report.</p>';
  if (withReport.length) {
    const eq = aligned(withReport.map((x) => ({ index: x.rep!.report.index, y: x.rep!.report.equity })));
    const dd = aligned(withReport.map((x) => ({ index: x.rep!.report.index, y: Float64Array.from(drawdownSeries(x.rep!.report.equity), (v) => -v) })));
    // Legends have room for short names: the run's number and the time and suffix of its id.
    const series = (ys: Float64Array[]): Series[] =>
      withReport.map((x, k) => ({ name: `${x.i + 1}: ${x.r.id.slice(-13)}`, y: ys[k], color: PALETTE[x.i % PALETTE.length] }));
    charts = `<div class="panel">${lineChart({ name: 'equity', title: 'Cumulative net log return', x: eq.x, series: series(eq.ys), yFormat: pctTick, flatDomain: [-0.01, 0.01] })}</div>
<div class="panel">${lineChart({ name: 'drawdown', title: 'Drawdown from the running peak', x: dd.x, series: series(dd.ys), yFormat: pctTick, flatDomain: [-0.01, 0], flatNote: 'no drawdown', height: 220 })}</div>`;
  }
  const fq = withReport.flatMap(({ r, i, rep }) =>
    (rep!.report.forecast ?? []).map(
      (f) =>
        `<tr><td>${esc(label(r, i))}</td><td>${esc(f.target)}</td><td class="n">${f.horizon}</td><td class="n">${esc(fmtNum(f.ic))}</td><td class="n">${esc(fmtNum(f.directionalAccuracy))}</td><td class="n">${esc(fmtNum(f.rmse))}</td></tr>`,
    ),
  );
  const body = `<h1>Compare ${runs.length} runs</h1>
<ol class="runs-compared">${runs.map((r) => `<li><a href="${esc(runHref(r.id))}"><code>${esc(r.id)}</code></a> ${esc(r.pipeline)} ${statusBadge(r.status)} ${esc(r.startedAt.slice(0, 19))}</li>`).join('')}</ol>
<h2>Parameters that differ</h2>${paramRows.length ? `<div class="tbl"><table class="param-diff">${head}${paramRows.join('')}</table></div>` : '<p class="sub">The runs have the same parameters.</p>'}
<h2>Equity and drawdown</h2>${charts}
<h2>Metrics</h2><div class="tbl"><table class="metric-diff">${head.replace('parameter', 'metric')}${metricRows.join('')}</table></div>
${fq.length ? `<h2>Forecast quality per horizon (traded segments)</h2><div class="tbl"><table><tr><th>run</th><th>target</th><th>horizon</th><th>IC</th><th>dir. accuracy</th><th>RMSE</th></tr>${fq.join('')}</table></div>` : ''}`;
  return { status: 200, title: 'Compare runs', body };
}

// ---- sweeps ----

export async function sweepPage(store: Store, ref: string, q: URLSearchParams): Promise<Page> {
  let run: RunRow;
  try {
    run = await resolveRun(store, ref);
  } catch (e) {
    return runErrorPage(e);
  }
  const vs = await loadVariants(store, run.id);
  if (!vs.length) return errorPage(404, `run ${run.id} (${run.pipeline}) is not a sweep: it has no variants`, 'a pipeline with `matrix:` makes one');
  const names = [...new Set(vs.flatMap((v) => Object.keys(v.values)))];
  const metricNames = [...new Set(vs.flatMap((v) => Object.keys(v.metrics)))].sort();
  const sort = q.get('sort') ?? 'score';
  const desc = q.get('dir') !== 'asc';
  const keyOf = (v: StoredVariant): number | string => {
    if (sort === 'score') return v.score ?? Number.NaN;
    if (sort === 'variant') return v.index;
    if (sort.startsWith('param:')) {
      const x = v.values[sort.slice(6)];
      return typeof x === 'number' ? x : JSON.stringify(x ?? null);
    }
    return v.metrics[sort] ?? Number.NaN;
  };
  const sorted = [...vs].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    // Missing values last, either direction.
    const nx = typeof x === 'number' && Number.isNaN(x);
    const ny = typeof y === 'number' && Number.isNaN(y);
    if (nx || ny) return nx === ny ? a.index - b.index : nx ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return (desc ? -c : c) || a.index - b.index;
  });
  const th = (key: string, label: string): string =>
    `<th><a href="${esc(`/sweeps/${encodeURIComponent(run.id)}${qs({ sort: key, dir: key === sort && desc ? 'asc' : 'desc' })}`)}"${key === sort ? ` class="sorted ${desc ? 'desc' : 'asc'}"` : ''}>${esc(label)}</a></th>`;
  const rows = sorted.map(
    (v) =>
      `<tr data-variant="${v.index}"${v.selected ? ' class="selected"' : ''}><td>${v.index}</td>${names.map((n) => `<td><code>${esc(JSON.stringify(v.values[n] ?? null))}</code></td>`).join('')}<td class="n">${esc(fmtNum(v.score))}</td>${metricNames
        .map((m) => `<td class="n">${esc(fmtNum(v.metrics[m]))}</td>`)
        .join('')}</tr>`,
  );
  const numeric = names.filter((n) => vs.every((v) => typeof v.values[n] === 'number'));
  const xName = numeric.includes(q.get('x') ?? '') ? q.get('x')! : numeric[0];
  const scored = vs.filter((v) => v.score !== null);
  const plot =
    xName && scored.length
      ? `<div class="panel">${scatterChart({
          name: 'sweep',
          title: `${vs[0].select ?? 'score'} against ${xName}`,
          points: scored.map((v) => ({ x: v.values[xName] as number, y: v.score!, label: v.label, highlight: v.selected })),
          xLabel: xName,
          yLabel: vs[0].select ?? 'score',
        })}</div>${numeric.length > 1 ? `<p class="sub">plot against: ${numeric.map((n) => `<a href="${esc(`/sweeps/${encodeURIComponent(run.id)}${qs({ sort, dir: desc ? undefined : 'asc', x: n })}`)}">${esc(n)}</a>`).join(' · ')}</p>` : ''}`
      : '<p class="sub">No numeric matrix parameter with scored variants to plot.</p>';
  const body = `<h1>Sweep: ${esc(run.pipeline)}</h1><p class="sub"><a href="${esc(runHref(run.id))}"><code>${esc(run.id)}</code></a> · ${vs.length} variants${vs[0].select ? ` · select ${esc(vs[0].select)}` : ''}</p>
${plot}
<div class="tbl"><table class="leaderboard"><thead><tr>${th('variant', '#')}${names.map((n) => th(`param:${n}`, n)).join('')}${th('score', 'score')}${metricNames.map((m) => th(m, m)).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
  return { status: 200, title: `Sweep ${run.id}`, body };
}

// ---- models ----

export async function modelsPage(store: Store): Promise<Page> {
  const models = await listModels(store);
  const stages = await currentStages(store);
  const history = await stageHistory(store);
  const rows = models.map((m) => {
    const head = Object.entries(m.metrics).slice(0, 3);
    return `<tr data-model="${esc(m.key)}"><td><code>${esc(m.key.slice(0, 12))}</code></td><td>${esc(m.model)}</td><td>${stages.has(m.key) ? statusBadge(stages.get(m.key)!) : '—'}</td>
<td>${esc(m.pipeline ?? '—')}</td><td>${m.step ? `<code>${esc(m.step)}</code>` : '—'}</td><td>${m.run ? `<a href="${esc(runHref(m.run))}"><code>${esc(m.run)}</code></a>` : '—'}</td>
<td>${esc(m.createdAt)}</td><td>${head.map(([k, v]) => `${esc(k)} ${esc(fmtNum(v))}`).join(' · ')}</td></tr>`;
  });
  const events = history
    .slice(-50)
    .reverse()
    .map(
      (e) =>
        `<li>${esc(e.at.slice(0, 19))} <code>${esc(e.key.slice(0, 12))}</code> → ${statusBadge(e.stage)} by ${esc(e.by)}${e.note ? ` — ${esc(e.note)}` : ''}</li>`,
    );
  const body = `<h1>Models</h1><p class="sub">Every trained model in the store; its run is its lineage (the steps and inputs that made it).</p>
<div class="tbl"><table class="models"><tr><th>model</th><th>kind</th><th>stage</th><th>pipeline</th><th>step</th><th>run (lineage)</th><th>created (UTC)</th><th>metrics</th></tr>${rows.join('\n')}</table></div>
${models.length ? '' : '<p class="sub">No trained model in this store yet.</p>'}
<h2>Stage history</h2>${events.length ? `<ul class="notes">${events.join('')}</ul>` : '<p class="sub">No model was promoted yet (`fxflow models promote`).</p>'}`;
  return { status: 200, title: 'Models', body };
}
