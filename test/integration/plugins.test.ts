import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cachedMap, fxflow, parseRun, REPO, workdir } from '../helpers/cli.js';

/** Custom TypeScript steps: the example plugin pipeline, and the checks made before anything runs. */

// Every CLI spawn here type-checks a plugin with ts-morph: 5–14 s on an idle 2-core machine and
// several times that on a busy CI one, so each test's timeout is its number of spawns times this.
const PER_SPAWN = 120_000;

let dir: string;
let pipeline: string;
beforeAll(() => {
  dir = workdir();
  cpSync(path.join(REPO, 'examples', 'plugin'), path.join(dir, 'plugin'), { recursive: true });
  // Plugins are ES modules; in the repo, its own package.json says so.
  writeFileSync(path.join(dir, 'plugin', 'package.json'), '{ "type": "module" }\n');
  pipeline = readFileSync(path.join(dir, 'plugin', 'pipeline.yaml'), 'utf8');
});

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

async function runVariant(text: string, name = 'variant.yaml') {
  writeFileSync(path.join(dir, 'plugin', name), text);
  return fxflow(['run', name, '--json'], { cwd: path.join(dir, 'plugin') });
}

describe('plugins', () => {
  it('runs the example plugin pipeline, the custom step adding its column', { timeout: 2 * PER_SPAWN }, async () => {
    const r = await fxflow(['run', 'pipeline.yaml', '--json'], { cwd: path.join(dir, 'plugin') });
    const run = parseRun(r);
    expect(run.status, r.stderr).toBe('succeeded');
    expect(run.steps.map((s) => s.id)).toEqual(['candles', 'features', 'zfeatures', 'dataset', 'model', 'report']);
    // A plugin step makes the split's features: the leakage probe runs by default, over both steps.
    expect(r.stderr).toContain('leakage probe: 20 timestamps × 4 features of `features`, `zfeatures`, no look-ahead');
    const ex = await fxflow(['export', 'pipeline.yaml', 'zfeatures', '--out', 'z.csv'], { cwd: path.join(dir, 'plugin') });
    expect(ex.code, ex.stderr).toBe(0);
    const [header, first] = readFileSync(path.join(dir, 'plugin', 'z.csv'), 'utf8').split('\n');
    const cols = header.split(',');
    expect(cols).toContain('ret_1_z48');
    // The first exported row has a full 48-bar window behind it: its z-score is a finite number.
    expect(Number.isFinite(Number(first.split(',')[cols.indexOf('ret_1_z48')]))).toBe(true);
  });

  it('fails the run when a plugin feature reads the next bar, naming the step and the column', { timeout: PER_SPAWN }, async () => {
    // The outside testers' finding: a column = close shifted by −1 passed, then showed val IC 1.000.
    writeFileSync(
      path.join(dir, 'plugin', 'steps', 'next_close.ts'),
      `import { defineStep, paramsOf, type Features } from 'fxflow';

export interface P {}

/** Looks ahead on purpose: the next bar's close as a feature. */
export default defineStep({
  kind: 'next_close',
  version: 1,
  description: 'Adds the next bar close (reads the future).',
  inputs: { features: 'Features', candles: 'Candles' },
  output: 'Features',
  params: paramsOf<P>(),
  async run({ features, candles }): Promise<Features> {
    const bar = new Map<number, number>();
    candles.index.forEach((t, i) => bar.set(t, i));
    const next = Float64Array.from(features.index, (t) => candles.columns.close[bar.get(t)! + 1]);
    return { ...features, columns: { ...features.columns, close_next: next }, featureNames: [...features.featureNames, 'close_next'] };
  },
});
`,
    );
    const text = pipeline
      .replace('plugins: [./steps/rolling_z.ts]', 'plugins: [./steps/rolling_z.ts, ./steps/next_close.ts]')
      .replace(
        '  dataset:\n    uses: split\n    from: zfeatures',
        '  leak:\n    uses: next_close\n    from: { features: zfeatures, candles: candles }\n  dataset:\n    uses: split\n    from: leak',
      );
    const r = await runVariant(text, 'leaky.yaml');
    expect(r.code, r.stderr).toBe(1);
    const run = parseRun(r);
    expect(run.steps.find((s) => s.id === 'dataset')?.status).toBe('failed');
    const error = run.steps.find((s) => s.id === 'dataset')?.error ?? '';
    expect(error).toMatch(
      /^leakage probe: step `leak` \(next_close\): feature `close_next` looks ahead: at \S+ it is \S+ on the full data but \S+ on data truncated there \(20 of 20 sampled timestamps differ\)/,
    );
    expect(error).toContain('hint: a feature of bar t may only use bars up to t');
    expect(run.steps.find((s) => s.id === 'model')?.status).toBe('skipped');
  });

  it("validates a plugin step's `with:` against its TypeScript params type, located", { timeout: PER_SPAWN }, async () => {
    // Two steps of the plugin's kind, one with a wrong type and one with a typo: one spawn, both reported.
    const text = pipeline
      .replace('window: 48', 'window: "48x"')
      .replace('  dataset:\n', '  zfeatures2:\n    uses: rolling_z\n    from: features\n    with: { column: ret_1, windw: 48 }\n  dataset:\n');
    const r = await runVariant(text);
    expect(r.code).toBe(2);
    const line = lineOf(text, '48x');
    const col = text.split('\n')[line - 1].indexOf('"48x"') + 1;
    expect(r.stderr).toContain(`variant.yaml:${line}:${col}: error: \`window\` of step \`zfeatures\` (rolling_z) must be an integer, got "48x"`);
    const typoLine = lineOf(text, 'windw');
    expect(r.stderr).toContain(`variant.yaml:${typoLine}:`);
    expect(r.stderr).toContain('unknown parameter `windw` of step `zfeatures2` (rolling_z)');
    expect(r.stderr).toContain('did you mean `window`?');
  });

  it("refuses a plugin step whose output does not fit the next step's input", { timeout: PER_SPAWN }, async () => {
    writeFileSync(
      path.join(dir, 'plugin', 'steps', 'wrong_out.ts'),
      `import { defineStep, paramsOf, type Report } from 'fxflow';\n\nexport interface P {}\n\nexport default defineStep({\n  kind: 'wrong_out',\n  version: 1,\n  description: 'Produces a Report from features (deliberately the wrong type for split).',\n  inputs: { features: 'Features' },\n  output: 'Report',\n  params: paramsOf<P>(),\n  async run(): Promise<Report> {\n    throw new Error('not reached');\n  },\n});\n`,
    );
    const text = pipeline
      .replace('plugins: [./steps/rolling_z.ts]', 'plugins: [./steps/rolling_z.ts, ./steps/wrong_out.ts]')
      .replace('    uses: rolling_z\n    from: features\n    with: { column: ret_1, window: 48 }', '    uses: wrong_out\n    from: features');
    const r = await runVariant(text);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `variant.yaml:${lineOf(text, 'from: zfeatures')}:11: error: input \`features\` of step \`dataset\` (split) expects Features, but \`zfeatures\` (wrong_out) produces Report`,
    );
  });

  it('reports a type error in the plugin at its TypeScript file:line:col', { timeout: PER_SPAWN }, async () => {
    const src = readFileSync(path.join(dir, 'plugin', 'steps', 'rolling_z.ts'), 'utf8');
    const broken = src.replace('const n = x.length;', 'const n: string = x.length;');
    writeFileSync(path.join(dir, 'plugin', 'steps', 'broken.ts'), broken.replace("kind: 'rolling_z'", "kind: 'broken_z'"));
    const text = pipeline.replace('plugins: [./steps/rolling_z.ts]', 'plugins: [./steps/broken.ts]').replace('uses: rolling_z', 'uses: broken_z');
    const r = await runVariant(text);
    expect(r.code).toBe(2);
    const line = lineOf(broken, 'const n: string = x.length;');
    const col = broken.split('\n')[line - 1].indexOf('n: string') + 1;
    expect(r.stderr).toContain(`steps/broken.ts:${line}:${col}: error: TS2322: Type 'number' is not assignable to type 'string'.`);
  });

  it('explains a plugin that would load as CommonJS', { timeout: PER_SPAWN }, async () => {
    const other = workdir();
    cpSync(path.join(REPO, 'examples', 'plugin'), path.join(other, 'p'), { recursive: true });
    const r = await fxflow(['validate', 'pipeline.yaml'], { cwd: path.join(other, 'p') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`pipeline.yaml:${lineOf(pipeline, 'plugins:')}:11: error: plugin ./steps/rolling_z.ts would load as CommonJS`);
    expect(r.stderr).toContain('rename it to .mts');
  });

  it('refuses to run a plugin whose step, once imported, is not what its source says (plan would have shown other keys)', { timeout: PER_SPAWN }, async () => {
    const src = readFileSync(path.join(dir, 'plugin', 'steps', 'rolling_z.ts'), 'utf8');
    // The step's version is changed after defineStep: only running the code can see it.
    const sneaky = src
      .replace("kind: 'rolling_z'", "kind: 'sneaky_z'")
      .replace('export default defineStep({', 'const step = defineStep({')
      .concat('\n(step as { version: number }).version = 2;\nexport default step;\n');
    writeFileSync(path.join(dir, 'plugin', 'steps', 'sneaky.ts'), sneaky);
    const text = pipeline.replace('plugins: [./steps/rolling_z.ts]', 'plugins: [./steps/sneaky.ts]').replace('uses: rolling_z', 'uses: sneaky_z');
    const r = await runVariant(text, 'sneaky.yaml');
    expect(r.code).toBe(2);
    const line = lineOf(sneaky, "kind: 'sneaky_z'");
    expect(r.stderr).toContain(
      `steps/sneaky.ts:${line}:3: error: step \`sneaky_z\` as imported differs from its source: version 1 in the source, 2 when imported`,
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('reruns a plugin step when its source changes, and nothing upstream', { timeout: PER_SPAWN }, async () => {
    const file = path.join(dir, 'plugin', 'steps', 'rolling_z.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n// an edit\n`);
    const run = parseRun(await fxflow(['run', 'pipeline.yaml', '--json'], { cwd: path.join(dir, 'plugin') }));
    expect(cachedMap(run)).toMatchObject({ candles: true, features: true, zfeatures: false });
  });
});
