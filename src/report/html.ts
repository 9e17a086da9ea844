import type { HorizonMetrics, Report } from '../core/artifacts.js';
import { drawdownSeries } from '../backtest/metrics.js';
import { esc, groupedBars, heatMap, histogram, lineChart, scatterChart, type Series } from './svg.js';
import { fixed as num, pct, thousands } from '../core/format.js';
import { firstRowAtOrAfter } from '../evaluation/folds.js';
import type { SweepOverfit } from '../runtime/history.js';

/**
 * The HTML report of a run: one self-contained file (inline CSS and SVG, no script, no network), so
 * it opens offline and can be mailed around. Everything here is a pure function of its input.
 */

export interface ReportStepInfo {
  id: string;
  kind: string;
  cached: boolean;
  status: string;
  summary?: string;
  warnings: string[];
  params: unknown;
}

export interface ReportInput {
  run: { id: string; pipeline: string; file: string; status: string; startedAt: string; endedAt?: string; gitCommit?: string | null; pipelineText: string };
  steps: ReportStepInfo[];
  /** The step whose Report is shown. */
  stepId: string;
  report: Report;
  /** Other steps of the run with a Report (not shown). */
  otherReports?: string[];
  /** A sweep's winner: how much of it is luck (deflated Sharpe, PBO). */
  overfit?: SweepOverfit;
}

/**
 * A percent axis tick: as many decimals as the tick step needs (0.25% steps get 2), so that close
 * ticks on a small range do not all print as "0.0%".
 */
export function pctTick(v: number, step: number): string {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(step * 100 * 10 ** d) - step * 100 * 10 ** d) > 1e-6 * 10 ** d) d++;
  return pct(v, d);
}
const int = (x: number): string => (Number.isFinite(x) ? thousands(Math.round(x)) : '—');

/** How each known metric is shown: label, formatter, group. Unknown metrics are listed as numbers. */
const METRICS: [string, string, (x: number) => string, string][] = [
  ['total_return', 'Total return (log)', pct, 'Returns'],
  ['annual_return', 'Annualised return (log)', pct, 'Returns'],
  ['annual_volatility', 'Annualised volatility', pct, 'Returns'],
  ['sharpe', 'Sharpe', num, 'Risk-adjusted'],
  ['sortino', 'Sortino', num, 'Risk-adjusted'],
  ['calmar', 'Calmar', num, 'Risk-adjusted'],
  ['max_drawdown', 'Max drawdown (log)', pct, 'Risk-adjusted'],
  ['max_drawdown_bars', 'Longest drawdown (bars)', int, 'Risk-adjusted'],
  ['trades', 'Trades', int, 'Trades'],
  ['win_rate', 'Win rate', (x) => pct(x, 1), 'Trades'],
  ['profit_factor', 'Profit factor', num, 'Trades'],
  ['expectancy', 'Expectancy per trade (log)', (x) => pct(x, 4), 'Trades'],
  ['expectancy_pips', 'Expectancy per trade (pips)', (x) => num(x, 2), 'Trades'],
  ['avg_holding_bars', 'Average holding (bars)', (x) => num(x, 1), 'Trades'],
  ['hit_rate', 'Bars in profit (of bars held)', (x) => pct(x, 1), 'Trades'],
  ['exposure', 'Exposure (share of bars held)', (x) => pct(x, 1), 'Trades'],
  ['turnover', 'Turnover (position units / year)', (x) => num(x, 0), 'Trades'],
  ['costs', 'Costs paid (log return)', (x) => pct(x, 3), 'PnL'],
  ['pnl_pips', 'PnL (pips)', (x) => num(x, 1), 'PnL'],
  ['pnl_long_pips', 'PnL long (pips)', (x) => num(x, 1), 'PnL'],
  ['pnl_short_pips', 'PnL short (pips)', (x) => num(x, 1), 'PnL'],
  ['pnl_account', 'PnL (account currency)', (x) => num(x, 2), 'PnL'],
  ['pnl_long_account', 'PnL long (account currency)', (x) => num(x, 2), 'PnL'],
  ['pnl_short_account', 'PnL short (account currency)', (x) => num(x, 2), 'PnL'],
  ['benchmark_return', 'Buy and hold return (log)', pct, 'Benchmark'],
  ['benchmark_sharpe', 'Buy and hold Sharpe', num, 'Benchmark'],
  ['bars', 'Bars simulated', int, 'Sample'],
  ['years', 'Years (FX trading time)', (x) => num(x, 2), 'Sample'],
];

/** The report's stylesheet (`fxflow ui` serves it too, for the same charts and tables). */
export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;margin:0;background:#f5f6f8}
main{max-width:900px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px;border-bottom:1px solid #d9dde3;padding-bottom:4px}
.sub{color:#5b6472;font-size:13px;overflow-wrap:anywhere}h1{overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:8px;margin:18px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 10px}.card b{display:block;font-size:18px}.card span{color:#5b6472;font-size:12px}
.panel{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px;margin:10px 0;overflow-x:auto}
.panel svg{display:block;max-width:100%;height:auto}
.tbl{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #eceef2;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{color:#5b6472;font-weight:600}
td code,li{overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px;overflow-x:auto;font-size:12px}
ul.notes li{margin:3px 0}.warn{color:#9a5b00}.good{color:#1a7f45}.bad{color:#b42318}
svg .ct{font-size:13px;font-weight:600;fill:#1d2430}svg .yl{font-size:11px;fill:#5b6472;text-anchor:end;dominant-baseline:middle}
svg .xl,svg .hl{font-size:11px;fill:#5b6472;text-anchor:middle}svg .lg{font-size:12px;fill:#1d2430}svg .hv{font-size:10px;fill:#1d2430;text-anchor:middle}
svg .note{font-size:13px;fill:#5b6472;text-anchor:middle}svg .grid{stroke:#eceef2}svg .zero{stroke:#9aa3af}
`;

function monthly(index: Float64Array, net: Float64Array): { rows: string[]; cells: number[][] } {
  const byYear = new Map<number, number[]>();
  for (let i = 0; i < index.length; i++) {
    const d = new Date(index[i]);
    const y = d.getUTCFullYear();
    let row = byYear.get(y);
    if (!row) byYear.set(y, (row = new Array<number>(12).fill(NaN)));
    const m = d.getUTCMonth();
    row[m] = (Number.isNaN(row[m]) ? 0 : row[m]) + net[i];
  }
  const years = [...byYear.keys()].sort((a, b) => a - b);
  return { rows: years.map(String), cells: years.map((y) => byYear.get(y)!) };
}

const RETRAIN_COLOR: Record<string, string> = { champion: '#16a34a', promoted: '#16a34a', shadow: '#d97706', kept: '#9aa3af' };
const RETRAIN_ROWS = 200;

/** Equity-chart markers of a replay's model changes (green) and challengers entering a shadow period (amber); retrains that kept the champion are only in the table. */
function retrainMarkers(r: ReportInput['report']): { i: number; color: string; title: string }[] {
  const n = r.index.length;
  if (!r.retrain || n === 0) return [];
  return r.retrain.events
    .filter((e) => e.decision !== 'kept')
    .map((e) => ({
      i: Math.min(n - 1, firstRowAtOrAfter(r.index, e.ts)),
      color: RETRAIN_COLOR[e.decision] ?? '#9aa3af',
      title: `${new Date(e.ts).toISOString().slice(0, 16).replace('T', ' ')} ${e.reason}: ${e.detail} → model ${e.model} ${e.decision}`,
    }));
}

/** A replay's retrain timeline: when, why, which model won, with the numbers. */
function retrainSection(r: ReportInput['report']): string {
  const t = r.retrain;
  if (!t) return '';
  const d = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  const rows = t.events.slice(0, RETRAIN_ROWS).map((e) => {
    const c = e.compare;
    const vs = c ? `${c.metric} ${num(c.challenger, 4)} vs ${num(c.champion, 4)} (margin ${c.margin})` : '';
    return `<tr><td>${esc(d(e.ts))}</td><td>${esc(e.reason)}</td><td>${esc(e.detail)}</td><td class="n">${e.model}</td><td style="color:${RETRAIN_COLOR[e.decision] ?? 'inherit'}">${esc(e.decision)}</td><td>${esc(vs)}</td></tr>`;
  });
  const more = t.events.length > RETRAIN_ROWS ? `<p class="sub">First ${RETRAIN_ROWS} of ${thousands(t.events.length)} decisions shown.</p>` : '';
  const skipped = t.skipped ? ` · ${thousands(t.skipped)} retrain(s) skipped during shadow periods` : '';
  return `<h2>Retrain timeline</h2><p class="sub">${esc(t.policy)} · ${thousands(t.models.length)} model(s) fitted${esc(skipped)}. Dashed lines on the equity chart: green where the model changed, amber where a challenger entered its shadow period (hover for the reason).</p><div class="tbl"><table><tr><th>bar (UTC)</th><th>why</th><th>detail</th><th>model</th><th>decision</th><th>challenger vs champion</th></tr>${rows.join('')}</table></div>${more}`;
}

/** The regime timeline (state at each signal) under the equity curve, and the per-regime metrics. */
function regimeSection(r: ReportInput['report']): string {
  if (!r.regime) return '';
  const m = r.metrics;
  const states = [...new Set(Object.keys(m).flatMap((k) => /^regime_(\d+)_bars$/.exec(k)?.[1] ?? []))].map(Number).sort((a, b) => a - b);
  const rows = states
    .map(
      (k) =>
        `<tr><td>${k}</td><td class="n">${esc(int(m[`regime_${k}_bars`]))}</td><td class="n">${esc(pct(m[`regime_${k}_total_return`]))}</td><td class="n">${esc(num(m[`regime_${k}_sharpe`]))}</td><td class="n">${esc(pct(m[`regime_${k}_hit_rate`], 1))}</td><td class="n">${esc(pct(m[`regime_${k}_exposure`], 1))}</td><td class="n">${esc(int(m[`regime_${k}_trades`]))}</td></tr>`,
    )
    .join('');
  const chart = lineChart({
    name: 'regime',
    title: `Regime in force at each signal (${r.regime.column}; 0 = calmest)`,
    x: r.index,
    series: [{ name: r.regime.column, y: r.regime.state, color: '#7c3aed' }],
    yFormat: (v) => v.toFixed(0),
    flatDomain: [0, 1],
    flatNote: 'one regime throughout',
    height: 160,
  });
  return `<h2>By regime</h2><div class="panel">${chart}</div><div class="tbl"><table><tr><th>state</th><th>bars</th><th>net return</th><th>Sharpe</th><th>hit rate</th><th>exposure</th><th>trades</th></tr>${rows}</table></div>`;
}

/** Feature importances of the traded model (each method as a share of its total) and the top features' SHAP dependence. */
function explainSection(r: ReportInput['report']): string {
  const e = r.explain;
  if (!e) return '';
  const target = e.importance.find((i) => i.method === 'shap' || i.method === 'permutation')?.target;
  const methods = e.importance.filter((i) => i.target === target);
  if (!methods.length) return '';
  const share = (v: number[]): number[] => {
    const total = v.reduce((a, b) => a + Math.max(0, b), 0);
    return v.map((x) => (total > 0 ? Math.max(0, x) / total : NaN));
  };
  const lead = methods.find((i) => i.method === 'shap') ?? methods.find((i) => i.method === 'permutation') ?? methods[0];
  const order = e.featureNames.map((_, j) => j).sort((a, b) => (lead.values[b] ?? 0) - (lead.values[a] ?? 0) || a - b);
  const top = order.slice(0, 12);
  const colors: Record<string, string> = { shap: '#2563eb', permutation: '#f59e0b', gain: '#9aa3af' };
  const bars = groupedBars({
    name: 'importance',
    title: `Feature importance for ${target}: share of each method's total (validation rows)`,
    labels: top.map((j) => e.featureNames[j]),
    series: methods.map((i) => ({ name: i.method, values: top.map((j) => share(i.values)[j]), color: colors[i.method] ?? '#7c3aed' })),
    yFormat: (v) => pct(v),
    height: 260,
  });
  const deps = e.dependence
    .map((d) => {
      // At most 400 points a plot (every k-th row): the report stays light.
      const step = Math.max(1, Math.ceil(d.x.length / 400));
      const points = Array.from({ length: Math.ceil(d.x.length / step) }, (_, i) => ({
        x: d.x[i * step],
        y: d.shap[i * step],
        label: `${d.feature} = ${num(d.x[i * step])}`,
      }));
      return scatterChart({
        name: `shap-${d.feature}`,
        title: `SHAP of ${d.feature} (${d.target}) against its value`,
        points,
        xLabel: d.feature,
        yLabel: 'SHAP',
        width: 420,
        height: 260,
      });
    })
    .join('');
  return `<h2>Why the model predicts what it does</h2><div class="panel">${bars}</div>${deps ? `<div class="panel">${deps}</div>` : ''}<p class="sub">permutation: rise in validation MSE when the feature is shuffled; shap: mean |SHAP value| (exact TreeSHAP, in the model's raw units); gain: total split gain. Each as a share of its method's total.</p>`;
}

function metricsTable(m: Record<string, number>): string {
  const known = new Set(METRICS.map((x) => x[0]));
  const groups = new Map<string, string[]>();
  for (const [key, label, f, group] of METRICS) {
    if (!(key in m)) continue;
    const g = groups.get(group) ?? [];
    g.push(`<tr><td>${esc(label)}</td><td class="n">${esc(f(m[key]))}</td><td class="sub">${esc(key)}</td></tr>`);
    groups.set(group, g);
  }
  const rest = Object.keys(m)
    .filter((k) => !known.has(k) && !/^(rmse|mae|da|ic)_/.test(k) && !/^regime_\d+_/.test(k))
    .sort();
  if (rest.length)
    groups.set(
      'Other',
      rest.map((k) => `<tr><td>${esc(k)}</td><td class="n">${esc(num(m[k], 6))}</td><td class="sub">${esc(k)}</td></tr>`),
    );
  return `<div class="tbl"><table><tr><th>metric</th><th>value</th><th>name in run history</th></tr>${[...groups]
    .map(([g, rows]) => `<tr><th colspan="3">${esc(g)}</th></tr>${rows.join('')}`)
    .join('')}</table></div>`;
}

function forecastSection(r: Report): string {
  const f = r.forecast ?? [];
  if (!f.length) return '<p class="sub">No forecast metrics (the dataset has no actual targets for the traded rows).</p>';
  const val = (t: string): HorizonMetrics | undefined => r.valForecast?.find((v) => v.target === t);
  const labels = f.map((x) => `h=${x.horizon} (${x.target})`);
  const chart = groupedBars({
    name: 'forecast',
    title: 'Information coefficient (Spearman) per horizon',
    labels,
    series: [
      { name: 'validation', values: f.map((x) => val(x.target)?.ic ?? NaN), color: '#9aa3af' },
      { name: 'traded segments', values: f.map((x) => x.ic), color: '#2563eb' },
    ],
    yFormat: (v) => v.toFixed(3),
  });
  const rows = f
    .map((x) => {
      const v = val(x.target);
      return `<tr><td>${esc(x.target)}</td><td class="n">${x.horizon}</td><td class="n">${x.rmse.toExponential(3)}</td><td class="n">${x.mae.toExponential(3)}</td><td class="n">${pct(x.directionalAccuracy, 1)}</td><td class="n">${num(x.ic, 4)}</td><td class="n">${v ? num(v.ic, 4) : '—'}</td><td class="n">${v ? pct(v.directionalAccuracy, 1) : '—'}</td></tr>`;
    })
    .join('');
  return `<div class="panel">${chart}</div><div class="tbl"><table><tr><th>target</th><th>horizon</th><th>RMSE</th><th>MAE</th><th>dir. accuracy</th><th>IC</th><th>IC (val)</th><th>dir. acc. (val)</th></tr>${rows}</table></div>`;
}

/** Fan chart, calibration (PIT histogram, coverage against nominal) and CRPS per horizon, for a model with a forecast distribution. */
function distributionSection(r: Report): string {
  const d = r.distribution;
  if (!d) return '';
  const { fan } = d;
  const band = (lo: number, hi: number): ArrayLike<number> | undefined => fan.bands[fan.levels.indexOf(lo)] && fan.bands[fan.levels.indexOf(hi)];
  const series: Series[] = [];
  if (band(0.05, 0.95))
    series.push({ name: '90% interval', y: fan.bands[fan.levels.indexOf(0.95)], lower: fan.bands[fan.levels.indexOf(0.05)], color: '#93c5fd' });
  if (band(0.25, 0.75))
    series.push({ name: '50% interval', y: fan.bands[fan.levels.indexOf(0.75)], lower: fan.bands[fan.levels.indexOf(0.25)], color: '#3b82f6' });
  if (fan.levels.includes(0.5)) series.push({ name: 'median forecast', y: fan.bands[fan.levels.indexOf(0.5)], color: '#1e3a8a' });
  series.push({ name: 'realised close', y: fan.realised, color: '#111827' });
  const fanChart = fan.index.length
    ? lineChart({
        name: 'fan',
        title: 'Forecast fan',
        x: fan.index,
        series,
        yFormat: (v, step) => v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(step || 1)) + 1))),
        zero: false,
        height: 300,
      })
    : '';
  const test = d.scores.filter((s) => s.segment === 'test' && s.n > 0);
  const mine = test.find((s) => s.target === d.target);
  const val = (t: string) => d.scores.find((s) => s.segment === 'val' && s.target === t);
  const pit = mine
    ? groupedBars({
        name: 'pit',
        title: `PIT histogram, test (${d.target}, ${mine.form}): density per bin, 1 = calibrated`,
        labels: mine.pit.map((_, b) => `${b / 10}–${(b + 1) / 10}`),
        series: [{ name: 'test', values: mine.pit.map((c) => (c * mine.pit.length) / Math.max(1, mine.n)), color: '#2563eb' }],
        yFormat: (v) => v.toFixed(2),
        height: 220,
      })
    : '';
  const cov = mine
    ? groupedBars({
        name: 'coverage',
        title: `Coverage vs nominal (h=${d.horizon})`,
        labels: mine.coverage.map((c) => `${Math.round(c.nominal * 100)}%`),
        series: [
          { name: 'nominal', values: mine.coverage.map((c) => c.nominal), color: '#9aa3af' },
          { name: 'validation', values: val(d.target)?.coverage.map((c) => c.coverage) ?? [], color: '#93c5fd' },
          { name: 'test', values: mine.coverage.map((c) => c.coverage), color: '#2563eb' },
        ],
        yFormat: (v) => pct(v, 0),
        height: 220,
      })
    : '';
  const crps = test.length
    ? groupedBars({
        name: 'crps',
        title: 'CRPS per horizon (lower is better; target units)',
        labels: test.map((s) => `h=${s.horizon} (${s.target})`),
        series: [
          { name: 'validation', values: test.map((s) => val(s.target)?.crps ?? NaN), color: '#9aa3af' },
          { name: 'test', values: test.map((s) => s.crps), color: '#2563eb' },
        ],
        yFormat: (v) => v.toExponential(2),
        height: 220,
      })
    : '';
  const rows = test
    .map(
      (s) =>
        `<tr><td>${esc(s.target)}</td><td>${esc(s.form)}</td><td class="n">${s.crps.toExponential(3)}</td>${s.coverage.map((c) => `<td class="n">${pct(c.coverage, 1)} (${c.width.toExponential(2)})</td>`).join('')}<td class="n">${s.n}</td></tr>`,
    )
    .join('');
  const head = `<tr><th>target</th><th>form</th><th>CRPS</th>${(test[0]?.coverage ?? []).map((c) => `<th>${Math.round(c.nominal * 100)}% cover (width)</th>`).join('')}<th>rows</th></tr>`;
  return `<h2>Forecast distribution</h2>
${fanChart ? `<p class="sub">The close ${d.horizon} bar(s) ahead as forecast (${esc(d.target)}: 50% and 90% intervals, median) against the realised close, newest ${fan.index.length} test bars.</p><div class="panel">${fanChart}</div>` : ''}
${pit ? `<div class="panel">${pit}</div>` : ''}${cov ? `<div class="panel">${cov}</div>` : ''}${crps ? `<div class="panel">${crps}</div>` : ''}
${rows ? `<div class="tbl"><table>${head}${rows}</table></div>` : ''}
${mine?.form === 'gaussian' ? '<p class="sub">A point model: its distribution is a Gaussian around each forecast with the spread of its fold’s validation residuals (so the validation scores are in-sample).</p>' : ''}`;
}

function paramsText(p: unknown): string {
  if (p === null || p === undefined) return '';
  return JSON.stringify(p);
}

/** "Is the winner real?": the sweep winner's deflated Sharpe and the sweep's PBO, in cards and one plain line. */
function overfitSection(o: SweepOverfit): string {
  const card = (label: string, value: string): string => `<div class="card"><span>${esc(label)}</span><b>${esc(value)}</b></div>`;
  const p = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(0)}%`);
  return `<h2>Is the winner real?</h2>
<p>${esc(o.line)}.</p>
<div class="cards">
${card('Trials', String(o.trials))}${card('Deflated Sharpe', num(o.dsr))}${card('PSR', num(o.psr))}${card('Best of N by luck', num(o.sr0Annual))}${card('PBO', p(o.pbo))}${card('Days', String(o.periods))}
</div>
<p class="sub">Deflated Sharpe ratio (Bailey &amp; López de Prado 2014) of the selected variant's daily returns on the selection segment, given the variance of the ${o.trials} trials' Sharpe ratios, skewness ${num(o.skew)} and kurtosis ${num(o.kurtosis)}; PBO by CSCV (Bailey, Borwein, López de Prado &amp; Zhu 2015)${o.pboSplits ? ` over ${o.pboSplits} splits of ${o.pboBlocks} blocks` : ''}.</p>
`;
}

export function renderReport(input: ReportInput): string {
  const { run, report: r } = input;
  const m = r.metrics;
  const net = r.net ?? Float64Array.from(r.equity, (e, i) => e - (i ? r.equity[i - 1] : 0));
  const dd = drawdownSeries(r.equity);
  const negDd = Float64Array.from(dd, (v) => -v);
  const { rows, cells } = monthly(r.index, net);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const card = (label: string, value: string, cls = ''): string => `<div class="card"><span>${esc(label)}</span><b class="${cls}">${esc(value)}</b></div>`;
  const sign = (x: number): string => (x > 0 ? 'good' : x < 0 ? 'bad' : '');

  const warnings = input.steps.flatMap((s) => s.warnings.map((w) => `<li class="warn"><b>${esc(s.id)}</b> (${esc(s.kind)}): ${esc(w)}</li>`));
  const drift = (r.drift ?? []).map((d) => `<li>${esc(d)}</li>`);
  const summaries = input.steps
    .filter((s) => s.summary)
    .map((s) => `<li><b>${esc(s.id)}</b> (${esc(s.kind)}${s.cached ? ', cached' : ''}): ${esc(s.summary!)}</li>`);

  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(`${run.pipeline} · ${run.id} · fxflow report`)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>${esc(run.pipeline)} <span class="sub">· ${esc(r.symbol)} · step ${esc(input.stepId)}</span></h1>
<div class="sub">run ${esc(run.id)} · ${esc(run.status)} · started ${esc(run.startedAt)} UTC${run.endedAt ? ` · ended ${esc(run.endedAt)} UTC` : ''}${run.gitCommit ? ` · commit ${esc(run.gitCommit.slice(0, 12))}` : ''} · ${esc(run.file)}</div>
${input.otherReports?.length ? `<p class="sub">Other backtests in this run: ${input.otherReports.map(esc).join(', ')} (fxflow report ${esc(run.id)} --step ID).</p>` : ''}
<div class="cards">
${card('Sharpe', num(m.sharpe), sign(m.sharpe))}${card('Total return', pct(m.total_return), sign(m.total_return))}${card('Annual return', pct(m.annual_return), sign(m.annual_return))}${card('Max drawdown', pct(m.max_drawdown))}${card('Trades', int(m.trades))}${card('Win rate', pct(m.win_rate, 1))}
</div>
${input.overfit ? overfitSection(input.overfit) : ''}<h2>Equity</h2>
<div class="panel">${lineChart({
    name: 'equity',
    title: 'Cumulative net log return vs buy and hold',
    x: r.index,
    series: [
      { name: 'buy and hold', y: r.benchmark, color: '#9aa3af' },
      { name: 'strategy (net of costs)', y: r.equity, color: '#2563eb' },
    ],
    yFormat: pctTick,
    flatDomain: [-0.01, 0.01],
    flatNote: 'flat: no position was held',
    markers: retrainMarkers(r),
  })}</div>
<div class="panel">${lineChart({ name: 'drawdown', title: 'Drawdown from the running peak', x: r.index, series: [{ name: 'drawdown', y: negDd, color: '#d7301f', area: true }], yFormat: pctTick, flatDomain: [-0.01, 0], flatNote: 'no drawdown', height: 200 })}</div>
${retrainSection(r)}
${regimeSection(r)}
<h2>Monthly returns</h2>
<div class="panel">${heatMap({ name: 'monthly', title: 'Net log return per calendar month (UTC)', rows, cols: months, cells, fmt: (v) => pct(v, 1) })}</div>
${
  r.paths
    ? `<h2>CPCV backtest paths</h2><div class="panel">${histogram({ name: 'paths', title: `Sharpe of each of the ${r.paths.sharpe.length} backtest paths (each a complete out-of-sample history), median ${num(m.cpcv_sharpe_median)}`, values: r.paths.sharpe, xFormat: (v) => v.toFixed(2) })}</div>`
    : ''
}
<h2>Trades</h2>
<div class="panel">${histogram({ name: 'trades', title: `Net PnL per trade, pips (${int(m.trades)} trades)`, values: r.trades?.pips ?? [], xFormat: (v) => v.toFixed(1) })}</div>
<h2>Forecast quality per horizon</h2>
${forecastSection(r)}
${explainSection(r)}
${distributionSection(r)}
<h2>Metrics</h2>
${metricsTable(m)}
<h2>Data quality and drift</h2>
${warnings.length ? `<ul class="notes">${warnings.join('')}</ul>` : '<p class="sub">No step of the run reported a warning.</p>'}
${drift.length ? `<p>Validation → traded segments:</p><ul class="notes">${drift.join('')}</ul>` : ''}
<ul class="notes">${summaries.join('')}</ul>
<h2>Conventions</h2>
<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<h2>Pipeline</h2>
<div class="tbl"><table><tr><th>step</th><th>kind</th><th>params</th></tr>${input.steps.map((s) => `<tr><td>${esc(s.id)}</td><td>${esc(s.kind)}</td><td><code>${esc(paramsText(s.params))}</code></td></tr>`).join('')}</table></div>
<pre>${esc(run.pipelineText)}</pre>
<p class="sub">Made by fxflow. This file is self-contained: no scripts, no network.</p>
</main></body></html>
`;
  return html;
}
