import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hash.js';
import { fxflow, workdir } from '../helpers/cli.js';

/**
 * Every kind of bad input the runner issue lists: a clear message, the line it points at, exit
 * code 2 (1 for a missing data file at run time), and the store left exactly as it was.
 */

const GOOD = `version: 1
name: t
seed: 7
vars:
  horizon: 4
steps:
  candles:
    uses: fetch
    with: { source: synthetic, bars: 600 }
  features:
    uses: features
    from: candles
    with:
      indicators:
        - rsi: { period: 14 }
      target: { forward_return: { horizons: [1, "\${vars.horizon}"] } }
  dataset:
    uses: split
    from: features
  model:
    uses: train
    from: dataset
    with: { model: ridge, alpha: 1.0 }
  report:
    uses: backtest
    from: { model: model, dataset: dataset, candles: candles }
`;

let dir: string;
let storeFile: string;
let storeHash: string;

beforeAll(async () => {
  dir = workdir();
  writeFileSync(path.join(dir, 'good.yaml'), GOOD);
  const r = await fxflow(['run', 'good.yaml'], { cwd: dir });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  storeFile = path.join(dir, '.fxflow', 'fxflow.duckdb');
  storeHash = sha256(readFileSync(storeFile));
});

/** Writes `good.yaml` with one replacement applied and runs `fxflow run` on it. */
async function runVariant(from: string | RegExp, to: string, name = 'bad.yaml') {
  const text = GOOD.replace(from, to);
  expect(text, 'the test edit must apply').not.toBe(GOOD);
  writeFileSync(path.join(dir, name), text);
  const r = await fxflow(['run', name], { cwd: dir });
  return { ...r, text };
}

function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in text`);
  return i + 1;
}

function expectStoreUntouched(): void {
  expect(sha256(readFileSync(storeFile))).toBe(storeHash);
}

describe('bad input: located errors, exit 2, store untouched', () => {
  it('malformed YAML', async () => {
    const r = await runVariant('    from: features\n', '    from: features\n   bad indent: [\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`bad\\.yaml:${lineOf(r.text, 'bad indent')}:\\d+: error: malformed YAML`));
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    expectStoreUntouched();
  });

  it('duplicate step ids', async () => {
    const r = await runVariant('  model:\n    uses: train', '  dataset:\n    uses: train');
    expect(r.code).toBe(2);
    const line = r.text.split('\n').lastIndexOf('  dataset:') + 1;
    expect(r.stderr).toContain(`bad.yaml:${line}:3: error: duplicate step id \`dataset\``);
    expect(r.stderr).toContain(`already defined at line ${lineOf(r.text, '  dataset:')}`);
    expectStoreUntouched();
  });

  it('unknown step kind, with a suggestion', async () => {
    const r = await runVariant('uses: train', 'uses: trian');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'uses: trian')}:11: error: unknown step kind \`trian\` in step \`model\``);
    expect(r.stderr).toContain('hint: did you mean `train`?');
    expectStoreUntouched();
  });

  it('misspelled parameter, with a suggestion', async () => {
    const r = await runVariant('alpha: 1.0', 'alpah: 1.0');
    expect(r.code).toBe(2);
    const line = lineOf(r.text, 'alpah');
    const col = r.text.split('\n')[line - 1].indexOf('alpah') + 1;
    expect(r.stderr).toContain(`bad.yaml:${line}:${col}: error: unknown parameter \`alpah\` of step \`model\` (train)`);
    expect(r.stderr).toContain('did you mean `alpha`?');
    expectStoreUntouched();
  });

  it('unknown indicator in a list, with a suggestion', async () => {
    const r = await runVariant('- rsi: { period: 14 }', '- rsx: { period: 14 }');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'rsx')}:11: error: unknown indicator \`rsx\``);
    expect(r.stderr).toContain('did you mean `rsi`?');
    expectStoreUntouched();
  });

  it('wrong type', async () => {
    const r = await runVariant('period: 14', 'period: "fourteen"');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'fourteen')}:`);
    expect(r.stderr).toMatch(/`period` of step `features` \(features\) must be an integer, got "fourteen"/);
    expectStoreUntouched();
  });

  it('out-of-range value', async () => {
    const r = await runVariant('period: 14', 'period: 1');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'period: 1 ')}:`);
    expect(r.stderr).toMatch(/`period` of step `features` \(features\) must be >= 2, got 1/);
    expectStoreUntouched();
  });

  it('`from` to a missing step', async () => {
    const r = await runVariant('from: dataset\n', 'from: datset\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'from: datset')}:11: error: \`from\` refers to unknown step \`datset\``);
    expect(r.stderr).toContain('did you mean `dataset`?');
    expectStoreUntouched();
  });

  it('wrong input type', async () => {
    const r = await runVariant('from: dataset\n', 'from: features\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `bad.yaml:${lineOf(r.text, 'with: { model') - 1}:11: error: input \`dataset\` of step \`model\` (train) expects Dataset, but \`features\` (features) produces Features`,
    );
    expect(r.stderr).toContain('connect a step that produces Dataset (`encode`, `split`)');
    expectStoreUntouched();
  });

  it('cycle', async () => {
    const cyc = `version: 1
name: cyc
steps:
  candles:
    uses: fetch
  dataset:
    uses: split
    from: model
  model:
    uses: train
    from: dataset
`;
    writeFileSync(path.join(dir, 'cyc.yaml'), cyc);
    const r = await fxflow(['run', 'cyc.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    const m = /cyc\.yaml:(\d+):11: error: cycle in the pipeline: `(dataset|model)` → `(dataset|model)` → `\2`/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect([lineOf(cyc, 'from: model'), lineOf(cyc, 'from: dataset')]).toContain(Number(m![1]));
    expectStoreUntouched();
  });

  it('an embargo shorter than the longest target horizon, before anything runs', async () => {
    const r = await runVariant(
      '  dataset:\n    uses: split\n    from: features\n',
      '  dataset:\n    uses: split\n    from: features\n    with: { method: purged_kfold, folds: 3, embargo: 2 }\n',
    );
    expect(r.code).toBe(2);
    const line = lineOf(r.text, 'embargo: 2');
    const col = r.text.split('\n')[line - 1].indexOf('2 }') + 1;
    expect(r.stderr).toContain(`bad.yaml:${line}:${col}: error: embargo 2 bars is shorter than the longest target horizon 4 bars`);
    expect(r.stderr).toContain('(targets of step `features`)');
    expectStoreUntouched();
  });

  it('undefined ${vars.x}', async () => {
    const r = await runVariant('"${vars.horizon}"', '"${vars.horizn}"');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bad.yaml:${lineOf(r.text, 'horizn')}:`);
    expect(r.stderr).toContain('error: undefined variable `vars.horizn`');
    expect(r.stderr).toContain('did you mean `horizon`?');
    expectStoreUntouched();
  });

  it('reports all errors of a file at once', async () => {
    const text = GOOD.replace('alpha: 1.0', 'alpah: 1.0').replace('period: 14', 'period: 1').replace('uses: split', 'uses: splt');
    writeFileSync(path.join(dir, 'many.yaml'), text);
    const r = await fxflow(['validate', 'many.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('alpah');
    expect(r.stderr).toContain('must be >= 2');
    expect(r.stderr).toContain('unknown step kind `splt`');
    expect(r.stderr).toMatch(/^3 errors$/m);
  });

  it('a missing data file: exit 1 at run time, naming the path', async () => {
    const r = await runVariant('{ source: synthetic, bars: 600 }', '{ source: csv, path: data/nope.csv }');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`data file not found: ${path.join(dir, 'data', 'nope.csv')}`);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expectStoreUntouched();
  });

  it('a named pipe or /dev/zero as the data path: `run` returns at once, exit 1, located at `path`', async (ctx) => {
    const fifo = path.join(dir, 'data.pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      console.warn('mkfifo is not available here: the named-pipe case is skipped');
      return ctx.skip();
    }
    for (const [target, kind] of [
      [fifo, 'named pipe'],
      ['/dev/zero', 'character device'],
    ]) {
      const r = await runVariant('{ source: synthetic, bars: 600 }', `{ source: csv, path: ${JSON.stringify(target)} }`, 'special.yaml');
      expect(r.code).toBe(1);
      const line = lineOf(r.text, 'source: csv');
      const col = r.text.split('\n')[line - 1].indexOf(JSON.stringify(target)) + 1;
      expect(r.stderr).toContain(`special.yaml:${line}:${col}: error: data path is not a regular file (a ${kind}): ${target}`);
      expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    }
    expectStoreUntouched();
  });

  it('a pipeline file over 1 MiB: exit 2 before parsing, naming its size', async () => {
    writeFileSync(path.join(dir, 'huge.yaml'), `${GOOD}# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const r = await fxflow(['validate', 'huge.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline file huge\.yaml is 2,09\d,\d{3} bytes; the limit is 1,048,576 bytes \(1 MiB\)/);
  });

  it('a missing pipeline file', async () => {
    const r = await fxflow(['run', 'nope.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline file not found: nope.yaml');
    expect(existsSync(storeFile)).toBe(true);
    expectStoreUntouched();
  });
});
