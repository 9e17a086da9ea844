import { existsSync, rmSync } from 'node:fs';
import { sha256 } from '../../core/hash.js';
import { artifactFile, readArtifactFile, readSidecar, SIDECAR_SUFFIX, writeFileAtomic, writeSidecar, type SidecarEntry } from '../artifact-files.js';

/**
 * The shared artifact cache: a folder every machine of a queue run mounts (NFS or similar), with
 * the local store's artifact layout (`artifacts/<2 chars>/<key>` and its `.json` sidecar). An
 * artifact is written atomically (temporary name, fsync, rename), the sidecar after it, so a
 * sidecar stands for a whole file. Whether a key is there is its sidecar and the file's size;
 * the sha256 the sidecar records is checked when the bytes are read to be used. Two
 * machines writing the same key write the same bytes (the key is their content's address): the
 * last rename wins, harmlessly. An S3-compatible bucket would be the next backend behind the same
 * three methods (put-if-absent, get-verified, has).
 */
export class ArtifactCache {
  constructor(readonly dir: string) {}

  /**
   * Artifact `key`'s entry and warnings if it is in the cache: its sidecar, and a file of the size
   * that records. The bytes are neither read nor hashed (that is for get, by a reader that uses them).
   */
  lookup(key: string): { entry: SidecarEntry; warnings: string[] } | undefined {
    const entry = readSidecar(this.dir, key);
    if (!entry) return undefined;
    let warnings: string[] = [];
    try {
      warnings = (JSON.parse(entry.meta) as { warnings?: string[] }).warnings ?? [];
    } catch {
      // An entry without readable meta still stands for its bytes.
    }
    return { entry, warnings };
  }

  /** Whether `key` is in the cache (see lookup: the bytes are not read). */
  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  /**
   * The artifact's bytes, verified (size and sha256), with its entry; undefined if absent or
   * damaged. A damaged one loses its sidecar, so that it is a miss for `has` too and the next put
   * writes it again.
   */
  get(key: string): { bytes: Uint8Array; entry: SidecarEntry; warnings: string[] } | undefined {
    const found = this.lookup(key);
    if (!found) return undefined;
    const file = artifactFile(this.dir, key);
    const bytes = readArtifactFile(file, found.entry.bytes, found.entry.sha256);
    if (!bytes) {
      rmSync(`${file}${SIDECAR_SUFFIX}`, { force: true });
      return undefined;
    }
    return { bytes, ...found };
  }

  /**
   * Writes artifact `key` unless the cache has it (see has: a copy found damaged on a read has
   * lost its sidecar, and is replaced). `encode` gives its bytes (codec.encodeArtifactParts:
   * hashed and written as they are, never joined) and is called only when they are to be written.
   */
  put(key: string, info: { type: string; kind: string; stepVersion: number; warnings?: string[] }, encode: () => readonly Uint8Array[]): void {
    if (this.has(key)) return;
    const parts = encode();
    const file = artifactFile(this.dir, key);
    writeFileAtomic(file, parts);
    // The artifact is fsynced, its sidecar not (a lost or torn sidecar is a miss): one fsync per
    // artifact instead of two, on the worker's path from a step's end to its job's completion.
    writeSidecar(
      file,
      {
        key,
        type: info.type,
        kind: info.kind,
        stepVersion: info.stepVersion,
        bytes: parts.reduce((n, p) => n + p.byteLength, 0),
        sha256: sha256(parts),
        meta: JSON.stringify({ warnings: info.warnings ?? [] }),
      },
      false,
    );
  }

  /** Whether the folder exists (a worker or coordinator refuses a cache it cannot see). */
  exists(): boolean {
    return existsSync(this.dir);
  }
}
