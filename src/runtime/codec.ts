/**
 * Artifact ⇄ bytes, for any artifact type: a JSON skeleton in which each typed array is replaced by
 * a reference into a binary section that holds the arrays' raw bytes, 8-byte aligned. No per-type
 * code, no per-element work: a 40-column feature frame round-trips at memory speed, bit-exact
 * (NaN payloads and -0 included).
 *
 * Layout: magic "FXA1" | u32 json length | json (utf8) | padding to 8 | array bytes…
 */

const MAGIC = 0x31415846; // "FXA1" little-endian

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

const CTORS = {
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
  u32: Uint32Array,
  i16: Int16Array,
  u16: Uint16Array,
  i8: Int8Array,
  u8: Uint8Array,
} as const;
type TagName = keyof typeof CTORS;

function tagOf(a: TypedArray): TagName | undefined {
  for (const [tag, C] of Object.entries(CTORS)) if (a instanceof C && a.constructor === C) return tag as TagName;
  return undefined;
}

interface ArrayRef {
  $ta: TagName;
  /** Byte offset in the binary section. */
  o: number;
  /** Element count. */
  n: number;
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * The artifact's bytes as parts to be written one after the other: the header (magic, skeleton,
 * padding), then each array's own bytes (a view, not a copy) with its padding. The store hashes
 * and writes these without joining them into one buffer.
 */
export function encodeArtifactParts(value: unknown): Uint8Array[] {
  const arrays: TypedArray[] = [];
  let offset = 0;
  const skeleton = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as TypedArray;
      const tag = tagOf(a);
      if (!tag) throw new Error(`cannot store a ${a.constructor.name}`);
      const ref: ArrayRef = { $ta: tag, o: offset, n: a.length };
      arrays.push(a);
      offset = align8(offset + a.byteLength);
      return ref;
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  });
  const json = new TextEncoder().encode(skeleton);
  const head = new Uint8Array(align8(8 + json.length));
  const dv = new DataView(head.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, json.length, true);
  head.set(json, 8);
  const parts: Uint8Array[] = [head];
  const zeros = new Uint8Array(8);
  for (const a of arrays) {
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const pad = align8(a.byteLength) - a.byteLength;
    if (pad) parts.push(zeros.subarray(0, pad));
  }
  return parts;
}

export function encodeArtifact(value: unknown): Uint8Array {
  const parts = encodeArtifactParts(value);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * The artifact in `bytes`. Its typed arrays are views into `bytes` (no copy) when `bytes` is the
 * whole of its ArrayBuffer — a file read into a buffer of its own, as the store does: the arrays
 * then keep that buffer alive, and nothing else writes into it. Otherwise (a slice of a larger
 * buffer, e.g. a pooled Buffer, whose rest another owner may reuse) each array is copied.
 */
export function decodeArtifact<T = unknown>(bytes: Uint8Array): T {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || dv.getUint32(0, true) !== MAGIC) throw new Error('not an fxflow artifact (bad magic)');
  const len = dv.getUint32(4, true);
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + len));
  const head = align8(8 + len);
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer);
  return JSON.parse(json, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object') {
      const r = v as Partial<ArrayRef> & { $num?: string };
      if (r.$ta !== undefined && r.o !== undefined && r.n !== undefined) {
        const C = CTORS[r.$ta];
        const start = head + r.o;
        const end = start + r.n * C.BYTES_PER_ELEMENT;
        if (end > bytes.byteLength) throw new Error('not an fxflow artifact (array past its end)');
        // Offsets are 8-aligned from the start of `bytes`, which is offset 0 of its buffer.
        if (owned) return new C(bytes.buffer, start, r.n);
        // Uint8Array's slice, which copies: a Buffer's own slice is a view (reading the array from
        // the start of its pooled memory would give another array's bytes).
        const slice = Uint8Array.prototype.slice.call(bytes, start, end);
        return new C(slice.buffer, 0, r.n);
      }
      if (r.$num !== undefined && Object.keys(r).length === 1) return Number(r.$num);
    }
    return v;
  }) as T;
}
