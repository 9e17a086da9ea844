import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../core/hash.js';

/**
 * Artifacts as content-addressed files: `<root>/artifacts/<2 chars>/<key>`, each written whole or
 * not at all (temporary name, fsync, rename) and read back only if its size and sha256 match what
 * was recorded, with its catalogue entry beside it (`<file>.json`). The local store (./store.ts)
 * keeps its artifacts so, and the shared cache of the queue executor (./queue/cache.ts) uses the
 * same layout and functions, so one folder's files mean the same thing to both.
 */

export const ARTIFACTS_DIR = 'artifacts';
/** Beside an artifact's file: its catalogue entry as JSON, written once its row commits (the cache check of ./cached-run.ts). */
export const SIDECAR_SUFFIX = '.json';
export const TMP_SUFFIX = '.tmp';

/** The file name an artifact is stored under: its key (hex) when it is a plain name, else the key's hash. */
export function artifactName(key: string): string {
  return /^[A-Za-z0-9_-]{2,128}$/.test(key) ? key : sha256(key);
}

/** Where artifact `key` of the store in `dir` is (or would be) stored. */
export function artifactFile(dir: string, key: string): string {
  const name = artifactName(key);
  return path.join(dir, ARTIFACTS_DIR, name.slice(0, 2), name);
}

/**
 * Writes `parts` to `file` whole or not at all: a temporary name in the same folder, fsync, rename.
 * `sync: false` skips the fsync: for a file whose loss in a crash is only a miss (a sidecar written
 * after its fsynced artifact: gone or torn, it no longer stands for the artifact).
 */
export function writeFileAtomic(file: string, parts: readonly Uint8Array[], sync = true): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}${TMP_SUFFIX}`;
  const fd = openSync(tmp, 'w');
  let ok = false;
  try {
    for (const part of parts) {
      for (let o = 0; o < part.byteLength; ) o += writeSync(fd, part, o, part.byteLength - o);
    }
    if (sync) fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) rmSync(tmp, { force: true });
  }
  renameSync(tmp, file);
}
/** An artifact's catalogue row as its sidecar file holds it (`meta` as stored: JSON text). */
export interface SidecarEntry {
  key: string;
  type: string;
  kind: string;
  stepVersion: number;
  bytes: number;
  sha256: string;
  meta: string;
}
/**
 * The sidecar of artifact `key` under `dir` if it names that key and a file of the size it records
 * stands beside it; undefined if either is missing or they disagree. The bytes are not read.
 */
export function readSidecar(dir: string, key: string): SidecarEntry | undefined {
  const file = artifactFile(dir, key);
  try {
    const entry = JSON.parse(readFileSync(`${file}${SIDECAR_SUFFIX}`, 'utf8')) as SidecarEntry;
    return entry.key === key && statSync(file).size === entry.bytes ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the sidecar of the artifact at `file` (after the file itself, so a sidecar stands for a
 * whole file). `sync: false`: not fsynced (see writeFileAtomic).
 */
export function writeSidecar(file: string, entry: SidecarEntry, sync = true): void {
  writeFileAtomic(`${file}${SIDECAR_SUFFIX}`, [Buffer.from(JSON.stringify(entry))], sync);
}

/** An artifact file's bytes if it has `bytes` bytes hashing to `digest`, else undefined (gone or damaged). */
export function readArtifactFile(file: string, bytes: number, digest: string): Uint8Array | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (buf.byteLength !== bytes || sha256(buf) !== digest) return undefined;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
