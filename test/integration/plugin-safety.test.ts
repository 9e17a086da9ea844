import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fxflow, parseRun, workdir } from '../helpers/cli.js';

/**
 * Reading a pipeline must never run its code: `validate`, `plan`, `steps FILE` and `schema` read a
 * plugin from its source (ts-morph), and only `run` (and watch, export) imports it. Each plugin
 * here writes a marker file from its top level, so the marker existing means its code ran.
 * A plugin outside the pipeline's folder (absolute, `../`, or a symbolic link out) is refused.
 */

// Each spawn type-checks the plugins with ts-morph: 5–14 s on an idle 2-core machine, several
// times that with other jobs on it. Timeouts are sized per spawn for a loaded machine.
const PER_SPAWN = 120_000;

/** A plugin module that only type-checks, and writes `marker` as soon as it is imported. */
function markerPlugin(kind: string, marker: string, extra = ''): string {
  return `import { appendFileSync } from 'node:fs';
import { defineStep, paramsOf, type Features } from 'fxflow';

// Top-level code: runs only if the module is imported.
appendFileSync(${JSON.stringify(marker)}, 'imported\\n');

export interface P {
  /**
   * A parameter, so the step has a params schema.
   * @default 1
   */
  scale: number;
}

export default defineStep({
  kind: '${kind}',
  version: 1,
  description: 'Passes features through (a test plugin).',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<P>(),${extra}
  async run({ features }): Promise<Features> {
    return features;
  },
});
`;
}

const PIPELINE = (plugins: string) => `version: 1
name: safety
seed: 3
plugins:
${plugins}
steps:
  candles:
    uses: fetch
    with: { source: synthetic, bars: 600 }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
      target: { forward_return: { horizons: [1] } }
  passed:
    uses: pass_through
    from: features
  tagged:
    uses: tagged
    from: passed
  dataset:
    uses: split
    from: tagged
`;

let root: string;
let proj: string;
let marker: string;
let fpMarker: string;
beforeAll(() => {
  root = workdir();
  proj = path.join(root, 'proj');
  mkdirSync(path.join(proj, 'plug'), { recursive: true });
  marker = path.join(root, 'MARKER-pass_through');
  fpMarker = path.join(root, 'MARKER-tagged');
  writeFileSync(path.join(proj, 'plug', 'evil.mts'), markerPlugin('pass_through', marker));
  // A step whose cache key needs its own code (fingerprint): plan cannot know its key.
  writeFileSync(path.join(proj, 'plug', 'fp.mts'), markerPlugin('tagged', fpMarker, "\n  fingerprint: () => 'tag-1',"));
  writeFileSync(path.join(proj, 'pipeline.yaml'), PIPELINE('  - ./plug/evil.mts\n  - ./plug/fp.mts'));
});

interface PlanRow {
  id: string;
  key: string | null;
  state: string;
  reason?: string;
}

describe('reading a pipeline never runs its plugins', () => {
  it('validate, plan, steps FILE and schema leave no marker; run imports the plugins', { timeout: 5 * PER_SPAWN }, async () => {
    const cwd = proj;
    const v = await fxflow(['validate', 'pipeline.yaml'], { cwd });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('ok: pipeline.yaml — pipeline safety, 5 steps');
    expect(existsSync(marker), 'validate imported the plugin').toBe(false);

    const p = await fxflow(['plan', 'pipeline.yaml', '--json'], { cwd });
    expect(p.code, p.stderr).toBe(0);
    expect(existsSync(marker), 'plan imported the plugin').toBe(false);
    const rows = new Map((JSON.parse(p.stdout) as { steps: PlanRow[] }).steps.map((r) => [r.id, r]));
    expect(rows.get('passed')).toMatchObject({ state: 'run', reason: 'not run before' });
    expect(rows.get('passed')!.key).toMatch(/^[0-9a-f]{32}$/);
    // The fingerprint is plugin code: its key (and its consumers') is unknown, said so, not guessed.
    expect(rows.get('tagged')).toMatchObject({ key: null, state: 'unknown' });
    expect(rows.get('tagged')!.reason).toContain("depends on the plugin's fingerprint()");
    expect(rows.get('dataset')).toMatchObject({ key: null, state: 'unknown', reason: 'its input `tagged` has no key yet' });

    const s = await fxflow(['steps', 'pipeline.yaml', '--json'], { cwd });
    expect(s.code, s.stderr).toBe(0);
    expect(existsSync(marker), 'steps FILE imported the plugin').toBe(false);
    const kinds = JSON.parse(s.stdout) as { kind: string; inputs: Record<string, string>; output: string; params: { name: string; default: unknown }[] }[];
    expect(kinds.find((k) => k.kind === 'pass_through')).toMatchObject({
      inputs: { features: 'Features' },
      output: 'Features',
      params: [{ name: 'scale', default: 1 }],
    });

    const sc = await fxflow(['schema'], { cwd });
    expect(sc.code, sc.stderr).toBe(0);
    expect(JSON.parse(sc.stdout)).toHaveProperty('$defs');
    expect(existsSync(marker) || existsSync(fpMarker), 'schema imported a plugin').toBe(false);

    // Running is what executes code: both plugins are imported, and the steps read statically by
    // plan had the keys the run computes.
    const r = await fxflow(['run', 'pipeline.yaml', '--json'], { cwd });
    const run = parseRun(r);
    expect(run.status, r.stderr).toBe('succeeded');
    expect(readFileSync(marker, 'utf8')).toBe('imported\n');
    expect(readFileSync(fpMarker, 'utf8')).toBe('imported\n');
    for (const id of ['candles', 'features', 'passed']) expect(run.steps.find((x) => x.id === id)!.key, id).toBe(rows.get(id)!.key);
  });
});

describe("plugins outside the pipeline's folder", () => {
  it('an absolute path, a ../ path and a link out of the folder are refused, located, and never loaded', { timeout: 2 * PER_SPAWN }, async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    const outMarker = path.join(root, 'MARKER-outside');
    writeFileSync(path.join(outside, 'evil.mts'), markerPlugin('outside_step', outMarker));
    const dir = path.join(root, 'proj2');
    mkdirSync(dir, { recursive: true });
    symlinkSync(outside, path.join(dir, 'link'));
    const text = PIPELINE(`  - ${path.join(outside, 'evil.mts')}\n  - ../outside/evil.mts\n  - ./link/evil.mts`);
    writeFileSync(path.join(dir, 'pipeline.yaml'), text);
    const line = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

    const v = await fxflow(['validate', 'pipeline.yaml'], { cwd: dir });
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(`pipeline.yaml:${line(outside)}:5: error: plugin path ${path.join(outside, 'evil.mts')} is absolute`);
    expect(v.stderr).toContain(`pipeline.yaml:${line('../outside')}:5: error: plugin ../outside/evil.mts is outside the pipeline's folder`);
    expect(v.stderr).toContain(
      `pipeline.yaml:${line('./link/')}:5: error: plugin ./link/evil.mts is a link to ${path.join(outside, 'evil.mts')}, outside the pipeline's folder`,
    );
    expect(v.stderr).toContain('hint: a pipeline loads plugins only from its own folder or below it');
    expect(v.stderr).toContain('3 errors');
    expect(v.stderr).not.toContain('    at '); // no stack trace

    // run refuses them the same way, before anything is imported or stored.
    const r = await fxflow(['run', 'pipeline.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is outside the pipeline's folder");
    expect(existsSync(outMarker), 'a plugin outside the folder was imported').toBe(false);
    expect(existsSync(path.join(dir, '.fxflow'))).toBe(false);
  });
});

describe('help says which commands execute code', () => {
  it("fxflow --help names run, watch, replay and export; each command's help says whether it does", { timeout: 9 * 30_000 }, async () => {
    const cwd = root;
    const main = await fxflow(['--help'], { cwd });
    expect(main.stdout).toContain("run, watch, replay and export import a pipeline's plugins");
    expect(main.stdout).toContain('No other command executes plugin code');
    for (const c of ['run', 'watch', 'replay', 'export']) {
      expect((await fxflow([c, '--help'], { cwd })).stdout, c).toContain("Executes the pipeline's plugins");
    }
    for (const c of ['validate', 'plan', 'steps']) {
      const h = (await fxflow([c, '--help'], { cwd })).stdout.replace(/\s+/g, ' ');
      expect(h, c).toMatch(/never executes plugin code/i);
    }
    expect((await fxflow(['schema', '--help'], { cwd })).stdout.replace(/\s+/g, ' ')).toContain('executes no code');
  });
});
