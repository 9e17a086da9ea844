/**
 * Small inline-SVG chart builders for the HTML report: no scripts, no external resources, the same
 * input always gives the same markup. Every chart is an `<svg class="chart" data-chart="NAME">`
 * whose data marks carry `class="mark"`, so a test can check that something was drawn.
 */

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number for SVG coordinates: 2 decimals, no exponent. */
const c = (x: number): string => (Math.round(x * 100) / 100).toString();

/** "Nice" tick values covering [lo, hi], about `n` of them. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return niceTicks(lo - d, hi + d, n);
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export interface Series {
  name: string;
  /** Same length as the chart's x. */
  y: ArrayLike<number>;
  color: string;
  /** Fill the area between the line and zero. */
  area?: boolean;
  /** Fill the band between this lower edge and the line, drawing no line (a forecast interval). */
  lower?: ArrayLike<number>;
}

export interface LineChartOptions {
  name: string;
  title: string;
  /** UTC epoch ms. */
  x: ArrayLike<number>;
  series: Series[];
  /** Formats a y tick; `step` is the distance between ticks, so the formatter can show enough decimals. */
  yFormat: (v: number, step: number) => string;
  /**
   * The y range drawn when there is nothing to scale the axis by: every value 0 (a flat line at zero,
   * such as the drawdown of a run without trades) or no finite value at all. Without it such an axis
   * falls back to ±1 in data units, which reads as ±100% for returns. Default [-1, 1].
   */
  flatDomain?: [number, number];
  /** Printed in the plot when every finite value is 0 (e.g. "no drawdown"). */
  flatNote?: string;
  /** Keep 0 inside the y range (default true; false for prices). */
  zero?: boolean;
  width?: number;
  height?: number;
  /** Most points drawn per series (min/max per bucket beyond that). */
  maxPoints?: number;
  /** Vertical markers at x positions (indices into x), e.g. a replay's retrains; `title` shows on hover. */
  markers?: { i: number; color: string; title: string }[];
  /** Labels an x tick when x is not time (e.g. epochs); default: x is UTC epoch ms, labelled as a date. */
  xFormat?: (x: number) => string;
}

const M = { l: 64, r: 16, t: 28, b: 36 };

/** Indices to draw: all, or per bucket the first, min, max and last points (keeps the shape of the line). */
function decimate(n: number, ys: ArrayLike<number>[], maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(maxPoints / 4));
  const keep = new Set<number>();
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor((b * n) / buckets);
    const e = Math.floor(((b + 1) * n) / buckets);
    if (e <= s) continue;
    keep.add(s);
    keep.add(e - 1);
    for (const y of ys) {
      let lo = s;
      let hi = s;
      for (let i = s; i < e; i++) {
        if (y[i] < y[lo]) lo = i;
        if (y[i] > y[hi]) hi = i;
      }
      keep.add(lo);
      keep.add(hi);
    }
  }
  return [...keep].sort((a, b) => a - b);
}

function fmtDate(ms: number, spanMs: number): string {
  const d = new Date(ms).toISOString();
  return spanMs > 400 * 86_400_000 ? d.slice(0, 7) : spanMs > 3 * 86_400_000 ? d.slice(0, 10) : d.slice(5, 16).replace('T', ' ');
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 860;
  const Hh = o.height ?? 280;
  const n = o.x.length;
  const pw = W - M.l - M.r;
  const ph = Hh - M.t - M.b;
  const zero = o.zero ?? true;
  let lo = zero ? 0 : Infinity;
  let hi = zero ? 0 : -Infinity;
  let finite = 0;
  for (const s of o.series)
    for (const ys of s.lower ? [s.y, s.lower] : [s.y])
      for (let i = 0; i < n; i++)
        if (Number.isFinite(ys[i])) {
          finite++;
          if (ys[i] < lo) lo = ys[i];
          if (ys[i] > hi) hi = ys[i];
        }
  // With 0 in the range, lo === hi means every value is 0 or none is finite: nothing to scale by.
  const flat = !(hi > lo);
  if (flat) [lo, hi] = o.flatDomain ?? [-1, 1];
  const ticks = niceTicks(lo, hi);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : Math.abs(ticks[0]) || 1;
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  const x0 = n ? o.x[0] : 0;
  const x1 = n ? o.x[n - 1] : 1;
  // Plot by bar number (gaps such as weekends take no room), label by date.
  const X = (i: number): number => M.l + (n > 1 ? (i / (n - 1)) * pw : pw / 2);
  const Y = (v: number): number => M.t + ph - ((v - lo) / (hi - lo || 1)) * ph;
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" data-chart="${esc(o.name)}" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  parts.push(`<text x="${M.l}" y="16" class="ct">${esc(o.title)}</text>`);
  for (const t of ticks) {
    const y = c(Y(t));
    parts.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="${t === 0 ? 'zero' : 'grid'}"/><text x="${M.l - 6}" y="${y}" class="yl">${esc(o.yFormat(t, step))}</text>`,
    );
  }
  const nx = 6;
  for (let k = 0; k <= nx && n > 1; k++) {
    const i = Math.round((k / nx) * (n - 1));
    const anchor = k === 0 ? ' style="text-anchor:start"' : k === nx ? ' style="text-anchor:end"' : '';
    parts.push(`<text x="${c(X(i))}" y="${Hh - 12}" class="xl"${anchor}>${esc(o.xFormat ? o.xFormat(o.x[i]) : fmtDate(o.x[i], x1 - x0))}</text>`);
  }
  if (n === 1)
    parts.push(
      `<text x="${c(X(0))}" y="${Hh - 12}" class="xl">${esc(o.xFormat ? o.xFormat(o.x[0]) : new Date(o.x[0]).toISOString().slice(0, 16).replace('T', ' '))}</text>`,
    );
  for (const mk of o.markers ?? []) {
    const x = c(X(mk.i));
    parts.push(
      `<line class="marker" x1="${x}" x2="${x}" y1="${M.t}" y2="${M.t + ph}" stroke="${mk.color}" stroke-opacity="0.5" stroke-dasharray="3,3"><title>${esc(mk.title)}</title></line>`,
    );
  }
  const note = finite === 0 ? 'no data' : flat ? o.flatNote : undefined;
  if (note) parts.push(`<text x="${c(M.l + pw / 2)}" y="${c(M.t + ph / 2)}" class="note">${esc(note)}</text>`);
  const idx = decimate(
    n,
    o.series.map((s) => s.y),
    o.maxPoints ?? 2000,
  );
  for (const s of o.series) {
    if (s.lower) {
      const lower = s.lower;
      const ok = idx.filter((i) => Number.isFinite(s.y[i]) && Number.isFinite(lower[i]));
      if (ok.length < 2) continue;
      const up = ok.map((i) => `${c(X(i))},${c(Y(s.y[i]))}`);
      const down = ok.reverse().map((i) => `${c(X(i))},${c(Y(lower[i]))}`);
      parts.push(
        `<path class="mark band" d="M${up.join('L')}L${down.join('L')}Z" fill="${s.color}" fill-opacity="0.35" stroke="none"><title>${esc(s.name)}</title></path>`,
      );
      continue;
    }
    const pts = idx.filter((i) => Number.isFinite(s.y[i])).map((i) => `${c(X(i))},${c(Y(s.y[i]))}`);
    if (!pts.length) continue;
    // One point makes a path with no length, which draws nothing: mark it with a dot.
    if (pts.length === 1) {
      const [px, py] = pts[0].split(',');
      parts.push(`<circle class="mark dot" cx="${px}" cy="${py}" r="3" fill="${s.color}"><title>${esc(s.name)}</title></circle>`);
      continue;
    }
    if (s.area) {
      const z = c(Y(0));
      parts.push(
        `<path class="mark area" d="M${pts[0].split(',')[0]},${z}L${pts.join('L')}L${pts[pts.length - 1].split(',')[0]},${z}Z" fill="${s.color}" fill-opacity="0.35" stroke="none"/>`,
      );
    }
    parts.push(`<path class="mark line" d="M${pts.join('L')}" fill="none" stroke="${s.color}" stroke-width="1.5"><title>${esc(s.name)}</title></path>`);
  }
  o.series.forEach((s, k) => {
    const lx = W - M.r - 170 * (o.series.length - k);
    parts.push(`<rect x="${lx}" y="6" width="12" height="12" fill="${s.color}"/><text x="${lx + 16}" y="16" class="lg">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Diverging colour for v in [−m, m]: red for losses, green for gains, pale near 0. */
export function divergingColor(v: number, m: number): string {
  if (!Number.isFinite(v)) return '#eeeeee';
  const t = Math.max(-1, Math.min(1, m > 0 ? v / m : 0));
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * Math.abs(t));
  return t >= 0 ? `rgb(${mix(247, 26)},${mix(247, 152)},${mix(247, 80)})` : `rgb(${mix(247, 215)},${mix(247, 48)},${mix(247, 39)})`;
}

/** Heat map of `cells[row][col]` with row and column labels; values printed with `fmt`. */
export function heatMap(o: { name: string; title: string; rows: string[]; cols: string[]; cells: number[][]; fmt: (v: number) => string }): string {
  const cw = 58;
  const ch = 24;
  const l = 56;
  const t = 44;
  const W = l + cw * o.cols.length + 10;
  const Hh = t + ch * o.rows.length + 10;
  let m = 0;
  for (const r of o.cells) for (const v of r) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  const parts = [
    `<svg class="chart" data-chart="${esc(o.name)}" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(`<text x="${l}" y="16" class="ct">${esc(o.title)}</text>`);
  o.cols.forEach((col, j) => parts.push(`<text x="${l + j * cw + cw / 2}" y="${t - 8}" class="hl">${esc(col)}</text>`));
  o.rows.forEach((row, i) => {
    parts.push(`<text x="${l - 6}" y="${t + i * ch + ch / 2 + 4}" class="yl">${esc(row)}</text>`);
    o.cols.forEach((_, j) => {
      const v = o.cells[i][j];
      const x = l + j * cw;
      const y = t + i * ch;
      const has = Number.isFinite(v);
      parts.push(
        `<rect class="${has ? 'mark cell' : 'cell empty'}" x="${x}" y="${y}" width="${cw - 2}" height="${ch - 2}" fill="${divergingColor(v, m)}"><title>${esc(`${row} ${o.cols[j]}: ${has ? o.fmt(v) : 'no bars'}`)}</title></rect>`,
      );
      if (has) parts.push(`<text x="${x + cw / 2 - 1}" y="${y + ch / 2 + 3}" class="hv">${esc(o.fmt(v))}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Histogram of values with `bins` equal-width bins; bars left of 0 red, right green. */
export function histogram(o: {
  name: string;
  title: string;
  values: ArrayLike<number>;
  bins?: number;
  xFormat: (v: number) => string;
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 860;
  const Hh = o.height ?? 240;
  const vals = Array.from(o.values).filter(Number.isFinite);
  const parts = [
    `<svg class="chart" data-chart="${esc(o.name)}" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(`<text x="${M.l}" y="16" class="ct">${esc(o.title)}</text>`);
  if (!vals.length) {
    parts.push(`<text x="${W / 2}" y="${Hh / 2}" class="hl">no trades</text></svg>`);
    return parts.join('');
  }
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const bins = o.bins ?? Math.min(40, Math.max(5, Math.ceil(Math.sqrt(vals.length))));
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of vals) counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  const top = Math.max(...counts);
  const pw = W - M.l - M.r;
  const ph = Hh - M.t - M.b;
  const yt = niceTicks(0, top, 4).filter((v) => Number.isInteger(v));
  const ymax = Math.max(top, yt[yt.length - 1] ?? top);
  for (const t of yt) {
    const y = c(M.t + ph - (t / ymax) * ph);
    parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="grid"/><text x="${M.l - 6}" y="${y}" class="yl">${t}</text>`);
  }
  counts.forEach((n, b) => {
    const a = lo + b * w;
    const x = M.l + (b / bins) * pw;
    const h = (n / ymax) * ph;
    const color = a + w / 2 < 0 ? '#d7301f' : '#1a9850';
    parts.push(
      `<rect class="mark bar" x="${c(x + 1)}" y="${c(M.t + ph - h)}" width="${c(pw / bins - 2)}" height="${c(h)}" fill="${color}"><title>${esc(`${o.xFormat(a)} … ${o.xFormat(a + w)}: ${n}`)}</title></rect>`,
    );
  });
  for (let k = 0; k <= 4; k++) {
    const v = lo + (k / 4) * (hi - lo);
    parts.push(`<text x="${c(M.l + (k / 4) * pw)}" y="${Hh - 12}" class="xl">${esc(o.xFormat(v))}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Grouped horizontal-free bar chart: one group per label, one bar per series. */
export function groupedBars(o: {
  name: string;
  title: string;
  labels: string[];
  series: { name: string; values: number[]; color: string }[];
  yFormat: (v: number) => string;
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 860;
  const Hh = o.height ?? 240;
  const pw = W - M.l - M.r;
  const ph = Hh - M.t - M.b;
  let lo = 0;
  let hi = 0;
  let finite = 0;
  for (const s of o.series)
    for (const v of s.values)
      if (Number.isFinite(v)) {
        finite++;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  const ticks = niceTicks(lo, hi, 4);
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);
  const Y = (v: number): number => M.t + ph - ((v - lo) / (hi - lo || 1)) * ph;
  const parts = [
    `<svg class="chart" data-chart="${esc(o.name)}" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(`<text x="${M.l}" y="16" class="ct">${esc(o.title)}</text>`);
  for (const t of ticks) {
    const y = c(Y(t));
    parts.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="${t === 0 ? 'zero' : 'grid'}"/><text x="${M.l - 6}" y="${y}" class="yl">${esc(o.yFormat(t))}</text>`,
    );
  }
  const gw = pw / Math.max(1, o.labels.length);
  const bw = (gw * 0.7) / Math.max(1, o.series.length);
  o.labels.forEach((label, g) => {
    o.series.forEach((s, k) => {
      const v = s.values[g];
      if (!Number.isFinite(v)) return;
      const x = M.l + g * gw + gw * 0.15 + k * bw;
      const y = Math.min(Y(v), Y(0));
      parts.push(
        `<rect class="mark bar" x="${c(x)}" y="${c(y)}" width="${c(bw - 2)}" height="${c(Math.max(1, Math.abs(Y(v) - Y(0))))}" fill="${s.color}"><title>${esc(`${label} ${s.name}: ${o.yFormat(v)}`)}</title></rect>`,
      );
    });
    parts.push(`<text x="${c(M.l + g * gw + gw / 2)}" y="${Hh - 12}" class="xl">${esc(label)}</text>`);
  });
  if (!finite) parts.push(`<text x="${c(M.l + pw / 2)}" y="${c(M.t + ph / 2)}" class="note">no data</text>`);
  o.series.forEach((s, k) => {
    const lx = W - M.r - 150 * (o.series.length - k);
    parts.push(`<rect x="${lx}" y="6" width="12" height="12" fill="${s.color}"/><text x="${lx + 16}" y="16" class="lg">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A scatter plot of points (e.g. a sweep's parameter against its selection score); `highlight` marks the chosen point. */
export function scatterChart(o: {
  name: string;
  title: string;
  points: { x: number; y: number; label: string; highlight?: boolean }[];
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}): string {
  const W = o.width ?? 860;
  const Hh = o.height ?? 300;
  const pw = W - M.l - M.r;
  const ph = Hh - M.t - M.b;
  const pts = o.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = niceTicks(pts.length ? Math.min(...pts.map((p) => p.x)) : 0, pts.length ? Math.max(...pts.map((p) => p.x)) : 1);
  const ys = niceTicks(pts.length ? Math.min(...pts.map((p) => p.y)) : 0, pts.length ? Math.max(...pts.map((p) => p.y)) : 1);
  // Ticks fall inside the data's range: the axes span both, so every point is inside the plot.
  const span = (v: number[], t: number[]): [number, number] => {
    const lo = Math.min(t[0], ...v);
    const hi = Math.max(t[t.length - 1], ...v);
    // A margin of 5% keeps the points at the extremes off the plot's edges.
    const m = (hi - lo || 1) * 0.05;
    return [lo - m, hi + m];
  };
  const [xlo, xhi] = span(
    pts.map((p) => p.x),
    xs,
  );
  const [ylo, yhi] = span(
    pts.map((p) => p.y),
    ys,
  );
  const X = (v: number): number => M.l + ((v - xlo) / (xhi - xlo || 1)) * pw;
  const Y = (v: number): number => M.t + ph - ((v - ylo) / (yhi - ylo || 1)) * ph;
  const label = (v: number): string => String(Math.round(v * 1e6) / 1e6);
  const parts = [
    `<svg class="chart" data-chart="${esc(o.name)}" viewBox="0 0 ${W} ${Hh}" width="${W}" height="${Hh}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${M.l}" y="16" class="ct">${esc(o.title)}</text>`,
  ];
  for (const t of ys)
    parts.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${c(Y(t))}" y2="${c(Y(t))}" class="grid"/><text x="${M.l - 6}" y="${c(Y(t))}" class="yl">${esc(label(t))}</text>`,
    );
  for (const t of xs) parts.push(`<text x="${c(X(t))}" y="${Hh - 18}" class="xl">${esc(label(t))}</text>`);
  parts.push(`<text x="${c(M.l + pw / 2)}" y="${Hh - 3}" class="xl">${esc(o.xLabel)}</text>`);
  if (!pts.length) parts.push(`<text x="${c(M.l + pw / 2)}" y="${c(M.t + ph / 2)}" class="note">no data</text>`);
  for (const p of pts)
    parts.push(
      `<circle class="mark dot" cx="${c(X(p.x))}" cy="${c(Y(p.y))}" r="${p.highlight ? 6 : 4}" fill="${p.highlight ? '#d97706' : '#2563eb'}" fill-opacity="0.8"><title>${esc(`${p.label}: ${o.yLabel} ${p.y}`)}</title></circle>`,
    );
  parts.push('</svg>');
  return parts.join('');
}
