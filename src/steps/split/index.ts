import type { Candles, Dataset, Features, Fold, RowRange } from '../../core/artifacts.js';
import { CancelledError, RunError, type ParamIssue } from '../../core/diagnostics.js';
import { driftMetrics, driftReport } from '../../evaluation/drift.js';
import {
  binomial,
  boundariesFold,
  cpcv,
  firstRowAtOrAfter,
  purgedKFold,
  rowCount,
  temporalFold,
  walkForwardFolds,
  type CpcvSplit,
  type FoldRows,
} from '../../evaluation/folds.js';
import { applyScaler, fitScaler } from '../../evaluation/scalers.js';
import { maxTargetHorizon } from '../features/index.js';
import { describeLeaks, probeSteps } from '../../evaluation/probe.js';
import type { FeaturesParams } from '../features/params.js';
import { defineStep, LineageError, paramsOf, type LineageStep, type StepContext } from '../define.js';
import type { SplitParams } from './params.js';
import { thousands } from '../../core/format.js';
import { isoUtc } from '../../data/frame.js';

export type { SplitParams } from './params.js';

/** The three segments of a temporal split, before any check that they are non-empty. */
export interface TemporalRanges {
  train: RowRange;
  val: RowRange;
  test: RowRange;
}

/**
 * Temporal split of n rows with ratios [train, val, test]: nTrain = ⌊n·r0⌋, nVal = ⌊n·r1⌋, test gets
 * the rest, purged by `maxHorizon` at the end of train and of val (src/evaluation/folds.ts).
 */
export function temporalRanges(n: number, ratios: readonly number[], maxHorizon: number): TemporalRanges {
  const f = temporalFold(n, ratios, maxHorizon);
  return { train: f.train[0], val: f.val, test: f.test[0] };
}

function ratioIssues(ratios: number[]): ParamIssue[] {
  const issues: ParamIssue[] = [];
  ratios.forEach((r, i) => {
    if (!(r > 0)) {
      issues.push({ path: ['ratios', i], message: `ratio ${r} must be above 0: every segment needs rows`, hint: 'e.g. ratios: [0.6, 0.2, 0.2]' });
    }
  });
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) {
    issues.push({
      path: ['ratios'],
      message: `ratios sum to ${sum}, not 1`,
      hint: 'train, val and test shares must add up to 1, e.g. [0.6, 0.2, 0.2]',
    });
  }
  return issues;
}

/** An ISO date or date-time written in the pipeline → UTC epoch ms (a time without zone is UTC). */
export function parseUtc(s: string): number {
  let t = s.trim().replace(' ', 'T');
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)) t += 'Z';
  return Date.parse(t);
}

/** The embargo in bars, or an issue naming both numbers when a given embargo does not cover the horizon. */
export function embargoBars(embargo: SplitParams['embargo'], horizon: number): { bars: number; issue?: ParamIssue } {
  if (embargo === 'auto' || embargo === undefined) return { bars: horizon };
  if (embargo < horizon) {
    return {
      bars: embargo,
      issue: {
        path: ['embargo'],
        message: `embargo ${embargo} bars is shorter than the longest target horizon ${horizon} bars: training rows right after a test segment would overlap its label windows`,
        hint: `use \`embargo: auto\` or \`embargo: ${horizon}\` or more`,
      },
    };
  }
  return { bars: embargo };
}

/** Most CPCV splits (folds, each a model fit) a split may make; C(14, 7) = 3,432 is within it, C(16, 8) = 12,870 past it. */
const MAX_CPCV_SPLITS = 10_000;

type Method = SplitParams['method'];
/** The params that only some methods read; the others are common to all. */
const METHOD_PARAMS: Readonly<Partial<Record<keyof SplitParams, readonly Method[]>>> = {
  ratios: ['temporal'],
  val_start: ['temporal'],
  test_start: ['temporal'],
  window: ['walk_forward'],
  train_bars: ['walk_forward'],
  val_bars: ['walk_forward'],
  test_bars: ['walk_forward'],
  step_bars: ['walk_forward'],
  max_folds: ['walk_forward'],
  folds: ['purged_kfold'],
  groups: ['cpcv'],
  test_groups: ['cpcv'],
  // temporal and walk_forward never train after they evaluate: nothing to embargo.
  embargo: ['purged_kfold', 'cpcv'],
};

/**
 * `written(name)`: whether the user wrote a param. Params that belong to another method are checked
 * only with it (at compile time, from the YAML): after validation a default is filled in whatever
 * the method, so the params alone cannot tell a written value from a default.
 */
function checkParams(params: SplitParams, written?: (name: string) => boolean): ParamIssue[] {
  const issues: ParamIssue[] = [];
  const m = params.method;
  for (const [name, owners] of Object.entries(METHOD_PARAMS)) {
    if (written && !owners.includes(m) && written(name)) {
      const to = owners.map((o) => `\`method: ${o}\``).join(' or ');
      issues.push({
        path: [name],
        message: `\`${name}\` applies to ${to}, not \`method: ${m}\`: it would be ignored`,
        hint: `remove \`${name}\`, or use ${to}`,
      });
    }
  }
  if (typeof params.embargo === 'number' && !(Number.isInteger(params.embargo) && params.embargo >= 0)) {
    issues.push({
      path: ['embargo'],
      message: `embargo ${params.embargo} must be a whole number of bars, 0 or more`,
      hint: 'e.g. `embargo: auto` (the longest target horizon) or `embargo: 24`',
    });
  }
  if (m === 'temporal') {
    const hasVal = params.val_start !== undefined;
    const hasTest = params.test_start !== undefined;
    if (hasVal !== hasTest) {
      issues.push({
        path: [hasVal ? 'val_start' : 'test_start'],
        message: `\`${hasVal ? 'val_start' : 'test_start'}\` needs \`${hasVal ? 'test_start' : 'val_start'}\` too`,
        hint: 'give both dates, e.g. val_start: "2018-01-01", test_start: "2019-01-01", or use ratios',
      });
    } else if (hasVal && hasTest) {
      const v = parseUtc(params.val_start!);
      const t = parseUtc(params.test_start!);
      if (Number.isNaN(v))
        issues.push({ path: ['val_start'], message: `\`${params.val_start}\` is not a date`, hint: 'write e.g. "2018-01-01" or "2018-01-01T00:00Z"' });
      if (Number.isNaN(t))
        issues.push({ path: ['test_start'], message: `\`${params.test_start}\` is not a date`, hint: 'write e.g. "2019-01-01" or "2019-01-01T00:00Z"' });
      if (!Number.isNaN(v) && !Number.isNaN(t) && !(v < t)) {
        issues.push({
          path: ['test_start'],
          message: `test_start ${params.test_start} must come after val_start ${params.val_start}`,
          hint: 'segments are in time order: train, then val, then test',
        });
      }
    } else {
      issues.push(...ratioIssues(params.ratios));
    }
  } else if (m === 'walk_forward') {
    for (const name of ['train_bars', 'test_bars'] as const) {
      if (params[name] === undefined)
        issues.push({
          path: [name],
          message: `\`method: walk_forward\` needs \`${name}\``,
          hint: 'e.g. { method: walk_forward, train_bars: 5000, val_bars: 1000, test_bars: 1000 }',
        });
    }
  } else if (m === 'cpcv') {
    if (!(params.test_groups < params.groups)) {
      issues.push({
        path: ['test_groups'],
        message: `test_groups ${params.test_groups} must be fewer than groups ${params.groups}: some groups must be left to train on`,
        hint: 'e.g. groups: 6, test_groups: 2',
      });
    } else if (binomial(params.groups, params.test_groups) > MAX_CPCV_SPLITS) {
      // Each split is a fold (a model fit): C(64, 32) ≈ 1.8e18 would never finish, nor fit in memory.
      issues.push({
        path: ['test_groups'],
        message: `groups ${params.groups} with test_groups ${params.test_groups} make ${binomial(params.groups, params.test_groups).toExponential(2)} splits; the limit is ${thousands(MAX_CPCV_SPLITS)}`,
        hint: 'use fewer groups or test groups, e.g. groups: 10, test_groups: 2 (45 splits)',
      });
    }
  }
  return issues;
}

interface Layout {
  folds: FoldRows[];
  cpcv?: CpcvSplit;
  /** What the purge/embargo log line says. */
  what: string;
}

function layoutOf(params: SplitParams, features: Features, horizon: number, embargo: number): Layout {
  const n = features.index.length;
  const rows = (x: number): string => `${x} row${x === 1 ? '' : 's'}`;
  switch (params.method) {
    case 'temporal': {
      if (params.val_start !== undefined && params.test_start !== undefined) {
        const v = firstRowAtOrAfter(features.index, parseUtc(params.val_start));
        const t = firstRowAtOrAfter(features.index, parseUtc(params.test_start));
        return { folds: [boundariesFold(n, v, t, horizon)], what: `purged ${rows(horizon)} at the end of train and of val (target horizon up to ${horizon})` };
      }
      return {
        folds: [temporalFold(n, params.ratios, horizon)],
        what: `purged ${rows(horizon)} at the end of train and of val (target horizon up to ${horizon})`,
      };
    }
    case 'walk_forward': {
      const test = params.test_bars!;
      const folds = walkForwardFolds(
        n,
        { train: params.train_bars!, val: params.val_bars, test, step: params.step_bars ?? test, window: params.window, maxFolds: params.max_folds },
        horizon,
      );
      if (folds.length === 0) {
        throw new RunError(
          `too few rows for one walk-forward fold: ${n} rows < train_bars ${params.train_bars} + val_bars ${params.val_bars} + test_bars ${test}`,
          { hint: 'use more bars in fetch, or smaller train_bars/val_bars/test_bars' },
        );
      }
      return {
        folds,
        what: `${folds.length} ${params.window} walk-forward folds; purged ${rows(horizon)} at the end of each train and val window (target horizon up to ${horizon})`,
      };
    }
    case 'purged_kfold':
      return {
        folds: purgedKFold(n, params.folds, horizon, embargo),
        what: `${params.folds} purged folds; purged ${rows(horizon)} before and embargoed ${rows(embargo)} after each test fold (target horizon up to ${horizon})`,
      };
    case 'cpcv': {
      const c = cpcv(n, params.groups, params.test_groups, horizon, embargo);
      return {
        folds: c.folds,
        cpcv: c,
        what:
          `CPCV: ${params.groups} groups, ${params.test_groups} test groups → ${c.folds.length} splits, ${c.paths.length} backtest paths; ` +
          `purged ${rows(horizon)} before and embargoed ${rows(embargo)} after each test group (target horizon up to ${horizon})`,
      };
    }
  }
}

/**
 * Columns → one row-major n × p matrix, in blocks of rows: column by column over all rows writes
 * one value per cache line p·8 bytes apart, across the whole matrix, p times (a cache miss per
 * value; 5× slower on 150k × 48); a block of rows keeps its part of the matrix in cache.
 */
export function toRowMajor(cols: Float64Array[], n: number): Float64Array {
  const p = cols.length;
  const out = new Float64Array(n * p);
  const block = 512;
  for (let r0 = 0; r0 < n; r0 += block) {
    const r1 = Math.min(n, r0 + block);
    for (let j = 0; j < p; j++) {
      const c = cols[j];
      for (let r = r0, o = r0 * p + j; r < r1; r++, o += p) out[o] = c[r];
    }
  }
  return out;
}

function longest(ranges: RowRange[]): RowRange {
  let best = ranges[0];
  for (const r of ranges) if (r.end - r.start > best.end - best.start) best = r;
  return best;
}

export default defineStep({
  kind: 'split',
  version: 2,
  description:
    'Split feature rows leak-free: temporal, walk_forward, purged_kfold or cpcv folds, purged by the target horizon and embargoed; a scaler fitted on each fold’s training rows only; a KS drift report.',
  // `candles` is still accepted from pipelines that wired it for the leakage probe, which now finds
  // the candles upstream of the features itself (StepContext.lineage); it is not read.
  inputs: { features: 'Features', candles: 'Candles' },
  optionalInputs: ['candles'],
  output: 'Dataset',
  params: paramsOf<SplitParams>(),

  // `probe: auto` becomes true or false here, from the steps that make the features, so the cache
  // key and the run history say what was done (a built-in-only pipeline keeps `probe: false`).
  resolve(params: SplitParams, ctx): SplitParams {
    if (params.probe !== 'auto') return params;
    const steps = ctx?.lineage?.('features', PROBE_THROUGH);
    return { ...params, probe: steps ? probeScope(steps).plugins.length > 0 : false };
  },

  check(params: SplitParams, ctx): ParamIssue[] {
    const issues = checkParams(params, ctx?.written && ((name) => ctx.written!([name])));
    // The embargo must cover the longest target horizon, which the upstream features step sets:
    // refuse a short one before anything runs, naming both numbers.
    const features = ctx?.upstream('features');
    if (features && typeof params.embargo === 'number') {
      const horizon = maxTargetHorizon(features.params as unknown as FeaturesParams);
      const { issue } = embargoBars(params.embargo, horizon);
      if (issue) issues.push({ ...issue, message: `${issue.message} (targets of step \`${features.id}\`)` });
    }
    return issues;
  },

  async run({ features }, params: SplitParams, ctx): Promise<Dataset> {
    if (params.probe !== false) await runProbe(features, params, ctx);
    // Say which plugin steps go unchecked: all of them on an explicit opt-out (auto turns false only
    // without plugins to rerun), and any the probe cannot rerun (not made from candles).
    const lineage = ctx.lineage?.('features', PROBE_THROUGH);
    if (lineage) {
      const scope = probeScope(lineage.steps);
      const off = params.probe === false ? scope.plugins : [];
      const unreachable = lineage.steps.filter((s) => !s.builtin && !scope.sources.includes(s) && !scope.rerun.includes(s));
      const list = (steps: LineageStep[]): string => `plugin step${steps.length > 1 ? 's' : ''} ${steps.map((s) => `\`${s.id}\` (${s.kind})`).join(', ')}`;
      if (off.length) ctx.warn(`leakage probe off (\`probe: false\`): ${list(off)} feed${off.length > 1 ? '' : 's'} this split unchecked for look-ahead`);
      if (unreachable.length)
        ctx.warn(
          `leakage probe: ${list(unreachable)} ${unreachable.length > 1 ? 'are' : 'is'} not made from candles upstream, so the probe cannot check ${unreachable.length > 1 ? 'them' : 'it'} for look-ahead`,
        );
    }
    const n = features.index.length;
    const names = features.featureNames;
    const targets = features.targetNames;
    const p = names.length;
    const k = targets.length;
    if (p === 0) throw new RunError('the features have no feature columns', { hint: 'add indicators or return lags to the features step' });
    if (k === 0) throw new RunError('the features have no target columns', { hint: 'set `target.forward_return.horizons` in the features step' });
    const issues = checkParams(params);
    if (issues.length) throw new RunError(issues[0].message, { hint: issues[0].hint });
    for (const name of [...names, ...targets]) {
      const c = features.columns[name];
      if (!c) throw new RunError(`the features have no \`${name}\` column`, { hint: 'the features artifact is inconsistent; rerun the features step' });
      if (c.length !== n) throw new RunError(`features column \`${name}\` has ${c.length} values for ${n} rows`);
    }

    const horizon = features.targetHorizons.length ? Math.max(...features.targetHorizons) : 0;
    const emb = embargoBars(params.embargo, horizon);
    if (emb.issue) throw new RunError(`split: ${emb.issue.message}`, { hint: emb.issue.hint });
    const embargo = emb.bars;
    const layout = layoutOf(params, features, horizon, embargo);

    layout.folds.forEach((f, i) => {
      const sizes = [rowCount(f.train), f.val.end - f.val.start, rowCount(f.test)];
      const needVal = params.method === 'temporal' || (params.method === 'walk_forward' && params.val_bars > 0);
      if (sizes[0] <= 0 || sizes[2] <= 0 || (needVal && sizes[1] <= 0)) {
        const where = layout.folds.length > 1 ? `fold ${i}: ` : '';
        const how =
          params.method === 'temporal'
            ? params.val_start !== undefined
              ? `val_start ${params.val_start} and test_start ${params.test_start}`
              : `ratios [${params.ratios.join(', ')}]`
            : `method ${params.method}`;
        throw new RunError(
          `too few rows to split: ${where}${n} rows with ${how}, a purge of ${horizon}` +
            `${params.method === 'purged_kfold' || params.method === 'cpcv' ? ` and an embargo of ${embargo}` : ''} give train ${sizes[0]}, val ${sizes[1]}, test ${sizes[2]} rows`,
          { hint: 'use more bars in fetch, shorter horizons, or larger val/test segments' },
        );
      }
    });

    inSampleGuard(features, layout.folds);

    // Row-major copies: models read a row at a time.
    const raw = toRowMajor(
      names.map((name) => features.columns[name]),
      n,
    );
    const Y = toRowMajor(
      targets.map((name) => features.columns[name]),
      n,
    );

    const folds: Fold[] = layout.folds.map((f) => {
      const fold: Fold = { train: longest(f.train), val: f.val, test: f.test[0], scaler: fitScaler(raw, p, f.train, params.scale), purged: f.purged };
      if (f.train.length > 1) fold.trainRanges = f.train;
      if (f.test.length > 1) fold.testRanges = f.test;
      return fold;
    });
    if (ctx.signal.aborted) throw new CancelledError();
    const drift = params.drift ? driftReport(raw, p, layout.folds, ctx.signal) : undefined;
    if (ctx.signal.aborted) throw new CancelledError();

    const keepRaw = folds.length > 1 && params.scale !== 'none';
    const X = keepRaw ? raw.slice() : raw;
    applyScaler(X, p, folds[0].scaler);
    ctx.log(layout.what);

    return {
      type: 'Dataset',
      symbol: features.symbol,
      timeframe: features.timeframe,
      index: features.index.slice(),
      featureNames: [...names],
      targetNames: [...targets],
      targetHorizons: [...features.targetHorizons],
      X,
      Y,
      method: params.method,
      folds,
      ...(keepRaw ? { raw } : {}),
      purge: horizon,
      embargo,
      ...(drift ? { drift } : {}),
      ...(layout.cpcv ? { cpcv: { groups: layout.cpcv.groups, testGroups: layout.cpcv.testGroups, paths: layout.cpcv.paths } } : {}),
    };
  },

  metricNames: [
    'rows',
    'train_rows',
    'val_rows',
    'test_rows',
    'folds',
    'paths',
    'embargo',
    'drift_ks_max_val',
    'drift_ks_max_test',
    'drift_shifted_val',
    'drift_shifted_test',
    'drift_shifted_test_share',
  ],
  metrics(out: Dataset) {
    const f = out.folds[0];
    const m: Record<string, number> = {
      rows: out.index.length,
      train_rows: rowCount(f.trainRanges ?? [f.train]),
      val_rows: f.val.end - f.val.start,
      test_rows: rowCount(f.testRanges ?? [f.test]),
    };
    if (out.folds.length > 1) m.folds = out.folds.length;
    if (out.cpcv) m.paths = out.cpcv.paths.length;
    if (out.embargo !== undefined) m.embargo = out.embargo;
    if (out.drift) Object.assign(m, driftMetrics(out.drift, out.featureNames.length));
    return m;
  },

  summary(out: Dataset) {
    const sum = (s: 'train' | 'val' | 'test'): number =>
      out.folds.reduce((a, f) => a + rowCount(s === 'train' ? (f.trainRanges ?? [f.train]) : s === 'test' ? (f.testRanges ?? [f.test]) : [f.val]), 0);
    const folds = out.folds.length > 1 ? ` (${out.folds.length} folds${out.cpcv ? `, ${out.cpcv.paths.length} paths` : ''})` : '';
    const drift = out.drift?.segments.length ? driftNote(out) : '';
    return `train ${thousands(sum('train'))} / val ${thousands(sum('val'))} / test ${thousands(sum('test'))} rows${folds}${drift}`;
  },
});

/** ` · drift: KS ≤ 0.08, 3/12 features shifted on test (p < 0.01)` */
function driftNote(out: Dataset): string {
  const m = driftMetrics(out.drift!, out.featureNames.length);
  if (m.drift_ks_max_test === undefined) return '';
  return ` · test drift: KS max ${m.drift_ks_max_test.toFixed(3)}, ${m.drift_shifted_test}/${out.featureNames.length} features shifted (p < 0.01)`;
}

/**
 * Columns fitted in-sample (a `regime` step's fit window, Features.inSample) must be fitted on rows
 * before every evaluation row: else a model is evaluated on rows whose regime columns were fitted
 * on them.
 */
function inSampleGuard(features: Features, folds: readonly { val: RowRange; test: RowRange[] }[]): void {
  if (!features.inSample?.length) return;
  let first = Infinity;
  for (const f of folds) for (const r of [f.val, ...f.test]) if (r.end > r.start) first = Math.min(first, r.start);
  if (first === Infinity) return;
  for (const s of features.inSample) {
    if (s.until > features.index[first]) {
      throw new RunError(
        `columns ${s.columns.slice(0, 3).join(', ')}${s.columns.length > 3 ? ', …' : ''} were fitted on rows up to ${s.until === Infinity ? 'the last row' : isoUtc(s.until)}, but evaluation rows start at row ${first} (${isoUtc(features.index[first])})`,
        {
          hint: "fit the regime step on the training rows only: set its `fit_until` to this split's first evaluation timestamp or earlier (or lower `fit_rows`)",
        },
      );
    }
  }
}

/** The probe follows only steps that make candles or features (never a Model or a Dataset). */
export const PROBE_THROUGH = ['Candles', 'Features'] as const;

/**
 * What the probe reruns among the steps making the split's features: `sources` are the candles at
 * the top (steps producing Candles from nothing above them, e.g. fetch), `rerun` every step made
 * from them, `plugins` the plugin steps among those.
 */
export function probeScope(steps: LineageStep[]): { sources: LineageStep[]; rerun: LineageStep[]; plugins: LineageStep[] } {
  const sources = steps.filter((s) => s.output === 'Candles' && s.inputs.length === 0);
  const made = new Set(sources.map((s) => s.id));
  const rerun: LineageStep[] = [];
  for (const s of steps) {
    if (made.has(s.id) || !s.inputs.some((i) => made.has(i))) continue;
    made.add(s.id);
    rerun.push(s);
  }
  return { sources, rerun, plugins: rerun.filter((s) => !s.builtin) };
}

/**
 * The leakage probe over every step that makes the features (src/evaluation/probe.ts): reruns them
 * on candles truncated at sampled times; a feature row that changes read a later bar. Fails naming
 * the step and the column.
 */
export async function runProbe(features: Features, params: Pick<SplitParams, 'probe' | 'probe_samples'>, ctx: StepContext): Promise<void> {
  const lineage = ctx.lineage?.('features', PROBE_THROUGH);
  const scope = lineage ? probeScope(lineage.steps) : undefined;
  const last = lineage?.steps[lineage.steps.length - 1];
  if (params.probe === 'auto' && !scope?.plugins.length) return;
  if (!lineage) {
    throw new RunError('the leakage probe reruns the steps before the split, and this runner does not offer them (StepContext.lineage)', {
      hint: 'run the split with `fxflow run`, or set `probe: false`',
    });
  }
  if (!scope || !last || !scope.sources.length || !scope.rerun.some((s) => s.id === last.id)) {
    throw new RunError('the leakage probe needs candles upstream of the features: it recomputes the steps between them on truncated candles', {
      hint: 'make the features from a fetch step (directly or through other steps), or set `probe: false`',
    });
  }
  const featureSteps = scope.rerun.filter((s) => s.output === 'Features');
  const sources = new Map<string, Candles>();
  for (const s of scope.sources) sources.set(s.id, (await lineage.output(s.id)) as Candles);
  // The full-data rows are the outputs this run already has (the split's own input for the last).
  const full = new Map<string, Features>();
  for (const s of featureSteps) full.set(s.id, s.id === last.id ? features : ((await lineage.output(s.id)) as Features));
  const names = featureSteps.map((s) => `\`${s.id}\``).join(', ');
  let result;
  try {
    result = await probeSteps(
      {
        sources,
        steps: featureSteps,
        full,
        compute: async (cut) => {
          const out = await lineage.rerun(cut);
          return new Map(featureSteps.flatMap((s) => (out.has(s.id) ? [[s.id, out.get(s.id) as Features] as const] : [])));
        },
      },
      { samples: params.probe_samples },
    );
  } catch (e) {
    if (!(e instanceof LineageError)) throw e;
    throw new RunError(`leakage probe: ${e.message}, when rerun on candles truncated at a sampled bar`, {
      hint: 'the probe reruns the steps that make the features on the data up to sampled bars; make the step work on a shorter history, or set `probe: false` on this split (look-ahead is then unchecked)',
      cause: e,
    });
  }
  if (result.leaks.length) {
    const random = result.leaks.some((l) => l.rerun !== undefined);
    // A regime step's columns differ when its fit window is a share of the rows (`fit_rows`), which moves with the history's length.
    const fitted = result.leaks.some((l) => l.step?.kind === 'regime');
    throw new RunError(`leakage probe: ${describeLeaks(result).join('; ')}`, {
      hint: fitted
        ? "a `regime` step fitted on a share of the rows (`fit_rows`) fits other rows when later bars are missing; give it `fit_until: <date>` (e.g. this split's first evaluation date) so the fit is fixed"
        : random
          ? 'a step must give the same output for the same inputs: draw random numbers from a generator seeded with `ctx.seed` (declare `seeded: true`), not Math.random; or set `probe: false` on this split'
          : 'a feature of bar t may only use bars up to t (a shift by −1, a centred window or a forward fill from later bars reads the future); fix that step, drop the column, or move the value into a target',
    });
  }
  ctx.log(`leakage probe: ${result.timestamps.length} timestamps × ${result.features.length} features of ${names}, no look-ahead`);
}
