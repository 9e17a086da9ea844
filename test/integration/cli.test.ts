import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fxflow, REPO, spawnFxflow, workdir } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };

describe('the fxflow command', () => {
  const dir = workdir();

  it('prints its version and help, for every command', async () => {
    expect((await fxflow(['--version'], { cwd: dir })).stdout.trim()).toBe(pkg.version);
    expect((await fxflow(['run', '--version'], { cwd: dir })).stdout.trim()).toBe(pkg.version);
    const help = await fxflow(['--help'], { cwd: dir });
    expect(help.code).toBe(0);
    for (const c of ['run', 'validate', 'plan', 'runs', 'export', 'schema']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\s`, 'm'));
      const h = await fxflow([c, '--help'], { cwd: dir });
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: fxflow ${c}`);
    }
  });

  it('refuses an unknown command or option with exit 2 and a hint', async () => {
    const a = await fxflow(['rnu', 'x.yaml'], { cwd: dir });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command `rnu`; did you mean `run`?');
    const b = await fxflow(['run', 'pipelines/quickstart.yaml', '--jsn'], { cwd: dir });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("Unknown option '--jsn'");
    const c = await fxflow(['run'], { cwd: dir });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('needs a pipeline file');
  });

  it('validates without running or creating a store', async () => {
    const r = await fxflow(['validate', 'pipelines/quickstart.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: pipelines/quickstart.yaml — pipeline quickstart, 5 steps: candles → features → dataset → model → report');
    const runs = await fxflow(['runs'], { cwd: dir });
    expect(runs.stdout).toContain('no runs yet');
  });

  it('plans a never-run pipeline as all to run, in --json too', async () => {
    const r = await fxflow(['plan', 'pipelines/quickstart.yaml', '--json'], { cwd: dir });
    const plan = JSON.parse(r.stdout) as { steps: { id: string; state: string; reason: string }[] };
    expect(plan.steps.map((s) => [s.id, s.state, s.reason])).toEqual([
      ['candles', 'run', 'not run before'],
      ['features', 'run', 'not run before'],
      ['dataset', 'run', 'not run before'],
      ['model', 'run', 'not run before'],
      ['report', 'run', 'not run before'],
    ]);
  });

  it("draws the plan as Mermaid and DOT with each step's cache state", async () => {
    const m = await fxflow(['plan', 'pipelines/quickstart.yaml', '--format', 'mermaid'], { cwd: dir });
    expect(m.stdout.split('\n')[0]).toBe('flowchart LR');
    expect(m.stdout).toContain('s_candles -->|candles| s_features');
    expect(m.stdout).toContain('s_model -->|model| s_report');
    expect(m.stdout).toContain('class s_candles,s_features,s_dataset,s_model,s_report run');
    const d = await fxflow(['plan', 'pipelines/quickstart.yaml', '--format', 'dot'], { cwd: dir });
    expect(d.stdout).toContain('"dataset" -> "report" [label="dataset"];');
    const bad = await fxflow(['plan', 'pipelines/quickstart.yaml', '--format', 'svg'], { cwd: dir });
    expect(bad.code).toBe(2);
  });

  it('lists step kinds with ports and params', async () => {
    const r = await fxflow(['steps', '--json'], { cwd: dir });
    const steps = JSON.parse(r.stdout) as {
      kind: string;
      inputs: Record<string, string>;
      output: string;
      params: { name: string; when?: string; default?: unknown }[];
    }[];
    const train = steps.find((s) => s.kind === 'train')!;
    expect(train.inputs).toEqual({ dataset: 'Dataset' });
    expect(train.output).toBe('Model');
    // Each model kind's params with its own defaults (the params type is a union on `model`).
    expect(train.params.find((p) => p.name === 'model')?.default).toBe('ridge');
    expect(train.params.find((p) => p.name === 'n_estimators' && p.when === 'model: gbm')?.default).toBe(200);
    expect(train.params.find((p) => p.name === 'n_estimators' && p.when === 'model: random_forest')?.default).toBe(100);
    const fetch = steps.find((s) => s.kind === 'fetch')!;
    expect(fetch.params.find((p) => p.name === 'bars')?.default).toBe(20000);
    expect(steps.map((s) => s.kind)).toEqual(expect.arrayContaining(['fetch', 'features', 'split', 'train', 'backtest']));
  });

  it('init scaffolds a project that runs as it is', async () => {
    const r = await fxflow(['init', 'proj'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'proj', '.gitignore'), 'utf8')).toContain('.fxflow/');
    const run = await fxflow(['run', 'pipeline.yaml'], { cwd: path.join(dir, 'proj') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/✓ zfeatures\s+\(rolling_z\)\s+computed/);
    const again = await fxflow(['init', 'proj'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exist');
  });

  it('prints the pipeline schema', async () => {
    const r = await fxflow(['schema'], { cwd: dir });
    const schema = JSON.parse(r.stdout) as { $defs: Record<string, unknown> };
    expect(Object.keys(schema.$defs)).toEqual(expect.arrayContaining(['params.fetch', 'params.features', 'params.split', 'params.train', 'params.backtest']));
  });
});

describe('two processes and one store', () => {
  it('the second waits, saying who holds the store, and goes on when it is free', async () => {
    const { Store } = await import('../../src/runtime/store.js');
    const dir = workdir();
    const held = await Store.open(path.join(dir, '.fxflow'));
    // The store is held until the second process says it waits (a fixed hold could end before a
    // slow start on a loaded machine reached the store).
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawnFxflow(['runs'], { cwd: dir });
      let stderr = '';
      let released = false;
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!released && stderr.includes('waiting for the store')) {
          released = true;
          held.close().catch(reject);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    await held.close();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/waiting for the store .*fxflow\.duckdb, held by another fxflow process \(PID \d+\)/);
    expect(r.stderr).toContain(`PID ${process.pid}`);
  });
});
