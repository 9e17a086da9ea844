import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, numbers in JS shortest round-trip form. Two
 * values that mean the same thing give the same string, so they hash to the same cache key.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value));
    if (value === undefined) return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** SHA-256 (hex) of a string, of bytes, or of parts of bytes one after the other (as if joined). */
export function sha256(data: string | Uint8Array | readonly Uint8Array[]): string {
  const h = createHash('sha256');
  if (typeof data === 'string' || data instanceof Uint8Array) h.update(data);
  else for (const part of data) h.update(part);
  return h.digest('hex');
}

/** Hash of a value by its canonical JSON. */
export function hashValue(value: unknown): string {
  return sha256(canonicalJson(value));
}
