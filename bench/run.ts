/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints one
 * table of fxflow against the peer a user would pick instead, measured in the same run, as ratios.
 * A ratio > 1 means fxflow is faster (peer time / fxflow time).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  /** What was measured, e.g. "load 745k M1 bars". */
  name: string;
  fxflowMs: number;
  peer: string;
  peerMs: number;
  /** Extra facts: memory, throughput, accuracy. */
  note?: string;
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const rows: BenchResult[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { run: () => Promise<BenchResult[]> };
  process.stderr.write(`running ${f}…\n`);
  try {
    rows.push(...(await mod.run()));
  } catch (e) {
    process.stderr.write(`${f} failed: ${(e as Error).message}\n`);
  }
}

const fmt = (ms: number): string => (Number.isFinite(ms) ? (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)) : '—');
const table = [
  ['benchmark', 'fxflow ms', 'peer', 'peer ms', 'ratio (peer/fxflow)', 'note'],
  ...rows.map((r) => [
    r.name,
    fmt(r.fxflowMs),
    r.peer,
    fmt(r.peerMs),
    Number.isFinite(r.peerMs / r.fxflowMs) ? `${(r.peerMs / r.fxflowMs).toFixed(2)}×` : '—',
    r.note ?? '',
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const r of table)
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
