import { describe, expect, it } from 'vitest';
import { renderDiagnostic, PLAIN } from '../../src/cli/format.js';
import { formatDiagnostic, type Diagnostic } from '../../src/core/diagnostics.js';
import { compile } from '../../src/compiler/index.js';
import { parsePipelineText } from '../../src/parser/index.js';
import { PlainProgress } from '../../src/runtime/progress.js';
import { builtinRegistry } from '../../src/steps/index.js';

/** Messages that outside testers found wrong: each names what is wrong and where, in plain text. */

const parse = (text: string) => parsePipelineText(text, '/tmp/p.yaml', { displayFile: 'p.yaml' });

/** Parse + compile; every diagnostic as `line:col message`. */
function problems(text: string): string[] {
  const r = parse(text);
  const ds: Diagnostic[] = [...r.diagnostics];
  if (r.spec) ds.push(...compile(r.spec, builtinRegistry()).diagnostics);
  return ds.map((d) => `${d.loc?.line}:${d.loc?.col} ${d.message}${d.hint ? ` | ${d.hint}` : ''}`);
}

const head = 'version: 1\nname: t\n';
const fetchStep = '  c:\n    uses: fetch\n    with: { source: synthetic, bars: 600 }\n';

describe('names that exist on Object.prototype', () => {
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`a \`from\` port named \`${name}\` is an unknown port`, () => {
      const ps = problems(`${head}steps:\n${fetchStep}  f:\n    uses: features\n    from: { ${name}: c }\n`);
      // `    from: { ` is 12 characters: the port key starts at column 13.
      expect(ps[0]).toBe(`9:13 step kind \`features\` has no input \`${name}\` | expected an input port: candles`);
      expect(ps.join('\n')).not.toMatch(/native code|function /);
    });

    it(`\`\${${name}.x}\` is an unknown scope`, () => {
      const ps = problems(`${head}steps:\n  c:\n    uses: fetch\n    with: { source: synthetic, bars: "\${${name}.x}" }\n`);
      expect(ps).toEqual([`6:38 unknown variable scope \`${name}\` in \`\${${name}.x}\` | expected one of: matrix, vars`]);
    });

    it(`\`${name}\` as a step kind, a param, an indicator and a model is refused; as a step id it is a plain id`, () => {
      expect(problems(`${head}steps:\n  a:\n    uses: ${name}\n`)[0]).toMatch(new RegExp(`^5:11 unknown step kind \`${name}\``));
      expect(problems(`${head}steps:\n  c:\n    uses: fetch\n    with: { source: synthetic, ${name}: 1 }\n`)[0]).toMatch(
        new RegExp(`^6:32 unknown parameter \`${name}\``),
      );
      expect(problems(`${head}steps:\n${fetchStep}  f:\n    uses: features\n    from: c\n    with: { indicators: [ { ${name}: {} } ] }\n`)[0]).toMatch(
        new RegExp(`^10:29 unknown indicator \`${name}\``),
      );
      const model = problems(
        `${head}steps:\n${fetchStep}  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: { model: ${name} } }\n`,
      );
      expect(model[0]).toMatch(new RegExp(`^9:\\d+ \`model\` of step \`m\` \\(train\\) must be one of .*got "${name}"`));
      expect(
        problems(`${head}steps:\n  ${name}:\n    uses: fetch\n    with: { source: synthetic, bars: 600 }\n  f: { uses: features, from: ${name} }\n`),
      ).toEqual([]);
    });
  }

  it('`__proto__` is refused as a key wherever it is written', () => {
    expect(problems(`${head}steps:\n  __proto__:\n    uses: fetch\n`)).toEqual(['4:3 the key `__proto__` is not allowed']);
    expect(problems(`${head}steps:\n${fetchStep}  f:\n    uses: features\n    from: { __proto__: c }\n`)[0]).toBe('9:13 the key `__proto__` is not allowed');
  });
});

describe('numbers JSON cannot hold', () => {
  const bars = (v: string) => problems(`${head}steps:\n  c:\n    uses: fetch\n    with: { source: synthetic, bars: ${v} }\n`);
  it('.nan and .inf are named, at the value', () => {
    expect(bars('.nan')).toEqual(['6:38 `bars` of step `c` (fetch) must be an integer, got NaN (`.nan`)']);
    expect(bars('.inf')).toEqual(['6:38 `bars` of step `c` (fetch) must be an integer, got Infinity (`.inf`)']);
    expect(bars('-.inf')).toEqual(['6:38 `bars` of step `c` (fetch) must be an integer, got -Infinity (`-.inf`)']);
    const alpha = problems(
      `${head}steps:\n${fetchStep}  f: { uses: features, from: c }\n  d: { uses: split, from: f }\n  m: { uses: train, from: d, with: { model: ridge, alpha: .nan } }\n`,
    );
    expect(alpha).toEqual(['9:59 `alpha` of step `m` (train) must be a number, got NaN (`.nan`)']);
  });

  it('a NaN inside a list is shown as NaN, not null', () => {
    expect(bars('[1, .nan]')).toEqual(['6:38 `bars` of step `c` (fetch) must be an integer, got [1,NaN]']);
  });

  it('1e400 is a number too large, at the value, wherever it is written', () => {
    expect(bars('1e400')).toEqual([
      '6:38 the number `1e400` is too large to represent (beyond ±1.8e308) | write a smaller number; `.inf` means infinity where a parameter accepts it',
    ]);
    expect(problems(`${head}vars: { n: -1e400 }\nsteps:\n${fetchStep}`)[0]).toMatch(/^3:12 the number `-1e400` is too large/);
  });
});

describe('control characters from the file are escaped in what is printed', () => {
  it('an ESC in a key is shown as \\x1b in the message and in the source excerpt, and the caret still points at the key', () => {
    const text = `${head}steps:\n  c:\n    uses: fetch\n    with:\n      source: synthetic\n      \x1b[2Jx\x07: 1\n`;
    const r = parse(text);
    expect(r.diagnostics).toHaveLength(1);
    const shown = renderDiagnostic(r.diagnostics[0], PLAIN, new Map([['p.yaml', text.split('\n')]]));
    expect(shown).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(shown).toContain('unknown parameter `\\x1b[2Jx\\x07`');
    const lines = shown.split('\n');
    expect(lines[1]).toBe(' 8 |       \\x1b[2Jx\\x07: 1');
    // The caret sits under the escaped key's first character.
    expect(lines[2].indexOf('^') - lines[2].indexOf('|')).toBe(lines[1].indexOf('\\x1b') - lines[1].indexOf('|'));
    expect(formatDiagnostic(r.diagnostics[0])).not.toContain('\x1b');
  });

  it('step logs and failures in the plain progress view are escaped too (they may quote a data file)', () => {
    let out = '';
    const p = new PlainProgress({ write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream);
    p.start([{ id: 'c', kind: 'fetch' }]);
    p.stepLog('c', 'row 3: bad cell "\x1b]0;owned\x07"', 'warn');
    p.stepFinished('c', { status: 'failed', cached: false, durationMs: 1, error: 'cannot parse \x1b[2J' });
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(out).toContain('row 3: bad cell "\\x1b]0;owned\\x07"');
    expect(out).toContain('cannot parse \\x1b[2J');
  });

  it('C1 controls (a one-byte CSI) and DEL are escaped; tabs and newlines in messages are kept', () => {
    const d: Diagnostic = { severity: 'error', message: 'a\x9b31mb\x7fc\td', hint: 'x\ny' };
    expect(formatDiagnostic(d)).toBe('error: a\\x9b31mb\\x7fc\td\n  hint: x\ny');
  });
});
