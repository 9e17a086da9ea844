import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ArtifactCache } from '../../src/runtime/queue/cache.js';
import { parseQueueUrl, queueSettings, redactUrl } from '../../src/runtime/queue/connection.js';

/** The shared artifact cache (layout, checksum-verified reads) and the queue URL's parsing and redaction. */

const KEY = 'a1b2c3d4e5f6';
const info = { type: 'Model', kind: 'train', stepVersion: 3, warnings: ['w1'] };

describe('ArtifactCache', () => {
  it('stores by key in the local store’s layout, with a sidecar holding size and sha256', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-cache-'));
    const cache = new ArtifactCache(dir);
    const bytes = Uint8Array.of(1, 2, 3, 4, 5);
    expect(cache.has(KEY)).toBe(false);
    cache.put(KEY, info, () => [bytes]);
    // artifacts/<first 2 chars>/<key>, as the store writes its own (hand-written path, not the code's).
    const file = path.join(dir, 'artifacts', 'a1', KEY);
    expect([...readFileSync(file)]).toEqual([1, 2, 3, 4, 5]);
    const side = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { bytes: number; sha256: string; key: string };
    expect(side).toMatchObject({ key: KEY, bytes: 5, sha256: createHash('sha256').update(bytes).digest('hex') });
    const got = cache.get(KEY)!;
    expect([...got.bytes]).toEqual([1, 2, 3, 4, 5]);
    expect(got.warnings).toEqual(['w1']);
  });

  it('a damaged or truncated file is a miss, never wrong bytes, and is written again', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-cache-'));
    const cache = new ArtifactCache(dir);
    cache.put(KEY, info, () => [Uint8Array.of(1, 2, 3, 4, 5)]);
    const file = path.join(dir, 'artifacts', 'a1', KEY);
    writeFileSync(file, Uint8Array.of(1, 2, 3, 4, 6));
    // Presence is the sidecar and the size (the bytes are not read): checked when they are read.
    expect(cache.has(KEY)).toBe(true);
    expect(cache.get(KEY)).toBeUndefined();
    // The damaged copy has lost its sidecar: a miss for has too, so the next put writes it again.
    expect(cache.has(KEY)).toBe(false);
    cache.put(KEY, info, () => [Uint8Array.of(1, 2, 3, 4, 5)]);
    expect([...cache.get(KEY)!.bytes]).toEqual([1, 2, 3, 4, 5]);
    truncateSync(file, 2);
    expect(cache.has(KEY)).toBe(false);
    // A rewrite (another worker) restores it.
    cache.put(KEY, info, () => [Uint8Array.of(1, 2, 3, 4, 5)]);
    expect([...cache.get(KEY)!.bytes]).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('queue URL', () => {
  it('hides user and password, keeps host, port and database', () => {
    expect(redactUrl('redis://user:pa%40ss@h:6380/2')).toBe('redis://***@h:6380/2');
    expect(redactUrl('redis://h:6379/0')).toBe('redis://h:6379/0');
    const t = parseQueueUrl('redis://user:pa%40ss@h:6380/2?queue=q1&prefix=p');
    expect(t.display).toBe('redis://***@h:6380/2 (queue q1)');
    expect(t.connection).toMatchObject({ host: 'h', port: 6380, db: 2, username: 'user', password: 'pa@ss' });
    expect(t.name).toBe('q1');
    expect(t.prefix).toBe('p');
  });

  it('rediss:// turns TLS on; other schemes and bad databases are refused with a hint', () => {
    expect(parseQueueUrl('rediss://:pw@cache.example:6380').connection).toMatchObject({ tls: { servername: 'cache.example' }, port: 6380, db: 0 });
    expect(() => parseQueueUrl('http://h:6379')).toThrow(/not a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseQueueUrl('redis://u:secret@h/x')).toThrow(/database `x`/);
    try {
      parseQueueUrl('redis://u:secret@h/x');
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
  });

  it('flags win over FXFLOW_QUEUE / FXFLOW_CACHE; both are required', () => {
    const env = { FXFLOW_QUEUE: 'redis://env-host:6379/0', FXFLOW_CACHE: '/tmp/env-cache' };
    expect(queueSettings({}, env).target.display).toBe('redis://env-host:6379/0');
    expect(queueSettings({ queue: 'redis://flag:6379/1', cache: '/tmp/c' }, env)).toMatchObject({
      cacheDir: '/tmp/c',
      target: { display: 'redis://flag:6379/1' },
    });
    expect(() => queueSettings({ cache: '/tmp/c' }, {})).toThrow(/no queue named/);
    expect(() => queueSettings({ queue: 'redis://h' }, {})).toThrow(/no shared artifact cache/);
  });
});
