import { existsSync } from 'node:fs';
import path from 'node:path';
import { RunError } from '../../core/diagnostics.js';
import { paramChanges, resolveRun, RUN_REF_HELP, runMetrics, runParams, runSteps } from '../../runtime/history.js';
import { STORE_FILE } from '../../runtime/store.js';
import { openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtNum, styleFor, table } from '../format.js';

/** `fxflow diff A B`: what changed between two runs (params with YAML paths), what it did to the metrics, what was recomputed. */

/** Metrics rows shown on a terminal; a sweep has many. */
const MAX_ROWS = 40;

async function cmdDiff(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) return printUsage(diffCommand, io);
  if (positionals.length !== 2) throw new UsageError('`fxflow diff` needs two runs, e.g. `fxflow diff latest~1 latest`');
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) throw new RunError(`no store in ${dir}`, { hint: 'run a pipeline first, or pass `--store DIR`' });
  const store = await openStore(dir, io);
  try {
    const a = await resolveRun(store, positionals[0]);
    const b = await resolveRun(store, positionals[1]);
    const params = paramChanges(await runParams(store, a.id), await runParams(store, b.id));
    const ma = await runMetrics(store, a.id);
    const mb = await runMetrics(store, b.id);
    const metrics = [...new Set([...ma.keys(), ...mb.keys()])].map((name) => {
      const va = ma.get(name) ?? null;
      const vb = mb.get(name) ?? null;
      return { name, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
    });
    const sa = await runSteps(store, a.id);
    const sb = await runSteps(store, b.id);
    const inA = new Set(sa.map((s) => s.nodeId));
    const inB = new Set(sb.map((s) => s.nodeId));
    const keyA = new Map(sa.map((s) => [s.nodeId, s.key]));
    const steps = {
      recomputed: sb.filter((s) => s.status === 'ok' && !s.cached).map((s) => s.nodeId),
      cached: sb.filter((s) => s.cached).map((s) => s.nodeId),
      /** Steps whose cache key differs between the runs (their params, inputs or data changed). */
      changed: sb.filter((s) => keyA.has(s.nodeId) && keyA.get(s.nodeId) !== s.key).map((s) => s.nodeId),
      onlyInA: sa.filter((s) => !inB.has(s.nodeId)).map((s) => s.nodeId),
      onlyInB: sb.filter((s) => !inA.has(s.nodeId)).map((s) => s.nodeId),
    };
    if (values.json) {
      const run = (r: typeof a) => ({ id: r.id, pipeline: r.pipeline, status: r.status, startedAt: r.startedAt, gitCommit: r.gitCommit, gitDirty: r.gitDirty });
      io.out.write(`${JSON.stringify({ a: run(a), b: run(b), params, metrics, steps }, null, 2)}\n`);
      return 0;
    }
    const style = styleFor(io.out);
    io.out.write(`${style.bold('diff')} ${a.id} (${a.pipeline}) → ${b.id} (${b.pipeline})\n`);
    if (a.gitCommit !== b.gitCommit) io.out.write(`git ${a.gitCommit?.slice(0, 10) ?? '—'} → ${b.gitCommit?.slice(0, 10) ?? '—'}\n`);
    io.out.write(`\n${style.bold('params')}\n`);
    if (!params.length) io.out.write('no param differs\n');
    else {
      // In a sweep the same edit shows in every node of the step: one row per edit, with its nodes counted.
      const groups = new Map<string, { yamlPath: string; from: unknown; to: unknown; nodes: string[] }>();
      for (const c of params) {
        const k = JSON.stringify([c.yamlPath, c.from, c.to]);
        const g = groups.get(k) ?? { yamlPath: c.yamlPath, from: c.from, to: c.to, nodes: [] };
        g.nodes.push(c.step);
        groups.set(k, g);
      }
      const rows = [...groups.values()].map((g) => [
        g.yamlPath,
        JSON.stringify(g.from) ?? '(unset)',
        JSON.stringify(g.to) ?? '(unset)',
        g.nodes.length === 1 ? g.nodes[0] : `${g.nodes.length} nodes`,
      ]);
      io.out.write(`${table(['yaml path', 'A', 'B', 'in'], rows, style)}\n`);
    }
    // Object.is: a NaN metric in both runs is equal, not changed.
    const differing = metrics.filter((m) => !Object.is(m.a, m.b));
    io.out.write(`\n${style.bold('metrics')}\n`);
    if (differing.length) {
      io.out.write(
        `${table(
          ['metric', 'A', 'B', 'delta'],
          differing.slice(0, MAX_ROWS).map((m) => [m.name, fmtNum(m.a), fmtNum(m.b), m.delta === null ? '—' : `${m.delta > 0 ? '+' : ''}${fmtNum(m.delta)}`]),
          style,
        )}\n`,
      );
    }
    if (differing.length > MAX_ROWS) io.out.write(`… ${differing.length - MAX_ROWS} more differ (--json lists all)\n`);
    io.out.write(
      `${differing.length ? '' : 'no metric differs · '}${metrics.length - differing.length} metric${metrics.length - differing.length === 1 ? '' : 's'} equal\n`,
    );
    io.out.write(`\n${style.bold('steps')}\n`);
    io.out.write(`recomputed in B: ${steps.recomputed.join(', ') || 'none'}\n`);
    io.out.write(`cached in B: ${steps.cached.join(', ') || 'none'}\n`);
    if (steps.onlyInA.length) io.out.write(`only in A: ${steps.onlyInA.join(', ')}\n`);
    if (steps.onlyInB.length) io.out.write(`only in B: ${steps.onlyInB.join(', ')}\n`);
  } finally {
    await store.close();
  }
  return 0;
}

export const diffCommand: Command = {
  usage: `Usage: fxflow diff RUN_A RUN_B [--json] [--store DIR]

Params that differ (resolved values, with their YAML path), metrics side by side with deltas
(only those that differ; --json lists all), and which steps run B recomputed.
A run is ${RUN_REF_HELP}.`,
  run: cmdDiff,
};
