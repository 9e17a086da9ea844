import { describe, expect, it } from 'vitest';
import { decodeArtifact, encodeArtifact, encodeArtifactParts } from '../../src/runtime/codec.js';
import { canonicalJson } from '../../src/core/hash.js';
import { flattenParams } from '../../src/runtime/keys.js';

describe('artifact codec', () => {
  it('round-trips typed arrays bit-exactly, NaN, -0 and infinities included', () => {
    const f = new Float64Array([1.5, Number.NaN, -0, Infinity, -Infinity, 1e-308, 0.1 + 0.2]);
    const value = {
      type: 'Features',
      index: new Float64Array([1, 2, 3]),
      columns: { a: f, b: new Float64Array(0) },
      seg: new Uint8Array([0, 1, 2]),
      fold: new Uint16Array([7, 8]),
      n: Number.NaN,
      names: ['x', 'y'],
    };
    const back = decodeArtifact<typeof value>(encodeArtifact(value));
    expect(back.columns.a).toBeInstanceOf(Float64Array);
    const a = back.columns.a;
    expect(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).toEqual(new Uint8Array(f.buffer));
    expect(Object.is(back.columns.a[2], -0)).toBe(true);
    expect(back.seg).toEqual(new Uint8Array([0, 1, 2]));
    expect(back.fold).toBeInstanceOf(Uint16Array);
    expect(back.columns.b.length).toBe(0);
    expect(Number.isNaN(back.n)).toBe(true);
    expect(back.names).toEqual(['x', 'y']);
  });

  it('decodes from a Buffer (a file read, an IPC message) as from a Uint8Array, also at an offset into pooled memory', () => {
    const value = { a: new Float64Array([1.25, -2, 3e-9]), b: new Int32Array([7, -8, 9]) };
    const bytes = encodeArtifact(value);
    const padded = Buffer.alloc(bytes.length + 16);
    padded.set(bytes, 16);
    for (const input of [Buffer.from(bytes), padded.subarray(16)]) {
      const back = decodeArtifact<typeof value>(input);
      expect(Array.from(back.a)).toEqual([1.25, -2, 3e-9]);
      expect(Array.from(back.b)).toEqual([7, -8, 9]);
      // A copy: changing the bytes afterwards does not change the artifact.
      input.fill(0);
      expect(back.a[0]).toBe(1.25);
    }
  });

  it('encodes as parts that view the arrays (no copy), laid out as the format says, and decodes a buffer of its own without a copy', () => {
    const a = new Float64Array([1, 2, 3]).subarray(1, 2);
    const parts = encodeArtifactParts({ a });
    // Worked by hand: "FXA1", the skeleton's length (31), the skeleton, padding to 40, then 2.0.
    const skeleton = '{"a":{"$ta":"f64","o":0,"n":1}}';
    expect(skeleton.length).toBe(31);
    expect(parts.map((p) => p.byteLength)).toEqual([40, 8]);
    expect(Buffer.from(parts[0].subarray(0, 4)).toString('latin1')).toBe('FXA1');
    expect(new DataView(parts[0].buffer).getUint32(4, true)).toBe(31);
    expect(Buffer.from(parts[0].subarray(8, 39)).toString()).toBe(skeleton);
    expect(parts[1].buffer).toBe(a.buffer);
    expect(new Float64Array(parts[1].slice().buffer)[0]).toBe(2);
    expect(Array.from(encodeArtifact({ a }))).toEqual([...parts[0], ...parts[1]]);
    // A buffer of its own (as a file read gives): the arrays view it.
    const own = new Uint8Array(48);
    own.set(parts[0]);
    own.set(parts[1], 40);
    const back = decodeArtifact<{ a: Float64Array }>(own);
    expect(back.a[0]).toBe(2);
    expect(back.a.buffer).toBe(own.buffer);
  });

  it('refuses bytes that are not an artifact', () => {
    expect(() => decodeArtifact(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/bad magic/);
  });
});

describe('canonical params', () => {
  it('is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 1.5 }));
  });

  it('flattens params to readable paths', () => {
    expect(flattenParams({ indicators: [{ rsi: { period: 14 } }], returns: [1, 4] })).toEqual([
      ['indicators[0].rsi.period', 14],
      ['returns[0]', 1],
      ['returns[1]', 4],
    ]);
  });
});
