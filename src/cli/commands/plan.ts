import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadPlan } from '../../pipeline.js';
import { computeKeys, explainMiss } from '../../runtime/keys.js';
import { lastStepBases } from '../../runtime/history.js';
import { STORE_FILE } from '../../runtime/store.js';
import { toDot, toMermaid } from '../../runtime/graph.js';
import { DEVICE_OPTION, deviceOf, needFile, openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { styleFor, table } from '../format.js';

async function cmdPlan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, format: { type: 'string' }, ...DEVICE_OPTION });
  if (values.help) return printUsage(planCommand, io);
  const format = values.json ? 'json' : (values.format ?? 'text');
  if (!['text', 'json', 'mermaid', 'dot'].includes(format)) throw new UsageError(`--format takes text, json, mermaid or dot, got \`${values.format}\``);
  const plan = await loadPlan(needFile(positionals, 'plan'), undefined, { device: deviceOf(values.device) });
  const keys = await computeKeys(plan);
  const dir = storeDir(values.store);
  const store = existsSync(path.join(dir, STORE_FILE)) ? await openStore(dir, io) : undefined;
  const rows: { id: string; kind: string; inputs: string; key: string | null; state: 'cached' | 'run' | 'unknown'; reason?: string }[] = [];
  const rerun = new Map<string, string>();
  const previous = store ? await lastStepBases(store, plan.spec.name) : undefined;
  const known = [...keys.values()].filter((k) => !k.unknown).map((k) => k.key);
  const hits = store ? await store.artifactInfos(known) : new Map();
  try {
    for (const n of plan.nodes) {
      const k = keys.get(n.id)!;
      if (k.unknown) {
        // A plugin step's key needs its code, which plan never runs: say so rather than guess.
        rows.push({ id: n.id, kind: n.kind, inputs: Object.values(n.inputs).join(', '), key: null, state: 'unknown', reason: k.unknown });
        rerun.set(n.id, k.unknown);
        continue;
      }
      const hit = hits.has(k.key);
      let reason: string | undefined;
      if (!hit) {
        const prev = previous?.get(n.id);
        reason = explainMiss(n, k.basis, prev, rerun);
        rerun.set(n.id, reason);
      }
      rows.push({ id: n.id, kind: n.kind, inputs: Object.values(n.inputs).join(', '), key: k.key, state: hit ? 'cached' : 'run', reason });
    }
  } finally {
    await store?.close();
  }
  if (format === 'json') {
    io.out.write(`${JSON.stringify({ pipeline: plan.spec.name, steps: rows }, null, 2)}\n`);
    return 0;
  }
  if (format === 'mermaid' || format === 'dot') {
    const state = new Map(rows.flatMap((r) => (r.state === 'unknown' ? [] : [[r.id, r.state] as const])));
    io.out.write(format === 'mermaid' ? toMermaid(plan, state) : toDot(plan, state));
    return 0;
  }
  const style = styleFor(io.out);
  io.out.write(
    `${table(
      ['step', 'kind', 'from', 'key', 'state'],
      rows.map((r) => [
        r.id,
        r.kind,
        r.inputs || '—',
        r.key?.slice(0, 12) ?? '?',
        r.state === 'cached' ? 'cached' : `${r.state === 'run' ? 'run' : 'unknown'}: ${r.reason}`,
      ]),
      style,
    )}\n`,
  );
  const n = rows.filter((r) => r.state === 'run').length;
  const unknown = rows.filter((r) => r.state === 'unknown').length;
  io.out.write(
    `\n${n === 0 && !unknown ? 'everything is cached' : `${n} of ${rows.length} steps would run`}${unknown ? `; ${unknown} unknown until run (plugin code)` : ''}\n`,
  );
  return 0;
}

export const planCommand: Command = {
  usage: `Usage: fxflow plan FILE [--format text|json|mermaid|dot] [--json] [--device auto|gpu|cpu] [--store DIR]

Lists the steps in run order with their cache key, and for each step that would run, why:
which param or input changed since the last run of that step. Runs nothing, and never executes
plugin code: a plugin step's key comes from its source (kind, version, params, source hash); one
whose key needs its own code (fingerprint, keyParams, resolve) is shown as unknown.
  --format mermaid|dot   draw the DAG with each step's cache state (paste Mermaid into Markdown;
                         pipe DOT into \`dot -Tsvg\`)
  --json                 the same as --format json
  --device D             plan as \`fxflow run --device D\` would run`,
  run: cmdPlan,
};
