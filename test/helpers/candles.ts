import type { Candles } from '../../src/core/artifacts.js';
import { parsePipelineText } from '../../src/parser/index.js';
import fetch from '../../src/steps/fetch/index.js';
import type { FetchParams } from '../../src/steps/fetch/params.js';
import { testContext } from './ctx.js';

/**
 * Candles from a data file through the real `fetch` step, with its params completed by the
 * pipeline validator exactly as a pipeline would (so tests never restate fetch's defaults).
 */
export async function fetchCandles(withParams: Record<string, unknown>): Promise<Candles> {
  const text = `version: 1\nname: t\nsteps:\n  c:\n    uses: fetch\n    with: ${JSON.stringify(withParams)}\n`;
  const parsed = parsePipelineText(text, '/tmp/helper.yaml');
  if (!parsed.spec) throw new Error(parsed.diagnostics.map((d) => d.message).join('\n'));
  return fetch.run({}, parsed.spec.steps[0].with as unknown as FetchParams, testContext());
}
