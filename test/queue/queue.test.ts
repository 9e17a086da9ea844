import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fxflow, parseRun, spawnFxflow, workdir, type CliResult, type JsonRun } from '../helpers/cli.js';

/**
 * `fxflow run --executor queue` against the real Redis of this machine (127.0.0.1:6379, started by
 * .ci/run), with `fxflow worker`s as separate OS processes: results equal a local run's, a worker
 * SIGKILLed mid-step has its job retried on another, a step's error on a worker fails the run as
 * locally, bad input enqueues nothing, and two coordinators compute each step once. Each test has
 * a queue name of its own; every wait is on an event (a line a process prints, a file, its exit).
 * The tests that restart Redis start a server of their own on a spare port: the shared one is
 * never restarted or flushed.
 */

const HOST = '127.0.0.1';
// FXFLOW_TEST_REDIS_PORT: another server (or none, to see the skip).
const PORT = Number(process.env.FXFLOW_TEST_REDIS_PORT ?? 6379);

/** Whether a Redis server answers PING here (no client library: a raw RESP exchange). */
function redisUp(port = PORT): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: HOST, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
const up = await redisUp();
if (!up) console.warn(`test/queue: SKIPPED — no Redis server answers at ${HOST}:${PORT} (start one: redis-server --port ${PORT})`);

const PIPELINE = `version: 1
name: queued
seed: 42
matrix:
  alpha: [0.5, 1, 2]
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 5000 }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
        - ema: { period: 20 }
      returns: [1, 4]
      target: { forward_return: { horizons: [4] } }
  dataset:
    uses: split
    from: features
    with: { method: temporal, ratios: [0.6, 0.2, 0.2], scale: zscore }
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: "\${matrix.alpha}" }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
    with: { entry_threshold: 0.00005, costs: { spread_pips: 0.8 } }
`;
/** The steps of PIPELINE that run on queue workers (train and backtest, per variant). */
const QUEUED = ['model[alpha=0.5]', 'model[alpha=1]', 'model[alpha=2]', 'report[alpha=0.5]', 'report[alpha=1]', 'report[alpha=2]'];

const queues: string[] = [];
/** A fresh queue URL (a queue name of this test's own), optionally with a password in it. */
function queueUrl(password?: string): string {
  const name = `fxflow-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  queues.push(name);
  return `redis://${password ? `:${password}@` : ''}${HOST}:${PORT}/0?queue=${name}`;
}

/** A work folder with PIPELINE (edited by `change`) as pipelines/q.yaml. */
function project(change: (text: string) => string = (t) => t): { dir: string; file: string; cache: string } {
  const dir = workdir();
  writeFileSync(path.join(dir, 'pipelines', 'q.yaml'), change(PIPELINE));
  const cache = path.join(dir, 'shared-cache');
  mkdirSync(cache);
  return { dir, file: 'pipelines/q.yaml', cache };
}

interface WorkerProc {
  child: ChildProcess;
  out: () => string;
  /** Resolves once the worker has printed a line matching `re`. */
  line: (re: RegExp) => Promise<void>;
  exited: Promise<void>;
}

const workers: WorkerProc[] = [];
function startWorker(dir: string, url: string, cache: string, env: Record<string, string> = {}): WorkerProc {
  // A short lock, so that a killed worker's job is found stalled within seconds.
  const child = spawnFxflow(['worker', '--queue', url, '--cache', cache, '--lock-ms', '1500'], { cwd: dir, env });
  let out = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters])
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const w: WorkerProc = {
    child,
    out: () => out,
    line: (re) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then(() => reject(new Error(`worker exited before printing ${re}:\n${out}`)));
      }),
    exited,
  };
  workers.push(w);
  return w;
}

async function stopWorkers(...ws: WorkerProc[]): Promise<void> {
  for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.exited));
}

/** Steps a worker computed (its `done STEP KEY` lines). */
function computedBy(w: WorkerProc): string[] {
  return [...w.out().matchAll(/^done (\S+) /gm)].map((m) => m[1]);
}

function queuedRun(p: { dir: string; file: string; cache: string }, url: string, store = '.fxflow', env: Record<string, string> = {}): Promise<CliResult> {
  return fxflow(['run', p.file, '--json', '--executor', 'queue', '--queue', url, '--cache', p.cache, '--store', store], { cwd: p.dir, env });
}

let reference: JsonRun | undefined;
/** The same pipeline run locally, in a store of its own (what every queue run must equal). */
async function localRun(): Promise<JsonRun> {
  if (!reference) {
    const p = project();
    reference = parseRun(await fxflow(['run', p.file, '--json'], { cwd: p.dir }));
    expect(reference.status).toBe('succeeded');
  }
  return reference;
}

function sameResults(run: JsonRun, ref: JsonRun): void {
  // A failed run says which steps failed and why.
  expect(run.status, JSON.stringify(run.steps.filter((s) => s.error))).toBe('succeeded');
  expect(run.steps.map((s) => [s.id, s.key])).toEqual(ref.steps.map((s) => [s.id, s.key]));
  expect(run.metrics).toEqual(ref.metrics);
}

/** Every file under `dir`, read, as one string (to look for a leaked secret). */
function allBytes(dir: string): string {
  let s = '';
  for (const e of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const f = path.join(dir, e);
    if (statSync(f).isFile()) s += readFileSync(f, 'latin1');
  }
  return s;
}

afterAll(async () => {
  await stopWorkers(...workers);
  if (!up || queues.length === 0) return;
  // Each test's queue is removed from Redis.
  const { Queue } = await import('bullmq');
  for (const name of queues) {
    const q = new Queue(name, { connection: { host: HOST, port: PORT } });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
});

// Each test starts several processes (a local reference run, workers, coordinators): room for a busy 2-core CI machine.
describe.skipIf(!up)('fxflow run --executor queue (BullMQ on a real Redis)', { timeout: 180_000 }, () => {
  it('with 2 workers gives the keys and metrics of a local run; credentials stay out of output and history', async () => {
    const ref = await localRun();
    const p = project();
    const secret = 'n0t-in-history-s3cret';
    // Redis here has no password: ioredis warns and goes on, which is enough to follow the URL's password around.
    const url = queueUrl(secret);
    const a = startWorker(p.dir, url, p.cache);
    const b = startWorker(p.dir, url, p.cache);
    await Promise.all([a.line(/ready/), b.line(/ready/)]);
    const r = await queuedRun(p, url);
    const run = parseRun(r);
    sameResults(run, ref);
    // Every train and backtest step ran on a worker, each once.
    expect([...computedBy(a), ...computedBy(b)].sort()).toEqual([...QUEUED].sort());
    const shown = await fxflow(['show', run.runId, '--json'], { cwd: p.dir });
    for (const text of [r.stdout, r.stderr, shown.stdout, a.out(), b.out(), allBytes(path.join(p.dir, '.fxflow'))]) expect(text).not.toContain(secret);

    // A second coordinator with a fresh store: every queued step is in the shared cache, nothing runs again.
    const again = parseRun(await queuedRun(p, url, 'other-store'));
    sameResults(again, ref);
    expect([...computedBy(a), ...computedBy(b)]).toHaveLength(QUEUED.length);
    await stopWorkers(a, b);
  });

  it('a worker SIGKILLed in the middle of a step: the job is retried on another worker and the run equals a local one', async () => {
    const ref = await localRun();
    const p = project();
    const url = queueUrl();
    const hold = path.join(p.dir, 'hold');
    mkdirSync(hold);
    // Worker A stops inside its first step until told (FXFLOW_WORKER_HOLD): it is killed there.
    const a = startWorker(p.dir, url, p.cache, { FXFLOW_WORKER_HOLD: hold });
    await a.line(/ready/);
    const run = queuedRun(p, url);
    await a.line(/^holding /m);
    const held = /^holding (\S+)/m.exec(a.out())![1];
    const b = startWorker(p.dir, url, p.cache);
    await b.line(/ready/);
    a.child.kill('SIGKILL');
    await a.exited;
    const r = parseRun(await run);
    sameResults(r, ref);
    // The held step was completed by B after A died, and no step was lost.
    expect(computedBy(a)).not.toContain(held);
    expect(computedBy(b)).toContain(held);
    expect(new Set([...computedBy(a), ...computedBy(b)])).toEqual(new Set(QUEUED));
    await stopWorkers(b);
  });

  it("a step failing on a worker fails the run with the worker's error, as a local run reports it", async () => {
    const bad = (t: string): string => t.replace('with: { entry_threshold: 0.00005,', 'with: { target: fwd_ret_99, entry_threshold: 0.00005,');
    const local = project(bad);
    const lr = await fxflow(['run', local.file, '--json'], { cwd: local.dir });
    expect(lr.code).toBe(1);
    const lrun = parseRun(lr);
    const p = project(bad);
    const url = queueUrl();
    const w = startWorker(p.dir, url, p.cache);
    await w.line(/ready/);
    const r = await queuedRun(p, url);
    expect(r.code).toBe(1);
    const run = parseRun(r);
    expect(run.status).toBe('failed');
    const errors = (x: JsonRun): [string, string, string | undefined][] => x.steps.map((s) => [s.id, s.status, s.error]);
    expect(errors(run)).toEqual(errors(lrun));
    expect(run.steps.find((s) => s.id === 'report[alpha=1]')!.error).toContain('the model has no target `fwd_ret_99`');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    await stopWorkers(w);
  });

  it('bad input is refused before anything is enqueued; an unreachable queue fails clearly, its password hidden', async () => {
    const { Queue } = await import('bullmq');
    const p = project((t) => t.replace('uses: backtest', 'uses: backtets'));
    const url = queueUrl();
    const r = await queuedRun(p, url);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('backtets');
    const name = new URL(url).searchParams.get('queue')!;
    const q = new Queue(name, { connection: { host: HOST, port: PORT } });
    expect(Object.values(await q.getJobCounts()).reduce((a, b) => a + b, 0)).toBe(0);
    await q.close();

    // Flags missing or malformed: a usage error, as any other.
    const noCache = await fxflow(['run', p.file, '--executor', 'queue', '--queue', url], { cwd: p.dir, env: { FXFLOW_CACHE: '' } });
    expect(noCache.code).toBe(2);
    expect(noCache.stderr).toContain('no shared artifact cache named');
    const notRedis = await fxflow(['worker', '--queue', 'http://h:6379', '--cache', p.cache], { cwd: p.dir });
    expect(notRedis.code).toBe(2);
    expect(notRedis.stderr).toContain('not a redis:// or rediss:// URL');

    const ok = project();
    const dead = await queuedRun(ok, 'redis://admin:hunter2-secret@127.0.0.1:1/0');
    expect(dead.code).not.toBe(0);
    expect(dead.stderr).toContain('cannot reach the queue at redis://***@127.0.0.1:1/0');
    expect(dead.stderr + dead.stdout).not.toContain('hunter2');
    expect(dead.stderr).not.toMatch(/^\s+at /m);
  });

  it('two coordinators running the same pipeline at once compute each step once', async () => {
    const ref = await localRun();
    const p = project();
    const url = queueUrl();
    const a = startWorker(p.dir, url, p.cache);
    const b = startWorker(p.dir, url, p.cache);
    await Promise.all([a.line(/ready/), b.line(/ready/)]);
    const [r1, r2] = await Promise.all([queuedRun(p, url, 'store-1'), queuedRun(p, url, 'store-2')]);
    sameResults(parseRun(r1), ref);
    sameResults(parseRun(r2), ref);
    expect([...computedBy(a), ...computedBy(b)].sort()).toEqual([...QUEUED].sort());
    await stopWorkers(a, b);
  });

  it('the coordinator SIGKILLed: the worker finishes its step, the rerun takes it from the shared cache; a worker SIGTERMed mid-step finishes it and exits', async () => {
    const ref = await localRun();
    const p = project();
    const url = queueUrl();
    const hold = path.join(p.dir, 'hold');
    mkdirSync(hold);
    const a = startWorker(p.dir, url, p.cache, { FXFLOW_WORKER_HOLD: hold });
    await a.line(/ready/);
    const coordinator = spawnFxflow(['run', p.file, '--json', '--executor', 'queue', '--queue', url, '--cache', p.cache], { cwd: p.dir });
    const gone = new Promise((resolve) => coordinator.on('exit', resolve));
    await a.line(/^holding /m);
    const held = /^holding (\S+)/m.exec(a.out())![1];
    coordinator.kill('SIGKILL');
    await gone;
    // SIGTERM while the step is held: the worker says it finishes the running step, then does so once released.
    a.child.kill('SIGTERM');
    await a.line(/SIGTERM: finishing the running steps/);
    writeFileSync(path.join(hold, 'release'), '');
    await a.exited;
    expect(a.child.exitCode).toBe(143);
    expect(computedBy(a)).toEqual([held]);
    expect(a.out()).toContain('worker stopped');

    const b = startWorker(p.dir, url, p.cache);
    await b.line(/ready/);
    const rerun = parseRun(await queuedRun(p, url));
    sameResults(rerun, ref);
    // The step finished for nobody is not computed again; every other queued step is, once.
    expect(computedBy(b)).not.toContain(held);
    expect([...computedBy(b), held].sort()).toEqual([...QUEUED].sort());
    await stopWorkers(b);
  });

  const serverBinary = spawnSync('redis-server', ['--version']).status === 0;
  if (!serverBinary) console.warn('test/queue: the Redis restart tests are SKIPPED — no redis-server binary to start a private server with');

  /**
   * A Redis server of the test's own on a spare port (never the shared one: it is killed and
   * restarted), with AOF or without persistence; its data in `dir`.
   */
  async function privateRedis(dir: string, aof: 'yes' | 'no'): Promise<{ url: string; restart: () => Promise<void>; stop: () => Promise<void> }> {
    mkdirSync(dir);
    // A spare port: one nothing answers on.
    let port = 0;
    for (let i = 0; i < 20 && !port; i++) {
      const candidate = 20000 + Math.floor(Math.random() * 20000);
      if (!(await redisUp(candidate))) port = candidate;
    }
    const server = (): Promise<ChildProcess> => {
      const c = spawn('redis-server', ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', aof, '--appendfsync', 'always', '--dir', dir], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return new Promise((resolve, reject) => {
        let out = '';
        c.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('Ready to accept connections')) resolve(c);
        });
        c.on('exit', () => reject(new Error(`redis-server exited: ${out}`)));
      });
    };
    let redis = await server();
    return {
      url: `redis://${HOST}:${port}/0`,
      async restart() {
        const down = new Promise((resolve) => redis.on('exit', resolve));
        redis.kill('SIGKILL');
        await down;
        redis = await server();
      },
      /** Kills the server; resolves once it has exited. */
      stop: () =>
        new Promise<void>((resolve) => {
          if (redis.exitCode !== null || redis.signalCode !== null) return resolve();
          redis.on('exit', () => resolve());
          redis.kill('SIGKILL');
        }),
    };
  }

  /** Workers of a test whose Redis goes away at its end: killed first (a graceful stop would wait for Redis). */
  function killAll(ws: WorkerProc[]): void {
    for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }

  it.skipIf(!serverBinary).each([
    ['with AOF', 'yes'],
    ['without persistence (its jobs are lost, re-added by the coordinator)', 'no'],
  ] as const)('Redis restarted during a run, %s: coordinator and workers reconnect, the run equals a local one', async (_what, aof) => {
    const ref = await localRun();
    const p = project();
    const redis = await privateRedis(path.join(p.dir, 'redis-data'), aof);
    const started: WorkerProc[] = [];
    try {
      const hold = path.join(p.dir, 'hold');
      mkdirSync(hold);
      const a = startWorker(p.dir, redis.url, p.cache, { FXFLOW_WORKER_HOLD: hold });
      started.push(a);
      await a.line(/ready/);
      const run = queuedRun(p, redis.url);
      await a.line(/^holding /m);
      await redis.restart();
      writeFileSync(path.join(hold, 'release'), '');
      sameResults(parseRun(await run), ref);
      expect([...computedBy(a)].sort()).toEqual([...QUEUED].sort());
      await stopWorkers(a);
    } finally {
      killAll(started);
      await redis.stop();
    }
  });

  it.skipIf(!serverBinary)(
    "Redis restarted without persistence between a job's add and the coordinator's first look at it: the job is added again, the run equals a local one",
    async () => {
      const ref = await localRun();
      const p = project();
      const redis = await privateRedis(path.join(p.dir, 'redis-data'), 'no');
      const started: WorkerProc[] = [];
      try {
        const hold = path.join(p.dir, 'hold');
        mkdirSync(hold);
        // The coordinator stops right after adding its first jobs (FXFLOW_QUEUE_HOLD), no worker running yet.
        const run = queuedRun(p, redis.url, '.fxflow', { FXFLOW_QUEUE_HOLD: hold });
        await new Promise<void>((resolve) => {
          const w = watch(hold, () => {
            if (existsSync(path.join(hold, 'enqueued'))) {
              w.close();
              resolve();
            }
          });
          if (existsSync(path.join(hold, 'enqueued'))) {
            w.close();
            resolve();
          }
        });
        // Redis comes back empty: the jobs just added are gone.
        await redis.restart();
        writeFileSync(path.join(hold, 'release'), '');
        const a = startWorker(p.dir, redis.url, p.cache);
        started.push(a);
        sameResults(parseRun(await run), ref);
        expect([...computedBy(a)].sort()).toEqual([...QUEUED].sort());
        await stopWorkers(a);
      } finally {
        killAll(started);
        await redis.stop();
      }
    },
  );

  it.skipIf(!serverBinary)(
    'Redis gone when workers are SIGTERMed: an idle one exits saying so; a busy one finishes its step, says it was not reported and exits 1; a second signal exits at once',
    async () => {
      const p = project();
      const redis = await privateRedis(path.join(p.dir, 'redis-data'), 'no');
      const started: WorkerProc[] = [];
      try {
        // A and B each hold a step (a hold folder each); the idle worker watches a queue of its own, so takes none.
        const holdA = path.join(p.dir, 'hold-a');
        const holdB = path.join(p.dir, 'hold-b');
        mkdirSync(holdA);
        mkdirSync(holdB);
        const a = startWorker(p.dir, redis.url, p.cache, { FXFLOW_WORKER_HOLD: holdA });
        const b = startWorker(p.dir, redis.url, p.cache, { FXFLOW_WORKER_HOLD: holdB });
        const idle = startWorker(p.dir, `${redis.url}?queue=idle`, p.cache);
        started.push(a, b, idle);
        await Promise.all([a.line(/ready/), b.line(/ready/), idle.line(/ready/)]);
        const coordinator = spawnFxflow(['run', p.file, '--json', '--jobs', '3', '--executor', 'queue', '--queue', redis.url, '--cache', p.cache], {
          cwd: p.dir,
        });
        const gone = new Promise((resolve) => coordinator.on('exit', resolve));
        await Promise.all([a.line(/^holding /m), b.line(/^holding /m)]);
        coordinator.kill('SIGKILL');
        await gone;
        await redis.stop();
        // Every worker has lost the connection (ioredis is between reconnect attempts: where close used to hang).
        await Promise.all([a, b, idle].map((w) => w.line(/queue error: .*ECONNREFUSED/)));

        idle.child.kill('SIGTERM');
        await idle.exited;
        expect(idle.child.exitCode, idle.out()).toBe(143);
        expect(idle.out()).toContain('is unreachable: stopping without it');
        expect(idle.out()).not.toContain('not reported');

        const heldA = /^holding (\S+)/m.exec(a.out())![1];
        a.child.kill('SIGTERM');
        await a.line(/SIGTERM: finishing the running steps/);
        writeFileSync(path.join(holdA, 'release'), '');
        await a.exited;
        expect(a.child.exitCode, a.out()).toBe(1);
        expect(computedBy(a)).toEqual([heldA]);
        expect(a.out()).toContain(`1 finished step(s) not reported to the queue: ${heldA}`);
        expect(a.out()).not.toMatch(/^\s+at /m);
        // Its output is in the shared cache, for whoever takes the job again.
        const key = /^done \S+ (\w+)/m.exec(a.out())![1];
        expect(readdirSync(p.cache, { recursive: true, encoding: 'utf8' }).some((f) => path.basename(f).startsWith(key))).toBe(true);

        b.child.kill('SIGTERM');
        await b.line(/SIGTERM: finishing the running steps/);
        b.child.kill('SIGTERM');
        await b.exited;
        expect(b.child.exitCode, b.out()).toBe(143);
        expect(b.out()).toContain('stopping now: running steps go back to the queue');
        expect(computedBy(b)).toEqual([]);
      } finally {
        killAll(started);
        await redis.stop();
      }
    },
  );
});
