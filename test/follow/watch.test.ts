/**
 * `watchPipeline` (what `fxflow watch` runs) on a CSV file a feed appends to: the cycles after an
 * append extend the candles, features and a predict step's predictions (their logs say so), and
 * the artifacts stored for the last cycle are byte for byte those a run without following stores
 * for the same keys. Real HistData EURUSD M1 (2019), its first 30,000 lines.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpack } from '../../src/data/files.js';
import { sharedFile } from '../helpers/ctx.js';
import { expectSameAsFullRun, followedPipeline, recordedWatch } from '../helpers/followed-pipeline.js';

const z19 = sharedFile('HISTDATA_COM_ASCII_EURUSD_M12019.zip');

const PIPELINE = followedPipeline('followed', 'source: csv, path: data.csv, symbol: EURUSD, timeframe: 1m');

describe.skipIf(!z19)('watch follows a growing CSV file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fxflow-follow-watch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lines = Buffer.from(unpack(z19!, readFileSync(z19!))[0].bytes)
    .toString('latin1')
    .split('\n')
    .slice(0, 30_000)
    .map((l) => `${l}\n`);

  it('extends the candles and features after an append, storing the bytes a full run stores', { timeout: 300_000 }, async () => {
    const data = path.join(dir, 'data.csv');
    const file = path.join(dir, 'followed.yaml');
    writeFileSync(data, lines.slice(0, 29_000).join(''));
    writeFileSync(file, PIPELINE);
    const { watcher, events, progress, next, firstIdle } = await recordedWatch(file, path.join(dir, '.fxflow'));
    try {
      await firstIdle;
      // The watcher adds the data file after the first run: touch it until a change is seen, so
      // the appends below are (a touch changes no byte: nothing recomputes).
      let seen = false;
      const change = next('change').then(() => (seen = true));
      for (let t = 1; !seen; t++) {
        utimesSync(data, new Date(), new Date(Date.now() + t * 1000));
        await Promise.race([change, new Promise((r) => setTimeout(r, 200))]);
      }
      let idle = next('idle');
      await idle;
      for (const [a, b] of [
        [29_000, 29_001],
        [29_001, 29_400],
      ]) {
        idle = next('idle');
        appendFileSync(data, lines.slice(a, b).join(''));
        await idle;
        const last = progress[progress.length - 1];
        expect(last).toContain(`candles: following data.csv: ${b - a} bar${b - a === 1 ? '' : 's'} appended`);
        expect(last.some((l) => l.startsWith(`features: following: ${b - a} new bar`))).toBe(true);
        // The champion scored only the new bars.
        expect(last.some((l) => l.startsWith(`signal: following: ${b - a} new row${b - a === 1 ? '' : 's'} scored`))).toBe(true);
      }
    } finally {
      await watcher.close();
    }
    // The same pipeline on the same file, following off (the watcher is closed), in a store of its own.
    await expectSameAsFullRun(file, events, path.join(dir, '.fxflow'), path.join(dir, 'fresh'), ['candles', 'features', 'signal']);
  });
});
