import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/artifacts.js';
import { renderReport } from '../../src/report/html.js';

const H = 3_600_000;
const T0 = Date.UTC(2021, 0, 4);

/** A replay's report: 300 bars, three decisions (first model, a promotion, a kept champion). */
function replayReport(): Report {
  const n = 300;
  const index = Float64Array.from({ length: n }, (_, i) => T0 + i * H);
  const zeros = new Float64Array(n);
  return {
    type: 'Report',
    symbol: 'EURUSD',
    metrics: { sharpe: 0.5, total_return: 0, annual_return: 0, max_drawdown: 0, trades: 0, win_rate: 0, retrains: 3 },
    index,
    position: zeros,
    equity: Float64Array.from({ length: n }, (_, i) => i * 1e-5),
    benchmark: zeros,
    notes: [],
    retrain: {
      policy: 'every FX week; challenger by ic + 0.01',
      skipped: 0,
      models: [],
      events: [
        { ts: index[0], reason: 'start', detail: 'first model', numbers: {}, model: 0, decision: 'champion' },
        {
          ts: index[120],
          reason: 'drift',
          detail: 'PSI 1.2 (vol_24) > 1 over the last 500 rows',
          numbers: { psi: 1.2 },
          model: 1,
          decision: 'promoted',
          compare: { metric: 'ic', from: index[20], to: index[110], champion: 0.01, challenger: 0.05, margin: 0.01 },
        },
        {
          ts: index[240],
          reason: 'schedule',
          detail: 'scheduled',
          numbers: {},
          model: 2,
          decision: 'kept',
          compare: { metric: 'ic', from: index[140], to: index[230], champion: 0.05, challenger: 0.055, margin: 0.01 },
        },
      ],
    },
  };
}

describe('HTML report of a replay', () => {
  it('has the retrain timeline table and a marker on the equity chart per model change', () => {
    const html = renderReport({
      run: { id: 'r1', pipeline: 'p', file: 'p.yaml', status: 'succeeded', startedAt: '2026-12-07 00:00:00', pipelineText: '' },
      steps: [],
      stepId: 'replay',
      report: replayReport(),
    });
    expect(html).toContain('<h2>Retrain timeline</h2>');
    expect(html).toContain('every FX week; challenger by ic + 0.01');
    expect(html).toContain('<td>2021-01-09 00:00</td><td>drift</td><td>PSI 1.2 (vol_24) &gt; 1 over the last 500 rows</td><td class="n">1</td>');
    expect(html).toContain('ic 0.0500 vs 0.0100 (margin 0.01)');
    const equity = /<svg[^>]*data-chart="equity".*?<\/svg>/s.exec(html)![0];
    // The first model and the promotion are marked; the kept champion is only in the table.
    expect(equity.match(/class="marker"/g)).toHaveLength(2);
    expect(equity).toContain('drift: PSI 1.2 (vol_24) &gt; 1 over the last 500 rows → model 1 promoted');
  });

  it('a backtest report has no timeline', () => {
    const r = replayReport();
    delete r.retrain;
    const html = renderReport({ run: { id: 'r', pipeline: 'p', file: 'p', status: 'ok', startedAt: '', pipelineText: '' }, steps: [], stepId: 'b', report: r });
    expect(html).not.toContain('Retrain timeline');
    expect(html).not.toContain('class="marker"');
  });
});
