/**
 * The one error vocabulary of fxflow. Parser and compiler collect many Diagnostics and return them;
 * the runtime throws a RunError for a failure while running. The CLI prints both like a compiler
 * does and picks the exit code: 2 for bad input, 1 for a failure while running.
 */

export type Severity = 'error' | 'warning';

export interface SourceLocation {
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

export interface Diagnostic {
  severity: Severity;
  message: string;
  /** Where in the YAML (or data/plugin file) the problem is, when known. */
  loc?: SourceLocation;
  /** JSON path of the offending value, e.g. `steps.features.with.indicators[0].rsi.period`. */
  path?: string;
  /** How to fix it, e.g. "did you mean `period`?". */
  hint?: string;
}

/**
 * A problem a step (or a model kind) finds in its params beyond what the JSON Schema can say;
 * `path` is relative to `with` (or to `from`). The compiler turns it into a located Diagnostic.
 */
export interface ParamIssue {
  path: (string | number)[];
  /** `from`: the problem is the step wired to the input port `path[0]`, reported at that `from` entry. Default `with`. */
  at?: 'with' | 'from';
  message: string;
  hint?: string;
}

/** Bad input found before anything ran (exit 2). Carries every diagnostic of the file. */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'DiagnosticError';
    this.diagnostics = diagnostics;
  }
}

/**
 * A failure while running a step (exit 1): a missing data file, a bad row in a CSV. `loc` names the
 * data file and row where there is one.
 */
export class RunError extends Error {
  readonly hint?: string;
  readonly loc?: SourceLocation;
  constructor(message: string, opts: { hint?: string; loc?: SourceLocation; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RunError';
    this.hint = opts.hint;
    this.loc = opts.loc;
  }
}

/** A step was cancelled through its AbortSignal (watch mode, SIGINT). */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/**
 * Control characters as `\x1b`-style escapes (tabs and newlines kept), so that text taken from a
 * user's file (a key, a line of YAML, a CSV cell) cannot drive the terminal it is printed on.
 */
export function escapeControl(s: string): string {
  // C0 but tab and newline, DEL, and C1 (0x9b is a one-byte CSI).
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `file:line:col: error: message (at path)\n  hint: …` — the shape editors and terminals link. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.loc ? `${escapeControl(formatLocation(d.loc))}: ` : '';
  const at = d.path ? ` (at ${escapeControl(d.path)})` : '';
  const hint = d.hint ? `\n  hint: ${escapeControl(d.hint)}` : '';
  return `${where}${d.severity}: ${escapeControl(d.message)}${at}${hint}`;
}

export function errorsOnly(ds: Diagnostic[]): Diagnostic[] {
  return ds.filter((d) => d.severity === 'error');
}

/**
 * Edit distance for "did you mean" suggestions: Levenshtein plus adjacent transpositions (optimal
 * string alignment), since swapped letters (`alpah`, `trian`) are the commonest typo.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** The closest candidate within a distance that scales with the word's length, if any. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

/** "did you mean `x`?" or a list of what is accepted when nothing is close. */
export function suggestionHint(word: string, candidates: string[], noun = 'one of'): string {
  const s = suggest(word, candidates);
  if (s) return `did you mean \`${s}\`?`;
  const sorted = [...candidates].sort();
  const list = sorted.length > 12 ? `${sorted.slice(0, 12).join(', ')}, …` : sorted.join(', ');
  return `expected ${noun}: ${list}`;
}
