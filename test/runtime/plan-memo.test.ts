import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hash.js';
import { loadPlan } from '../../src/pipeline.js';
import { computeKeys } from '../../src/runtime/keys.js';
import { cachedPlanOf, loadWithMemo, readPlanMemo, type CachedPlan } from '../../src/runtime/plan-memo.js';
import { runMetrics, runParams, resolveRun } from '../../src/runtime/history.js';
import { Store } from '../../src/runtime/store.js';
import { cachedMap, fxflow, parseRun, workdir, type JsonRun } from '../helpers/cli.js';

/**
 * The plan memo (issue 18): a rerun of an unchanged pipeline takes its steps and keys from
 * `<store>/memo/` instead of parsing it. It must never give a plan the ordinary path would not:
 * every input of the plan is changed here in turn and the memo must be refused, and what it does
 * give is checked against the ordinary path's own plan and keys (computeKeys on loadPlan), which
 * are the independent reference. The history a memo run records is compared with that of a run
 * made the ordinary way.
 */

const tmp = mkdtempSync(path.join(tmpdir(), 'fxflow-memo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Hourly bars with a closed-form price path (no randomness), in the generic CSV layout. */
function writeBars(file: string, n = 400): void {
  const lines = ['Timestamp,Open,High,Low,Close,Volume'];
  const t0 = Date.UTC(2021, 0, 4);
  for (let i = 0; i < n; i++) {
    const ts = new Date(t0 + i * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const o = 1.1 + 0.01 * Math.sin(i / 7);
    const c = 1.1 + 0.01 * Math.sin((i + 1) / 7);
    lines.push(`${ts},${o.toFixed(5)},${(Math.max(o, c) + 0.0005).toFixed(5)},${(Math.min(o, c) - 0.0005).toFixed(5)},${c.toFixed(5)},${1000 + (i % 9)}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const CSV_PIPELINE = `version: 1
name: memo-csv
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: csv, path: data/bars.csv, symbol: EURUSD, timeframe: 1h }
  features:
    uses: features
    from: candles
    with:
      indicators: [{ rsi: { period: 14 } }]
      returns: [1]
      target: { forward_return: { horizons: [1] } }
`;

/**
 * Waits until the file system's clock has moved past `file`'s last change (by `marginMs` more): a
 * change made after this gets a later ctime (within one clock tick it could keep the same one,
 * which is why a memo is never written for a file changed in the last second). Polls the clock,
 * so it holds on a machine of any speed.
 */
function clockPast(file: string, scratch: string, marginMs = 0): void {
  const until = statSync(file, { bigint: true }).ctimeNs + BigInt(marginMs) * 1_000_000n;
  for (;;) {
    writeFileSync(scratch, 'x');
    if (statSync(scratch, { bigint: true }).ctimeNs > until) return;
    if (marginMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

let n = 0;
/** A folder with the CSV pipeline and its data file, and a store folder of its own. */
function csvProject(): { dir: string; file: string; data: string; store: string } {
  const dir = path.join(tmp, `p${n++}`);
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const data = path.join(dir, 'data', 'bars.csv');
  writeBars(data);
  const file = path.join(dir, 'pipeline.yaml');
  writeFileSync(file, CSV_PIPELINE);
  return { dir, file, data, store: path.join(dir, '.fxflow') };
}

/** The ordinary path's plan and keys, as a memo would hold them: the reference. */
async function ordinary(file: string): Promise<CachedPlan> {
  const plan = await loadPlan(file, undefined, { execute: true });
  return cachedPlanOf(plan, await computeKeys(plan))!;
}

/** Loads the plan through the memo writer; `now` far ahead, so the data files count as long unchanged. */
function loadAndMemo(store: string, file: string, opts: { now?: number; device?: 'cpu' | 'gpu' | 'auto'; load?: () => ReturnType<typeof loadPlan> } = {}) {
  return loadWithMemo(
    store,
    { file, device: opts.device },
    opts.load ?? (() => loadPlan(file, undefined, { execute: true, device: opts.device })),
    computeKeys,
    () => opts.now ?? Date.now() + 60_000,
  );
}

const memoFiles = (store: string): string[] => {
  try {
    return readdirSync(path.join(store, 'memo')).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
};

/** Rewrites the one memo of `store` through `edit`, keeping its checksum valid (a memo as another fxflow would have written it). */
function reSign(store: string, edit: (memo: Record<string, unknown>) => void): void {
  const [f] = memoFiles(store);
  const file = path.join(store, 'memo', f);
  const raw = readFileSync(file, 'utf8');
  const memo = JSON.parse(raw.slice(raw.indexOf('\n') + 1)) as Record<string, unknown>;
  edit(memo);
  const body = JSON.stringify(memo);
  writeFileSync(file, `${sha256(body)}\n${body}`);
}

describe('the plan memo (library)', () => {
  let p: ReturnType<typeof csvProject>;
  beforeAll(() => {
    p = csvProject();
    clockPast(p.data, path.join(tmp, 'scratch'));
  });

  it('gives the plan and keys the ordinary path computes, for an unchanged pipeline and data file', async () => {
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    await loadAndMemo(p.store, p.file);
    expect(memoFiles(p.store)).toHaveLength(1);
    const memo = readPlanMemo(p.store, { file: p.file });
    expect(memo).toEqual(await ordinary(p.file));
    expect(memo!.nodes.map((x) => x.id)).toEqual(['candles', 'features']);
    // The fingerprint of the data file is in the recorded basis, as computeKeys made it.
    expect(memo!.nodes[0].basis.fingerprint).toEqual({ sha256: sha256(readFileSync(p.data)), size: statSync(p.data).size });
  });

  it('is refused when the pipeline text changes, even by a comment, and written again for the new text', async () => {
    const before = readPlanMemo(p.store, { file: p.file })!;
    writeFileSync(p.file, CSV_PIPELINE.replace('period: 14', 'period: 10'));
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    await loadAndMemo(p.store, p.file);
    const after = readPlanMemo(p.store, { file: p.file })!;
    expect(after).toEqual(await ordinary(p.file));
    expect(after.nodes[0].key).toBe(before.nodes[0].key);
    expect(after.nodes[1].key).not.toBe(before.nodes[1].key);
    writeFileSync(p.file, `# a comment\n${CSV_PIPELINE}`);
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    writeFileSync(p.file, CSV_PIPELINE);
    await loadAndMemo(p.store, p.file);
    expect(readPlanMemo(p.store, { file: p.file })).toEqual(before);
  });

  it('is refused when the data file is touched (same bytes, new mtime)', async () => {
    expect(readPlanMemo(p.store, { file: p.file })).toBeDefined();
    const st = statSync(p.data);
    utimesSync(p.data, st.atime, new Date(st.mtimeMs + 5000));
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    clockPast(p.data, path.join(tmp, 'scratch'));
    await loadAndMemo(p.store, p.file);
    // Same bytes: the same keys.
    expect(readPlanMemo(p.store, { file: p.file })).toEqual(await ordinary(p.file));
  });

  it('is refused when the data file is rewritten in place with the same size and its mtime put back', async () => {
    const memo = readPlanMemo(p.store, { file: p.file })!;
    expect(memo).toBeDefined();
    const st = statSync(p.data);
    // One volume digit changed: same size, different bytes, so a different fingerprint.
    const text = readFileSync(p.data, 'utf8');
    const at = text.lastIndexOf(',100') + 4;
    const fd = openSync(p.data, 'r+');
    writeSync(fd, text[at] === '9' ? '8' : '9', at);
    closeSync(fd);
    utimesSync(p.data, st.atime, st.mtime);
    expect(statSync(p.data).size).toBe(st.size);
    expect(statSync(p.data).mtimeMs).toBe(st.mtimeMs);
    // The ctime moved (no user can set it back): refused.
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    const fresh = await ordinary(p.file);
    expect(fresh.nodes[0].key).not.toBe(memo.nodes[0].key);
  });

  it('is not written for a data file changed within the last second; written once it is older', async () => {
    const q = csvProject();
    await loadAndMemo(q.store, q.file, { now: Date.now() });
    expect(memoFiles(q.store)).toEqual([]);
    await loadAndMemo(q.store, q.file, { now: Date.now() + 2000 });
    expect(memoFiles(q.store)).toHaveLength(1);
  });

  it('is refused when an environment variable read while loading changes, appears or goes', async () => {
    const q = csvProject();
    clockPast(q.data, path.join(tmp, 'scratch'));
    const name = 'FXFLOW_TEST_MEMO_VAR';
    // A loader that reads a variable, as a step's resolve() or an interpolation could.
    const load = async () => {
      void process.env[name];
      return loadPlan(q.file, undefined, { execute: true });
    };
    process.env[name] = 'a';
    try {
      await loadAndMemo(q.store, q.file, { load });
      expect(readPlanMemo(q.store, { file: q.file })).toBeDefined();
      process.env[name] = 'b';
      expect(readPlanMemo(q.store, { file: q.file })).toBeUndefined();
      delete process.env[name];
      expect(readPlanMemo(q.store, { file: q.file })).toBeUndefined();
      process.env[name] = 'a';
      expect(readPlanMemo(q.store, { file: q.file })).toBeDefined();
    } finally {
      delete process.env[name];
    }
    // A loader that lists the whole environment may depend on any of it: no memo.
    const r = csvProject();
    clockPast(r.data, path.join(tmp, 'scratch'));
    await loadAndMemo(r.store, r.file, {
      load: async () => {
        void Object.keys(process.env);
        return loadPlan(r.file, undefined, { execute: true });
      },
    });
    expect(memoFiles(r.store)).toEqual([]);
  });

  it('is kept per --device flag, working directory and path', async () => {
    expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined(); // the data file changed above
    await loadAndMemo(p.store, p.file);
    expect(readPlanMemo(p.store, { file: p.file })).toBeDefined();
    expect(readPlanMemo(p.store, { file: p.file, device: 'cpu' })).toBeUndefined();
    await loadAndMemo(p.store, p.file, { device: 'cpu' });
    expect(readPlanMemo(p.store, { file: p.file, device: 'cpu' })).toBeDefined();
    // Another spelling of the path is another invocation (runs record the file as given).
    expect(readPlanMemo(p.store, { file: path.relative(process.cwd(), p.file) })).toBeUndefined();
    const cwd = process.cwd();
    try {
      process.chdir(p.dir);
      expect(readPlanMemo(p.store, { file: p.file })).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('is refused from another fxflow version or Node, with a code file changed, or when damaged', async () => {
    const q = csvProject();
    clockPast(q.data, path.join(tmp, 'scratch'));
    await loadAndMemo(q.store, q.file);
    const ok = () => readPlanMemo(q.store, { file: q.file });
    expect(ok()).toBeDefined();
    const [f] = memoFiles(q.store);
    const saved = readFileSync(path.join(q.store, 'memo', f), 'utf8');
    const restore = () => writeFileSync(path.join(q.store, 'memo', f), saved);

    reSign(q.store, (m) => (m.version = '0.0.0-other'));
    expect(ok()).toBeUndefined();
    restore();
    reSign(q.store, (m) => (m.node = 'v0.0.0'));
    expect(ok()).toBeUndefined();
    restore();
    // Every module of fxflow is stamped, the step kinds' among them; one stamp off refuses it.
    const memo = JSON.parse(saved.slice(saved.indexOf('\n') + 1)) as { code: [string, string][] };
    const code = memo.code.map(([c]) => c);
    expect(code).toContain(path.resolve('src/steps/fetch/index.ts'));
    expect(code).toContain(path.resolve('src/parser/interpolate.ts'));
    expect(code).toContain(path.resolve('package.json'));
    reSign(q.store, (m) => {
      const c = m.code as [string, string][];
      const i = c.findIndex(([x]) => x.endsWith(path.join('steps', 'fetch', 'index.ts')));
      c[i] = [c[i][0], `${c[i][1]}0`];
    });
    expect(ok()).toBeUndefined();
    restore();
    expect(ok()).toBeDefined();
    // Torn or edited without its checksum: refused.
    writeFileSync(path.join(q.store, 'memo', f), saved.slice(0, saved.length - 10));
    expect(ok()).toBeUndefined();
    writeFileSync(path.join(q.store, 'memo', f), saved.replace('"memo-csv"', '"memo-xyz"'));
    expect(ok()).toBeUndefined();
    restore();
    expect(ok()).toBeDefined();
    // The data file gone: refused (the ordinary path then reports it).
    rmSync(q.data);
    expect(ok()).toBeUndefined();
  });

  it('failing to write one changes nothing: the plan and keys come back as the ordinary path makes them', async () => {
    const q = csvProject();
    clockPast(q.data, path.join(tmp, 'scratch'));
    // The store path is a file: no memo folder can be made in it.
    writeFileSync(path.join(q.dir, 'not-a-dir'), '');
    const made = await loadAndMemo(path.join(q.dir, 'not-a-dir'), q.file);
    expect(cachedPlanOf(made.plan, made.keys)).toEqual(await ordinary(q.file));
  });

  it('is not written for a glob path, a plugin pipeline or a matrix', async () => {
    const q = csvProject();
    clockPast(q.data, path.join(tmp, 'scratch'));
    writeFileSync(q.file, CSV_PIPELINE.replace('data/bars.csv', 'data/*.csv'));
    await loadAndMemo(q.store, q.file);
    expect(memoFiles(q.store)).toEqual([]);
    // A file matching the glob later would change the key without any recorded file changing.
    writeFileSync(q.file, CSV_PIPELINE);
    // A plan that loaded plugins (the plugin's code and its imports are not stamped): no memo.
    await loadAndMemo(q.store, q.file, {
      load: async () => ({ ...(await loadPlan(q.file, undefined, { execute: true })), pluginFiles: [path.join(q.dir, 'x.ts')] }),
    });
    expect(memoFiles(q.store)).toEqual([]);
    writeFileSync(q.file, CSV_PIPELINE.replace('period: 14', 'period: "${matrix.p}"').replace('steps:', 'matrix:\n  p: [10, 14]\nsteps:'));
    await loadAndMemo(q.store, q.file);
    expect(memoFiles(q.store)).toEqual([]);
  });
});

type Run = JsonRun & { journal?: boolean; memo?: boolean; report?: string };

/**
 * The modules a CLI run resolves (every ESM import passes a resolve hook registered by a preload;
 * CommonJS ones are in require.cache at exit), as one text: test/integration/startup-imports.test.ts's recorder.
 */
async function importsOf(args: string[], cwd: string): Promise<string> {
  const out = path.join(tmp, `imports-${n++}.txt`);
  const hooks = path.join(tmp, 'record-hooks.mjs');
  const preload = path.join(tmp, 'record-imports.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + '\\n');
  return r;
}`,
  );
  writeFileSync(
    preload,
    `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.FXFLOW_TEST_IMPORTS;
register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).join('\\n') + '\\n'));`,
  );
  const r = await fxflow(args, { cwd, env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, FXFLOW_TEST_IMPORTS: out } });
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(out, 'utf8');
}

describe('fxflow run with the plan memo', () => {
  it('a rerun of the unchanged quickstart uses it and records the same history as a rerun made the ordinary way', async () => {
    const dir = workdir();
    const Q = 'pipelines/quickstart.yaml';
    const first = parseRun(await fxflow(['run', Q, '--json'], { cwd: dir })) as Run;
    expect(first.status).toBe('succeeded');
    expect(first.memo).toBeUndefined();
    const viaMemo = parseRun(await fxflow(['run', Q, '--json'], { cwd: dir })) as Run;
    expect(viaMemo.memo).toBe(true);
    expect(viaMemo.journal).toBe(true);
    // The ordinary way: no memo to read (the run writes it again).
    rmSync(path.join(dir, '.fxflow', 'memo'), { recursive: true });
    const plain = parseRun(await fxflow(['run', Q, '--json'], { cwd: dir })) as Run;
    expect(plain.memo).toBeUndefined();
    expect(plain.journal).toBe(true);
    for (const r of [viaMemo, plain]) {
      expect(r.steps.map((s) => [s.id, s.kind, s.key, s.cached])).toEqual(first.steps.map((s) => [s.id, s.kind, s.key, true]));
      expect(r.metrics).toEqual(first.metrics);
      expect(r.report).toBe(first.report);
    }
    // --jobs does not change a plan: the memo still serves. --device does: the ordinary path first.
    expect((parseRun(await fxflow(['run', Q, '--json', '--jobs', '1'], { cwd: dir })) as Run).memo).toBe(true);
    expect((parseRun(await fxflow(['run', Q, '--json', '--device', 'cpu'], { cwd: dir })) as Run).memo).toBeUndefined();

    // What a memo run loads: no parser (nor the yaml package or ajv's validators), no compiler, no step kind, no DuckDB.
    const modules = await importsOf(['run', Q], dir);
    expect(modules).toContain('/dist/runtime/plan-memo.js');
    for (const heavy of [
      '/dist/parser/',
      '/dist/compiler/',
      '/dist/steps/',
      '/dist/pipeline.js',
      '/node_modules/yaml/',
      '/node_modules/ajv/',
      '/node_modules/@duckdb/',
    ])
      expect(modules, heavy).not.toContain(heavy);

    // The text output of a memo run is a cached run's.
    const text = await fxflow(['run', Q], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^fxflow run quickstart · 5 steps · store \.fxflow\n/);
    expect(text.stdout).toContain(`report ${path.relative(dir, first.report!)}`);
    expect(text.stdout).toMatch(/0 computed, 5 cached\n$/);

    // History: the memo run's rows equal the ordinary run's, but for ids and times.
    const store = await Store.open(path.join(dir, '.fxflow'));
    try {
      const rows = async (id: string) => {
        const { id: _id, startedAt: _s, endedAt: _e, durationMs: _d, ...run } = await resolveRun(store, id);
        const steps = (await store.query('SELECT * EXCLUDE (run_id, started_at, duration_ms) FROM step_runs WHERE run_id = $1 ORDER BY step_id', [id])).map(
          (r) => JSON.parse(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))),
        );
        return { run, steps, params: [...(await runParams(store, id))].map(([k, v]) => [k, [...v]]), metrics: [...(await runMetrics(store, id))] };
      };
      const a = await rows(viaMemo.runId);
      const b = await rows(plain.runId);
      expect(a.steps).toHaveLength(5);
      expect(a.params.length).toBeGreaterThan(0);
      expect(a).toEqual(b);
    } finally {
      await store.close();
    }
  }, 300_000);

  it('recomputes the fetch when its data file is rewritten in place with its mtime put back', async () => {
    const p = csvProject();
    // The first run writes the memo only for a data file unchanged for a second (the racy rule);
    // a fast machine reaches that point sooner.
    clockPast(p.data, path.join(tmp, 'scratch'), 1100);
    const run = async (...args: string[]) => parseRun(await fxflow(['run', 'pipeline.yaml', '--json', ...args], { cwd: p.dir })) as Run;
    const first = await run();
    expect(first.status).toBe('succeeded');
    const second = await run();
    expect(second.memo).toBe(true);
    expect(Object.values(cachedMap(second)).every(Boolean)).toBe(true);

    const st = statSync(p.data);
    const text = readFileSync(p.data, 'utf8');
    const at = text.lastIndexOf(',100') + 4;
    const fd = openSync(p.data, 'r+');
    writeSync(fd, text[at] === '9' ? '8' : '9', at);
    closeSync(fd);
    utimesSync(p.data, st.atime, st.mtime);
    const third = await run();
    expect(third.memo).toBeUndefined();
    expect(cachedMap(third)).toEqual({ candles: false, features: false });
    expect(third.steps[0].key).not.toBe(first.steps[0].key);

    // --store: another store, another memo (and nothing cached there yet).
    const other = await run('--store', path.join(p.dir, 'other-store'));
    expect(other.memo).toBeUndefined();
    expect(cachedMap(other)).toEqual({ candles: false, features: false });
  }, 300_000);
});
