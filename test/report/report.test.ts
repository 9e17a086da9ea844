import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, expect } from 'vitest';
import type { Report } from '../../src/core/artifacts.js';
import { pctTick, renderReport, type ReportInput } from '../../src/report/html.js';
import { groupedBars, lineChart, niceTicks } from '../../src/report/svg.js';
import { REPO } from '../helpers/cli.js';
import { CHROMIUM, renderPage } from './chromium.js';

const H = 3_600_000;
const T0 = Date.UTC(2022, 10, 28); // 28 Nov 2022: the bars span Nov 2022 → Jan 2023

/** A deterministic 1,200-bar report: a sine-shaped equity, three trades, two horizons. */
function sampleInput(): ReportInput {
  const n = 1200;
  const index = Float64Array.from({ length: n }, (_, i) => T0 + i * H);
  const net = Float64Array.from({ length: n }, (_, i) => 0.0004 * Math.sin(i / 40) + 0.00002);
  let e = 0;
  const equity = Float64Array.from(net, (v) => (e += v));
  let b = 0;
  const benchmark = Float64Array.from({ length: n }, (_, i) => (b += 0.0003 * Math.cos(i / 55)));
  const report: Report = {
    type: 'Report',
    symbol: 'EURUSD',
    metrics: {
      sharpe: 1.23,
      total_return: e,
      annual_return: 0.05,
      max_drawdown: 0.012,
      trades: 3,
      win_rate: 2 / 3,
      pnl_pips: 42,
      ic_fwd_ret_1: 0.03,
      custom_thing: 7,
    },
    index,
    position: new Float64Array(n).fill(1),
    equity,
    benchmark,
    notes: ['A prediction made at bar t’s close is filled at bar t+1’s open.'],
    net,
    trades: {
      entry: Float64Array.from([index[0], index[400], index[800]]),
      exit: Float64Array.from([index[399], index[799], index[1199]]),
      position: Float64Array.from([1, -1, 1]),
      bars: Float64Array.from([399, 399, 399]),
      pnl: Float64Array.from([0.01, -0.004, 0.002]),
      pips: Float64Array.from([110, -44, 22]),
      account: Float64Array.from([1000, -400, 200]),
    },
    forecast: [
      { target: 'fwd_ret_1', horizon: 1, rmse: 0.001, mae: 0.0008, directionalAccuracy: 0.52, ic: 0.03 },
      { target: 'fwd_ret_4', horizon: 4, rmse: 0.002, mae: 0.0016, directionalAccuracy: 0.51, ic: -0.01 },
    ],
    valForecast: [{ target: 'fwd_ret_1', horizon: 1, rmse: 0.001, mae: 0.0008, directionalAccuracy: 0.55, ic: 0.06 }],
    drift: ['fwd_ret_1: IC 0.06 on val → 0.03 traded'],
  };
  return {
    run: {
      id: '20261129-000000-abcdef',
      pipeline: 'quickstart',
      file: 'pipelines/quickstart.yaml',
      status: 'succeeded',
      startedAt: '2026-11-29 00:00:00',
      pipelineText: 'name: quickstart\n# <script>alert(1)</script>\n',
    },
    steps: [
      {
        id: 'candles',
        kind: 'fetch',
        cached: false,
        status: 'ok',
        summary: '20,000 bars',
        warnings: ['EURUSD_H1.csv: 63 zero_rows dropped'],
        params: { source: 'synthetic' },
      },
      { id: 'report', kind: 'backtest', cached: false, status: 'ok', summary: 'Sharpe 1.23', warnings: [], params: { entry_threshold: 0.0002 } },
    ],
    stepId: 'report',
    report,
  };
}

/** A run whose strategy never trades: position, net and equity all 0; the benchmark flat too when `flatBenchmark`. */
function noTradeInput(flatBenchmark: boolean): ReportInput {
  const input = sampleInput();
  const n = input.report.index.length;
  const zeros = new Float64Array(n);
  input.report = {
    ...input.report,
    metrics: { sharpe: NaN, total_return: 0, annual_return: 0, max_drawdown: 0, trades: 0, win_rate: NaN },
    position: zeros,
    equity: zeros,
    net: zeros,
    benchmark: flatBenchmark ? zeros : input.report.benchmark,
    trades: {
      entry: new Float64Array(0),
      exit: new Float64Array(0),
      position: new Float64Array(0),
      bars: new Float64Array(0),
      pnl: new Float64Array(0),
      pips: new Float64Array(0),
      account: new Float64Array(0),
    },
  };
  return input;
}

/** The `<svg data-chart=NAME>` element's y-axis tick labels, bottom to top, and its centred note. */
function axis(html: string, name: string): { y: string[]; note?: string } {
  const svg = html.match(new RegExp(`<svg class="chart" data-chart="${name}"[\\s\\S]*?</svg>`))?.[0];
  if (!svg) throw new Error(`no chart ${name}`);
  const y = [...svg.matchAll(/<text[^>]*class="yl"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  return { y, note: svg.match(/class="note"[^>]*>([^<]*)</)?.[1] };
}

describe('HTML report', () => {
  it('a run without trades gets a drawdown axis of 0 to −1% and a "no drawdown" note, not ±100%', () => {
    const html = renderReport(noTradeInput(false));
    // Domain [−1%, 0] in 5 nice steps of 0.2% (1, 2, 2.5, 5 × 10^k: 0.2% is the first ≥ 1%/5).
    expect(axis(html, 'drawdown')).toEqual({ y: ['-1.0%', '-0.8%', '-0.6%', '-0.4%', '-0.2%', '0.0%'], note: 'no drawdown' });
    // The equity axis is still scaled by the buy-and-hold line, which moves: no note.
    expect(axis(html, 'equity').note).toBeUndefined();
    expect(html).toContain('no trades');
  });

  it('an equity chart with every line flat at 0 spans ±1%, not ±100%', () => {
    const html = renderReport(noTradeInput(true));
    expect(axis(html, 'equity')).toEqual({ y: ['-1.0%', '-0.5%', '0.0%', '0.5%', '1.0%'], note: 'flat: no position was held' });
  });

  it('degenerate line charts: all NaN says "no data", one point draws a dot, tiny ranges keep distinct tick labels', () => {
    const base = { title: 't', yFormat: pctTick, flatDomain: [-0.01, 0] as [number, number] };
    const nan = lineChart({ ...base, name: 'nan', x: [0, 1, 2], series: [{ name: 's', y: [NaN, NaN, NaN], color: '#000' }] });
    expect(axis(nan, 'nan')).toEqual({ y: ['-1.0%', '-0.8%', '-0.6%', '-0.4%', '-0.2%', '0.0%'], note: 'no data' });
    expect(nan).not.toContain('class="mark');
    const one = lineChart({ ...base, name: 'one', x: [Date.UTC(2024, 0, 2, 3, 4)], series: [{ name: 's', y: [-0.003], color: '#000' }] });
    expect(one).toContain('class="mark dot"');
    expect(one).toContain('>2024-01-02 03:04</text>');
    // A 0.03% drawdown: 0.03%/5 = 0.006% → the next nice step is 0.01%, so ticks −0.03% … 0 need 2 decimals; with 1 all read "-0.0%".
    const tiny = lineChart({ ...base, name: 'tiny', x: [0, 1, 2], series: [{ name: 's', y: [0, -0.0003, -0.0001], color: '#000' }] });
    expect(axis(tiny, 'tiny').y).toEqual(['-0.03%', '-0.02%', '-0.01%', '0.00%']);
    expect(pctTick(0.005, 0.0025)).toBe('0.50%');
    expect(pctTick(-0.4, 0.2)).toBe('-40%');
    // Bars with no finite value (IC of constant predictions): the chart says so.
    const bars = groupedBars({ name: 'ic', title: 't', labels: ['h=1'], series: [{ name: 's', values: [NaN], color: '#000' }], yFormat: (v) => v.toFixed(3) });
    expect(axis(bars, 'ic').note).toBe('no data');
    expect(bars).not.toContain('class="mark');
  });

  it('is self-contained, escapes text, has every section, and is deterministic', () => {
    const input = sampleInput();
    const html = renderReport(input);
    expect(renderReport(sampleInput())).toBe(html);
    // No script, no external resource: the only URL is the SVG namespace.
    expect(html).not.toMatch(/<script/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link|@import|url\(/);
    expect(html).toContain('# &lt;script&gt;alert(1)&lt;/script&gt;');
    for (const chart of ['equity', 'drawdown', 'monthly', 'trades', 'forecast']) expect(html).toContain(`data-chart="${chart}"`);
    // Monthly heat map: rows 2022 and 2023; Nov, Dec 2022 and Jan 2023 have bars (1,200 h from 28 Nov = 50 days).
    expect(html).toMatch(/>2022<\/text>/);
    expect(html).toMatch(/>2023<\/text>/);
    expect(html.match(/class="mark cell"/g)?.length).toBe(3);
    expect(html).toContain('EURUSD_H1.csv: 63 zero_rows dropped');
    expect(html).toContain('IC 0.06 on val → 0.03 traded');
    expect(html).toContain('custom_thing');
    expect(html).toContain('66.7%'); // win rate
  });

  it('nice ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    // Span 0.017 / 4 = 0.00425 → step 0.005 (the next of 1, 2, 2.5, 5 × 0.001); multiples of it inside [−0.013, 0.004].
    expect(niceTicks(-0.013, 0.004, 4)).toEqual([-0.01, -0.005, 0]);
  });
});

describe.skipIf(!CHROMIUM)('HTML report in headless Chromium', () => {
  it('draws every chart, logs no console error, requests nothing', async () => {
    const dir = path.join(REPO, 'test-output');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'report.html');
    writeFileSync(file, renderReport(sampleInput()));
    const r = await renderPage(
      pathToFileURL(file).href,
      `JSON.stringify([...document.querySelectorAll('svg.chart')].map((s) => {
         const box = s.getBoundingClientRect();
         const marks = [...s.querySelectorAll('.mark')].map((m) => m.getBBox());
         return { name: s.dataset.chart, w: box.width, h: box.height, marks: marks.length,
                  drawn: marks.filter((b) => b.width > 0 || b.height > 0).length };
       }))`,
    );
    const png = path.join(dir, 'report.png');
    writeFileSync(png, r.png);
    console.log(`[report] screenshot: ${path.relative(REPO, png)} (${r.png.length} bytes)`);
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    const charts = JSON.parse(r.value as string) as { name: string; w: number; h: number; marks: number; drawn: number }[];
    expect(charts.map((c) => c.name)).toEqual(['equity', 'drawdown', 'monthly', 'trades', 'forecast']);
    for (const c of charts) {
      expect(c.w, c.name).toBeGreaterThan(100);
      expect(c.h, c.name).toBeGreaterThan(100);
      expect(c.drawn, c.name).toBeGreaterThan(0);
      expect(c.drawn, c.name).toBe(c.marks);
    }
    // Equity: two lines; drawdown: an area and its line; monthly: 3 months; forecast: 2 traded + 1 val bars.
    expect(charts[0].marks).toBe(2);
    expect(charts[1].marks).toBe(2);
    expect(charts[2].marks).toBe(3);
    expect(charts[4].marks).toBe(3);
    // A PNG: the signature, and an image taller than the viewport (the full page).
    expect(r.png.subarray(1, 4).toString()).toBe('PNG');
    expect(r.png.readUInt32BE(20)).toBeGreaterThan(1500);
  }, 60_000);
});

describe.skipIf(!CHROMIUM)('HTML report layout in headless Chromium', () => {
  // The pipeline table printed each step's params as one JSON run with no space to break at, so a
  // real features step (dozens of indicators) made the page 1,631 px wide in a 1,280 px window.
  it.each([1280, 420])(
    'has no horizontal scrollbar in a %i px wide window',
    async (width) => {
      const input = sampleInput();
      const indicators = ['rsi', 'ema', 'sma', 'wma', 'kama', 'macd', 'bbands', 'atr', 'adx', 'cci', 'willr', 'mfi'].map((k, i) => ({
        [k]: { period: 10 + i, on: 'close' },
      }));
      input.steps.push({
        id: 'features_with_a_rather_long_step_name',
        kind: 'features',
        cached: true,
        status: 'ok',
        warnings: [`/a/very/long/path/without/spaces/${'x'.repeat(200)}.csv: 3 rows dropped`],
        params: { indicators, returns: [1, 4, 24], target: { forward_return: { horizons: [1, 4] } } },
      });
      input.run.file = `pipelines/${'deeply/nested/'.repeat(12)}pipeline.yaml`;
      const dir = path.join(REPO, 'test-output');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `report-${width}.html`);
      writeFileSync(file, renderReport(input));
      const r = await renderPage(
        pathToFileURL(file).href,
        `JSON.stringify({ scroll: document.scrollingElement.scrollWidth, client: document.documentElement.clientWidth })`,
        { width, height: 800 },
      );
      writeFileSync(path.join(dir, `report-${width}.png`), r.png);
      const m = JSON.parse(r.value as string) as { scroll: number; client: number };
      expect(r.errors).toEqual([]);
      expect(m.client).toBeLessThanOrEqual(width);
      expect(m.scroll, `page is ${m.scroll} px wide in a ${width} px window`).toBeLessThanOrEqual(m.client);
    },
    60_000,
  );
});

if (!CHROMIUM) console.warn('[skip] chromium not found (apt-get install -y chromium): the headless render test of the HTML report is skipped');
