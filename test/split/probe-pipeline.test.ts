import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Candles, Features } from '../../src/core/artifacts.js';
import { compile, type Plan } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { loadPipelineSchema, PipelineValidator } from '../../src/parser/validate.js';
import type { ProgressReporter } from '../../src/runtime/progress.js';
import { runPlan, type RunResult } from '../../src/runtime/run.js';
import { Store } from '../../src/runtime/store.js';
import { extendPipelineSchema } from '../../src/schema/pipeline.js';
import { defineStep, paramsOf, type AnyStepDef } from '../../src/steps/define.js';
import { builtinRegistry } from '../../src/steps/index.js';

/**
 * The leakage probe in a running pipeline whose features pass through steps fxflow does not know
 * (registered the way the plugin loader registers a plugin's steps, without its TypeScript check, so
 * these run in-process in seconds; test/integration/plugins.test.ts does the same through the CLI).
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type NoParams = Record<string, never>;

/** Adds `name` = f(candles, bar) at each feature row, the bar found by timestamp. */
function columnStep(kind: string, name: string, value: (c: Candles, bar: number) => number, minRows = 0): AnyStepDef {
  return defineStep({
    kind,
    version: 1,
    description: `adds ${name}`,
    inputs: { features: 'Features', candles: 'Candles' },
    output: 'Features',
    params: paramsOf<NoParams>(),
    async run({ features, candles }): Promise<Features> {
      if (features.index.length < minRows) throw new Error(`needs at least ${minRows} rows, got ${features.index.length}`);
      const bar = new Map<number, number>();
      candles.index.forEach((t, i) => bar.set(t, i));
      const col = Float64Array.from(features.index, (t) => value(candles, bar.get(t)!));
      return { ...features, columns: { ...features.columns, [name]: col }, featureNames: [...features.featureNames, name] };
    },
  }) as unknown as AnyStepDef;
}

// close shifted by −1: the finding of issue 17.
const nextClose = columnStep('next_close', 'close_next', (c, i) => c.columns.close[i + 1]);
const thisClose = columnStep('this_close', 'close_now', (c, i) => c.columns.close[i]);
const needsHistory = columnStep('needs_history', 'close_now', (c, i) => c.columns.close[i], 1000);
/** Features made from nothing upstream (as if read from a file): no candles the probe could cut. */
const fromFile = defineStep({
  kind: 'from_file',
  version: 1,
  description: 'features without candles upstream',
  inputs: {},
  output: 'Features',
  params: paramsOf<NoParams>(),
  async run(): Promise<Features> {
    const n = 400;
    const index = Float64Array.from({ length: n }, (_, i) => Date.UTC(2020, 0, 1) + i * 3_600_000);
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 7));
    const y = Float64Array.from({ length: n }, (_, i) => Math.cos(i / 5));
    return {
      type: 'Features',
      symbol: 'EURUSD',
      timeframe: '1h',
      index,
      columns: { x, y },
      featureNames: ['x'],
      targetNames: ['y'],
      targetHorizons: [1],
      warmupDropped: 0,
      tailDropped: 0,
    };
  },
}) as unknown as AnyStepDef;
/** Noise from an unseeded generator: differs on every run, whatever the data. */
const noisy = columnStep('noisy', 'noise', () => Math.random());
const PLUGINS = [nextClose, thisClose, needsHistory, fromFile, noisy];

const registry = builtinRegistry();
for (const d of PLUGINS) registry.register(d);
const validator = new PipelineValidator(
  extendPipelineSchema(
    loadPipelineSchema(),
    PLUGINS.map((d) => ({
      kind: d.kind,
      description: d.description,
      file: 'test',
      inputs: d.inputs,
      output: d.output,
      params: { type: 'object', properties: {}, additionalProperties: false },
    })),
  ),
);

/** candles → features → (a plugin step, or nothing) → split. */
function pipeline(plugin: string | undefined, split = ''): string {
  return `version: 1
name: probe-rt
steps:
  candles: { uses: fetch, with: { source: synthetic, bars: 1500 } }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1], target: { forward_return: { horizons: [1] } } }
${plugin ? `  extra: { uses: ${plugin}, from: { features: features, candles: candles } }\n` : ''}  dataset:
    uses: split
    from: ${plugin ? 'extra' : 'features'}
    with: { method: temporal, ratios: [0.6, 0.2, 0.2]${split} }
`;
}

function planOf(text: string, dir: string): Plan {
  const parsed = parsePipelineText(text, path.join(dir, 'p.yaml'), { validator });
  expect(parsed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const compiled = compile(parsed.spec!, registry);
  expect(compiled.diagnostics).toEqual([]);
  return compiled.plan!;
}

/** Collects the steps' log lines. */
class Logs implements ProgressReporter {
  readonly lines: string[] = [];
  start(): void {}
  stepStarted(): void {}
  stepProgress(): void {}
  stepLog(id: string, message: string): void {
    this.lines.push(`${id}: ${message}`);
  }
  stepFinished(): void {}
  async finish(): Promise<void> {}
}

async function run(text: string): Promise<{ result: RunResult; logs: string[]; stored: boolean }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-probe-'));
  dirs.push(dir);
  const plan = planOf(text, dir);
  const store = await Store.open(path.join(dir, '.fxflow'));
  const logs = new Logs();
  try {
    const result = await runPlan(plan, { store, progress: logs });
    const key = result.steps.find((s) => s.id === 'dataset')!.key;
    const stored = (await store.artifactInfos([key])).has(key);
    return { result, logs: logs.lines, stored };
  } finally {
    await store.close();
  }
}

describe('probe: auto', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-probe-'));
  dirs.push(dir);
  const probeOf = (text: string): unknown => planOf(text, dir).byId.get('dataset')!.params.probe;

  it('turns on when a plugin step makes the split’s features, and stays off for built-in steps only', () => {
    expect(probeOf(pipeline('next_close'))).toBe(true);
    // Built-in only: `false`, the same params (and cache key) as before `auto` existed.
    expect(probeOf(pipeline(undefined))).toBe(false);
    expect(probeOf(pipeline('next_close', ', probe: false'))).toBe(false);
    expect(probeOf(pipeline(undefined, ', probe: true'))).toBe(true);
  });
});

describe('the leakage probe over plugin steps', () => {
  it('fails the run on a plugin column that reads the next bar, naming the step and the column; the split is not stored', async () => {
    const { result, stored } = await run(pipeline('next_close'));
    expect(result.status).toBe('failed');
    const split = result.steps.find((s) => s.id === 'dataset')!;
    expect(split.status).toBe('failed');
    expect(split.error).toMatch(
      /^leakage probe: step `extra` \(next_close\): feature `close_next` looks ahead: at \S+ it is \S+ on the full data but \S+ on data truncated there \(20 of 20 sampled timestamps differ\)/,
    );
    expect(split.error).toContain('a feature of bar t may only use bars up to t');
    // The built-in step's columns are not blamed.
    expect(split.error).not.toContain('rsi_14');
    expect(stored).toBe(false);
  });

  it('passes an honest plugin column (the bar’s own close) and says what it checked', async () => {
    const { result, logs, stored } = await run(pipeline('this_close'));
    expect(result.status).toBe('succeeded');
    expect(logs).toContain('dataset: leakage probe: 20 timestamps × 3 features of `features`, `extra`, no look-ahead');
    expect(stored).toBe(true);
  });

  it('`probe: false` opts out, with a warning naming the unchecked plugin step', async () => {
    const { result } = await run(pipeline('next_close', ', probe: false'));
    expect(result.status).toBe('succeeded');
    expect(result.steps.find((s) => s.id === 'dataset')!.warnings).toEqual([
      'leakage probe off (`probe: false`): plugin step `extra` (next_close) feeds this split unchecked for look-ahead',
    ]);
  });

  it('a plugin step that fails on the shorter history of a sampled bar fails the probe with a clear message', async () => {
    const { result } = await run(pipeline('needs_history'));
    const split = result.steps.find((s) => s.id === 'dataset')!;
    expect(split.status).toBe('failed');
    expect(split.error).toMatch(
      /^leakage probe: step `extra` \(needs_history\): needs at least 1000 rows, got \d+, when rerun on candles truncated at a sampled bar/,
    );
    expect(split.error).toContain('set `probe: false`');
  });

  it('a plugin column that is not reproducible is reported as such, not as look-ahead', async () => {
    const { result } = await run(pipeline('noisy'));
    const split = result.steps.find((s) => s.id === 'dataset')!;
    expect(split.status).toBe('failed');
    expect(split.error).toMatch(
      /^leakage probe: step `extra` \(noisy\): feature `noise` is not reproducible: at \S+ this run has \S+, but a rerun on the same data gives \S+, so the probe cannot tell whether it looks ahead/,
    );
    expect(split.error).toContain('seeded with `ctx.seed`');
  });

  it('a plugin step not made from candles cannot be probed: the split says so and goes on', async () => {
    const text = 'version: 1\nname: probe-rt\nsteps:\n  extra: { uses: from_file }\n  dataset: { uses: split, from: extra }\n';
    const { result } = await run(text);
    expect(result.status).toBe('succeeded');
    expect(result.steps.find((s) => s.id === 'dataset')!.warnings).toEqual([
      'leakage probe: plugin step `extra` (from_file) is not made from candles upstream, so the probe cannot check it for look-ahead',
    ]);
  });

  it('a built-in-only pipeline does not probe unless asked, and passes when asked', async () => {
    const off = await run(pipeline(undefined));
    expect(off.result.status).toBe('succeeded');
    expect(off.logs.some((l) => l.includes('leakage probe'))).toBe(false);
    const on = await run(pipeline(undefined, ', probe: true, probe_samples: 5'));
    expect(on.result.status).toBe('succeeded');
    expect(on.logs).toContain('dataset: leakage probe: 5 timestamps × 2 features of `features`, no look-ahead');
  });
});
