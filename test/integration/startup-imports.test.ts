import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fxflow, REPO, workdir } from '../helpers/cli.js';

/**
 * What a command imports at start (issue 18): `--version`, `--help` and `validate` must not load
 * DuckDB or TensorFlow.js, and `plan` of a pipeline without a neural step must not load tfjs.
 * The built CLI runs with a `--import` preload that registers a module-resolution hook (every ESM
 * import, static or dynamic, passes through it) and, at exit, adds the CommonJS modules loaded
 * (`require.cache`); the test reads the packages named in that list.
 */

const HOOKS = `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + '\\n');
  return r;
}`;

const PRELOAD = (hooks: string): string => `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.FXFLOW_TEST_IMPORTS;
register(${JSON.stringify(hooks)}, { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).join('\\n') + '\\n'));`;

const dir = workdir();
const hooksFile = path.join(dir, 'record-hooks.mjs');
const preloadFile = path.join(dir, 'record-imports.mjs');
writeFileSync(hooksFile, HOOKS);
writeFileSync(preloadFile, PRELOAD(pathToFileURL(hooksFile).href));
const NODE_OPTIONS = `--import=${pathToFileURL(preloadFile).href}`;

/** The npm packages a list of resolved modules (URLs or paths) comes from. */
function packagesIn(list: string): string[] {
  const names = new Set<string>();
  for (const m of list.matchAll(/node_modules\/((?:@[^/]+\/)?[^/\s]+)/g)) names.add(m[1]);
  return [...names].sort();
}

let n = 0;
async function importsOf(args: string[]): Promise<{ packages: string[]; modules: string; code: number | null; stderr: string }> {
  const out = path.join(dir, `imports-${n++}.txt`);
  rmSync(out, { force: true });
  const r = await fxflow(args, { cwd: dir, env: { NODE_OPTIONS, FXFLOW_TEST_IMPORTS: out } });
  const modules = existsSync(out) ? readFileSync(out, 'utf8') : '';
  return { packages: packagesIn(modules), modules, code: r.code, stderr: r.stderr };
}

const isTfjs = (p: string): boolean => p.startsWith('@tensorflow/tfjs');
const isDuckdb = (p: string): boolean => p.startsWith('@duckdb/');

describe('what a command imports at start', () => {
  it('records what a process loads: a run opens the store, so DuckDB is in its list', async () => {
    // The control: the same recorder sees DuckDB where it must be loaded, so an empty list
    // below means "not loaded", not "not recorded".
    const r = await importsOf(['run', 'pipelines/quickstart.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.packages.filter(isDuckdb)).toContain('@duckdb/node-api');
    expect(r.modules).toContain(pathToFileURL(path.join(REPO, 'dist', 'cli', 'main.js')).href);
  });

  it('fxflow run of a pipeline whose every step is cached loads neither DuckDB nor the report renderer', async () => {
    // The store and the report exist (the control above ran it); this rerun is all hits.
    const r = await importsOf(['run', 'pipelines/quickstart.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.modules).not.toBe('');
    expect(r.packages.filter(isDuckdb)).toEqual([]);
    expect(r.modules).not.toContain(pathToFileURL(path.join(REPO, 'dist', 'report', 'html.js')).href);
  });

  it('records tfjs when the backend selection runs', () => {
    const out = path.join(dir, 'imports-backend.txt');
    const backend = pathToFileURL(path.join(REPO, 'dist', 'backend', 'index.js')).href;
    execFileSync(process.execPath, ['--input-type=module', '-e', `const b = await import(${JSON.stringify(backend)}); await b.selectBackend('cpu');`], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS, FXFLOW_TEST_IMPORTS: out },
    });
    expect(packagesIn(readFileSync(out, 'utf8'))).toContain('@tensorflow/tfjs');
  });

  for (const args of [['--version'], ['--help'], ['validate', 'pipelines/quickstart.yaml'], ['validate', 'pipelines/eurusd-h1-lstm.yaml']]) {
    it(`fxflow ${args.join(' ')} loads neither DuckDB nor tfjs`, async () => {
      const r = await importsOf(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.modules).not.toBe('');
      expect(r.packages.filter(isDuckdb)).toEqual([]);
      expect(r.packages.filter(isTfjs)).toEqual([]);
    });
  }

  it('fxflow plan of a pipeline without a neural step does not load tfjs', async () => {
    const r = await importsOf(['plan', 'pipelines/quickstart.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.packages.filter(isTfjs)).toEqual([]);
  });
});
