import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { SilentProgress } from '../../src/runtime/progress.js';
import { runPlan } from '../../src/runtime/run.js';
import { Store } from '../../src/runtime/store.js';
import { builtinRegistry } from '../../src/steps/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Three independent steps on one slot (`concurrency: 1`), every store write held 50 ms: when does
 * the second step start? A step run elsewhere (a pool worker) frees the slot as soon as its result
 * is back, so the next starts while this thread stores; a step run on this thread keeps its slot
 * until its output is stored.
 */
async function order(elsewhere: boolean): Promise<{ events: string[]; status: string; cached: boolean[] }> {
  const work = mkdtempSync(path.join(tmpdir(), 'fxflow-sched-'));
  dirs.push(work);
  const text =
    'version: 1\nname: s\nsteps:\n  a: { uses: fetch, with: { bars: 300 } }\n  b: { uses: fetch, with: { bars: 301 } }\n  c: { uses: fetch, with: { bars: 302 } }\n';
  const plan = compile(parsePipelineText(text, path.join(work, 'p.yaml')).spec!, builtinRegistry()).plan!;
  const store = await Store.open(path.join(work, '.fxflow'));
  const events: string[] = [];
  const put = store.putArtifact.bind(store);
  store.putArtifact = async (key, info, bytes) => {
    events.push('store');
    await new Promise((r) => setTimeout(r, 50));
    await put(key, info, bytes);
    events.push('stored');
  };
  const result = await runPlan(plan, {
    store,
    progress: new SilentProgress(),
    concurrency: 1,
    execute: (node, inputs, ctx) => {
      events.push(`start ${node.id}`);
      return elsewhere ? Promise.resolve(node.def.run(inputs as never, node.params as never, ctx)) : undefined;
    },
  });
  const again = await runPlan(plan, { store, progress: new SilentProgress() });
  await store.close();
  return { events, status: result.status, cached: again.steps.map((s) => s.cached) };
}

describe('scheduler slots', () => {
  it('a step run elsewhere frees its slot before its output is stored; one run here holds it until stored', async () => {
    const pool = await order(true);
    expect(pool.status).toBe('succeeded');
    expect(pool.events.indexOf('start b')).toBeLessThan(pool.events.indexOf('stored'));
    // Every output was stored all the same: a second run finds all three.
    expect(pool.cached).toEqual([true, true, true]);

    const here = await order(false);
    expect(here.status).toBe('succeeded');
    expect(here.events).toEqual(['start a', 'store', 'stored', 'start b', 'store', 'stored', 'start c', 'store', 'stored']);
    expect(here.cached).toEqual([true, true, true]);
  });
});
