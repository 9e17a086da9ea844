import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plan } from '../compiler/index.js';
import { sha256 } from '../core/hash.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from './artifact-files.js';
import type { KeyBasis, NodeKey } from './keys.js';

/**
 * The memo of an unchanged pipeline (issue 18): what `fxflow run` needs of a plan to decide
 * "every step is a hit" and record the run (./cached-run.ts) — step ids, kinds, output types,
 * keys and their bases — kept in `<store>/memo/` from the last time the plan was loaded, so a
 * rerun of the same pipeline imports neither the parser, its validators, the step kinds nor
 * DuckDB.
 *
 * A plan and its keys are a function of: the pipeline's bytes, its path and the working
 * directory (the name runs record), the flags that reach the plan (`--device`), fxflow's own code
 * and the packages that parse it, the environment variables read while loading it, and the files
 * the steps' fingerprints read (each kind's `files()`). The memo records each and is used only
 * when all are as recorded; anything else — a memo missing, damaged or of another format, a
 * pipeline with plugins or a matrix, a fingerprint that reads no file (postgres) or a glob — takes
 * the ordinary path, which writes the memo again. A file is trusted by its identity: device,
 * inode, size, mtime and ctime in nanoseconds. ctime cannot be set by a user (`touch -d` or
 * `utimes` restoring an mtime still move it), so rewriting a file's content in place is seen; a
 * file changed less than RACY_MS before the memo would be written might be changed again within
 * the same timestamp tick, so the memo is not written then (the next run writes it).
 */

/** Bump when what a memo holds or means changes. */
const MEMO_FORMAT = 1;
/** A file changed this recently may change again without its timestamps moving. */
const RACY_MS = 1000;
/** The pipeline size the parser accepts (parser/index.ts MAX_PIPELINE_BYTES); a larger file is the parser's to refuse. */
const MAX_PIPELINE_BYTES = 1024 * 1024;

/** One step of a plan as a fully cached rerun needs it. */
export interface CachedNode {
  id: string;
  kind: string;
  /** The artifact type its step outputs (a sidecar of another type is not a hit). */
  output: string;
  key: string;
  basis: KeyBasis;
}

/** A plan without a matrix, as a fully cached rerun needs it (./cached-run.ts). */
export interface CachedPlan {
  name: string;
  /** As runs record it (relative to the working directory). */
  file: string;
  /** The pipeline's folder, absolute. */
  dir: string;
  text: string;
  seed: number;
  nodes: CachedNode[];
}

/** What of the command line selects the memo: the pipeline file as given and the flags that change its plan. */
export interface MemoInvocation {
  file: string;
  /** `--device` (it overrides the pipeline's and so enters neural steps' keys). */
  device?: string;
}

/** A memo as stored: a file's identity (FileStamp) for every file the plan and keys were made from. */
interface Memo {
  format: number;
  version: string;
  node: string;
  textHash: string;
  /** Environment variables read while the plan was loaded and its keys computed; null: unset. */
  env: Record<string, string | null>;
  /** fxflow's code and the packages that parse a pipeline, by path. */
  code: [string, FileStamp][];
  /** Files the steps' fingerprints read. */
  data: [string, FileStamp][];
  plan: Omit<CachedPlan, 'text'>;
}

/** `dev:ino:size:mtimeNs:ctimeNs`, or `-` for no such regular file. */
type FileStamp = string;

function stampOf(file: string): FileStamp {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  return st?.isFile() ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : '-';
}

/** The stamps of `files()`, or undefined if listing or stamping one fails (a loop of links, no permission): then no memo. */
function stamps(files: () => string[]): [string, FileStamp][] | undefined {
  try {
    return files().map((f) => [f, stampOf(f)]);
  } catch {
    return undefined;
  }
}

/** Changed within RACY_MS of `now` (ms): its next change may keep the same timestamps. */
function racy(file: string, now: number): boolean {
  const st = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return true;
  const newest = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs;
  return Number(newest / 1_000_000n) > now - RACY_MS;
}

/** The folder this module's code runs from (dist/, or src/ under tsx) and the package around it. */
const CODE_ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const PACKAGE_ROOT = path.dirname(CODE_ROOT);

/**
 * Every file a plan's making may run or read from fxflow's install: its modules (a rebuild, even
 * of one file, moves their stamps), package.json, the pipeline schema, and the packages the parser
 * uses (an upgrade under the same fxflow version). Listed when a plan is loaded the ordinary way;
 * reading a memo stats them (≈ 180 files: a few ms).
 */
function codeFiles(): string[] {
  const out: string[] = [];
  for (const e of readdirSync(CODE_ROOT, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\.(c|m)?[jt]s$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.join(e.parentPath, e.name));
  }
  out.push(path.join(PACKAGE_ROOT, 'package.json'), path.join(PACKAGE_ROOT, 'schema', 'pipeline.schema.json'));
  const require = createRequire(import.meta.url);
  for (const pkg of ['yaml', 'ajv']) {
    try {
      out.push(require.resolve(`${pkg}/package.json`));
    } catch {
      // Not resolvable from here: recorded as absent, so appearing later is a change.
      out.push(path.join(PACKAGE_ROOT, 'node_modules', pkg, 'package.json'));
    }
  }
  return out.sort();
}

function memoFile(storeDir: string, inv: MemoInvocation): string {
  const id = sha256(JSON.stringify([MEMO_FORMAT, path.resolve(inv.file), inv.file, process.cwd(), inv.device ?? null]));
  return path.join(storeDir, 'memo', `${id.slice(0, 32)}.json`);
}

/**
 * The plan recorded for this pipeline and invocation, if every file, variable and flag it was made
 * from is as recorded; undefined at any doubt. Reads the pipeline, the memo and stats files: no
 * parser, no step code.
 */
export function readPlanMemo(storeDir: string, inv: MemoInvocation): CachedPlan | undefined {
  try {
    const file = path.resolve(inv.file);
    const st = statSync(file);
    if (!st.isFile() || st.size > MAX_PIPELINE_BYTES) return undefined;
    const raw = readFileSync(memoFile(storeDir, inv), 'utf8');
    const nl = raw.indexOf('\n');
    const body = raw.slice(nl + 1);
    // A memo torn by a crash, or edited, is not used.
    if (nl < 0 || sha256(body) !== raw.slice(0, nl)) return undefined;
    const memo = JSON.parse(body) as Memo;
    if (memo.format !== MEMO_FORMAT || memo.version !== VERSION || memo.node !== process.version) return undefined;
    const text = readFileSync(file, 'utf8');
    if (sha256(text) !== memo.textHash) return undefined;
    for (const [name, value] of Object.entries(memo.env)) if ((process.env[name] ?? null) !== value) return undefined;
    for (const [f, stamp] of memo.code) if (stampOf(f) !== stamp) return undefined;
    for (const [f, stamp] of memo.data) if (stampOf(f) !== stamp) return undefined;
    return { ...memo.plan, text };
  } catch {
    return undefined;
  }
}

/** The part of a compiled plan and its keys that a fully cached rerun needs; undefined for a sweep (a matrix run is never done that way). */
export function cachedPlanOf(plan: Plan, keys: Map<string, NodeKey>): CachedPlan | undefined {
  const { spec } = plan;
  if (spec.matrix || plan.variants) return undefined;
  return {
    name: spec.name,
    file: spec.file,
    dir: spec.dir,
    text: spec.text,
    seed: spec.seed,
    nodes: plan.nodes.map((n) => ({ id: n.id, kind: n.kind, output: n.def.output, key: keys.get(n.id)?.key ?? '', basis: keys.get(n.id)!.basis })),
  };
}

/**
 * Records which environment variables are read (and so may shape the plan) while installed. A
 * caller that enumerates the environment may depend on all of it: `enumerated` is then set and
 * no memo is written.
 */
class EnvRecorder {
  readonly read = new Map<string, string | null>();
  enumerated = false;
  private readonly real = process.env;

  constructor() {
    const note = (name: string | symbol): void => {
      if (typeof name === 'string' && !this.read.has(name)) this.read.set(name, this.real[name] ?? null);
    };
    process.env = new Proxy(this.real, {
      get: (t, name) => (note(name), Reflect.get(t, name)),
      has: (t, name) => (note(name), Reflect.has(t, name)),
      getOwnPropertyDescriptor: (t, name) => (note(name), Reflect.getOwnPropertyDescriptor(t, name)),
      set: (t, name, v) => (note(name), (this.enumerated = true), Reflect.set(t, name, v)),
      deleteProperty: (t, name) => (note(name), (this.enumerated = true), Reflect.deleteProperty(t, name)),
      ownKeys: (t) => ((this.enumerated = true), Reflect.ownKeys(t)),
    });
  }

  stop(): void {
    process.env = this.real;
  }
}

/** Whether a params value holds a glob (data/files.ts hasGlob): its matches may grow without any recorded file changing. */
const hasGlobIn = (v: unknown): boolean =>
  typeof v === 'string' ? /[*?[]/.test(v) : Array.isArray(v) ? v.some(hasGlobIn) : v !== null && typeof v === 'object' && Object.values(v).some(hasGlobIn);

/**
 * The files each fingerprinted step reads (absolute), or undefined when a step's fingerprint may
 * depend on more than files (no `files()`, or a glob whose matches may change).
 */
async function dataFilesOf(plan: Plan): Promise<string[] | undefined> {
  const dir = plan.spec.dir;
  const out = new Set<string>();
  for (const n of plan.nodes) {
    if (!n.def.fingerprint) continue;
    if (!n.def.files || hasGlobIn(n.params) || n.def.readsBeyondFiles?.(n.params as never)) return undefined;
    // The context computeKeys gives a fingerprint, less `locate` (errors are computeKeys' to report).
    const files = await n.def.files(n.params as never, { pipelineDir: dir, resolvePath: (p: string) => path.resolve(dir, p) });
    for (const f of files) out.add(f);
  }
  return [...out].sort();
}

/**
 * Loads a plan and its keys the ordinary way (`load`, `keysOf`) and, when the plan can be
 * memoised, records the memo that lets the next run of the same pipeline skip both. `now` (ms)
 * judges whether a data file changed too recently to be trusted by its stamp.
 */
export async function loadWithMemo(
  storeDir: string,
  inv: MemoInvocation,
  load: () => Promise<Plan>,
  keysOf: (plan: Plan) => Promise<Map<string, NodeKey>>,
  now: () => number = Date.now,
): Promise<{ plan: Plan; keys: Map<string, NodeKey> }> {
  // Stamped before the code is loaded: a build meanwhile shows as a stamp that moved, not as a memo of the old code's keys.
  const code = stamps(codeFiles);
  const env = new EnvRecorder();
  let plan: Plan;
  let keys: Map<string, NodeKey>;
  let data: [string, FileStamp][] | undefined;
  try {
    plan = await load();
    const memoisable = !plan.spec.matrix && !plan.variants && !plan.select && !plan.pluginFiles?.length;
    // Stamped before the fingerprints read them: a change while they are hashed shows as a stamp that moved.
    const files = memoisable ? await dataFilesOf(plan).catch(() => undefined) : undefined;
    data = files && stamps(() => files);
    keys = await keysOf(plan);
  } finally {
    env.stop();
  }
  try {
    if (code && data && !env.enumerated) writeMemo(storeDir, inv, plan, keys, env.read, code, data, now());
  } catch {
    // A memo only saves time: failing to write one (a read-only store, a full disk) changes nothing.
  }
  return { plan, keys };
}

function writeMemo(
  storeDir: string,
  inv: MemoInvocation,
  plan: Plan,
  keys: Map<string, NodeKey>,
  env: Map<string, string | null>,
  code: [string, FileStamp][],
  data: [string, FileStamp][],
  now: number,
): void {
  if ([...keys.values()].some((k) => k.unknown || !k.key)) return;
  for (const [f, stamp] of code) if (stampOf(f) !== stamp) return;
  for (const [f, stamp] of data) if (stamp === '-' || stampOf(f) !== stamp || racy(f, now)) return;
  const plain = cachedPlanOf(plan, keys);
  if (!plain) return;
  const { text, ...cached } = plain;
  // Bases go through JSON: a value JSON would change (NaN, -0, an undefined) could make the recorded run differ.
  if (!jsonExact(cached)) return;
  const memo: Memo = {
    format: MEMO_FORMAT,
    version: VERSION,
    node: process.version,
    textHash: sha256(text),
    env: Object.fromEntries([...env].sort(([a], [b]) => (a < b ? -1 : 1))),
    code,
    data,
    plan: cached,
  };
  const body = JSON.stringify(memo);
  const file = memoFile(storeDir, inv);
  const content = `${sha256(body)}\n${body}`;
  try {
    if (readFileSync(file, 'utf8') === content) return;
  } catch {
    // none yet
  }
  writeFileAtomic(file, [Buffer.from(content)]);
}

/** True when JSON round-trips `v` exactly (no NaN, ±Infinity, -0 or undefined inside). */
function jsonExact(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') return false;
  if (Array.isArray(v)) return v.every(jsonExact);
  if (v !== null && typeof v === 'object') return Object.values(v).every(jsonExact);
  return true;
}
