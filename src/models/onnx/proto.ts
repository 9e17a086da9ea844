/**
 * A minimal ONNX writer: a protobuf encoder for the few messages of onnx.proto / onnx-ml.proto a
 * model file needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto), and a graph builder over it. Field numbers are onnx.proto's (IR version 8).
 * Written by hand so exporting needs neither Python nor a protobuf dependency; the tests read the
 * files back with ONNX Runtime, the reference.
 */

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;
export const DOUBLE = 11;

/** IR version 8 goes with opset 17 (onnx/docs/Versioning.md). */
const IR_VERSION = 8;

class Writer {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = new Uint8Array(Math.max(256, n, this.cur.length * 2));
    this.pos = 0;
  }
  byte(b: number): void {
    this.room(1);
    this.cur[this.pos++] = b;
  }
  /** A varint; negative numbers as 64-bit two's complement (10 bytes), as protobuf's int64 does. */
  varint(v: number | bigint): void {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v >= 0 && v < 2 ** 31 ? v : BigInt.asUintN(64, BigInt(v));
    if (typeof x === 'number') {
      while (x > 0x7f) {
        this.byte((x & 0x7f) | 0x80);
        x >>>= 7;
      }
      this.byte(x);
      return;
    }
    while (x > 0x7fn) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
  }
  finish(): Uint8Array {
    const parts = [...this.chunks, this.cur.subarray(0, this.pos)];
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** One protobuf message being written: fields in any order, each by number. */
class Msg {
  readonly w = new Writer();
  private tag(field: number, wire: number): void {
    this.w.varint(field * 8 + wire);
  }
  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.w.varint(v);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    this.w.varint(b.length);
    this.w.bytes(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Msg): this {
    return this.bytes(field, m.w.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.w.bytes(b);
    return this;
  }
  /** Repeated int64, packed (parsers accept packed for any repeated scalar, proto2 included). */
  packedInts(field: number, vs: ArrayLike<number>): this {
    const inner = new Writer();
    for (let i = 0; i < vs.length; i++) inner.varint(vs[i]);
    return this.bytes(field, inner.finish());
  }
  packedFloats(field: number, vs: ArrayLike<number>): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < vs.length; i++) dv.setFloat32(i * 4, vs[i], true);
    return this.bytes(field, b);
  }
}

/** A constant tensor (an initializer or a tensor attribute). */
export interface Tensor {
  dims: number[];
  type: typeof FLOAT | typeof INT64 | typeof DOUBLE;
  data: ArrayLike<number>;
}

function tensorMsg(t: Tensor, name?: string): Msg {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`ONNX tensor ${name ?? ''}: dims ${t.dims.join('×')} hold ${n} values, got ${t.data.length}`);
  const m = new Msg();
  for (const d of t.dims) m.int(1, d);
  m.int(2, t.type);
  if (name !== undefined) m.str(8, name);
  const size = t.type === FLOAT ? 4 : 8;
  const raw = new Uint8Array(n * size);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    if (t.type === FLOAT) dv.setFloat32(i * 4, t.data[i], true);
    else if (t.type === DOUBLE) dv.setFloat64(i * 8, t.data[i], true);
    else dv.setBigInt64(i * 8, BigInt(t.data[i]), true);
  }
  // raw_data: little-endian values, the compact form every reader accepts.
  return m.bytes(9, raw);
}

/** An attribute value, tagged with its ONNX type (a number alone cannot tell INT from FLOAT). */
export type Attr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: ArrayLike<number> }
  | { floats: ArrayLike<number> }
  | { strings: readonly string[] }
  | { t: Tensor };

function attrMsg(name: string, a: Attr): Msg {
  const m = new Msg().str(1, name);
  // AttributeProto: f 2, i 3, s 4, t 5, floats 7, ints 8, strings 9, type 20.
  if ('i' in a) return m.int(3, a.i).int(20, 2);
  if ('f' in a) return m.float(2, a.f).int(20, 1);
  if ('s' in a) return m.str(4, a.s).int(20, 3);
  if ('ints' in a) return m.packedInts(8, a.ints).int(20, 7);
  if ('floats' in a) return m.packedFloats(7, a.floats).int(20, 6);
  if ('strings' in a) {
    for (const s of a.strings) m.str(9, s);
    return m.int(20, 8);
  }
  return m.msg(5, tensorMsg(a.t)).int(20, 4);
}

/** A graph input or output: a float tensor whose dims are sizes or symbolic names. */
export interface ValueInfo {
  name: string;
  dims: (number | string)[];
  doc?: string;
}

function valueInfoMsg(v: ValueInfo): Msg {
  const shape = new Msg();
  for (const d of v.dims) shape.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
  const tensorType = new Msg().int(1, FLOAT).msg(2, shape);
  const m = new Msg().str(1, v.name).msg(2, new Msg().msg(1, tensorType));
  if (v.doc) m.str(3, v.doc);
  return m;
}

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  domain?: string;
}

/** Builds one graph: constants, nodes with generated value names, inputs and outputs. */
export class GraphBuilder {
  private nodes: Node[] = [];
  private inits: { name: string; t: Tensor }[] = [];
  private n = 0;
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];

  private fresh(hint: string): string {
    return `${hint}_${this.n++}`;
  }
  /** A float32 initializer. */
  f32(hint: string, data: ArrayLike<number>, dims: number[] = [data.length]): string {
    return this.tensor(hint, { dims, type: FLOAT, data });
  }
  /** A float64 initializer. */
  f64(hint: string, data: ArrayLike<number>, dims: number[] = [data.length]): string {
    return this.tensor(hint, { dims, type: DOUBLE, data });
  }
  /** An int64 initializer (shapes, axes, indices). */
  i64(hint: string, data: ArrayLike<number>, dims: number[] = [data.length]): string {
    return this.tensor(hint, { dims, type: INT64, data });
  }
  tensor(hint: string, t: Tensor): string {
    const name = this.fresh(hint);
    this.inits.push({ name, t });
    return name;
  }
  /** Adds a node and returns its output names (`outputs` of them, or the given names). */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: number | string[] = 1, domain?: string): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs;
    this.nodes.push({ op, inputs, outputs: outs, attrs, ...(domain ? { domain } : {}) });
    return outs;
  }
  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, domain?: string): string {
    return this.node(op, inputs, attrs, 1, domain)[0];
  }
  /** Renames the value `from` to the graph output `to` (an Identity node). */
  output(from: string, v: ValueInfo): void {
    this.node('Identity', [from], {}, [v.name]);
    this.outputs.push(v);
  }

  graphMsg(name: string): Msg {
    const g = new Msg();
    this.nodes.forEach((nd, i) => {
      const m = new Msg();
      for (const x of nd.inputs) m.str(1, x);
      for (const x of nd.outputs) m.str(2, x);
      m.str(3, `${nd.op}_${i}`).str(4, nd.op);
      for (const [k, a] of Object.entries(nd.attrs)) m.msg(5, attrMsg(k, a));
      if (nd.domain) m.str(7, nd.domain);
      g.msg(1, m);
    });
    g.str(2, name);
    for (const it of this.inits) g.msg(5, tensorMsg(it.t, it.name));
    for (const v of this.inputs) g.msg(11, valueInfoMsg(v));
    for (const v of this.outputs) g.msg(12, valueInfoMsg(v));
    return g;
  }
}

export interface ModelMeta {
  producerVersion: string;
  doc: string;
  /** Operator sets: domain ('' = ai.onnx) → version. */
  opsets: Record<string, number>;
  props: Record<string, string>;
}

/** The serialised ModelProto of a graph. */
export function encodeModel(g: GraphBuilder, graphName: string, meta: ModelMeta): Uint8Array {
  const m = new Msg().int(1, IR_VERSION).str(2, 'fxflow').str(3, meta.producerVersion).str(6, meta.doc).msg(7, g.graphMsg(graphName));
  for (const [domain, version] of Object.entries(meta.opsets)) m.msg(8, new Msg().str(1, domain).int(2, version));
  for (const [k, v] of Object.entries(meta.props)) m.msg(14, new Msg().str(1, k).str(2, v));
  return m.w.finish();
}
