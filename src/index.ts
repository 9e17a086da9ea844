/** fxflow's library API: parse, compile and run pipelines from code. */
export type * from './core/artifacts.js';
export { DiagnosticError, RunError, CancelledError, formatDiagnostic, type Diagnostic, type SourceLocation } from './core/diagnostics.js';
export { parsePipelineFile, parsePipelineText, type PipelineSpec, type StepSpec } from './parser/index.js';
export { compile, type Plan, type PlanNode } from './compiler/index.js';
export { loadPlan, planUpTo } from './pipeline.js';
export { runPlan, type RunResult, type StepOutcome, type RunOptions } from './runtime/run.js';
export { runPipeline, Interruption, type PipelineRun, type PipelineRunOptions } from './runtime/pipeline-run.js';
export { Store } from './runtime/store.js';
export { computeKeys } from './runtime/keys.js';
export { PlainProgress, ListrProgress, SilentProgress, type ProgressReporter } from './runtime/progress.js';
export { defineStep, paramsOf, type StepDef, type StepContext, type AnyStepDef } from './steps/define.js';
export { StepRegistry } from './steps/registry.js';
export { builtinRegistry, BUILTIN_STEPS } from './steps/index.js';
export { VERSION } from './version.js';
export { predict, loadModel, type ExportedModel, type PredictRows } from './models/predict.js';
export { FetchFollower } from './steps/fetch/follow.js';
export { FeaturesFollower } from './steps/features/follow.js';
export type { FollowUpdate, VerifyMode } from './data/follow.js';
