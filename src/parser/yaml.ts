import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic, SourceLocation } from '../core/diagnostics.js';

/**
 * YAML → plain JS value plus a map from JSON pointer to source position, so that every later
 * diagnostic (schema, interpolation, compiler) can point at the user's line and column.
 *
 * Refused on purpose: duplicate keys (a silently overwritten step is a wrong experiment), custom
 * tags (no code or types smuggled through YAML), and alias expansion beyond a small budget (alias
 * bombs). Aliases within the budget are expanded; their positions are the anchor's.
 */

export interface NodePosition {
  /** Offset range of the value. */
  value: [number, number];
  /** Offset range of the key, for mapping entries. */
  key?: [number, number];
}

export class PositionMap {
  private readonly positions = new Map<string, NodePosition>();
  constructor(
    readonly file: string,
    private readonly lineCounter: LineCounter,
  ) {}

  set(pointer: string, pos: NodePosition): void {
    if (!this.positions.has(pointer)) this.positions.set(pointer, pos);
  }

  /** Whether the file itself holds a value at this pointer (not a default filled in later). */
  has(pointer: string): boolean {
    return this.positions.has(pointer);
  }

  /** Location of the value at a JSON pointer; walks up to the nearest known ancestor. */
  valueLoc(pointer: string): SourceLocation {
    return this.locOf(pointer, false);
  }

  /** Location of the key of a mapping entry (falls back to the value). */
  keyLoc(pointer: string): SourceLocation {
    return this.locOf(pointer, true);
  }

  private locOf(pointer: string, preferKey: boolean): SourceLocation {
    let p = pointer;
    for (;;) {
      const pos = this.positions.get(p);
      if (pos) {
        const offset = preferKey && pos.key ? pos.key[0] : pos.value[0];
        return this.offsetLoc(offset);
      }
      if (p === '') return { file: this.file, line: 1, col: 1 };
      p = p.slice(0, p.lastIndexOf('/'));
    }
  }

  offsetLoc(offset: number): SourceLocation {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line: Math.max(1, line), col: Math.max(1, col) };
  }
}

/** RFC 6901 JSON pointer of a path. */
export function toPointer(path: readonly (string | number)[]): string {
  return path.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Readable path for messages: `steps.features.with.indicators[0].rsi.period`. */
export function displayPath(path: readonly (string | number)[] | string): string {
  const parts = typeof path === 'string' ? fromPointer(path) : path.map(String);
  let out = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
/** Budget of nodes an alias may expand to, in all. Generous for real pipelines, fatal for bombs. */
const ALIAS_NODE_BUDGET = 10_000;
const MAX_ERRORS = 50;

export interface LoadedYaml {
  value: unknown;
  positions: PositionMap;
  diagnostics: Diagnostic[];
}

export function loadYaml(text: string, file: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const positions = new PositionMap(file, lineCounter);
  const diagnostics: Diagnostic[] = [];
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true });

  const linesSeen = new Set<number>();
  for (const e of doc.errors) {
    if (diagnostics.length >= MAX_ERRORS) break;
    // One mistake often yields several parser errors on the same line; the first says it best.
    const line = lineCounter.linePos(e.pos[0]).line;
    if (linesSeen.has(line)) continue;
    linesSeen.add(line);
    const firstLine = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push({
      severity: 'error',
      message: `malformed YAML: ${firstLine}`,
      loc: positions.offsetLoc(e.pos[0]),
      hint: yamlHint(e.code),
    });
  }
  if (diagnostics.length > 0) return { value: undefined, positions, diagnostics };

  const walker = new Walker(doc, positions, diagnostics);
  const value = doc.contents ? walker.walk(doc.contents as Node, [], new Set()) : null;
  return { value, positions, diagnostics };
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'MISSING_CHAR':
      return 'a quote or bracket is not closed';
    case 'BAD_INDENT':
      return 'check the indentation: nested keys need more spaces than their parent, and tabs are not allowed';
    case 'MULTIPLE_DOCS':
      return 'a pipeline file holds one YAML document: remove the extra `---`';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key must fit on one line; is a `:` missing or a quote unclosed above?';
    default:
      return undefined;
  }
}

class Walker {
  private aliasNodes = 0;
  private aliasBombReported = false;
  constructor(
    private readonly doc: Document,
    private readonly positions: PositionMap,
    private readonly diagnostics: Diagnostic[],
  ) {}

  private error(message: string, offset: number, hint?: string, path?: (string | number)[]): void {
    if (this.diagnostics.length >= MAX_ERRORS) return;
    this.diagnostics.push({
      severity: 'error',
      message,
      loc: this.positions.offsetLoc(offset),
      hint,
      path: path ? displayPath(path) : undefined,
    });
  }

  walk(node: Node, path: (string | number)[], active: Set<Node>, viaAlias = false, key?: [number, number]): unknown {
    const range = node.range ?? [0, 0, 0];
    const pointer = toPointer(path);
    if (!viaAlias) this.positions.set(pointer, { value: [range[0], range[1]], key });
    else this.positions.set(pointer, { value: [range[0], range[1]], key });

    if (viaAlias && ++this.aliasNodes > ALIAS_NODE_BUDGET) {
      if (!this.aliasBombReported) {
        this.aliasBombReported = true;
        this.error(
          `YAML aliases expand to more than ${ALIAS_NODE_BUDGET} nodes`,
          range[0],
          'this looks like an alias bomb; write the values out or use fewer nested aliases',
        );
      }
      return null;
    }

    if (node.tag && !CORE_TAGS.has(node.tag)) {
      this.error(
        `custom YAML tag \`${node.tag}\` is not allowed`,
        range[0],
        'pipelines hold plain data: remove the tag (quote the value if it should be a string)',
        path,
      );
      return null;
    }

    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) {
        this.error(`unknown YAML alias \`*${node.source}\``, range[0], 'define the anchor `&name` before using `*name`');
        return null;
      }
      if (active.has(target)) {
        this.error(`YAML alias \`*${node.source}\` refers to itself`, range[0]);
        return null;
      }
      return this.walk(target, path, active, true, key);
    }

    if (isScalar(node)) {
      // `1e400` reads as Infinity: say so here, where its text is known (`.inf` is written on purpose).
      if (typeof node.value === 'number' && !Number.isFinite(node.value) && !Number.isNaN(node.value) && !/^[-+]?\.inf$/i.test(node.source ?? '')) {
        this.error(
          `the number \`${node.source}\` is too large to represent (beyond ±1.8e308)`,
          range[0],
          'write a smaller number; `.inf` means infinity where a parameter accepts it',
          path,
        );
        return null;
      }
      return node.value;
    }

    active.add(node);
    try {
      if (isSeq(node)) {
        return node.items.map((item, i) => this.walk(item as Node, [...path, i], active, viaAlias));
      }
      if (isMap(node)) {
        const out: Record<string, unknown> = {};
        const seen = new Map<string, number>();
        for (const pair of node.items) {
          const keyNode = pair.key as Node | null;
          const keyRange = keyNode?.range ?? range;
          let k: unknown = keyNode && isScalar(keyNode) ? keyNode.value : undefined;
          if (k === undefined || k === null || typeof k === 'object') {
            this.error('mapping keys must be plain names', keyRange[0], undefined, path);
            continue;
          }
          k = String(k);
          const ks = k as string;
          const first = seen.get(ks);
          if (first !== undefined) {
            const firstLine = this.positions.offsetLoc(first).line;
            const isStep = path.length === 1 && path[0] === 'steps';
            this.error(
              isStep ? `duplicate step id \`${ks}\`` : `duplicate key \`${ks}\``,
              keyRange[0],
              `\`${ks}\` is already defined at line ${firstLine}; ${isStep ? 'step ids must be unique — rename one' : 'remove or merge one of them'}`,
              [...path, ks],
            );
            continue;
          }
          seen.set(ks, keyRange[0]);
          if (ks === '__proto__') {
            this.error('the key `__proto__` is not allowed', keyRange[0]);
            continue;
          }
          const valueNode = pair.value as Node | null;
          const keyPos: [number, number] = [keyRange[0], keyRange[1]];
          if (valueNode === null) {
            this.positions.set(toPointer([...path, ks]), { value: keyPos, key: keyPos });
            out[ks] = null;
          } else {
            out[ks] = this.walk(valueNode, [...path, ks], active, viaAlias, keyPos);
          }
        }
        return out;
      }
    } finally {
      active.delete(node);
    }
    return null;
  }
}
