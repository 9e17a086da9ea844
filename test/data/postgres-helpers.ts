import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { readData, unpack } from '../../src/data/files.js';
import { sharedFile } from '../helpers/ctx.js';

/**
 * A live PostgreSQL server for the `postgres` source's tests: FXFLOW_TEST_PG_URL, else
 * FXFLOW_PG_URL, else postgres://postgres@127.0.0.1:5432/test (what .ci/run starts). Each test
 * file gets its own schema, dropped after.
 */
export const PG_URL = process.env.FXFLOW_TEST_PG_URL || process.env.FXFLOW_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Null when a server answers, else why not (printed as the visible skip message). */
export async function pgUnavailable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function pgClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export function newSchema(): string {
  return `fxflow_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
}

/** HistData lines of one month (e.g. `201902`) from a yearly zip, as written there. */
export async function histdataMonth(zip: string, month: string): Promise<string> {
  const file = sharedFile(zip)!;
  const [part] = unpack(file, await readData(file, path.dirname(file)));
  const lines = Buffer.from(part.bytes)
    .toString('latin1')
    .split('\n')
    .filter((l) => l.startsWith(month));
  return `${lines.join('\n')}\n`;
}

/** Writes the text to a fresh temp file and returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-pg-'));
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** COPY … FROM STDIN of CSV text into a table (columns listed). */
export async function copyIn(c: pg.Client, sql: string, text: string): Promise<void> {
  await pipeline(Readable.from([Buffer.from(text)]), c.query(copyFrom(sql)));
}

/** Float64Arrays equal bit for bit (NaN payloads included). */
export function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
