import { parentPort, Worker } from 'node:worker_threads';
import { decodeArtifact, encodeArtifact } from '../codec.js';
import { makeStepContext, type AnyStepDef } from '../../steps/define.js';
import { keepRecent, type TaskInput, type WorkerReply, type WorkerTask } from './protocol.js';

/**
 * A worker (a child process, or a thread) running CPU-heavy steps (see pool.ts). Inputs arrive and the output leaves in
 * the artifact codec's bytes (the same bytes the store holds), so the step sees exactly what it
 * would see on the main thread. It never touches the store.
 */

/**
 * A step kind's definition, imported from its folder (src/steps/<kind>/, the registry's layout),
 * so a kind that declares `worker` in its defineStep needs no edit here. Not the whole registry:
 * importing it took 410–440 ms of each worker's start-up (DuckDB bindings, CSV readers…), the kinds
 * that run in workers 57–59 ms. The pool names them (argv) so they load at start-up.
 */
const defs = new Map<string, Promise<AnyStepDef>>();
function stepDef(kind: string): Promise<AnyStepDef> {
  let d = defs.get(kind);
  if (!d) {
    const refuse = new Error(`step kind ${kind} does not run in a worker (its defineStep declares no \`worker\`)`);
    d = /^[a-z][a-z0-9_]*$/.test(kind)
      ? import(`../../steps/${kind}/index.js`).then((m: { default?: AnyStepDef }) => {
          if (m.default?.kind !== kind || !m.default.worker) throw refuse;
          return m.default;
        })
      : Promise.reject(refuse);
    defs.set(kind, d);
  }
  return d;
}
for (const kind of process.argv.slice(2)) stepDef(kind).catch(() => undefined);

/** The pool's end: the thread's parent port, or the process's IPC channel. */
const port: { postMessage(m: WorkerReply, transfer?: ArrayBuffer[]): void; on(event: 'message', f: (t: WorkerTask) => void): void } = parentPort ?? {
  // A reply to a pool that is gone (EPIPE, channel closed) ends this worker quietly: with no
  // callback Node emits the error, and prints its stack on the user's terminal.
  postMessage: (m) =>
    void process.send!(m, undefined, {}, (e: Error | null) => {
      if (e) process.exit(0);
    }),
  on: (_event, f) => void process.on('message', (m) => f(m as WorkerTask)),
};
// A process worker ends with its pool (the parent closed the channel or died).
// Ctrl-C reaches the whole process group: the pool's owner decides (it cancels and kills us).
if (!parentPort) {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => {});
  // 'disconnect' arrives only between tasks: a step computes synchronously for seconds (a gbm
  // fit), and a SIGKILLed pool left its workers running 20–45 s. A thread watches for the parent
  // to go (this process is re-parented) and kills the process at once.
  const watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, 200);`,
    { eval: true, workerData: process.ppid, stdout: false, stderr: false },
  );
  watchdog.unref();
}

/** The last WORKER_CACHE input artifacts, decoded, oldest first: the pool knows which ones these are. */
const cache: { artifact: number; value: unknown }[] = [];

function input(i: TaskInput): unknown {
  let hit = cache.find((c) => c.artifact === i.artifact);
  if (!hit) {
    if (!i.bytes) throw new Error(`input artifact ${i.artifact} was neither sent nor cached`);
    hit = { artifact: i.artifact, value: decodeArtifact(i.bytes) };
  }
  keepRecent(cache, hit);
  return hit.value;
}

port.on('message', (task: WorkerTask) => {
  void runTask(task);
});

async function runTask(t: WorkerTask): Promise<void> {
  const post = (m: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  try {
    const def = await stepDef(t.kind);
    const inputs = Object.fromEntries(Object.entries(t.inputs).map(([p, i]) => [p, input(i)]));
    const ctx = makeStepContext({
      stepId: t.stepId,
      seed: t.seed,
      pipelineDir: t.pipelineDir,
      log: (message) => post({ id: t.id, type: 'log', message }),
      warn: (message) => post({ id: t.id, type: 'warn', message }),
      progress: (fraction, message) => post({ id: t.id, type: 'progress', fraction, message }),
      workDir: t.workDir,
      threads: t.threads,
    });
    const out = await def.run(inputs as never, t.params as never, ctx);
    const bytes = encodeArtifact(out);
    post({ id: t.id, type: 'done', bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error & { hint?: string };
    post({ id: t.id, type: 'error', name: err.name ?? 'Error', message: err.message ?? String(e), hint: err.hint });
  }
}
