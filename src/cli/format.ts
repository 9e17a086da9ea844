import { readFileSync, statSync } from 'node:fs';
import type { Diagnostic } from '../core/diagnostics.js';
import { escapeControl, formatDiagnostic } from '../core/diagnostics.js';

/** Terminal output helpers: compiler-style diagnostics with a source excerpt, and tables. */

export interface Style {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
export const COLOR: Style = { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22), cyan: wrap(36, 39) };
const id = (s: string): string => s;
export const PLAIN: Style = { red: id, yellow: id, green: id, dim: id, bold: id, cyan: id };

export function styleFor(stream: NodeJS.WriteStream): Style {
  return stream.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
}

/**
 * A diagnostic as a compiler prints it: `file:line:col: error: message (at path)`, the source line
 * with a caret under the column, then the hint.
 */
export function renderDiagnostic(d: Diagnostic, style: Style, sources: Map<string, string[]> = new Map()): string {
  const head = formatDiagnostic({ ...d, hint: undefined });
  const sev = d.severity === 'error' ? style.red('error') : style.yellow('warning');
  let out = head.replace(/(error|warning): /, `${sev}: `);
  if (d.loc) {
    let lines = sources.get(d.loc.file);
    if (!lines) {
      try {
        // Only a regular file: a diagnostic may name a named pipe, which would block the read.
        lines = statSync(d.loc.file).isFile() ? readFileSync(d.loc.file, 'utf8').split(/\r?\n/) : [];
      } catch {
        lines = [];
      }
      sources.set(d.loc.file, lines);
    }
    const text = lines[d.loc.line - 1];
    if (text !== undefined) {
      const num = String(d.loc.line);
      const pad = ' '.repeat(num.length);
      // Escaped (ESC shown as \x1b), and the caret moved by what escaping added before it.
      const shown = (s: string): string => escapeControl(s.replace(/\t/g, ' '));
      const caret = shown(text.slice(0, Math.max(0, d.loc.col - 1))).length;
      out += `\n ${style.dim(`${num} |`)} ${shown(text)}\n ${style.dim(`${pad} |`)} ${' '.repeat(caret)}${style.red('^')}`;
    }
  }
  if (d.hint) out += `\n  ${style.cyan('hint')}: ${escapeControl(d.hint)}`;
  return out;
}

/** A left-aligned text table. Numbers right-aligned. */
export function table(headers: string[], rows: string[][], style: Style = PLAIN): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,%]+( ms| s)?$|^$|^—$/.test(r[i] ?? '')));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [style.bold(fmt(headers)), ...rows.map(fmt)].join('\n');
}

// The one metric formatter lives in core (the UI shows metrics too); commands import it from here.
export { fmtNum } from '../core/format.js';
