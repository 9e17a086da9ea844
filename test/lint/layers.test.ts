import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The layer table: docs/architecture.md says what lint/layers.cjs enforces, and a break fails the lint. */

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { LAYERS, DOMAIN } = require(path.join(root, 'lint/layers.cjs')) as {
  LAYERS: [string, string[]][];
  DOMAIN: Record<string, string[]>;
};

/** The rows of the markdown table that follows `header` in docs/architecture.md, as cells. */
function tableAfter(header: string): string[][] {
  const lines = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start, `docs/architecture.md has a table starting ${header}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}
const codes = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

describe('layer table', () => {
  it('docs/architecture.md lists the layers and folders the lint enforces, in order', () => {
    const rows = tableAfter('| layer | folders (bottom to top) |');
    expect(rows.map((r) => [r[0], codes(r[1])])).toEqual(LAYERS);
    const domain = tableAfter('| domain folder | may import |');
    expect(Object.fromEntries(domain.map((r) => [codes(r[0])[0], codes(r[1])]))).toEqual(DOMAIN);
  });

  it('every folder of src/ is in a layer (or is src/experiments, being dissolved)', () => {
    const listed = new Set(LAYERS.flatMap(([, p]) => p));
    const entries = readdirSync(path.join(root, 'src'), { withFileTypes: true }).map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`));
    const missing = entries.filter((e) => !listed.has(e) && e !== 'src/experiments/');
    expect(missing).toEqual([]);
  });

  const tmp = mkdtempSync(path.join(tmpdir(), 'fxflow-layers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('an import up the layers, across the domain the wrong way, or in a circle fails lint:deps', () => {
    const put = (file: string, text: string): void => {
      mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
      writeFileSync(path.join(tmp, file), text);
    };
    put('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
    put('src/parser/spec.ts', 'export type Spec = { name: string };\n');
    put('src/core/up.ts', "import type { Spec } from '../parser/spec.js';\nexport type S = Spec;\n");
    put('src/data/sideways.ts', "import { k } from '../indicators/k.js';\nexport const d = k;\n");
    put('src/indicators/k.ts', "import { fromData } from '../data/ok.js';\nexport const k = fromData;\n");
    put('src/data/ok.ts', 'export const fromData = 1;\n');
    put('src/compiler/a.ts', "import { b } from './b.js';\nexport const a = (): number => b();\n");
    put('src/compiler/b.ts', "import { a } from './a.js';\nexport const b = (): number => a();\n");
    const bin = path.join(root, 'node_modules/.bin/depcruise');
    const r = spawnSync(bin, ['src', '--config', path.join(root, '.dependency-cruiser.cjs')], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
    const out = r.stdout + r.stderr;
    expect(r.status, out).not.toBe(0);
    expect(out).toContain('not-in-allowed: src/core/up.ts → src/parser/spec.ts');
    expect(out).toContain('not-in-allowed: src/data/sideways.ts → src/indicators/k.ts');
    expect(out).toMatch(/no-circular: src\/compiler\/(a|b)\.ts/);
    // Downwards is allowed: indicators → data is in the table.
    expect(out).not.toContain('src/indicators/k.ts → src/data/ok.ts');
  }, 180_000);
});
