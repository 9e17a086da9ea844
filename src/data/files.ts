import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { RunError, type SourceLocation } from '../core/diagnostics.js';
import { specialKind } from '../core/files.js';

/**
 * Data files as bytes: plain files, `.gz` (gunzip) and `.zip` (our own small central-directory
 * reader plus node:zlib's raw inflate; stored and deflated entries, CRC-checked). `path` may be a
 * glob (`*`, `?`, `[…]` within a path segment, no `**`), expanded in name order.
 */

export interface DataPart {
  /** Name for messages: the file, or `archive.zip:entry.csv`. */
  name: string;
  bytes: Uint8Array;
}

export function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

function globRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = seg.indexOf(']', i + 1);
      if (j < 0) re += '\\[';
      else {
        re += `[${seg
          .slice(i + 1, j)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands a glob of an absolute path into the matching files, sorted by path. */
export async function expandGlob(abs: string): Promise<string[]> {
  const parsed = path.parse(abs);
  const segs = abs
    .slice(parsed.root.length)
    .split(path.sep)
    .filter((s) => s !== '');
  let bases = [parsed.root];
  for (let k = 0; k < segs.length; k++) {
    const seg = segs[k];
    const last = k === segs.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!hasGlob(seg)) {
        next.push(path.join(base, seg));
        continue;
      }
      if (seg.includes('**'))
        throw new RunError(`\`**\` is not supported in data paths: ${abs}`, { hint: 'use one `*` per folder level, e.g. data/*/EURUSD_*.zip' });
      const re = globRegex(seg);
      let entries;
      try {
        entries = await readdir(base, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!re.test(e.name)) continue;
        if (last ? e.isFile() || e.isSymbolicLink() : e.isDirectory() || e.isSymbolicLink()) next.push(path.join(base, e.name));
      }
    }
    bases = next;
  }
  const files: string[] = [];
  for (const f of bases) {
    try {
      if ((await stat(f)).isFile()) files.push(f);
    } catch {
      /* a dangling match */
    }
  }
  return files.sort();
}

/**
 * The files a `path` (one, a list, or globs) names, resolved and expanded; errors if any is missing
 * or is not a regular file. `locate(i)` gives where the i-th path is written, for the error.
 */
export async function resolveDataPaths(
  paths: string[],
  resolve: (p: string) => string,
  pipelineDir: string,
  locate?: (i: number) => SourceLocation | undefined,
): Promise<string[]> {
  const out: string[] = [];
  for (const [i, p] of paths.entries()) {
    const abs = resolve(p);
    if (hasGlob(p)) {
      const found = await expandGlob(abs);
      if (found.length === 0)
        throw new RunError(`no data file matches ${abs}`, {
          hint: `paths are relative to the pipeline file (${pipelineDir}); globs use *, ? and […]`,
          loc: locate?.(i),
        });
      out.push(...found);
    } else {
      await checkRegular(abs, pipelineDir, locate?.(i));
      out.push(abs);
    }
  }
  return [...new Set(out)];
}

/**
 * Refuses what is not a regular file before it is read: a named pipe blocks until a writer comes
 * and /dev/zero never ends (plan and run hung, growing to GBs).
 */
async function checkRegular(abs: string, pipelineDir: string, loc?: SourceLocation): Promise<void> {
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new RunError(`data file not found: ${abs}`, { hint: `paths are relative to the pipeline file (${pipelineDir})`, loc });
    throw new RunError(`cannot read ${abs}: ${(e as Error).message}`, { cause: e, loc });
  }
  if (st.isDirectory())
    throw new RunError(`data path is a directory, not a file: ${abs}`, { hint: 'point `path` at a data file, or use a glob such as data/*.csv', loc });
  if (!st.isFile())
    throw new RunError(`data path is not a regular file (a ${specialKind(st)}): ${abs}`, {
      hint: 'point `path` at a data file on disk; copy a stream to a file first',
      loc,
    });
}

/** Reads a file, with the fetch step's messages for missing files, folders and special files. */
export async function readData(abs: string, pipelineDir: string): Promise<Buffer> {
  await checkRegular(abs, pipelineDir);
  try {
    return await readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new RunError(`data file not found: ${abs}`, { hint: `paths are relative to the pipeline file (${pipelineDir})` });
    if (code === 'EISDIR')
      throw new RunError(`data path is a directory, not a file: ${abs}`, { hint: 'point `path` at a data file, or use a glob such as data/*.csv' });
    throw new RunError(`cannot read ${abs}: ${(e as Error).message}`, { cause: e });
  }
}

/** The data in a file's bytes: itself, its gunzipped content, or the data entries of a zip. */
export function unpack(abs: string, buf: Buffer): DataPart[] {
  const name = path.basename(abs);
  const lower = name.toLowerCase();
  if (lower.endsWith('.gz') || (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      // ISIZE (the last 4 bytes: the size mod 2³²) sizes the output: see outputChunk.
      return [{ name, bytes: zlib.gunzipSync(buf, { chunkSize: outputChunk(buf.length >= 4 ? buf.readUInt32LE(buf.length - 4) : 0) }) }];
    } catch (e) {
      throw new RunError(`${abs} is not a readable gzip file: ${(e as Error).message}`, { hint: 'check that the file is complete' });
    }
  }
  if (lower.endsWith('.zip') || (buf.length > 4 && buf.readUInt32LE(0) === 0x04034b50)) return readZip(abs, buf);
  return [{ name, bytes: buf }];
}

/**
 * zlib's output chunk for data of `size` bytes, as its header states: the whole of it in one chunk,
 * so that zlib returns that chunk instead of concatenating 16 KiB ones into a copy (half the time
 * and memory touched for a 20 MB CSV). Only a hint: a wrong size still inflates correctly (in
 * chunks), and the size is checked afterwards.
 */
function outputChunk(size: number): number {
  return Math.max(zlib.constants.Z_MIN_CHUNK, Math.min(size, 1 << 30) + 1);
}

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compSize: number;
  size: number;
  localOffset: number;
}

/** Entries of a zip holding data: the `.csv` files, or every file when there is none. */
export function readZip(abs: string, buf: Buffer): DataPart[] {
  const bad = (why: string) =>
    new RunError(`${abs} is not a readable zip file: ${why}`, { hint: 'check that the file is complete, or unzip it and point `path` at the CSV' });
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw bad('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw bad('damaged central directory');
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    entries.push({
      method: buf.readUInt16LE(p + 10),
      crc: buf.readUInt32LE(p + 16),
      compSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  const files = entries.filter((e) => !e.name.endsWith('/'));
  const csvs = files.filter((e) => /\.(csv|tsv)$/i.test(e.name));
  const chosen = (csvs.length ? csvs : files).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (chosen.length === 0) throw bad('it holds no files');
  const base = path.basename(abs);
  return chosen.map((e) => {
    const lp = e.localOffset;
    if (lp + 30 > buf.length || buf.readUInt32LE(lp) !== 0x04034b50) throw bad(`damaged local header of ${e.name}`);
    const start = lp + 30 + buf.readUInt16LE(lp + 26) + buf.readUInt16LE(lp + 28);
    const raw = buf.subarray(start, start + e.compSize);
    let bytes: Buffer;
    if (e.method === 0) bytes = raw;
    else if (e.method === 8) {
      try {
        bytes = zlib.inflateRawSync(raw, { chunkSize: outputChunk(e.size) });
      } catch (err) {
        throw bad(`cannot inflate ${e.name}: ${(err as Error).message}`);
      }
    } else throw bad(`${e.name} uses compression method ${e.method} (only stored and deflate are supported)`);
    if (bytes.length !== e.size) throw bad(`${e.name} inflates to ${bytes.length} bytes, expected ${e.size}`);
    const crc32 = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
    if (crc32 && crc32(bytes) >>> 0 !== e.crc >>> 0) throw bad(`${e.name} fails its CRC check`);
    return { name: `${base}:${e.name}`, bytes };
  });
}
