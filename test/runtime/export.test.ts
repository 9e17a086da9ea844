import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportTable, type Table } from '../../src/runtime/export.js';

/**
 * A wide export writes many 1 MiB buffers, each waiting for the stream to drain. An error listener
 * added per wait piled up past Node's limit of 10 and printed MaxListenersExceededWarning.
 */

describe('export of a wide table', () => {
  it('prints no warning, and writes every row and column', async () => {
    const cols = 400;
    const rows = 3000; // ≈ 22 MB of CSV: 20+ writes that each wait for a drain
    const names = ['ts', ...Array.from({ length: cols }, (_, j) => `f${j}`)];
    const ts = Array.from({ length: rows }, (_, i) => new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString());
    const columns: Table['columns'] = [ts];
    for (let j = 0; j < cols; j++) columns.push(Float64Array.from({ length: rows }, (_, i) => Math.sin(i * 7 + j) * 1.2345678901234));
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'fxflow-export-')), 'wide.csv');

    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      await exportTable({ names, columns, rows }, file);
      // process warnings are emitted on a later tick: let those already queued arrive.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);

    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(rows + 1);
    expect(lines[0].split(',')).toHaveLength(cols + 1);
    expect(Number(lines[rows].split(',')[cols])).toBe(Math.sin((rows - 1) * 7 + cols - 1) * 1.2345678901234);
  });

  it('an unwritable destination is an error, not a crash', async () => {
    const file = path.join(tmpdir(), 'fxflow-no-such-dir-x9', 'out.csv');
    const t: Table = { names: ['ts', 'a'], columns: [['2020-01-01T00:00:00.000Z'], Float64Array.of(1)], rows: 1 };
    await expect(exportTable(t, file)).rejects.toThrow(/ENOENT/);
  });
});
