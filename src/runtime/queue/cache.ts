import { existsSync } from 'node:fs';
import { sha256 } from '../../core/hash.js';
import { artifactFile, readArtifactFile, readSidecar, writeFileAtomic, writeSidecar, type SidecarEntry } from '../artifact-files.js';

/**
 * The shared artifact cache: a folder every machine of a queue run mounts (NFS or similar), with
 * the local store's artifact layout (`artifacts/<2 chars>/<key>` and its `.json` sidecar). An
 * artifact is written atomically (temporary name, fsync, rename), the sidecar after it, so a
 * sidecar stands for a whole file; a read verifies the size and sha256 the sidecar records. Two
 * machines writing the same key write the same bytes (the key is their content's address): the
 * last rename wins, harmlessly. An S3-compatible bucket would be the next backend behind the same
 * three methods (put-if-absent, get-verified, has).
 */
export class ArtifactCache {
  constructor(readonly dir: string) {}

  private entry(key: string): SidecarEntry | undefined {
    return readSidecar(this.dir, key);
  }

  /** Whether `key` is in the cache (its sidecar and a file of the recorded size; the bytes are not read). */
  has(key: string): boolean {
    return this.entry(key) !== undefined;
  }

  /** The artifact's bytes and entry, or undefined if absent or damaged (size or sha256 differ). */
  get(key: string): { bytes: Uint8Array; entry: SidecarEntry; warnings: string[] } | undefined {
    const entry = this.entry(key);
    if (!entry) return undefined;
    const bytes = readArtifactFile(artifactFile(this.dir, key), entry.bytes, entry.sha256);
    if (!bytes) return undefined;
    let warnings: string[] = [];
    try {
      warnings = (JSON.parse(entry.meta) as { warnings?: string[] }).warnings ?? [];
    } catch {
      // An entry without readable meta still stands for its bytes.
    }
    return { bytes, entry, warnings };
  }

  /**
   * Writes artifact `key` unless a whole, verified copy is there already (a damaged one is
   * replaced). `encode` gives its bytes (codec.encodeArtifactParts: hashed and written as they are,
   * never joined) and is called only when they are to be written.
   */
  put(key: string, info: { type: string; kind: string; stepVersion: number; warnings?: string[] }, encode: () => readonly Uint8Array[]): void {
    if (this.get(key)) return;
    const parts = encode();
    const file = artifactFile(this.dir, key);
    writeFileAtomic(file, parts);
    writeSidecar(file, {
      key,
      type: info.type,
      kind: info.kind,
      stepVersion: info.stepVersion,
      bytes: parts.reduce((n, p) => n + p.byteLength, 0),
      sha256: sha256(parts),
      meta: JSON.stringify({ warnings: info.warnings ?? [] }),
    });
  }

  /** Whether the folder exists (a worker or coordinator refuses a cache it cannot see). */
  exists(): boolean {
    return existsSync(this.dir);
  }
}
