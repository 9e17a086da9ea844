import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiagnosticError, RunError } from '../../src/core/diagnostics.js';
import { loadModel } from '../../src/models/predict.js';
import { MAX_PIPELINE_BYTES, parsePipelineText, readPipelineFile } from '../../src/parser/index.js';
import { loadPlan } from '../../src/pipeline.js';
import { computeKeys } from '../../src/runtime/keys.js';

/**
 * Files a user names must be regular files of a sane size: a 50 MB pipeline took 94 s and 1.7 GB
 * to validate; a FIFO or /dev/zero as a data `path` hung `plan` and `run` (2.1 GB in 20 s). Each
 * case here must return promptly (a hang fails by the test's timeout, no timing assertion).
 */

let dir: string;
let fifo: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'fxflow-files-'));
  try {
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    fifo = path.join(dir, 'pipe');
  } catch {
    console.warn('mkfifo is not available here: the named-pipe cases are skipped');
  }
});

const pipeline = (dataPath: string) => `version: 1
name: t
steps:
  candles:
    uses: fetch
    with:
      source: csv
      path: ${JSON.stringify(dataPath)}
`;

/** A valid pipeline padded with a long `description` to `bytes` bytes. */
function largePipeline(bytes: number): string {
  const head = 'version: 1\nname: t\ndescription: ';
  const tail = '\nsteps:\n  c:\n    uses: fetch\n    with: { source: synthetic, bars: 600 }\n';
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
}

describe('pipeline file size limit', () => {
  it('refuses a file over the limit before parsing, naming its size and the limit', async () => {
    const file = path.join(dir, 'big.yaml');
    writeFileSync(file, largePipeline(MAX_PIPELINE_BYTES + 1));
    const r = await readPipelineFile(file);
    expect('diagnostics' in r).toBe(true);
    const d = (r as { diagnostics: { message: string; hint?: string }[] }).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0].message).toBe(`pipeline file ${file} is 1,048,577 bytes; the limit is 1,048,576 bytes (1 MiB)`);
    expect(d[0].hint).toMatch(/split the sweep/);
    // A 50 MB file is refused just the same (and without reading it).
    const huge = path.join(dir, 'huge.yaml');
    writeFileSync(huge, largePipeline(50 * 1024 * 1024));
    const h = await readPipelineFile(huge);
    expect((h as { diagnostics: { message: string }[] }).diagnostics[0].message).toContain('is 52,428,800 bytes');
  });

  it('accepts a file exactly at the limit', async () => {
    const file = path.join(dir, 'edge.yaml');
    writeFileSync(file, largePipeline(MAX_PIPELINE_BYTES));
    const r = await readPipelineFile(file);
    expect('text' in r).toBe(true);
    expect(parsePipelineText((r as { text: string }).text, file).diagnostics).toEqual([]);
  });

  it('text handed to the parser directly gets the same limit', () => {
    const r = parsePipelineText(largePipeline(2 * MAX_PIPELINE_BYTES), '/tmp/p.yaml', { displayFile: 'p.yaml' });
    expect(r.spec).toBeUndefined();
    expect(r.diagnostics.map((d) => d.message)).toEqual(['pipeline file p.yaml is 2,097,152 bytes; the limit is 1,048,576 bytes (1 MiB)']);
  });
});

describe('non-regular files are refused, promptly', () => {
  it('a named pipe as the pipeline file', async (ctx) => {
    if (!fifo) return ctx.skip();
    const r = await readPipelineFile(fifo);
    expect((r as { diagnostics: { message: string }[] }).diagnostics[0].message).toBe(`pipeline path is not a regular file (a named pipe): ${fifo}`);
  });

  it('/dev/zero as the pipeline file', async (ctx) => {
    if (!existsSync('/dev/zero')) return ctx.skip();
    const r = await readPipelineFile('/dev/zero');
    expect((r as { diagnostics: { message: string }[] }).diagnostics[0].message).toBe('pipeline path is not a regular file (a character device): /dev/zero');
  });

  for (const [name, target] of [
    ['a named pipe', () => fifo],
    ['/dev/zero', () => (existsSync('/dev/zero') ? '/dev/zero' : undefined)],
  ] as const) {
    it(`${name} as a data path: a RunError at the \`path\` line (plan and run hash the file first)`, async (ctx) => {
      const data = target();
      if (!data) return ctx.skip();
      const file = path.join(dir, `data-${name.replace(/\W/g, '')}.yaml`);
      writeFileSync(file, pipeline(data));
      const plan = await loadPlan(file);
      const err = await computeKeys(plan).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RunError);
      const e = err as RunError;
      const kind = name === '/dev/zero' ? 'character device' : 'named pipe';
      expect(e.message).toBe(`data path is not a regular file (a ${kind}): ${data}`);
      // `      path: "…"`: the value starts at line 8, column 13.
      expect(e.loc).toMatchObject({ line: 8, col: 13 });
      expect(e.loc!.file).toContain('data-');
    });
  }

  it('a named pipe as a plugin file is a located diagnostic', async (ctx) => {
    if (!fifo) return ctx.skip();
    const plugin = path.join(dir, 'step.ts');
    execFileSync('mkfifo', [plugin]);
    const file = path.join(dir, 'plugin.yaml');
    writeFileSync(file, `version: 1\nname: t\nplugins:\n  - step.ts\nsteps:\n  c: { uses: fetch, with: { source: synthetic } }\n`);
    const e = (await loadPlan(file).catch((x: unknown) => x)) as DiagnosticError;
    expect(e).toBeInstanceOf(DiagnosticError);
    expect(e.diagnostics.map((d) => [d.loc?.line, d.loc?.col, d.message])).toEqual([[4, 5, 'plugin path is not a regular file (a named pipe): step.ts']]);
  });

  it('a named pipe as an exported model is refused', async (ctx) => {
    if (!fifo) return ctx.skip();
    expect(() => loadModel(fifo!)).toThrow(`the model ${fifo} is not a regular file (a named pipe)`);
  });

  it('a named pipe in a list of paths is located at its own entry', async (ctx) => {
    if (!fifo) return ctx.skip();
    const good = path.join(dir, 'ok.csv');
    writeFileSync(good, 'time,open,high,low,close\n');
    const file = path.join(dir, 'list.yaml');
    writeFileSync(
      file,
      `version: 1\nname: t\nsteps:\n  candles:\n    uses: fetch\n    with:\n      source: csv\n      path:\n        - ${JSON.stringify(good)}\n        - ${JSON.stringify(fifo)}\n`,
    );
    const e = (await computeKeys(await loadPlan(file)).catch((x: unknown) => x)) as RunError;
    expect(e.message).toContain('(a named pipe)');
    expect(e.loc).toMatchObject({ line: 10, col: 11 });
  });
});
