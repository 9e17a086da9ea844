import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Model } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { type ExportedModel, exportedJson, toExported } from '../../models/predict.js';
import { decodeArtifact } from '../../runtime/codec.js';
import { listModels, type ModelEntry } from '../../runtime/history.js';
import { STORE_FILE, type Store } from '../../runtime/store.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtNum, styleFor, table } from '../format.js';
import { VERSION } from '../../version.js';

/** Length of the model ids shown (a prefix of the artifact's cache key). */
const ID_LEN = 12;

/** A model as listed: its id (a prefix of its key) and what the history knows of it. */
type Row = { id: string } & ModelEntry;

async function models(store: Store, pipeline?: string): Promise<Row[]> {
  return (await listModels(store, pipeline)).map((m) => ({ id: m.key.slice(0, ID_LEN), ...m }));
}

async function list(values: { store?: string; json?: boolean; pipeline?: string }, io: Io): Promise<number> {
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    io.out.write(values.json ? '[]\n' : 'no models yet (fxflow run FILE trains some)\n');
    return 0;
  }
  const store = await openStore(dir, io);
  let rows: Row[];
  try {
    rows = await models(store, values.pipeline);
  } finally {
    await store.close();
  }
  if (values.json) {
    io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
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
  io.out.write(
    `${table(
      ['id', 'model', 'pipeline', 'step', 'run', 'created (UTC)', 'val IC', 'val DA', 'val RMSE'],
      rows.map((r) => [
        r.id,
        r.model,
        r.pipeline ?? '—',
        r.step ?? '—',
        r.run ?? '—',
        r.createdAt,
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
    const rows = (await models(store)).filter((r) => r.key.startsWith(id));
    if (rows.length === 0) throw new RunError(`no model with id \`${id}\` in ${dir}`, { hint: '`fxflow models` lists them' });
    if (rows.length > 1)
      throw new RunError(`\`${id}\` matches ${rows.length} models`, { hint: `give more of the id: ${rows.map((r) => r.key.slice(0, ID_LEN + 4)).join(', ')}` });
    row = rows[0];
    const bytes = await store.getArtifactBytes(row.key);
    if (!bytes) throw new RunError(`model ${id} is in the catalogue but its bytes are missing or corrupt`, { hint: 'rerun its pipeline to recompute it' });
    model = decodeArtifact<Model>(bytes);
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
    `wrote ${file}: ${model.kind}, fold ${onnx.fold} of ${model.state.length}, input features [${onnx.inputShape.join(', ')}] (${model.featureNames.join(', ')}) → predictions [${onnx.outputShape.join(', ')}] (${model.targetNames.join(', ')})\n`,
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
  });
  if (values.help) return printUsage(modelsCommand, io);
  const [sub, id] = positionals;
  if (sub === undefined || sub === 'list') return list(values, io);
  if (sub === 'export') return exportModel(id, values.out, values, io);
  throw new UsageError(`unknown \`fxflow models\` subcommand \`${sub}\` (use \`fxflow models\` or \`fxflow models export ID --out DIR\`)`);
}

export const modelsCommand: Command = {
  usage: `Usage: fxflow models [--pipeline NAME] [--json] [--store DIR]
       fxflow models export ID --out DIR [--format json|onnx] [--fold N] [--store DIR]

Lists every trained model in the store (newest first) with the run and pipeline that last used
it and its validation metrics. \`export\` writes DIR/model.json: kind, params, feature and target
names, per fold the scaler and the fitted state (linear coefficients, or gbm/random_forest trees
as parallel node arrays), metrics and importances. Load it from code with
\`import { loadModel, predict } from 'fxflow'\`: predict(loadModel(DIR), rows) scores raw feature rows.
\`--format onnx\` writes DIR/model.onnx instead: the newest fold's model (\`--fold N\` another), raw
features in, for ONNX Runtime or MetaTrader 5 (docs/onnx.md).`,
  run: cmdModels,
};
