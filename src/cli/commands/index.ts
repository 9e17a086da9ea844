import type { Command } from '../common.js';

/**
 * Every subcommand, in the order `fxflow --help` lists them. Only names and summaries live here:
 * a command's module (and what it imports: the store's DuckDB, the parser, tfjs…) is loaded by
 * `load()` when that command runs, so `--help` and `--version` import none of them.
 */
export interface CommandEntry {
  name: string;
  /** One line for `fxflow --help`. */
  summary: string;
  /**
   * Whether it executes a pipeline's code: imports its plugins (TypeScript run with the user's
   * rights) and runs its steps. `fxflow --help` lists these; every other command never does.
   */
  executesCode?: boolean;
  load(): Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'run', summary: 'run a pipeline (cached steps are reused)', executesCode: true, load: async () => (await import('./run.js')).runCommand },
  {
    name: 'watch',
    summary: 'rerun a pipeline on every save of it, its plugins or its data files',
    executesCode: true,
    load: async () => (await import('./watch.js')).watchCommand,
  },
  {
    name: 'replay',
    summary: 'run a pipeline’s replay steps; --follow extends them as its data file grows',
    executesCode: true,
    load: async () => (await import('./replay.js')).replayCommand,
  },
  {
    name: 'worker',
    summary: 'run steps of `run --executor queue` taken from a Redis queue',
    load: async () => (await import('./worker.js')).workerCommand,
  },
  { name: 'validate', summary: 'check a pipeline: YAML, schema, DAG (runs nothing)', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'plan', summary: 'show what would run and why', load: async () => (await import('./plan.js')).planCommand },
  { name: 'runs', summary: 'list recent runs with status and headline metrics', load: async () => (await import('./runs.js')).runsCommand },
  { name: 'show', summary: 'one run in full: resolved pipeline, params, metrics, artifacts, notes', load: async () => (await import('./show.js')).showCommand },
  { name: 'diff', summary: 'compare two runs: params, metrics, recomputed steps', load: async () => (await import('./diff.js')).diffCommand },
  { name: 'gc', summary: 'remove cached artifacts that no kept run needs', load: async () => (await import('./gc.js')).gcCommand },
  { name: 'report', summary: 'write a run’s backtest report as one self-contained HTML file', load: async () => (await import('./report.js')).reportCommand },
  {
    name: 'models',
    summary: 'trained models: list, lineage, stages (champion, challenger), export as model.json or ONNX',
    load: async () => (await import('./models.js')).modelsCommand,
  },
  {
    name: 'predict',
    summary: 'score new bars with a trained model (its features, scaler and signal rule as in training)',
    load: async () => (await import('./predict.js')).predictCommand,
  },
  { name: 'export', summary: "write a step's output as .csv or .parquet", executesCode: true, load: async () => (await import('./export.js')).exportCommand },
  { name: 'ui', summary: 'a local web app over the runs: live graphs, comparisons, sweeps, reports', load: async () => (await import('./ui.js')).uiCommand },
  { name: 'steps', summary: 'list step kinds with their inputs, output and parameters', load: async () => (await import('./steps.js')).stepsCommand },
  { name: 'schema', summary: 'print the pipeline JSON Schema', load: async () => (await import('./schema.js')).schemaCommand },
  {
    name: 'init',
    summary: 'scaffold a pipeline, a custom-step plugin and a .gitignore for the store',
    load: async () => (await import('./init.js')).initCommand,
  },
];
