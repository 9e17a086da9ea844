import { describe, it, expect, beforeAll } from 'vitest';
import { RunError } from '../../src/core/diagnostics.js';
import type { DataPart } from '../../src/data/files.js';
import { loadParts, loadPartsAsync, readParts, readPartsAsync, type LoadOptions } from '../../src/data/load.js';
import { MIN_PARALLEL_BYTES, warmParseWorkers } from '../../src/data/parallel.js';
import { policyOf } from '../../src/data/quality.js';
import { parseZone } from '../../src/data/tz.js';

const enc = new TextEncoder();
const part = (name: string, text: string): DataPart => ({ name, bytes: enc.encode(text) });

/** HistData M1 rows from a UTC-ish start (minutes), with a few zero and repeated rows. */
function histdata(startMin: number, n: number, seed: number): string {
  const rows: string[] = [];
  let p = 1.1 + seed / 100;
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(2019, 0, 1) + (startMin + i) * 60_000);
    const ts = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')} ${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}00`;
    p += (((i * 7919 + seed * 104729) % 201) - 100) * 1e-6;
    const o = p.toFixed(5);
    const h = (p + 0.0003).toFixed(5);
    const l = (p - 0.0002).toFixed(5);
    const c = (p + 0.0001).toFixed(5);
    rows.push(i % 97 === 5 ? `${ts};0;0;0;0;0` : `${ts};${o};${h};${l};${c};${i % 13}`);
    // A repeated minute now and then (duplicates, across the policy's keep-last).
    if (i % 211 === 7) rows.push(`${ts};${c};${h};${l};${o};1`);
  }
  return rows.join('\r\n') + '\r\n';
}

const opts = (zone = 'UTC'): LoadOptions => ({
  read: { format: 'histdata' },
  zone: parseZone(zone),
  policy: policyOf({
    zero_rows: 'drop',
    nonpositive: 'error',
    ohlc: 'warn',
    backwards: 'sort',
    duplicates: 'keep-last',
    gaps: 'warn',
    clock: 'warn',
    max_gap: '1h',
  }),
  timeframeMs: 60_000,
  dayClose: 'ny17',
});

// Not in time order as given (c before a), overlapping (b's start repeats a's end), a blank line.
const PARTS = (): DataPart[] => [part('c.csv', histdata(20_000, 3000, 3)), part('a.csv', histdata(0, 5000, 1) + '\n'), part('b.csv', histdata(4990, 6000, 2))];

function bytesOf(a: Float64Array | Int32Array | Uint16Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

let workers = 0;
beforeAll(async () => {
  workers = await warmParseWorkers(1);
});

describe('parallel parse of several files', () => {
  it('starts a parse worker from the TypeScript sources', () => {
    expect(workers).toBe(1);
  });

  it('gives bit-identical raw bars, files and lines to the serial reader', async () => {
    for (const zone of ['UTC', 'Europe/Berlin']) {
      const serial = readParts(PARTS(), opts(zone).read, opts(zone).zone);
      const par = await readPartsAsync(PARTS(), opts(zone).read, opts(zone).zone, 'always');
      expect(par.workerParts).toBeGreaterThan(0);
      expect(par.detected).toEqual(serial.detected);
      expect(par.raw.n).toBe(serial.raw.n);
      expect(par.raw.files).toEqual(serial.raw.files);
      const n = serial.raw.n;
      for (const k of ['t', 'open', 'high', 'low', 'close', 'volume', 'line', 'file'] as const) {
        expect(bytesOf(par.raw[k].subarray(0, n)).equals(bytesOf(serial.raw[k].subarray(0, n))), k).toBe(true);
      }
    }
  });

  it('gives bit-identical candles and identical quality notes', async () => {
    const serial = loadParts(PARTS(), opts());
    const par = await loadPartsAsync(PARTS(), opts(), 'always');
    expect(serial.notes.length).toBeGreaterThan(0);
    expect(par.notes).toEqual(serial.notes);
    expect(par.detected).toEqual(serial.detected);
    expect(par.rowsRead).toBe(serial.rowsRead);
    for (const k of ['index', 'open', 'high', 'low', 'close', 'volume'] as const) {
      expect(bytesOf(par.bars[k]).equals(bytesOf(serial.bars[k])), k).toBe(true);
    }
  });

  it("leaves the caller's bytes intact (Buffers, as read from disk)", async () => {
    const parts = PARTS().map((p) => ({ name: p.name, bytes: Buffer.from(p.bytes) }));
    const copies = parts.map((p) => Buffer.from(p.bytes));
    const first = await readPartsAsync(parts, opts().read, opts().zone, 'always');
    expect(first.workerParts).toBeGreaterThan(0);
    parts.forEach((p, k) => expect(p.bytes.equals(copies[k])).toBe(true));
    const again = await readPartsAsync(parts, opts().read, opts().zone, 'always');
    expect(again.raw.n).toBe(first.raw.n);
  });

  it('keeps small inputs on the main thread', async () => {
    const small = [part('a.csv', histdata(0, 50, 1)), part('b.csv', histdata(50, 50, 2))];
    expect(small.reduce((s, p) => s + p.bytes.length, 0)).toBeLessThan(MIN_PARALLEL_BYTES);
    expect((await readPartsAsync(small, opts().read, opts().zone)).workerParts).toBe(0);
    expect((await readPartsAsync(small, opts().read, opts().zone, 'never')).workerParts).toBe(0);
  });

  async function errorOf(f: () => unknown): Promise<RunError> {
    try {
      await f();
    } catch (e) {
      return e as RunError;
    }
    throw new Error('expected an error');
  }

  it('reports a bad row in the second file with its file:line, as the serial reader does', async () => {
    const bad = (): DataPart[] => {
      const lines = histdata(5000, 4000, 2).split('\r\n');
      lines[1233] = lines[1233].replace(/;[0-9.]+;/, ';1.1x2;');
      return [part('a.csv', histdata(0, 5000, 1)), part('b.csv', lines.join('\r\n'))];
    };
    const serial = await errorOf(() => loadParts(bad(), opts()));
    const par = await errorOf(() => loadPartsAsync(bad(), opts(), 'always'));
    expect(serial).toBeInstanceOf(RunError);
    expect(par).toBeInstanceOf(RunError);
    expect(serial.message).toMatch(/^b\.csv:1234: cannot read open "1\.1x2"/);
    expect(par.message).toBe(serial.message);
    expect(par.hint).toBe(serial.hint);
    expect(par.loc).toEqual(serial.loc);
  });

  it('reports the first bad file in order when a worker and the main thread both fail', async () => {
    const bad = (): DataPart[] => [
      part('a.csv', histdata(0, 3000, 1).replace(/\r\n(\d{8}) (\d{6});/, '\r\n$1T$2;')),
      part('b.csv', histdata(3000, 3000, 2).replace(/;\d+\r\n$/, ';x\r\n')),
    ];
    const serial = await errorOf(() => loadParts(bad(), opts()));
    const par = await errorOf(() => loadPartsAsync(bad(), opts(), 'always'));
    expect(serial.message).toMatch(/^a\.csv:2: cannot read the timestamp/);
    expect(par.message).toBe(serial.message);
    expect(par.loc).toEqual(serial.loc);
  });
});
