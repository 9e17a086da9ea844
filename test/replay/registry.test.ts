import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isoUtc } from '../../src/data/frame.js';
import { fxflow, parseRun, workdir } from '../helpers/cli.js';
import { runSteps } from './helpers.js';

/**
 * Every model a replay made champion lands in the model registry with its lineage. The CLI (built
 * bin) runs the pipeline; the reference is the same replay run in process (the loop's own timeline
 * and predictions), and the schedule itself: retrains every 250 bars from the first one.
 */

const YAML = `version: 1
name: replay-registry
seed: 7
steps:
  candles:
    uses: fetch
    with: { source: synthetic, symbol: EURUSD, timeframe: 1h, bars: 2300, start: "2021-01-04" }
  features:
    uses: features
    from: candles
    with: { indicators: [{ rsi: { period: 14 } }], returns: [1, 4], volatility: [24], target: { forward_return: { horizons: [1, 3] } } }
  replay:
    uses: replay
    from: { features: features, candles: candles }
    with:
      train: { model: ridge, alpha: 1 }
      retrain: { every: 250 bars, window: rolling, train_bars: 900, val_bars: 200, challenger: { metric: ic, margin: 0 } }
      backtest: { entry_threshold: 0.0001, costs: { spread_pips: 0.8 } }
`;

interface Listed {
  id: string;
  key: string;
  model: string;
  pipeline: string;
  step: string;
  run: string;
  stage: string | null;
  replay?: { id: number; retrainedAt: string; reason: string; decision: string; trainFrom: string; trainTo: string; trainRows: number };
}

describe('replay models in the registry (built CLI)', () => {
  it('lists each champion with its retrain time and reason, shows its lineage, promotes it, and predicts as the replay did', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'r.yaml'), YAML);
    const run = await fxflow(['run', 'r.yaml', '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const runId = parseRun(run).runId;

    // The reference: the same replay in process.
    const ref = await runSteps(YAML, 7);
    const done = await ref.replayRows({});
    const index = ref.features.index;
    const crowned = done.result.events.filter((e) => e.decision === 'champion' || e.decision === 'promoted').map((e) => e.model);
    const kept = done.result.events.filter((e) => e.decision === 'kept').map((e) => e.model);
    expect(crowned.length).toBeGreaterThan(1);
    expect(kept.length).toBeGreaterThan(0);
    // The schedule: the first model at the first full window, then one every 250 rows.
    const rows = done.result.models.map((m) => m.row);
    rows.forEach((r, i) => expect(r).toBe(rows[0] + 250 * i));

    const list = await fxflow(['models', '--json'], { cwd: dir });
    expect(list.code, list.stderr).toBe(0);
    const models = (JSON.parse(list.stdout) as Listed[]).filter((m) => m.replay);
    expect(models.map((m) => m.replay!.id).sort()).toEqual([...crowned].sort());
    for (const m of models) {
      const fitted = done.result.models[m.replay!.id];
      expect(m).toMatchObject({ model: 'ridge', pipeline: 'replay-registry', step: 'replay', run: runId, stage: null });
      expect(m.id).toMatch(new RegExp(`^[0-9a-f]{12}\\.m${m.replay!.id}$`));
      expect(m.replay!.retrainedAt).toBe(isoUtc(index[fitted.row]));
      expect(m.replay!.reason).toBe(m.replay!.id === 0 ? 'start' : 'schedule');
      expect(m.replay!.decision).toBe(m.replay!.id === 0 ? 'champion' : 'promoted');
      expect(m.replay!.trainFrom).toBe(isoUtc(index[fitted.train.start]));
      expect(m.replay!.trainTo).toBe(isoUtc(index[fitted.train.end - 1]));
    }
    const table = await fxflow(['models'], { cwd: dir });
    expect(table.stdout).toContain('replay retrain (UTC)');
    const last = models.find((m) => m.replay!.id === Math.max(...crowned))!;
    expect(table.stdout).toContain(`${last.id}  ridge`);

    // Lineage.
    const show = await fxflow(['models', 'show', last.id], { cwd: dir });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`run        ${runId} (succeeded), step replay`);
    expect(show.stdout).toContain(`model ${last.replay!.id} of replay step replay: fitted at the bar of ${last.replay!.retrainedAt} (schedule)`);
    expect(show.stdout).toContain(`trained on ${last.replay!.trainRows} rows ${last.replay!.trainFrom} → ${last.replay!.trainTo}`);

    // A challenger that lost was not kept: a clear refusal.
    const lost = await fxflow(['models', 'show', `${last.id.split('.')[0]}.m${kept[0]}`], { cwd: dir });
    expect(lost.code).not.toBe(0);
    expect(lost.stderr).toContain(`replay model ${kept[0]} of ${last.id.split('.')[0]} was never the champion, so it was not kept`);
    expect(lost.stderr).not.toMatch(/\n\s+at /);

    // The report's id alone names no one model: the refusal lists them.
    const bare = await fxflow(['models', 'show', last.id.split('.')[0]], { cwd: dir });
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain(`is a replay's report, which holds ${crowned.length} models`);
    expect(bare.stderr).toContain(`${last.id} (the last is its final champion)`);

    // Promote, then predict with the champion: the replay's features, this model's scaler and state.
    const promote = await fxflow(['models', 'promote', last.id, '--stage', 'champion'], { cwd: dir });
    expect(promote.code, promote.stderr).toBe(0);
    const staged = JSON.parse((await fxflow(['models', '--json'], { cwd: dir })).stdout) as Listed[];
    expect(staged.find((m) => m.id === last.id)!.stage).toBe('champion');

    const pr = await fxflow(['predict', 'champion', '--json', '--from', last.replay!.retrainedAt], { cwd: dir });
    expect(pr.code, pr.stderr).toBe(0);
    const out = JSON.parse(pr.stdout) as { model: { id: string }; rows: Record<string, number | string | null>[] };
    expect(out.model.id).toBe(last.id);
    const byTs = new Map(out.rows.map((r) => [Date.parse(String(r.ts)), r]));
    const p = done.model.predictions;
    let compared = 0;
    for (let i = 0; i < p.index.length; i++) {
      if (p.segment[i] !== 2 || p.fold[i] !== last.replay!.id) continue;
      const row = byTs.get(p.index[i]);
      expect(row, isoUtc(p.index[i])).toBeDefined();
      for (const t of ['fwd_ret_1', 'fwd_ret_3']) expect(Object.is(row![t], p.values[t][i]), `${t} at ${isoUtc(p.index[i])}`).toBe(true);
      compared++;
    }
    expect(compared).toBe(done.result.models[last.replay!.id].served);
    expect(compared).toBeGreaterThan(0);
  }, 120_000);
});
