import { existsSync } from 'node:fs';
import path from 'node:path';
import { collectGarbage } from '../../runtime/history.js';
import { STORE_FILE } from '../../runtime/store.js';
import { displayDir, openStore, parse, printUsage, storeDir, UsageError, type Command, type Io } from '../common.js';
import { fmtBytes } from '../../core/format.js';

/** `fxflow gc`: removes artifacts that no kept run references. */

async function cmdGc(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, {
    'keep-last': { type: 'string' },
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return printUsage(gcCommand, io);
  let keepLast: number | undefined;
  if (values['keep-last'] !== undefined) {
    keepLast = Number(values['keep-last']);
    if (!Number.isInteger(keepLast) || keepLast < 0) throw new UsageError(`--keep-last takes a whole number ≥ 0, got \`${values['keep-last']}\``);
  }
  let olderThanMs: number | undefined;
  if (values['older-than'] !== undefined) {
    olderThanMs = parseAge(values['older-than']);
    if (olderThanMs === undefined) throw new UsageError(`--older-than takes an age like 30d, 12h or 2w, got \`${values['older-than']}\``);
  }
  const dir = storeDir(values.store);
  if (!existsSync(path.join(dir, STORE_FILE))) {
    io.out.write(values.json ? '{"removed":[],"bytes":0}\n' : `no store in ${displayDir(dir)}: nothing to collect\n`);
    return 0;
  }
  const store = await openStore(dir, io);
  try {
    const r = await collectGarbage(store, { keepLast, olderThanMs, dryRun: !!values['dry-run'] });
    // Files no catalogue row accounts for (writers or deletions killed midway): never hits, removed here.
    const orphans = values['dry-run'] ? await store.orphanFiles() : await store.removeOrphanFiles();
    const orphanBytes = orphans.reduce((n, o) => n + o.bytes, 0);
    if (values.json) {
      io.out.write(`${JSON.stringify({ dryRun: !!values['dry-run'], ...r, orphanFiles: orphans.length, orphanBytes }, null, 2)}\n`);
      return 0;
    }
    const verb = values['dry-run'] ? 'would remove' : 'removed';
    io.out.write(
      `kept ${r.keptRuns} of ${r.runs} runs · ${verb} ${r.removed.length} of ${r.artifacts} artifacts (${fmtBytes(r.bytes)})` +
        `${r.removed.length ? `: ${summarize(r.removed)}` : ''}\n`,
    );
    if (orphans.length) io.out.write(`${verb} ${orphans.length} files left by interrupted writes (${fmtBytes(orphanBytes)})\n`);
  } finally {
    await store.close();
  }
  return 0;
}

/** `30d`, `12h`, `2w`, `90m`, `45s` → milliseconds; undefined if malformed. */
export function parseAge(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

function summarize(removed: { kind: string }[]): string {
  const by = new Map<string, number>();
  for (const r of removed) by.set(r.kind, (by.get(r.kind) ?? 0) + 1);
  return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
}

export const gcCommand: Command = {
  usage: `Usage: fxflow gc [--keep-last N] [--older-than AGE] [--dry-run] [--json] [--store DIR]

Keeps the runs among the N newest (--keep-last) or started within AGE (--older-than 30d; s, m, h,
d, w); with neither option every run is kept and only artifacts no run references are removed.
Every artifact a kept run used (computed or from cache) stays. Run history is never removed.`,
  run: cmdGc,
};
