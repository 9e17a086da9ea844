import path from 'node:path';
import type { Artifact } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { thousands } from '../../core/format.js';
import { loadPlan, planUpTo } from '../../pipeline.js';
import { decodeArtifact } from '../../runtime/codec.js';
import { artifactTable, exportTable } from '../../runtime/export.js';
import { computeKeys } from '../../runtime/keys.js';
import { PlainProgress } from '../../runtime/progress.js';
import { runPlan } from '../../runtime/run.js';
import { EXIT_RUN, openStore, parse, printRunError, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';

async function cmdExport(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' } });
  if (values.help) return printUsage(exportCommand, io);
  const [file, stepId] = positionals;
  if (!file || !stepId)
    throw new UsageError('`fxflow export` needs a pipeline file and a step id, e.g. `fxflow export pipelines/quickstart.yaml features --out features.csv`');
  if (!values.out) throw new UsageError('`fxflow export` needs `--out PATH` (.csv or .parquet)');
  const ext = path.extname(values.out).toLowerCase();
  if (ext !== '.csv' && ext !== '.parquet') throw new UsageError(`--out must end in .csv or .parquet, got \`${values.out}\``);
  const full = await loadPlan(file, undefined, { execute: true });
  if (!full.byId.has(stepId)) {
    throw new UsageError(`pipeline ${full.spec.name} has no step \`${stepId}\` (steps: ${full.nodes.map((n) => n.id).join(', ')})`);
  }
  const plan = planUpTo(full, stepId);
  const keys = await computeKeys(plan);
  const store = await openStore(storeDir(values.store), io);
  let artifact: Artifact;
  try {
    const key = keys.get(stepId)!.key;
    const bytes = await store.getArtifactBytes(key);
    if (bytes) artifact = decodeArtifact<Artifact>(bytes);
    else {
      // Not stored, or stored but damaged (the run recomputes it, and says so).
      if (!(await store.hasArtifact(key))) io.err.write(`${stepId} is not cached yet: running ${plan.nodes.map((n) => n.id).join(' → ')}\n`);
      const result = await runPlan(plan, { store, keys, progress: new PlainProgress(io.err), need: [stepId] });
      if (result.status !== 'succeeded') {
        if (result.error) printRunError(result.error, io);
        return EXIT_RUN;
      }
      const out = result.outputs.get(stepId);
      if (out === undefined) throw new RunError(`output of ${stepId} missing after the run`);
      artifact = out as Artifact;
    }
  } finally {
    await store.close();
  }
  const t = artifactTable(artifact);
  await exportTable(t, values.out);
  io.out.write(`wrote ${values.out}: ${thousands(t.rows)} rows × ${t.names.length} columns (${artifact.type} of step ${stepId})\n`);
  return 0;
}

export const exportCommand: Command = {
  usage: `Usage: fxflow export FILE STEP --out PATH [--store DIR]

Writes STEP's output as CSV or Parquet (by PATH's extension), running what it needs first:
Candles/Features: the frame; Dataset: rows with segment and fold; Model: out-of-sample
predictions per target with ts, segment and fold; Report: per-bar position and equity.
Executes the pipeline's plugins (TypeScript, run with your rights): use it on pipelines you trust.`,
  run: cmdExport,
};
