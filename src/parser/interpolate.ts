import { suggestionHint, type Diagnostic } from '../core/diagnostics.js';
import { displayPath, toPointer, type PositionMap } from './yaml.js';

/**
 * `${vars.x}` (and `${matrix.x}`) interpolation. Deliberately no expressions: a reference is
 * replaced by a value, nothing is evaluated. A string that is exactly one `${…}` takes the
 * variable's own type (a number stays a number); a reference inside a longer string is spliced in
 * as text. `$${` writes a literal `${`.
 */

export type Scopes = Record<string, Record<string, unknown> | undefined>;

const REF = /\$\{\s*([A-Za-z_][\w]*)\.([A-Za-z_][\w-]*)\s*\}/y;

export function interpolate(value: unknown, scopes: Scopes, positions: PositionMap, diagnostics: Diagnostic[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') return interpolateString(value, scopes, positions, diagnostics, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, scopes, positions, diagnostics, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, scopes, positions, diagnostics, [...path, k]);
    return out;
  }
  return value;
}

function interpolateString(s: string, scopes: Scopes, positions: PositionMap, diagnostics: Diagnostic[], path: (string | number)[]): unknown {
  if (!s.includes('${')) return s;
  const fail = (message: string, hint?: string): undefined => {
    diagnostics.push({
      severity: 'error',
      message,
      loc: positions.valueLoc(toPointer(path)),
      path: displayPath(path),
      hint,
    });
    return undefined;
  };

  const parts: unknown[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      REF.lastIndex = i;
      const m = REF.exec(s);
      if (!m) {
        const end = s.indexOf('}', i);
        const bad = end < 0 ? s.slice(i) : s.slice(i, end + 1);
        return fail(`malformed reference \`${bad}\``, 'write `${vars.name}`; expressions are not evaluated (write `$${` for a literal `${`)');
      }
      const [whole, scope, name] = m;
      // Own scopes only: `${constructor.x}` must not find Object.prototype's.
      if (!Object.hasOwn(scopes, scope)) {
        return fail(`unknown variable scope \`${scope}\` in \`${whole}\``, suggestionHint(scope, Object.keys(scopes)));
      }
      const vars = scopes[scope];
      if (vars === undefined) {
        return fail(
          `\`${whole}\` refers to \`${scope}\`, which this pipeline does not define`,
          scope === 'matrix' ? 'add a `matrix:` block to the pipeline' : `add a \`${scope}:\` block to the pipeline`,
        );
      }
      if (!Object.prototype.hasOwnProperty.call(vars, name)) {
        const known = Object.keys(vars);
        return fail(
          `undefined variable \`${scope}.${name}\``,
          known.length ? suggestionHint(name, known, `a variable in \`${scope}:\``) : `define it under \`${scope}:\``,
        );
      }
      if (text) parts.push(text);
      text = '';
      parts.push(vars[name]);
      i += whole.length;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text) parts.push(text);
  if (parts.length === 1) return parts[0];
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}
