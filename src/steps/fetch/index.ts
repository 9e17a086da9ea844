import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Candles } from '../../core/artifacts.js';
import { RunError } from '../../core/diagnostics.js';
import { sha256 } from '../../core/hash.js';
import { parseHeaderCsv, parseTimestamp } from '../../data/csv.js';
import { isoUtc } from '../../data/frame.js';
import { pipSize } from '../../data/symbols.js';
import { syntheticCandles } from '../../data/synthetic.js';
import { formatTimeframe, parseTimeframe } from '../../data/timeframe.js';
import { defineStep, paramsOf, type ParamIssue } from '../define.js';
import type { FetchParams } from './params.js';

export type { FetchParams } from './params.js';

function notFound(abs: string, pipelineDir: string): RunError {
  return new RunError(`data file not found: ${abs}`, { hint: `paths are relative to the pipeline file (${pipelineDir})` });
}

async function readData(abs: string, pipelineDir: string): Promise<Buffer> {
  try {
    return await readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(abs, pipelineDir);
    if (code === 'EISDIR') throw new RunError(`data path is a directory, not a file: ${abs}`, { hint: 'point `path` at a CSV file' });
    throw new RunError(`cannot read ${abs}: ${(e as Error).message}`, { cause: e });
  }
}

/** Median spacing of consecutive bars (weekend and holiday gaps are rare, so they do not move it). */
export function medianSpacing(index: Float64Array): number {
  const n = index.length;
  if (n < 2) return NaN;
  const d = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) d[i - 1] = index[i] - index[i - 1];
  d.sort();
  // Lower median: always an actual spacing, so it formats as a timeframe.
  return d[(n - 2) >> 1];
}

/** `50000` → `50,000`, independent of the machine's locale. */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export default defineStep({
  kind: 'fetch',
  version: 1,
  description: 'Load candles from a CSV file, or generate seeded synthetic FX candles.',
  inputs: {},
  output: 'Candles',
  params: paramsOf<FetchParams>(),
  // The synthetic source depends on the seed; for csv it is irrelevant but harmless.
  seeded: true,

  check(params: FetchParams): ParamIssue[] {
    const issues: ParamIssue[] = [];
    try {
      parseTimeframe(params.timeframe);
    } catch (e) {
      issues.push({ path: ['timeframe'], message: (e as Error).message, hint: (e as RunError).hint });
    }
    if (params.source === 'csv') {
      if (params.path === undefined || params.path.trim() === '') {
        issues.push({ path: ['path'], message: 'source `csv` needs a `path`', hint: 'add `path: data/EURUSD_H1.csv` (relative to the pipeline file)' });
      }
      if (params.start !== undefined) {
        issues.push({ path: ['start'], message: '`start` only applies to source `synthetic`', hint: 'remove `start`; a CSV file starts where its data starts' });
      }
    } else {
      if (params.path !== undefined) {
        issues.push({ path: ['path'], message: '`path` is given but source is `synthetic`', hint: 'set `source: csv` to read the file, or remove `path`' });
      }
      if (params.start !== undefined && !Number.isFinite(parseTimestamp(params.start))) {
        issues.push({ path: ['start'], message: `cannot read start date ${JSON.stringify(params.start)}`, hint: 'write a UTC date such as 2020-01-05 or 2020-01-05T22:00' });
      }
    }
    return issues;
  },

  async fingerprint(params: FetchParams, ctx) {
    if (params.source !== 'csv' || params.path === undefined) return null;
    const abs = ctx.resolvePath(params.path);
    const data = await readData(abs, ctx.pipelineDir);
    return { sha256: sha256(data), size: data.length };
  },

  async run(_inputs, params: FetchParams, ctx): Promise<Candles> {
    const tf = parseTimeframe(params.timeframe);
    if (params.source === 'synthetic') {
      let start: number | undefined;
      if (params.start !== undefined) {
        start = parseTimestamp(params.start);
        if (!Number.isFinite(start)) throw new RunError(`cannot read start date ${JSON.stringify(params.start)}`, { hint: 'write a UTC date such as 2020-01-05 or 2020-01-05T22:00' });
      }
      const out = syntheticCandles({ symbol: params.symbol, timeframeMs: tf.ms, bars: params.bars, seed: ctx.seed, start });
      ctx.progress(1);
      return out;
    }

    if (params.path === undefined) throw new RunError('source `csv` needs a `path`', { hint: 'add `path:` naming the CSV file, relative to the pipeline file' });
    const abs = ctx.resolvePath(params.path);
    const data = await readData(abs, ctx.pipelineDir);
    const { frame, quality } = parseHeaderCsv(data.toString('utf8'), abs);
    for (const q of quality) {
      ctx.warn(`${path.basename(abs)}: ${q.kind.replace(/_/g, ' ')}: ${q.count} (${q.action}${q.detail ? `; ${q.detail}` : ''})`);
    }
    const spacing = medianSpacing(frame.index);
    if (Number.isFinite(spacing) && spacing !== tf.ms) {
      ctx.warn(
        `${path.basename(abs)}: bars are ${formatTimeframe(spacing)} apart (median) but timeframe is ${tf.canonical}; set \`timeframe: ${formatTimeframe(spacing)}\` if that is the file's bar size`,
      );
    }
    ctx.progress(1);
    return {
      type: 'Candles',
      symbol: params.symbol,
      timeframe: tf.canonical,
      source: `csv:${path.basename(abs)}`,
      pip: pipSize(params.symbol),
      quality,
      index: frame.index,
      columns: frame.columns,
    };
  },

  metrics(out: Candles) {
    return { bars: out.index.length };
  },

  summary(out: Candles) {
    const n = out.index.length;
    if (n === 0) return '0 bars';
    return `${thousands(n)} bars ${isoUtc(out.index[0])} → ${isoUtc(out.index[n - 1])} UTC`;
  },
});
