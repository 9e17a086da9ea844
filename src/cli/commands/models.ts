import { thousands } from '../../core/format.js';
import { isoUtc } from '../../data/frame.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { HorizonMetrics, Model } from '../../core/artifacts.js';
import { sha256 } from '../../core/hash.js';
import { RunError } from '../../core/diagnostics.js';
import { type ExportedModel, exportedJson, toExported } from '../../models/predict.js';
import { decodeArtifact } from '../../runtime/codec.js';
import {
  currentStages,
  isStage,
  listModels,
  MODEL_REF_HELP,
  recordStage,
  runMetrics,
  stageHistory,
  STAGES,
  type ModelEntry,
  type Stage,
  type StageEvent,
  type StepLink,
} from '../../runtime/history.js';
import { loadArtifact, modelLineage, type ModelLineage } from '../model-lineage.js';
import { listReplayModels, loadReplayModel, modelId, parseReplayKey, resolveAnyModel, type ReplayOrigin } from '../replay-models.js';
import { STORE_FILE, type Store } from '../../runtime/store.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtNum, styleFor, table } from '../format.js';
import { VERSION } from '../../version.js';

/** Length of the model ids shown (a prefix of the artifact's cache key). */
const ID_LEN = 12;

/** A model as listed: its id (a prefix of its key) and what the history knows of it; a replay's model says when and why it was fitted. */
type Row = { id: string; replay?: ReplayOrigin } & ModelEntry;

/** Trained models and replays' champions, newest first. */
async function models(store: Store, pipeline?: string): Promise<Row[]> {
  const all: (ModelEntry & { replay?: ReplayOrigin })[] = [...(await listModels(store, pipeline)), ...(await listReplayModels(store, pipeline))];
  // Stable: a replay's models keep their order (newest retrain first) under the same created time.
  return all.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).map((m) => ({ id: modelId(m.key, ID_LEN), ...m }));
}

/** Retrain reasons whose detail carries the numbers (a schedule's says nothing more). */
const TRIGGERS = ['drift', 'decay', 'regime'];

/** A replay model's origin in a few words: `drift 2019-03-04 00:00, promoted`. */
const replayWords = (r: ReplayOrigin): string => `${r.reason} ${r.retrainedAt.slice(0, 16).replace('T', ' ')}, ${r.decision}`;

async function list(values: { store?: string; json?: boolean; pipeline?: string }, io: Io): Promise<number> {
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    io.out.write(values.json ? '[]\n' : 'no models yet (fxflow run FILE trains some)\n');
    return 0;
  }
  const store = await openStore(dir, io);
  let rows: Row[];
  let stages: Map<string, Stage>;
  try {
    rows = await models(store, values.pipeline);
    stages = await currentStages(store);
  } finally {
    await store.close();
  }
  if (values.json) {
    io.out.write(
      `${JSON.stringify(
        rows.map((r) => ({ ...r, stage: stages.get(r.key) ?? null })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  if (!rows.length) {
    io.out.write('no models match\n');
    return 0;
  }
  // Headline: the first target's validation IC, DA and RMSE.
  const first = (m: Record<string, number>, prefix: string): string => {
    const k = Object.keys(m)
      .filter((x) => x.startsWith(prefix))
      .sort()[0];
    return k ? fmtNum(m[k]) : '—';
  };
  // Replay models get a column: the bar they were retrained at, why, and how they became champion.
  const replayed = rows.some((r) => r.replay);
  io.out.write(
    `${table(
      ['id', 'model', 'stage', 'pipeline', 'step', 'run', 'created (UTC)', ...(replayed ? ['replay retrain (UTC)'] : []), 'val IC', 'val DA', 'val RMSE'],
      rows.map((r) => [
        r.id,
        r.model,
        stages.get(r.key) ?? '—',
        r.pipeline ?? '—',
        r.step ?? '—',
        r.run ?? '—',
        r.createdAt,
        ...(replayed ? [r.replay ? replayWords(r.replay) : '—'] : []),
        first(r.metrics, 'val_ic_'),
        first(r.metrics, 'val_da_'),
        first(r.metrics, 'val_rmse_'),
      ]),
      styleFor(io.out),
    )}\n`,
  );
  return 0;
}

async function exportModel(
  id: string | undefined,
  out: string | undefined,
  values: { store?: string; format?: string; fold?: string },
  io: Io,
): Promise<number> {
  if (!id) throw new UsageError('`fxflow models export` needs a model id (the first column of `fxflow models`)');
  if (!out) throw new UsageError('`fxflow models export` needs `--out DIR`');
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'onnx')
    throw new UsageError(`\`--format ${format}\`: use \`--format json\` (model.json, the default) or \`--format onnx\` (model.onnx)`);
  const fold = values.fold === undefined ? undefined : Number(values.fold);
  if (fold !== undefined && !(Number.isInteger(fold) && fold >= 0)) throw new UsageError(`\`--fold ${values.fold}\`: a fold number (0 = the oldest)`);
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) throw new RunError(`no store at ${dir}`, { hint: 'run a pipeline first, or point `--store DIR` at one' });
  const store = await openStore(dir, io);
  let model: Model;
  let row: Row;
  try {
    if (parseReplayKey(id)) {
      const { key } = await resolveAnyModel(store, id);
      const loaded = await loadReplayModel(store, key);
      [model, row] = [loaded.model, { id: modelId(key, ID_LEN), ...loaded.entry }];
    } else {
      const rows = (await models(store)).filter((r) => r.key.startsWith(id));
      if (rows.length === 0) throw new RunError(`no model with id \`${id}\` in ${dir}`, { hint: '`fxflow models` lists them' });
      if (rows.length > 1)
        throw new RunError(`\`${id}\` matches ${rows.length} models`, {
          hint: `give more of the id: ${rows.map((r) => r.key.slice(0, ID_LEN + 4)).join(', ')}`,
        });
      row = rows[0];
      const bytes = await store.getArtifactBytes(row.key);
      if (!bytes) throw new RunError(`model ${id} is in the catalogue but its bytes are missing or corrupt`, { hint: 'rerun its pipeline to recompute it' });
      model = decodeArtifact<Model>(bytes);
    }
  } finally {
    await store.close();
  }
  const source = {
    key: row.key,
    ...(row.run ? { run: row.run } : {}),
    ...(row.pipeline ? { pipeline: row.pipeline } : {}),
    ...(row.step ? { step: row.step } : {}),
  };
  if (format === 'onnx') return exportOnnx(model, source, out, fold, io);
  if (fold !== undefined) throw new UsageError('`--fold` picks the fold of an ONNX export; model.json holds every fold');
  mkdirSync(out, { recursive: true });
  const file = path.join(out, 'model.json');
  const exported = toExported(model, source);
  writeFileSync(file, `${exportedJson(exported)}\n`);
  io.out.write(`wrote ${file}: ${model.kind}, ${model.state.length} fold(s), ${model.featureNames.length} features → ${model.targetNames.join(', ')}\n`);
  return 0;
}

/** `--format onnx`: DIR/model.onnx, one fold's model (docs/onnx.md); the converter is loaded only here. */
async function exportOnnx(model: Model, source: ExportedModel['source'], out: string, fold: number | undefined, io: Io): Promise<number> {
  const { modelToOnnx } = await import('../../models/onnx/index.js');
  const onnx = modelToOnnx(model, { fold, version: VERSION, source });
  mkdirSync(out, { recursive: true });
  const file = path.join(out, 'model.onnx');
  writeFileSync(file, onnx.bytes);
  io.out.write(
    `wrote ${file}: ${model.kind}, fold ${onnx.fold + 1} of ${model.state.length} (--fold ${onnx.fold}), input features [${onnx.inputShape.join(', ')}] (${model.featureNames.join(', ')}) → predictions [${onnx.outputShape.join(', ')}] (${model.targetNames.join(', ')})\n`,
  );
  return 0;
}

/** Who records a stage change: $USER, else the OS account. */
function whoAmI(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

async function needStore(values: { store?: string }, io: Io): Promise<Store> {
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) throw new RunError(`no store at ${dir}`, { hint: 'run a pipeline first, or point `--store DIR` at one' });
  return openStore(dir, io);
}

const short = (key: string): string => modelId(key, ID_LEN);

function eventLine(e: StageEvent): string {
  return `${e.at.slice(0, 19)}  ${short(e.key)}  ${e.stage}  by ${e.by}${e.note ? `  (${e.note})` : ''}`;
}

/** Data files of a fetch step from its fingerprint: name, SHA-256 and size. */
function dataFiles(fetch: StepLink | undefined): { file: string; sha256: string; size: number }[] {
  const fp = fetch?.fingerprint as { sha256?: string; size?: number; files?: { file: string; sha256: string; size: number }[] } | null | undefined;
  if (!fp) return [];
  if (fp.files) return fp.files;
  const p = fetch!.params.path;
  const file = typeof p === 'string' ? path.basename(p) : Array.isArray(p) ? String(p[0]) : '?';
  return fp.sha256 ? [{ file, sha256: fp.sha256, size: fp.size ?? 0 }] : [];
}

async function showModel(id: string | undefined, values: { store?: string; json?: boolean; step?: string }, io: Io): Promise<number> {
  if (!id) throw new UsageError(`\`fxflow models show\` needs a model: ${MODEL_REF_HELP}`);
  const store = await needStore(values, io);
  let model: Model;
  let lin: ModelLineage;
  let stage: Stage | undefined;
  let history: StageEvent[];
  let runMetricValues: Map<string, number | null>;
  let replay: ReplayOrigin | undefined;
  try {
    const { key, runId } = await resolveAnyModel(store, id, { step: values.step });
    const r = parseReplayKey(key);
    lin = await modelLineage(store, r ? r.report : key, runId);
    if (r) {
      const loaded = await loadReplayModel(store, key);
      [model, replay] = [loaded.model, loaded.entry.replay];
      // The replay step traded its champions: its backtest metrics are the replay's.
      lin = { ...lin, key, backtests: [lin.train] };
    } else model = await loadArtifact<Model>(store, key, 'the model');
    stage = (await currentStages(store)).get(key);
    history = await stageHistory(store, key);
    runMetricValues = await runMetrics(store, lin.run.id);
  } finally {
    await store.close();
  }
  const step = (s: StepLink | undefined) => (s ? { id: s.nodeId, kind: s.kind, key: s.key, params: s.params } : null);
  const backtest: Record<string, Record<string, number | null>> = {};
  for (const b of lin.backtests) {
    const m: Record<string, number | null> = {};
    for (const [k, v] of runMetricValues) if (k.startsWith(`${b.nodeId}.`)) m[k.slice(b.nodeId.length + 1)] = v;
    backtest[b.nodeId] = m;
  }
  const info = {
    id: short(lin.key),
    key: lin.key,
    kind: model.kind,
    stage: stage ?? null,
    backend: model.backend ?? 'cpu',
    params: model.params,
    featureNames: model.featureNames,
    targetNames: model.targetNames,
    targetHorizons: model.targetHorizons,
    folds: model.state.length,
    scaler: model.scalers?.[model.scalers.length - 1]?.method ?? 'none',
    online: model.online
      ? { fold: model.online.fold, rows: model.online.rows, through: isoUtc(model.online.through), resumes: Boolean(model.online.resume) }
      : null,
    metrics: { val: model.valMetrics, test: model.testMetrics ?? [], folds: model.foldMetrics ?? [], backtest },
    lineage: {
      run: lin.run.id,
      pipeline: lin.run.pipeline,
      file: lin.run.file,
      pipelineSha256: sha256(lin.run.text),
      startedAt: lin.run.startedAt,
      status: lin.run.status,
      seed: lin.run.seed,
      gitCommit: lin.run.gitCommit,
      gitDirty: lin.run.gitDirty,
      data: dataFiles(lin.fetch),
      steps: { fetch: step(lin.fetch), features: step(lin.features), split: step(lin.split), train: step(lin.train), backtests: lin.backtests.map(step) },
      ...(lin.broken ? { note: lin.broken } : {}),
      ...(replay ? { replay } : {}),
      pipelineText: lin.run.text,
    },
    history,
  };
  if (values.json) {
    io.out.write(`${JSON.stringify(info, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    return 0;
  }
  const style = styleFor(io.out);
  const kv = (k: string, v: string): string => `${k.padEnd(10)} ${v}\n`;
  let out = `${style.bold(`model ${info.id}`)}  ${model.kind}  stage: ${stage ?? '—'}\n`;
  out += kv('key', lin.key);
  out += kv('run', `${lin.run.id} (${lin.run.status}), step ${lin.train.nodeId}, seed ${lin.run.seed}, started ${lin.run.startedAt.slice(0, 19)} UTC`);
  out += kv('pipeline', `${lin.run.pipeline}: ${lin.run.file} · sha256 ${info.lineage.pipelineSha256.slice(0, 16)}…`);
  out += kv(
    'git',
    lin.run.gitCommit ? `${lin.run.gitCommit.slice(0, 12)}${lin.run.gitDirty ? ' (uncommitted changes)' : ''}` : 'not recorded (not a git repository)',
  );
  const data = info.lineage.data;
  out += kv(
    'data',
    data.length
      ? data.map((d) => `${d.file} sha256 ${d.sha256.slice(0, 16)}… (${thousands(d.size)} bytes)`).join('; ')
      : lin.fetch
        ? `${String(lin.fetch.params.source)} (no file)`
        : '—',
  );
  out += kv('backend', info.backend);
  out += kv(
    'params',
    Object.entries(model.params)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' '),
  );
  out += kv('features', `${model.featureNames.length}, in order: ${model.featureNames.join(', ')}`);
  out += kv('targets', model.targetNames.map((t, i) => `${t} (${model.targetHorizons[i]} bar${model.targetHorizons[i] === 1 ? '' : 's'})`).join(', ') || '—');
  out += kv('folds', `${model.state.length}, scaler ${info.scaler} (the newest fold's scores new bars)`);
  // Which state of an online model scores new bars: its learner's final one, or (stored before it was kept) the batch fit.
  if (model.online)
    out += kv(
      'online',
      `new bars scored with the online learner's final state: ${thousands(model.online.rows)} rows absorbed after the training rows, through ${isoUtc(model.online.through)}` +
        (model.online.resume ? '; it goes on learning on later bars' : ''),
    );
  else if (model.params.online)
    out += kv('online', 'new bars scored with the batch fit (stored before the online state was kept: rerun the train step to keep it)');
  if (replay) {
    out += kv(
      'replay',
      `model ${replay.id} of replay step ${lin.train.nodeId}: fitted at the bar of ${replay.retrainedAt} (${replay.reason}${TRIGGERS.includes(replay.reason) ? `: ${replay.detail}` : ''}), ${replay.decision}${replay.compare ? ` (${replay.compare.metric} ${fmtNum(replay.compare.challenger)} vs the champion's ${fmtNum(replay.compare.champion)}, margin ${replay.compare.margin})` : ''}`,
    );
    out += kv(
      'window',
      `trained on ${thousands(replay.trainRows)} rows ${replay.trainFrom} → ${replay.trainTo}, ${thousands(replay.valRows)} validation rows; served ${thousands(replay.served)} bars as the champion`,
    );
  }
  if (lin.broken) out += kv('note', lin.broken);
  const metricRows = [...model.valMetrics.map((m) => ['val', m]), ...(model.testMetrics ?? []).map((m) => ['test', m])] as [string, HorizonMetrics][];
  if (metricRows.length) {
    out += `\n${table(
      ['segment', 'target', 'IC', 'DA', 'RMSE', 'MAE'],
      metricRows.map(([seg, m]) => [seg, m.target, fmtNum(m.ic), fmtNum(m.directionalAccuracy), fmtNum(m.rmse), fmtNum(m.mae)]),
      style,
    )}\n`;
  }
  for (const [b, m] of Object.entries(backtest)) {
    const pick = ['sharpe', 'total_return', 'max_drawdown', 'trades', 'hit_rate'].filter((k) => k in m);
    out += `\nbacktest ${b}: ${pick.map((k) => `${k} ${fmtNum(m[k])}`).join(' · ')}\n`;
  }
  out += `\nstage history${history.length ? '' : ': none'}\n`;
  for (const e of history) out += `  ${eventLine(e)}\n`;
  io.out.write(out);
  return 0;
}

async function changeStage(
  sub: 'promote' | 'demote',
  id: string | undefined,
  values: { store?: string; stage?: string; note?: string; step?: string },
  io: Io,
): Promise<number> {
  if (!id) throw new UsageError(`\`fxflow models ${sub}\` needs a model: ${MODEL_REF_HELP}`);
  let stage: Stage;
  if (sub === 'promote') {
    if (values.stage === undefined) throw new UsageError(`\`fxflow models promote\` needs \`--stage ${STAGES.join('|')}\``);
    if (!isStage(values.stage)) throw new UsageError(`--stage takes ${STAGES.join(', ')}; got \`${values.stage}\``);
    stage = values.stage;
  } else {
    if (values.stage !== undefined) throw new UsageError('`fxflow models demote` archives the model; to give it another stage use `promote --stage`');
    stage = 'archived';
  }
  const store = await needStore(values, io);
  let events: StageEvent[];
  try {
    const { key } = await resolveAnyModel(store, id, { step: values.step });
    const now = (await currentStages(store)).get(key);
    if (sub === 'demote' && now === undefined)
      throw new RunError(`model ${short(key)} has no stage to leave`, { hint: '`fxflow models` shows each model’s stage' });
    if (now === stage) {
      io.out.write(`model ${short(key)} is already ${stage}: nothing recorded\n`);
      return 0;
    }
    events = await recordStage(store, { key, stage, by: whoAmI(), ...(values.note ? { note: values.note } : {}) });
  } finally {
    await store.close();
  }
  for (const e of events) io.out.write(`${short(e.key)} → ${e.stage} (by ${e.by}${e.note ? `; ${e.note}` : ''})\n`);
  return 0;
}

async function showHistory(id: string | undefined, values: { store?: string; json?: boolean; step?: string }, io: Io): Promise<number> {
  const store = await needStore(values, io);
  let events: StageEvent[];
  try {
    const key = id === undefined ? undefined : (await resolveAnyModel(store, id, { step: values.step })).key;
    events = await stageHistory(store, key);
  } finally {
    await store.close();
  }
  if (values.json) {
    io.out.write(`${JSON.stringify(events, null, 2)}\n`);
    return 0;
  }
  if (!events.length) {
    io.out.write('no stage changes yet (fxflow models promote ID --stage champion records one)\n');
    return 0;
  }
  io.out.write(
    `${table(
      ['#', 'at (UTC)', 'model', 'stage', 'by', 'note'],
      events.map((e) => [String(e.seq), e.at.slice(0, 19), short(e.key), e.stage, e.by, e.note ?? '']),
      styleFor(io.out),
    )}\n`,
  );
  return 0;
}

async function cmdModels(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    pipeline: { type: 'string' },
    out: { type: 'string', short: 'o' },
    format: { type: 'string' },
    fold: { type: 'string' },
    stage: { type: 'string' },
    note: { type: 'string' },
    step: { type: 'string' },
  });
  if (values.help) return printUsage(modelsCommand, io);
  const [sub, id] = positionals;
  if (sub === undefined || sub === 'list') return list(values, io);
  if (sub === 'export') return exportModel(id, values.out, values, io);
  if (sub === 'show') return showModel(id, values, io);
  if (sub === 'promote' || sub === 'demote') return changeStage(sub, id, values, io);
  if (sub === 'history') return showHistory(id, values, io);
  throw new UsageError(
    `unknown \`fxflow models\` subcommand \`${sub}\` (use \`fxflow models\`, \`show\`, \`promote\`, \`demote\`, \`history\` or \`export ID --out DIR\`)`,
  );
}

export const modelsCommand: Command = {
  usage: `Usage: fxflow models [--pipeline NAME] [--json] [--store DIR]
       fxflow models show MODEL [--step ID] [--json] [--store DIR]
       fxflow models promote MODEL --stage champion|challenger|archived [--note TEXT] [--store DIR]
       fxflow models demote MODEL [--note TEXT] [--store DIR]
       fxflow models history [MODEL] [--json] [--store DIR]
       fxflow models export ID --out DIR [--format json|onnx] [--fold N] [--store DIR]

MODEL is ${MODEL_REF_HELP}; a model a replay made champion is REPORTID.mN (docs/replay.md).

\`show\`: what made the model (lineage): the run, its pipeline text and hash, git commit, the data
files' hashes, backend, features in order, targets, metrics per segment, its stage and history.
\`promote\` records a stage with who and when; champion and challenger are held by one model at a
time, and the model holding it before is archived (never lost: \`history\` lists every event).
\`demote\` archives the model. \`fxflow predict champion\` scores new bars with the champion.

Lists every trained model in the store (newest first) with the run and pipeline that last used
it and its validation metrics. \`export\` writes DIR/model.json: kind, params, feature and target
names, per fold the scaler and the fitted state (linear coefficients, or gbm/random_forest trees
as parallel node arrays), metrics and importances. Load it from code with
\`import { loadModel, predict } from 'fxflow'\`: predict(loadModel(DIR), rows) scores raw feature rows.
\`--format onnx\` writes DIR/model.onnx instead: the newest fold's model (\`--fold N\` another), raw
features in, for ONNX Runtime or MetaTrader 5 (docs/onnx.md).`,
  run: cmdModels,
};
