import type { Model, Report, RetrainChampion, RetrainTimelineEvent, RetrainTimelineModel } from '../core/artifacts.js';
import { RunError } from '../core/diagnostics.js';
import { decodeArtifact, encodeArtifact } from '../runtime/codec.js';
import { listReplayReports, resolveModel, type ModelEntry, type ReplayReportEntry } from '../runtime/history.js';
import type { Store } from '../runtime/store.js';
import { isoUtc } from '../data/frame.js';

/**
 * The models a `replay` step made, as registry entries. Each champion's fitted state lives in the
 * replay's Report (`retrain.champions`), a content-addressed artifact the replay step's run keeps
 * (gc and the cache treat it as any step output), so a replay model's registry key is derived from
 * it: `<report key>.m<model id>`. Stages (`model_stages`) hold that key like any model's.
 */

/** `<report key or a prefix of it>.m<id>`. */
const REF = /^([0-9a-f]+)\.m(\d+)$/;

export const replayModelKey = (reportKey: string, id: number): string => `${reportKey}.m${id}`;

/** The report key and model id of a replay model's key, or undefined for a trained model's key. */
export function parseReplayKey(key: string): { report: string; id: number } | undefined {
  const m = REF.exec(key);
  return m ? { report: m[1], id: Number(m[2]) } : undefined;
}

/** A model's id as listed: a prefix of its key, with a replay model's `.m<id>`. */
export function modelId(key: string, len: number): string {
  const r = parseReplayKey(key);
  return r ? `${r.report.slice(0, len)}.m${r.id}` : key.slice(0, len);
}

/** What the replay says of one of its models: when and why it was fitted, on which rows, how it won. */
export interface ReplayOrigin {
  report: string;
  id: number;
  /** The bar it was fitted at (UTC ISO). */
  retrainedAt: string;
  reason: string;
  detail: string;
  /** `champion` (no comparison) or `promoted` (beat the champion). */
  decision: string;
  /** The comparison that promoted it: both scores on the same held-out bars (first and last, UTC). */
  compare?: Omit<NonNullable<RetrainTimelineEvent['compare']>, 'from' | 'to'> & { from: string; to: string };
  trainFrom: string;
  trainTo: string;
  trainRows: number;
  valRows: number;
  /** Bars it predicted as the champion. */
  served: number;
}

export type ReplayModelEntry = ModelEntry & { replay: ReplayOrigin };

async function loadReport(store: Store, key: string): Promise<Report> {
  const bytes = await store.getArtifactBytes(key);
  if (!bytes)
    throw new RunError(`the replay report ${key.slice(0, 12)} is in the history but its bytes are missing or damaged`, { hint: 'rerun its pipeline' });
  return decodeArtifact<Report>(bytes);
}

function origin(report: Report, reportKey: string, c: RetrainChampion): ReplayOrigin {
  const t = report.retrain!;
  const m = t.models.find((x) => x.id === c.id) as RetrainTimelineModel;
  const e = t.events.filter((x) => x.model === c.id && (x.decision === 'champion' || x.decision === 'promoted')).pop();
  return {
    report: reportKey,
    id: c.id,
    retrainedAt: isoUtc(m.ts),
    reason: m.reason,
    detail: e?.detail ?? '',
    decision: e?.decision ?? 'champion',
    ...(e?.compare ? { compare: { ...e.compare, from: isoUtc(e.compare.from), to: isoUtc(e.compare.to) } } : {}),
    trainFrom: isoUtc(m.trainFrom),
    trainTo: isoUtc(m.trainTo),
    trainRows: m.trainRows,
    valRows: m.valRows,
    served: m.served,
  };
}

const kindOf = (r: ReplayReportEntry): string => String((r.params.train as { model?: unknown } | undefined)?.model ?? '?');

function entries(r: ReplayReportEntry, report: Report): ReplayModelEntry[] {
  const ch = report.retrain?.champions;
  if (!ch) return [];
  return ch.models.map((c) => ({
    key: replayModelKey(r.key, c.id),
    model: kindOf(r),
    pipeline: r.pipeline,
    step: r.step,
    run: r.run,
    createdAt: r.createdAt,
    // What the model itself takes in the report: its state (as stored) and scaler.
    bytes: encodeArtifact({ state: c.state, scaler: c.scaler }).length,
    metrics: {},
    replay: origin(report, r.key, c),
  }));
}

/** Every replay model in the store (of `pipeline`'s runs, when given): newest report first, its models newest first. */
export async function listReplayModels(store: Store, pipeline?: string): Promise<ReplayModelEntry[]> {
  const out: ReplayModelEntry[] = [];
  for (const r of await listReplayReports(store, pipeline)) out.push(...entries(r, await loadReport(store, r.key)).reverse());
  return out;
}

/** The replay report a replay model key or reference names: its entry, decoded report and champion. */
async function findReplayModel(
  store: Store,
  ref: string,
): Promise<{ entry: ReplayModelEntry; report: Report; champion: RetrainChampion; row: ReplayReportEntry }> {
  const r = parseReplayKey(ref)!;
  const reports = (await listReplayReports(store)).filter((x) => x.key.startsWith(r.report));
  if (!reports.length)
    throw new RunError(`no replay report \`${r.report}\` in this store`, { hint: '`fxflow models` lists the replay models (ids ending in .mN)' });
  if (reports.length > 1) throw new RunError(`\`${r.report}\` starts ${reports.length} replay reports' keys`, { hint: 'give more of the id' });
  const row = reports[0];
  const report = await loadReport(store, row.key);
  const ch = report.retrain?.champions;
  if (!ch)
    throw new RunError(`the replay report ${row.key.slice(0, 12)} keeps no fitted models (made by replay version 1)`, {
      hint: 'rerun its pipeline: replay now keeps every champion',
    });
  const champion = ch.models.find((c) => c.id === r.id);
  if (!champion) {
    throw new RunError(`replay model ${r.id} of ${row.key.slice(0, 12)} was never the champion, so it was not kept`, {
      hint: `its champions are ${ch.models.map((c) => `.m${c.id}`).join(', ')}`,
    });
  }
  const entry = entries(row, report).find((e) => e.replay.id === r.id)!;
  return { entry, report, champion, row };
}

/**
 * A model by reference, as `resolveModel` (runtime/history.ts) reads it, and a replay model's
 * `<report key prefix>.m<id>`. A stage's holder may be a replay model: its key is returned as is.
 */
export async function resolveAnyModel(store: Store, ref: string, opts: { step?: string } = {}): Promise<{ key: string; runId?: string }> {
  if (!parseReplayKey(ref)) {
    try {
      return await resolveModel(store, ref, opts);
    } catch (e) {
      // A replay report's id without `.mN`: say which models it holds.
      const hit = /^[0-9a-f]+$/.test(ref) ? (await listReplayReports(store)).find((r) => r.key.startsWith(ref)) : undefined;
      if (!(e instanceof RunError) || !hit) throw e;
      const ids = entries(hit, await loadReport(store, hit.key)).map((m) => `${ref}.m${m.replay.id}`);
      throw new RunError(`\`${ref}\` is a replay's report, which holds ${ids.length} model${ids.length === 1 ? '' : 's'}`, {
        hint: ids.length ? `name one: ${ids.slice(-5).join(', ')}${ids.length > 5 ? ', …' : ''} (the last is its final champion)` : 'rerun its pipeline',
      });
    }
  }
  const { entry } = await findReplayModel(store, ref);
  return { key: entry.key, runId: entry.run ?? undefined };
}

/**
 * A replay model as a one-fold Model (its scaler and state; its validation predictions as the
 * `val` segment, for a quantile rule), with what the replay says of it.
 */
export async function loadReplayModel(store: Store, key: string): Promise<{ model: Model; entry: ReplayModelEntry; backtest: Record<string, unknown> }> {
  const { entry, report, champion, row } = await findReplayModel(store, key);
  const ch = report.retrain!.champions!;
  const train = { ...(row.params.train as Record<string, unknown>) };
  delete train.threads;
  const m = champion.valIndex.length;
  const model: Model = {
    type: 'Model',
    kind: kindOf(row),
    params: train,
    featureNames: [...ch.featureNames],
    targetNames: [...ch.targetNames],
    targetHorizons: [...ch.targetHorizons],
    state: [champion.state],
    scalers: [champion.scaler],
    valMetrics: [],
    predictions: {
      index: champion.valIndex,
      segment: new Uint8Array(m).fill(1),
      fold: new Uint16Array(m),
      values: Object.fromEntries(ch.targetNames.map((t, j) => [t, champion.valPred[j]])),
    },
  };
  return { model, entry, backtest: (row.params.backtest as Record<string, unknown> | undefined) ?? {} };
}
