/**
 * Independent reference implementations of TA-Lib's documented formulas, written the naive way
 * (every window recomputed from scratch, textbook operation order), for the exactness tests. They
 * share no code with src/indicators: if a kernel and its reference agree to 1e-9 relative on long
 * random series, the kernel computes the documented formula with TA-Lib's seeds and lookbacks.
 */

export type Series = number[];

export const NaNs = (n: number): Series => new Array<number>(n).fill(NaN);

/** Index of the first non-NaN value. */
export function first(x: Series): number {
  let i = 0;
  while (i < x.length && Number.isNaN(x[i])) i++;
  return i;
}

export function smaRef(x: Series, p: number): Series {
  const out = NaNs(x.length);
  for (let t = first(x) + p - 1; t < x.length; t++) {
    let s = 0;
    for (let j = t - p + 1; j <= t; j++) s += x[j];
    out[t] = s / p;
  }
  return out;
}

/** EMA seeded with the SMA of the first p valid values: e = k·x + (1−k)·e. */
export function emaRef(x: Series, p: number): Series {
  const out = NaNs(x.length);
  const f = first(x);
  if (f + p - 1 >= x.length) return out;
  const k = 2 / (p + 1);
  let s = 0;
  for (let j = f; j < f + p; j++) s += x[j];
  let e = s / p;
  out[f + p - 1] = e;
  for (let t = f + p; t < x.length; t++) {
    e = k * x[t] + (1 - k) * e;
    out[t] = e;
  }
  return out;
}

export function wmaRef(x: Series, p: number): Series {
  const out = NaNs(x.length);
  for (let t = first(x) + p - 1; t < x.length; t++) {
    let s = 0;
    let w = 0;
    for (let i = 0; i < p; i++) {
      s += (i + 1) * x[t - p + 1 + i];
      w += i + 1;
    }
    out[t] = s / w;
  }
  return out;
}

export function trimaRef(x: Series, p: number): Series {
  const out = NaNs(x.length);
  const w = Array.from({ length: p }, (_, i) => Math.min(i + 1, p - i));
  const ws = w.reduce((a, b) => a + b, 0);
  for (let t = first(x) + p - 1; t < x.length; t++) {
    let s = 0;
    for (let i = 0; i < p; i++) s += w[i] * x[t - p + 1 + i];
    out[t] = s / ws;
  }
  return out;
}

export const zip = (a: Series, b: Series, f: (u: number, v: number) => number): Series => a.map((u, i) => f(u, b[i]));

export function kamaRef(x: Series, p: number): Series {
  const out = NaNs(x.length);
  const fast = 2 / 3;
  const slow = 2 / 31;
  let k = x[p - 1];
  for (let t = p; t < x.length; t++) {
    const change = Math.abs(x[t] - x[t - p]);
    let vol = 0;
    for (let j = t - p + 1; j <= t; j++) vol += Math.abs(x[j] - x[j - 1]);
    const er = vol === 0 ? 1 : change / vol;
    const sc = (er * (fast - slow) + slow) ** 2;
    k = k + sc * (x[t] - k);
    out[t] = k;
  }
  return out;
}

/** T3 = c1·e6 + c2·e5 + c3·e4 + c4·e3 from Tillson's GD expansion, a = vFactor. */
export function t3Ref(x: Series, p: number, a: number): Series {
  const e: Series[] = [x];
  for (let i = 1; i <= 6; i++) e.push(emaRef(e[i - 1], p));
  const c1 = -(a ** 3);
  const c2 = 3 * a ** 2 + 3 * a ** 3;
  const c3 = -6 * a ** 2 - 3 * a - 3 * a ** 3;
  const c4 = 1 + 3 * a + a ** 3 + 3 * a ** 2;
  return x.map((_, t) => c1 * e[6][t] + c2 * e[5][t] + c3 * e[4][t] + c4 * e[3][t]);
}

/** Wilder averages of gains/losses, seeded with the mean of the first p changes. */
function wilderGainLoss(x: Series, p: number): { g: Series; l: Series } {
  const g = NaNs(x.length);
  const l = NaNs(x.length);
  const f = first(x);
  let ag = 0;
  let al = 0;
  for (let j = f + 1; j <= f + p && j < x.length; j++) {
    ag += Math.max(x[j] - x[j - 1], 0);
    al += Math.max(x[j - 1] - x[j], 0);
  }
  ag /= p;
  al /= p;
  if (f + p < x.length) {
    g[f + p] = ag;
    l[f + p] = al;
  }
  for (let t = f + p + 1; t < x.length; t++) {
    ag = (ag * (p - 1) + Math.max(x[t] - x[t - 1], 0)) / p;
    al = (al * (p - 1) + Math.max(x[t - 1] - x[t], 0)) / p;
    g[t] = ag;
    l[t] = al;
  }
  return { g, l };
}

export function rsiRef(x: Series, p: number): Series {
  const { g, l } = wilderGainLoss(x, p);
  return g.map((gv, t) => (Number.isNaN(gv) ? NaN : l[t] === 0 ? (gv === 0 ? 0 : 100) : 100 - 100 / (1 + gv / l[t])));
}

export function cmoRef(x: Series, p: number): Series {
  const { g, l } = wilderGainLoss(x, p);
  return g.map((gv, t) => (Number.isNaN(gv) ? NaN : gv + l[t] === 0 ? 0 : (100 * (gv - l[t])) / (gv + l[t])));
}

/** (x[t]/x[t−p] − 1)·100. */
export function rocRef(x: Series, p: number): Series {
  return x.map((v, t) => (t - p >= first(x) ? (v / x[t - p] - 1) * 100 : NaN));
}

export function hh(h: Series, t: number, span: number): number {
  return Math.max(...h.slice(t - span + 1, t + 1));
}
export function ll(l: Series, t: number, span: number): number {
  return Math.min(...l.slice(t - span + 1, t + 1));
}

/** Raw %K = 100·(c − LL)/(HH − LL). */
export function fastKRef(h: Series, l: Series, c: Series, p: number): Series {
  const f = Math.max(first(h), first(l), first(c));
  return c.map((v, t) => {
    if (t < f + p - 1) return NaN;
    const H = hh(h, t, p);
    const L = ll(l, t, p);
    return H === L ? 0 : (100 * (v - L)) / (H - L);
  });
}

export function trRef(h: Series, l: Series, c: Series): Series {
  return c.map((_, t) => (t === 0 ? NaN : Math.max(h[t], c[t - 1]) - Math.min(l[t], c[t - 1])));
}

/** Wilder's DM/TR sums and the ADX family with TA-Lib's seeds, from the textbook definitions. */
export function dmRef(h: Series, l: Series, c: Series, p: number): { pdi: Series; mdi: Series; dx: Series; adx: Series } {
  const n = c.length;
  const pdm = NaNs(n);
  const mdm = NaNs(n);
  const tr = trRef(h, l, c);
  for (let t = 1; t < n; t++) {
    const up = h[t] - h[t - 1];
    const down = l[t - 1] - l[t];
    pdm[t] = up > down && up > 0 ? up : 0;
    mdm[t] = down > up && down > 0 ? down : 0;
  }
  const pdi = NaNs(n);
  const mdi = NaNs(n);
  const dx = NaNs(n);
  const adx = NaNs(n);
  // Sums of the first p−1 one-bar values (bars 1..p−1), then Wilder's smoothing from bar p.
  let sp = 0;
  let sm = 0;
  let st = 0;
  for (let t = 1; t <= p - 1; t++) {
    sp += pdm[t];
    sm += mdm[t];
    st += tr[t];
  }
  for (let t = p; t < n; t++) {
    sp = sp * (1 - 1 / p) + pdm[t];
    sm = sm * (1 - 1 / p) + mdm[t];
    st = st * (1 - 1 / p) + tr[t];
    pdi[t] = (100 * sp) / st;
    mdi[t] = (100 * sm) / st;
    dx[t] = (100 * Math.abs(pdi[t] - mdi[t])) / (pdi[t] + mdi[t]);
  }
  let a = 0;
  for (let t = p; t <= 2 * p - 1 && t < n; t++) a += dx[t] / p;
  if (2 * p - 1 < n) adx[2 * p - 1] = a;
  for (let t = 2 * p; t < n; t++) {
    a = (a * (p - 1) + dx[t]) / p;
    adx[t] = a;
  }
  return { pdi, mdi, dx, adx };
}

/** Population variance, two-pass. */
export function varRef(x: Series, p: number): Series {
  return x.map((_, t) => {
    if (t < first(x) + p - 1) return NaN;
    const w = x.slice(t - p + 1, t + 1);
    const m = w.reduce((a, b) => a + b, 0) / p;
    return w.reduce((a, b) => a + (b - m) ** 2, 0) / p;
  });
}

/** Least squares over forward time u = 0..p−1 within the window. */
export function linregRef(x: Series, p: number): { value: Series; slope: Series; intercept: Series; angle: Series } {
  const value = NaNs(x.length);
  const slope = NaNs(x.length);
  const intercept = NaNs(x.length);
  const angle = NaNs(x.length);
  const ub = (p - 1) / 2;
  for (let t = p - 1; t < x.length; t++) {
    const w = x.slice(t - p + 1, t + 1);
    const yb = w.reduce((a, b) => a + b, 0) / p;
    let sxy = 0;
    let sxx = 0;
    w.forEach((y, u) => {
      sxy += (u - ub) * (y - yb);
      sxx += (u - ub) ** 2;
    });
    const m = sxy / sxx;
    const b = yb - m * ub;
    slope[t] = m;
    intercept[t] = b;
    value[t] = b + m * (p - 1);
    angle[t] = (Math.atan(m) * 180) / Math.PI;
  }
  return { value, slope, intercept, angle };
}

/**
 * Wilder's parabolic SAR with TA-Lib's start (direction from bar 1's directional movement, first
 * SAR at bar 1 = the prior bar's extreme), written as Wilder describes it: each bar either reverses
 * (SAR := EP, kept outside the last two bars) or reports the SAR and then moves it by AF·(EP − SAR).
 */
export function sarRef(h: Series, l: Series, step: number, max: number): Series {
  const out = NaNs(h.length);
  let long = !(l[0] - l[1] > 0 && l[0] - l[1] > h[1] - h[0]);
  let sar = long ? l[0] : h[0];
  let ep = long ? h[1] : l[1];
  let af = step;
  for (let t = 1; t < h.length; t++) {
    const lowLast2 = Math.min(l[t], l[Math.max(t - 1, 1)]);
    const highLast2 = Math.max(h[t], h[Math.max(t - 1, 1)]);
    if (long && l[t] <= sar) {
      long = false;
      sar = Math.max(ep, highLast2);
      out[t] = sar;
      af = step;
      ep = l[t];
      sar = Math.max(sar + af * (ep - sar), highLast2);
    } else if (!long && h[t] >= sar) {
      long = true;
      sar = Math.min(ep, lowLast2);
      out[t] = sar;
      af = step;
      ep = h[t];
      sar = Math.min(sar + af * (ep - sar), lowLast2);
    } else {
      out[t] = sar;
      if (long && h[t] > ep) {
        ep = h[t];
        af = Math.min(af + step, max);
      } else if (!long && l[t] < ep) {
        ep = l[t];
        af = Math.min(af + step, max);
      }
      sar = sar + af * (ep - sar);
      sar = long ? Math.min(sar, lowLast2) : Math.max(sar, highLast2);
    }
  }
  return out;
}

/** Seeded LCG random OHLCV (no code under test involved). */
export function randomCandles(n: number, seed: number, level = 100, vol = 0.8): { open: Series; high: Series; low: Series; close: Series; volume: Series } {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const open: Series = [];
  const high: Series = [];
  const low: Series = [];
  const close: Series = [];
  const volume: Series = [];
  let c = level;
  for (let i = 0; i < n; i++) {
    const o = c;
    c = o + (rnd() - 0.5) * vol * 2;
    // A few bars repeat the previous close or high/low, to exercise ties.
    if (i % 17 === 5) c = o;
    const hi = Math.max(o, c) + rnd() * vol * 0.5;
    const lo = Math.min(o, c) - rnd() * vol * 0.5;
    open.push(o);
    high.push(i % 23 === 7 && i > 0 ? Math.max(high[i - 1], Math.max(o, c)) : hi);
    low.push(lo);
    close.push(c);
    volume.push(100 + Math.floor(rnd() * 900));
  }
  return { open, high, low, close, volume };
}
