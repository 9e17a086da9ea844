import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DuckDBValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRowWriter, stepRowsWriter, type StepRecord } from '../../src/runtime/history.js';
import { encodeArtifact } from '../../src/runtime/codec.js';
import { Store } from '../../src/runtime/store.js';
import { startUi, type UiServer } from '../../src/ui/server.js';
import { edit, fxflow, REPO, spawnFxflow, workdir } from '../helpers/cli.js';
import { CHROMIUM } from '../report/chromium.js';

/**
 * `fxflow ui` in a real browser (playwright-core driving Debian's Chromium): the runs table, a
 * run's graph and its step states, a run followed live while it runs, comparing two runs, HTML
 * escaping of hostile names, bad input, and the timing of a 10,000-run table (printed, not
 * asserted). Expected values come from what the test itself did: the parameter it edited, the
 * steps the pipeline declares, the rows it inserted. Screenshots go to test-output/ui/.
 */

const OUT = path.join(REPO, 'test-output', 'ui');

/** A page of the app with every console error and uncaught exception collected. */
async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** Resolves when the child's stdout has printed a line matching `re` (the run's own progress lines). */
function waitForOutput(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the run exited (${code}) before printing ${re}: ${out}`)));
  });
}

function get(url: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    // http.request sends the path as written: `..` and `%2e` reach the server unnormalised.
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** History rows of one run, inserted through the history module (as a run records them). */
function runRows(
  id: string,
  opts: {
    pipeline: string;
    startedAt: number;
    text?: string;
    status?: string;
    steps: (Partial<StepRecord['run']> & { stepId: string; metrics?: Record<string, number> })[];
  },
) {
  return async (tx: Parameters<ReturnType<typeof runRowWriter>>[0]): Promise<void> => {
    await runRowWriter({
      id,
      pipeline: opts.pipeline,
      file: 'pipelines/x.yaml',
      fileHash: 'h',
      gitCommit: 'abc1234def',
      gitDirty: false,
      seed: 1,
      text: opts.text ?? `name: ${opts.pipeline}\n`,
      version: 'test',
      startedAt: opts.startedAt,
      endedAt: opts.startedAt + 1500,
      status: opts.status ?? 'succeeded',
    })(tx);
    for (const [i, s] of opts.steps.entries()) {
      const { metrics = {}, ...run } = s;
      await stepRowsWriter({
        run: {
          runId: id,
          kind: 'backtest',
          key: `${id}-${s.stepId}`,
          cached: false,
          startedAt: opts.startedAt + i,
          durationMs: 12,
          status: 'ok',
          params: {},
          inputs: {},
          fingerprint: null,
          stepVersion: 1,
          seed: null,
          warnings: [],
          ...run,
        },
        flatParams: Object.entries((run.params ?? {}) as Record<string, unknown>),
        metrics,
      })(tx);
    }
  };
}

const GATE_PLUGIN = `import { readFile } from 'node:fs/promises';
import { defineStep, paramsOf, type Features } from 'fxflow';

/** Parameters of the test's gate step. */
export interface GateParams {
  /** A named pipe: the step finishes when the test writes to it. */
  fifo: string;
}

/** Passes its input through once the test opens the gate (a read of a named pipe blocks until then). */
export default defineStep({
  kind: 'gate',
  version: 1,
  description: 'waits for the test',
  inputs: { features: 'Features' },
  output: 'Features',
  params: paramsOf<GateParams>(),
  async run({ features }, p): Promise<Features> {
    await readFile(p.fifo);
    return features;
  },
});
`;

describe.skipIf(!CHROMIUM)('fxflow ui in Chromium', () => {
  let browser: Browser;
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await browser?.close();
  });

  async function ui(storeDir: string): Promise<UiServer> {
    const s = await startUi({ storeDir, port: 0 });
    cleanup.push(() => s.close());
    return s;
  }

  it('shows the runs table, a run graph with its step states, its report, and compares two runs', async () => {
    const dir = workdir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = path.join(dir, 'store');
    const first = await fxflow(['run', 'pipelines/quickstart.yaml', '--store', store], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    // The second run changes one parameter: only `report` recomputes, the others are cache hits.
    edit(path.join(dir, 'pipelines', 'quickstart.yaml'), 'entry_threshold: 0.00005', 'entry_threshold: 0.0002');
    const second = await fxflow(['run', 'pipelines/quickstart.yaml', '--store', store], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const server = await ui(store);
    const { page, errors } = await openPage(browser);

    await page.goto(server.url);
    const rows = page.locator('table.runs tbody tr[data-run]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator('table.runs tbody tr[data-status="succeeded"]').count()).toBe(2);
    expect(await page.locator('table.runs').innerText()).toContain('quickstart');
    await page.screenshot({ path: path.join(OUT, 'runs.png'), fullPage: true });

    // The newest run is listed first (sorted by start, newest first): open it.
    const newest = (await rows.first().getAttribute('data-run'))!;
    await rows.first().locator('a').first().click();
    await page.waitForSelector('svg.dag');
    const states = await page.$$eval('svg.dag g.node', (gs) =>
      gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('data-state'), g.getAttribute('data-cached')]),
    );
    // The quickstart's five steps (pipelines/quickstart.yaml), all done; only the edited step computed.
    expect(states.map((s) => s[0]).sort()).toEqual(['candles', 'dataset', 'features', 'model', 'report']);
    expect(states.every((s) => s[1] === 'ok')).toBe(true);
    expect(Object.fromEntries(states.map((s) => [s[0], s[2]]))).toEqual({ candles: 'true', features: 'true', dataset: 'true', model: 'true', report: 'false' });
    // Edges follow the YAML's `from:` (report reads model, dataset and candles).
    const edges = await page.$$eval('svg.dag path.edge', (ps) => ps.map((p) => `${p.getAttribute('data-from')}→${p.getAttribute('data-to')}`).sort());
    expect(edges).toEqual(['candles→features', 'candles→report', 'dataset→model', 'dataset→report', 'features→dataset', 'model→report']);
    expect(await page.locator('pre.yaml').innerText()).toContain('entry_threshold: 0.0002');
    expect(await page.locator('body').innerText()).toContain('report.entry_threshold 0.00005 → 0.0002');
    // The embedded backtest report draws its equity curve.
    const report = page.frameLocator('iframe.report').first();
    await expect.poll(() => report.locator('svg[data-chart="equity"] .mark').count()).toBeGreaterThan(0);
    // README's picture (docs/img/ui-run.png): the run's facts, graph and steps.
    await page.screenshot({ path: path.join(OUT, 'run.png'), clip: { x: 0, y: 0, width: 1280, height: 660 } });

    // Compare: tick both runs in the table.
    await page.goto(server.url);
    for (const box of await page.locator('table.runs input[name="run"]').all()) await box.check();
    await page.locator('form.compare-form button[type="submit"]').click();
    await page.waitForSelector('table.param-diff');
    expect(page.url()).toContain(`run=${newest}`);
    const changed = page.locator('table.param-diff tr[data-param="steps.report.with.entry_threshold"] td code');
    expect(await changed.allInnerTexts()).toEqual(['steps.report.with.entry_threshold', '0.0002', '0.00005']);
    // Two equity curves and two drawdowns on one chart each.
    expect(await page.locator('svg[data-chart="equity"] path.mark.line').count()).toBe(2);
    expect(await page.locator('svg[data-chart="drawdown"] path.mark.line').count()).toBe(2);
    await page.screenshot({ path: path.join(OUT, 'compare.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 180_000);

  it('follows a run in progress: steps turn green live, without reloading the page', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-live-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = path.join(dir, 'store');
    const fifoA = path.join(dir, 'a.fifo');
    const fifoB = path.join(dir, 'b.fifo');
    execFileSync('mkfifo', [fifoA, fifoB]);
    writeFileSync(path.join(dir, 'gate.ts'), GATE_PLUGIN);
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      path.join(dir, 'live.yaml'),
      `version: 1
name: live-gate
seed: 7
plugins: [./gate.ts]
steps:
  candles: { uses: fetch, with: { source: synthetic, bars: 2000 } }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1], target: { forward_return: { horizons: [1] } } }
  gate_a: { uses: gate, from: features, with: { fifo: ${JSON.stringify(fifoA)} } }
  gate_b: { uses: gate, from: gate_a, with: { fifo: ${JSON.stringify(fifoB)} } }
`,
    );
    // A store with one earlier run, so the UI has a store to open before the live run starts.
    mkdirSync(store);
    const seed = await Store.open(store);
    await seed.transaction(runRows('20200101-000000-aaaaaa', { pipeline: 'earlier', startedAt: Date.UTC(2020, 0, 1), steps: [{ stepId: 'x' }] }));
    await seed.close();
    const server = await ui(store);

    const child = spawnFxflow(['run', 'live.yaml', '--store', store], { cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    cleanup.push(() => {
      if (child.exitCode === null) child.kill();
    });
    await waitForOutput(child, /▸ gate_a\s/);

    const { page, errors } = await openPage(browser);
    await page.goto(server.url);
    // The run holds the store; the table still opens, and names the run in progress.
    const liveLink = page.locator('.live-runs a');
    await liveLink.first().click();
    await page.waitForSelector('svg.dag g.node[data-step="gate_a"][data-state="running"]');
    expect(await page.getAttribute('svg.dag g.node[data-step="candles"]', 'data-state')).toBe('ok');
    expect(await page.getAttribute('svg.dag g.node[data-step="gate_b"]', 'data-state')).toBe('waiting');
    await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
    await page.screenshot({ path: path.join(OUT, 'live-running.png') });

    // Open the first gate: gate_a turns green and gate_b starts, in this same page (no reload).
    writeFileSync(fifoA, 'go');
    await page.waitForSelector('svg.dag g.node[data-step="gate_b"][data-state="running"]');
    expect(await page.getAttribute('svg.dag g.node[data-step="gate_a"]', 'data-state')).toBe('ok');
    expect(await page.locator('table.steps tr[data-step="gate_a"] td.st').innerText()).toBe('ok');
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(Number(await page.getAttribute('body', 'data-live-events'))).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(OUT, 'live-progress.png') });

    // Open the second: the run ends, the page reloads from the store and shows every step done.
    writeFileSync(fifoB, 'go');
    expect(await exited).toBe(0);
    // The UI read the store all along and never made the run wait for it.
    expect(stderr).not.toContain('waiting for the store');
    await page.waitForSelector('.dag-panel:not([data-live]) g.node[data-step="gate_b"][data-state="ok"]');
    await page.waitForSelector('.status.s-succeeded');
    const states = await page.$$eval('svg.dag g.node', (gs) => gs.map((g) => g.getAttribute('data-state')));
    expect(states).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(errors).toEqual([]);
  }, 180_000);

  it('escapes HTML in pipeline names, step ids, summaries, warnings, params and the pipeline text', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-xss-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const name = '<script>window.pwned=1</script>';
    const stepId = '<img src=x onerror="window.pwned=2">';
    const store = await Store.open(dir);
    for (const [i, id] of ['20240101-000000-bad001', '20240101-000001-bad002'].entries()) {
      await store.transaction(
        runRows(id, {
          pipeline: name,
          startedAt: Date.UTC(2024, 0, 1, 0, 0, i),
          status: 'failed',
          text: `name: x\ndescription: "</pre><script>window.pwned=3</script>"\nsymbol: "<b onmouseover=alert(1)>EURUSD</b>"\n`,
          steps: [
            {
              stepId,
              summary: '</td><script>window.pwned=4</script> 100 bars of <i>EURUSD</i>',
              warnings: ['<svg onload="window.pwned=5"></svg> gap'],
              params: { symbol: `<script>window.pwned=${6 + i}</script>` },
              metrics: { '<b>sharpe</b>': 1 + i },
            },
            { stepId: 'boom', status: 'failed', error: '<script>window.pwned=9</script> failed', inputs: { x: `${id}-${stepId}` } },
          ],
        }),
      );
    }
    await store.close();
    const server = await ui(dir);
    const { page, errors } = await openPage(browser);
    for (const url of ['', 'runs/20240101-000001-bad002', 'compare?run=20240101-000000-bad001&run=20240101-000001-bad002', 'runs/latest/report']) {
      await page.goto(server.url + url);
      expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('main img, main script, main i, main [onerror], main [onload], main [onmouseover]').count()).toBe(0);
    }
    await page.goto(`${server.url}runs/20240101-000001-bad002`);
    const text = await page.locator('main').innerText();
    expect(text).toContain(name);
    expect(text).toContain('</td><script>window.pwned=4</script> 100 bars of <i>EURUSD</i>');
    expect(text).toContain('<svg onload="window.pwned=5"></svg> gap');
    expect(text).toContain('</pre><script>window.pwned=3</script>');
    expect(await page.locator('svg.dag g.node').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('data-state')]))).toEqual([
      [stepId, 'ok'],
      ['boom', 'failed'],
    ]);
    await page.screenshot({ path: path.join(OUT, 'escaping.png'), fullPage: true });
    // The report page of a run without a report is a 404 (its message escaped too): the only console error.
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  }, 120_000);

  it('answers bad input with clear messages and refuses paths outside its assets', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-bad-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const seed = await Store.open(dir);
    await seed.transaction(runRows('20200101-000000-aaaaaa', { pipeline: 'only', startedAt: Date.UTC(2020, 0, 1), steps: [{ stepId: 'x' }] }));
    await seed.close();
    const server = await ui(dir);
    const { page, errors } = await openPage(browser);

    const unknown = await page.goto(`${server.url}runs/nosuchrun`);
    expect(unknown?.status()).toBe(404);
    expect(await page.locator('[data-error]').innerText()).toBe('no run `nosuchrun` in this store');
    const one = await page.goto(`${server.url}compare?run=latest`);
    expect(one?.status()).toBe(400);
    expect(await page.locator('[data-error]').innerText()).toBe('pick 2 to 6 runs to compare (got 1)');
    // The 404 of the main document is the only error the console reports.
    expect(errors.every((e) => /status of 40[04]/.test(e))).toBe(true);

    for (const p of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..\\..\\package.json',
    ]) {
      const r = await get(server.url, p);
      expect(r.status, p).toBe(403);
      expect(r.body).not.toContain('"name": "fxflow"');
      expect(r.body).toContain('refused: the path leaves the app');
    }
    expect((await get(server.url, '/assets/package.json')).status).toBe(404);
    expect((await get(server.url, '/assets/app.js')).status).toBe(200);
    // Bound to 127.0.0.1, it answers only to this machine's names (a DNS-rebinding page gets nothing).
    expect((await get(server.url, '/', { Host: 'evil.example:4173' })).status).toBe(403);

    const missing = await fxflow(['ui', '--store', path.join(dir, 'nope'), '--port', '0'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`there is no fxflow store at ${path.join(dir, 'nope')}`);
    expect(missing.stderr).toContain('the folder does not exist');
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    const inUse = await fxflow(['ui', '--store', dir, '--port', String(port)], { cwd: dir });
    busy.close();
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(inUse.stderr).toContain('--port 0');

    const badPort = await fxflow(['ui', '--store', dir, '--port', 'http'], { cwd: dir });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('--port takes a port number from 0 to 65535');
  }, 120_000);

  it('shows training curves, a sweep leaderboard with its scatter plot, and the model registry', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-sweep-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const id = '20240301-000000-sweep1';
    const store = await Store.open(dir);
    await store.transaction(async (tx) => {
      await runRows(id, { pipeline: 'sweep-demo', startedAt: Date.UTC(2024, 2, 1), steps: [{ stepId: 'model[alpha=1]', kind: 'train', key: 'mkey1' }] })(tx);
      // Three variants, scores written by hand: alpha 1 is the best and the selected one.
      const select = 'sharpe on report (max)';
      await tx.insert(
        'run_variants',
        [
          [id, 0, 'alpha=0.1', '{"alpha":0.1}', '{"report.sharpe":0.3}', select, 0.3, false],
          [id, 1, 'alpha=1', '{"alpha":1}', '{"report.sharpe":0.9}', select, 0.9, true],
          [id, 2, 'alpha=10', '{"alpha":10}', '{"report.sharpe":-0.2}', select, -0.2, false],
        ],
        { doubles: [6] },
      );
      await tx.insert('model_stages', [[1, 'mkey1', 'champion', '2024-03-02 00:00:00', 'tester', 'best of the sweep']]);
    });
    // A neural model's epoch history, written by hand: three epochs, train and validation loss, learning rate.
    const history = [
      { epoch: 1, trainLoss: 1, valLoss: 1.2, lr: 0.001 },
      { epoch: 2, trainLoss: 0.8, valLoss: 1.1, lr: 0.0005 },
      { epoch: 3, trainLoss: 0.7, valLoss: 1.15, lr: 0.00025 },
    ];
    const model = {
      type: 'Model',
      kind: 'mlp',
      params: { model: 'mlp' },
      featureNames: [],
      targetNames: [],
      targetHorizons: [],
      state: [{ history }],
      valMetrics: [],
    };
    await store.putArtifact(
      'mkey1',
      { type: 'Model', kind: 'train', stepVersion: 1, meta: { metrics: { val_ic: 0.05 }, warnings: [] } },
      encodeArtifact(model),
    );
    await store.close();
    const server = await ui(dir);
    const { page, errors } = await openPage(browser);
    await page.goto(`${server.url}runs/${id}`);
    // Training curves from the stored epoch history: two loss lines over three epochs, one learning-rate line.
    expect(await page.locator('svg[data-chart="loss"] path.mark.line').count()).toBe(2);
    expect(await page.locator('svg[data-chart="lr"] path.mark.line').count()).toBe(1);
    expect(await page.locator('svg[data-chart="loss"] text.xl').allTextContents()).toContain('epoch 3');
    await page.getByText('sweep leaderboard (3 variants)').click();
    await page.waitForSelector('table.leaderboard');
    const order = (): Promise<(string | null)[]> => page.$$eval('table.leaderboard tbody tr', (rs) => rs.map((r) => r.getAttribute('data-variant')));
    expect(await order()).toEqual(['1', '0', '2']);
    expect(await page.getAttribute('table.leaderboard tr[data-variant="1"]', 'class')).toBe('selected');
    expect(await page.locator('svg[data-chart="sweep"] circle.mark').count()).toBe(3);
    await page.screenshot({ path: path.join(OUT, 'sweep.png'), fullPage: true });
    await page.locator('table.leaderboard th a', { hasText: 'alpha' }).click();
    await page.waitForURL(/sort=param%3Aalpha/);
    expect(await order()).toEqual(['2', '1', '0']);
    await page.goto(`${server.url}models`);
    const row = page.locator('table.models tr[data-model="mkey1"]');
    expect(await row.locator('.status').innerText()).toBe('champion');
    await row.locator('a').click();
    await page.waitForURL(new RegExp(`/runs/${id}$`));
    expect(errors).toEqual([]);
  }, 120_000);

  it('pages a store of 10,000 runs (render time printed, not asserted)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-ui-10k-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const N = 10_000;
    const store = await Store.open(dir);
    const t0 = performance.now();
    // Ten thousand runs one statement each would take minutes: the rows go in through the store's
    // bulk insert (1,000 rows a statement), in the tables' column order.
    const ts = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
    const runs: DuckDBValue[][] = [];
    const steps: DuckDBValue[][] = [];
    const metrics: DuckDBValue[][] = [];
    for (let i = 0; i < N; i++) {
      const id = `20250101-${String(i).padStart(6, '0')}-${(i * 7919).toString(16).padStart(6, '0').slice(-6)}`;
      const start = Date.UTC(2025, 0, 1) + i * 60_000;
      runs.push([
        id,
        `p${i % 7}`,
        'pipelines/p.yaml',
        'h',
        null,
        null,
        ts(start),
        ts(start + 1500),
        i % 13 === 0 ? 'failed' : 'succeeded',
        1,
        'name: p\n',
        null,
        'test',
      ]);
      steps.push([id, 'report', 'backtest', `k${i}`, false, ts(start), 12.5, 'ok', null, '{}', '{}', 'null', 1, null, null, '[]']);
      // A hand-made metric: run i's sharpe is (i mod 100) / 10, so the best are 9.9.
      metrics.push([id, 'report', 'sharpe', (i % 100) / 10], [id, 'report', 'trades', i]);
    }
    await store.transaction(async (tx) => {
      await tx.insert('runs', runs);
      await tx.insert('step_runs', steps, { doubles: [6] });
      await tx.insert('metrics', metrics, { doubles: [3] });
    });
    await store.close();
    const insertMs = performance.now() - t0;
    const server = await ui(dir);
    const { page, errors } = await openPage(browser);
    const timed = async (url: string): Promise<number> => {
      await page.goto(server.url + url);
      return page.evaluate<number>("(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()");
    };
    const cold = await timed('');
    expect(await page.getAttribute('.pager', 'data-total')).toBe(String(N));
    expect(await page.locator('table.runs tbody tr').count()).toBe(50);
    const warm = await timed('');
    const byMetric = await timed('?sort=metric:sharpe&dir=desc');
    const firstSharpe = await page.locator('table.runs tbody tr').first().locator('td.n').nth(2).innerText();
    // 9.9 shown to 4 significant digits.
    expect(firstSharpe).toBe('9.900');
    const filtered = await timed('?pipeline=p3&status=failed&page=3');
    console.log(
      `[timing] fxflow ui, runs table of ${N.toLocaleString('en')} runs (${Math.round(insertMs)} ms to insert): first page ${Math.round(cold)} ms (cold: store copied), ` +
        `again ${Math.round(warm)} ms, sorted by a metric ${Math.round(byMetric)} ms, filtered page 3 ${Math.round(filtered)} ms (load event, Chromium headless)`,
    );
    await page.goto(`${server.url}?sort=metric:sharpe`);
    await page.screenshot({ path: path.join(OUT, 'runs-10k.png') });
    expect(errors).toEqual([]);
  }, 300_000);
});

if (!CHROMIUM) console.warn('[skip] chromium not found (apt-get install -y chromium): the browser tests of `fxflow ui` are skipped');
