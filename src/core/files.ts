import type { Stats } from 'node:fs';

/**
 * Files the user names (pipelines, data, plugins) must be regular files: reading a named pipe
 * blocks until a writer comes, and a device such as /dev/zero never ends.
 */

/** What a non-regular file is, for messages ("not a regular file (a named pipe)"). */
export function specialKind(st: Pick<Stats, 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isDirectory'>): string {
  if (st.isFIFO()) return 'named pipe';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  if (st.isDirectory()) return 'directory';
  return 'special file';
}
