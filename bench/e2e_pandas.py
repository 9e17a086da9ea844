"""The pandas + NumPy + scikit-learn peer of the cold end-to-end run (bench/e2e.bench.ts, issue 18).

Does the work of bench/pipelines/e2e.yaml the way the seed system did it, as one script:
HistData EURUSD M1 zips (pd.read_csv of the zip entry) → New York clock to UTC → stable sort by
time, duplicates keep-last (fxflow's default quality policy) → 5m bars with `resample` → 10
indicators on 5m, 1h and 4h (pandas `rolling` / `ewm`) joined to the 5m bars with `merge_asof`
(the last higher-timeframe bar closed by the 5m bar's close: no look-ahead) → 3 return lags and
the 3-bar forward log return → `dropna` (warm-up and tail) → temporal 60/20/20 split purged by
the horizon → StandardScaler fitted on the train rows → Ridge(alpha=1) → threshold backtest of
the test predictions, filled at the next bar's open with half the spread per unit of position
change (vectorised NumPy).

The indicators follow TA-Lib's definitions (fxflow's kernels are TA-Lib exact), written with
pandas: EMAs and Wilder averages are `ewm(adjust=False)` seeded with the simple mean of their
first `period` values, as TA-Lib seeds them; MACD seeds its fast EMA at the slow one's start.
So both sides drop the same warm-up rows and agree on the values to rounding.

argv: zip paths…, then `--threshold X --spread-pips S`. Prints one JSON line: rows, features,
trades, a few metrics, library versions and the time of each stage (ms).
"""
import json, math, sys, time, zipfile

t_start = time.perf_counter()
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

args = sys.argv[1:]
threshold = float(args[args.index('--threshold') + 1])
spread_pips = float(args[args.index('--spread-pips') + 1])
paths = [a for a in args if a.endswith('.zip')]
PIP = 0.0001
HORIZON = 3
BASE = '5min'
TFS = {'5m': None, '1h': '1h', '4h': '4h'}
stages = {'import': (time.perf_counter() - t_start) * 1000}
t = time.perf_counter()


def lap(name):
    global t
    now = time.perf_counter()
    stages[name] = (now - t) * 1000
    t = now


# --- fetch: zips → UTC M1 bars → quality policy → 5m -------------------------------------------
frames = []
for p in paths:
    with zipfile.ZipFile(p) as z:
        name = [n for n in z.namelist() if n.lower().endswith('.csv')][0]
        with z.open(name) as f:
            frames.append(pd.read_csv(f, sep=';', header=None, names=['time', 'open', 'high', 'low', 'close', 'volume']))
m1 = pd.concat(frames, ignore_index=True)
del frames
rows_read = len(m1)
m1['time'] = (
    pd.to_datetime(m1['time'], format='%Y%m%d %H%M%S').dt.tz_localize('America/New_York', ambiguous='raise', nonexistent='raise').dt.tz_convert('UTC')
)
m1 = m1.sort_values('time', kind='stable')
m1 = m1[~m1['time'].duplicated(keep='last')].set_index('time')
bars = m1.resample(BASE, label='left', closed='left').agg({'open': 'first', 'high': 'max', 'low': 'min', 'close': 'last', 'volume': 'sum'})
bars = bars.dropna(subset=['open'])
del m1
lap('fetch')


# --- indicators (TA-Lib definitions with pandas rolling / ewm) ----------------------------------
def ema_from(x, period, start):
    """EMA seeded with the mean of x[start:start+period] (positions), written at start+period-1."""
    v = x.iloc[start + period - 1:].copy()
    v.iloc[0] = x.iloc[start:start + period].mean()
    return v.ewm(alpha=2.0 / (period + 1), adjust=False).mean().reindex(x.index)


def ema(x, period):
    return ema_from(x, period, x.notna().to_numpy().argmax())


def wilder(x, period, start):
    """Wilder's average: the mean of x[start:start+period] at start+period-1, then (a·(p−1) + x)/p."""
    v = x.iloc[start + period - 1:].copy()
    v.iloc[0] = x.iloc[start:start + period].mean()
    return v.ewm(alpha=1.0 / period, adjust=False).mean().reindex(x.index)


def rsi(c, period):
    d = c.diff()
    g = wilder(d.clip(lower=0), period, 1)
    l = wilder((-d).clip(lower=0), period, 1)
    s = g + l
    return (100 * g / s).where(s.abs() >= 1e-14, 0.0).where(s.notna())


def macd(c, fast, slow, signal):
    line = ema_from(c, fast, slow - fast) - ema_from(c, slow, 0)
    sig = ema_from(line, signal, slow - 1)
    line = line.where(sig.notna())
    return line, sig, line - sig


def bbands(c, period, k):
    mid = c.rolling(period).mean()
    sd = c.rolling(period).std(ddof=0)
    return mid + k * sd, mid, mid - k * sd


def atr(h, l, c, period):
    pc = c.shift(1)
    tr = pd.concat([h - l, (pc - h).abs(), (pc - l).abs()], axis=1).max(axis=1, skipna=False)
    return wilder(tr, period, 1)


def stoch(h, l, c, fastk, slowk, slowd):
    hh = h.rolling(fastk).max()
    ll = l.rolling(fastk).min()
    rng = hh - ll
    k = (100 * (c - ll) / rng).where(rng != 0, 0.0).where(rng.notna())
    sk = k.rolling(slowk).mean()
    sd = sk.rolling(slowd).mean()
    return sk.where(sd.notna()), sd


def willr(h, l, c, period):
    hh = h.rolling(period).max()
    ll = l.rolling(period).min()
    rng = hh - ll
    return (-100 * (hh - c) / rng).where(rng != 0, 0.0).where(rng.notna())


def indicators(b):
    o, h, l, c = b['open'], b['high'], b['low'], b['close']
    out = {}
    out['rsi_14'] = rsi(c, 14)
    out['ema_20'] = ema(c, 20)
    out['sma_50'] = c.rolling(50).mean()
    out['macd_12_26_9'], out['macd_signal_12_26_9'], out['macd_hist_12_26_9'] = macd(c, 12, 26, 9)
    out['bbands_upper_20'], out['bbands_middle_20'], out['bbands_lower_20'] = bbands(c, 20, 2.0)
    out['atr_14'] = atr(h, l, c, 14)
    out['stoch_k_14_3_3'], out['stoch_d_14_3_3'] = stoch(h, l, c, 14, 3, 3)
    out['willr_14'] = willr(h, l, c, 14)
    out['roc_10'] = (c / c.shift(10) - 1) * 100
    out['stddev_20'] = c.rolling(20).std(ddof=0)
    return pd.DataFrame(out, index=b.index)


feats = []
base_close = bars.index + pd.Timedelta(BASE)
for tf, rule in TFS.items():
    if rule is None:
        feats.append(indicators(bars))
        continue
    hb = bars.resample(rule, label='left', closed='left').agg({'open': 'first', 'high': 'max', 'low': 'min', 'close': 'last', 'volume': 'sum'})
    hb = hb.dropna(subset=['open'])
    ind = indicators(hb).add_suffix(f'@{tf}')
    # A higher-timeframe bar is known once it has closed: at its open + its length.
    ind['closed_at'] = ind.index + pd.Timedelta(rule)
    left = pd.DataFrame({'closed_at': base_close})
    joined = pd.merge_asof(left, ind.reset_index(drop=True), on='closed_at', direction='backward')
    feats.append(joined.drop(columns='closed_at').set_index(bars.index))
c = bars['close']
rets = pd.DataFrame({f'ret_{k}': np.log(c / c.shift(k)) for k in (1, 3, 12)})
feats.append(rets)
X = pd.concat(feats, axis=1)
del feats
feature_names = list(X.columns)
X['fwd_ret_3'] = np.log(c.shift(-HORIZON) / c)
X['bar'] = np.arange(len(bars))
X = X.dropna()
lap('features')

# --- split: temporal 60/20/20, purged by the horizon; z-scores fitted on train ------------------
n = len(X)
n_train = math.floor(n * 0.6 + 1e-9)
n_val = math.floor(n * 0.2 + 1e-9)
train = slice(0, n_train - HORIZON)
val = slice(n_train, n_train + n_val - HORIZON)
test = slice(n_train + n_val, n)
F = X[feature_names].to_numpy()
y = X['fwd_ret_3'].to_numpy()
scaler = StandardScaler().fit(F[train])
Z = scaler.transform(F)
lap('split')

# --- ridge --------------------------------------------------------------------------------------
model = Ridge(alpha=1.0).fit(Z[train], y[train])
pred = model.predict(Z[test])
val_ic = float(np.corrcoef(model.predict(Z[val]), y[val])[0, 1])
lap('train')

# --- threshold backtest: signal at bar t's close, filled at open[t+1], held to open[t+2] --------
sig_bar = X['bar'].to_numpy()[test]
assert np.all(np.diff(sig_bar) == 1), 'test rows are consecutive bars'
op = bars['open'].to_numpy()
half = spread_pips / 2 * PIP
pos = (pred > threshold).astype(np.float64) - (pred < -threshold)
fill = op[sig_bar[0] + 1: sig_bar[-1] + 3]
r = np.log(fill[1:] / fill[:-1])
gross = pos * r
dpos = np.diff(pos, prepend=0.0, append=0.0)
fill_cost = np.abs(dpos) * half / fill
cost = fill_cost[:-1].copy()
cost[-1] += fill_cost[-1]  # the position still held is closed at the end
net = gross - cost
eq = np.cumsum(net)
per_year = 260 * 24 * 12
trades = int(np.count_nonzero((dpos[:-1] != 0) & (pos != 0)))
lap('backtest')

print(json.dumps({
    'rows_read': rows_read,
    'bars': len(bars),
    'rows': n,
    'features': len(feature_names),
    'train_rows': n_train - HORIZON,
    'val_rows': n_val - HORIZON,
    'test_rows': n - n_train - n_val,
    'trades': trades,
    'total_return': float(eq[-1]),
    'sharpe': float(net.mean() / net.std(ddof=1) * math.sqrt(per_year)),
    'max_drawdown': float(np.max(np.maximum.accumulate(np.maximum(eq, 0.0)) - eq)),
    'val_ic': val_ic,
    'pred_abs_median': float(np.median(np.abs(pred))),
    'stages_ms': stages,
    'versions': {'pandas': pd.__version__, 'numpy': np.__version__, 'sklearn': __import__('sklearn').__version__},
}))
