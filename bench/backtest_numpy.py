"""NumPy peers of fxflow's backtest (bench/backtest.bench.ts): the same rules, vectorised.

Reads open prices and predictions (raw float64 files); a signal at bar t is filled at open[t+1] and
held to open[t+2]; threshold rule (long > th, short < -th, entry = exit); unit positions; half a
spread per unit of position change, the final position closed at the end; account 1, pip 0.0001.

Two implementations, each timed as the best of `runs` after `warm` warm-up runs (argv 6 and 7):
- `minimal`: 4 numbers (total return, Sharpe, max drawdown, trade count).
- `full`: everything fxflow's backtest step produces for this case: the per-trade arrays (start,
  bars, position, pnl, pips, account PnL, cost) and every field of fxflow's BacktestMetrics, with
  fxflow's definitions (src/backtest/metrics.ts, src/backtest/simulate.ts).
Prints JSON (times, the minimal results, the full metrics; NaN as null). With argv 8 (a folder),
writes the full run's trade arrays there as raw files (t_start.i32, t_bars.i32, t_pos.f64,
t_pnl.f64, t_pips.f64, t_acc.f64, t_cost.f64) for the bench to compare.
Needs NumPy (Debian: apt-get install -y python3-numpy).
"""
import json, math, os, sys, time
import numpy as np

open_path, pred_path, th, half_spread, per_year = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
warm, runs = (int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else (1, 3)
out_dir = sys.argv[8] if len(sys.argv) > 8 else None
ACCOUNT = 1.0
PIP = 0.0001
o = np.fromfile(open_path, dtype=np.float64)
pred = np.fromfile(pred_path, dtype=np.float64)


def minimal(o, pred):
    n = min(len(pred), len(o) - 2)           # signal t needs open[t+1] and open[t+2]
    p = pred[:n]
    pos = (p > th).astype(np.float64) - (p < -th)   # +1 / 0 / -1 (NaN: 0); 7x faster than nested np.where
    r = np.log(o[2:n + 2] / o[1:n + 1])      # held bar b = t+1: ln(open[b+1]/open[b])
    gross = pos * r
    dpos = np.abs(np.diff(pos, prepend=0.0))
    cost = dpos * half_spread / o[1:n + 1]
    cost[-1] += abs(pos[-1]) * half_spread / o[n + 1]   # close at the end
    net = gross - cost
    eq = np.cumsum(net)
    dd = np.max(np.maximum.accumulate(np.maximum(eq, 0.0)) - eq)
    sharpe = net.mean() / net.std(ddof=1) * np.sqrt(per_year)
    trades = int(np.count_nonzero((pos != 0) & (pos != np.concatenate(([0.0], pos[:-1])))))
    return float(eq[-1]), float(sharpe), float(dd), trades


def ratio(a, b):
    return a / b if b > 0 else math.nan


def full(o, pred):
    n = min(len(pred), len(o) - 2)
    p = pred[:n]
    pos = (p > th).astype(np.float64) - (p < -th)   # +1 / 0 / -1 (NaN: 0); 7x faster than nested np.where
    fill = o[1:n + 2]                        # fill prices: open[t+1] for signal t, open[n+1] for the final exit
    r = np.log(fill[1:] / fill[:-1])         # buy-and-hold return of each held bar
    gross = pos * r
    # Fills: n + 1 position changes (the last one the close at the end); cost per unit of |Δposition|.
    dpos = np.diff(pos, prepend=0.0, append=0.0)
    adp = np.abs(dpos)
    fill_cost = adp * half_spread / fill
    cost = fill_cost[:n].copy()
    cost[-1] += fill_cost[n]                 # the final exit is booked on the last bar
    net = gross - cost

    # Equity curve and drawdown; the running peak starts at 0 (the equity before the first bar).
    eq = np.cumsum(net)
    peak = np.maximum.accumulate(np.maximum(eq, 0.0))
    max_dd = float(np.max(peak - eq))
    # Longest time under water: bars strictly below the running peak, between two bars at it.
    at_peak = np.flatnonzero(eq >= peak)
    max_dd_bars = int(np.max(np.diff(np.concatenate(([-1], at_peak, [n]))))) - 1

    # Trades: maximal runs of one non-zero position (unit sizes: every change of a held position
    # starts one); a trade's exit is the next change. Masks over bars, then np.flatnonzero on bools
    # (indexing the runs by a boolean mask instead is 2-3x slower here).
    held = pos != 0
    changed = dpos != 0                      # n + 1 fills
    t_start = np.flatnonzero(changed[:n] & held)
    t_end = np.flatnonzero(changed[1:] & held) + 1   # one past the last bar held
    t_bars = t_end - t_start
    t_pos = pos[t_start]
    p_in = fill[t_start]
    p_out = fill[t_end]
    c_unit = half_spread * np.abs(t_pos)     # price units per fill
    t_cost = c_unit / p_in + c_unit / p_out
    # Each trade's gross return: bincount by trade number sums its bars in order (flat bars after
    # it carry its number but add a zero gross); 2.5x faster than np.add.reduceat here.
    t_gross = np.bincount(np.cumsum(changed[:n] & held), weights=gross, minlength=len(t_start) + 1)[1:]
    t_pnl = t_gross - t_cost
    t_pips = (t_pos * (p_out - p_in) - 2 * c_unit) / PIP
    units = t_pos * ACCOUNT / p_in
    t_acc = units * (p_out - p_in) - 2 * np.abs(units) * half_spread

    total = float(net.sum())
    mean = total / n
    sd = float(net.std(ddof=1))
    annual = mean * per_year
    neg = np.minimum(net, 0.0)
    down = math.sqrt(float(neg @ neg) / n)
    n_held = int(np.count_nonzero(held))
    wins = int(np.count_nonzero(held & (net > 0)))
    nt = len(t_pnl)
    win = t_pnl > 0
    gain = float(np.sum(t_pnl, where=win))   # (where=: no copies of the selected values)
    loss = -float(np.sum(t_pnl, where=~win))
    long = t_pos > 0
    pips = float(t_pips.sum())
    acc = float(t_acc.sum())
    sd_b = float(r.std(ddof=1))
    m = {
        "total_return": total,
        "annual_return": annual,
        "annual_volatility": sd * math.sqrt(per_year),
        "sharpe": ratio(mean, sd) * math.sqrt(per_year),
        "sortino": ratio(mean, down) * math.sqrt(per_year),
        "calmar": ratio(annual, max_dd),
        "max_drawdown": max_dd,
        "max_drawdown_bars": max_dd_bars,
        "hit_rate": wins / n_held if n_held else math.nan,
        "win_rate": int(np.count_nonzero(win)) / nt if nt else math.nan,
        "profit_factor": ratio(gain, loss),
        "expectancy": float(t_pnl.sum()) / nt if nt else math.nan,
        "expectancy_pips": pips / nt if nt else math.nan,
        "trades": nt,
        "avg_holding_bars": int(t_bars.sum()) / nt if nt else math.nan,
        "exposure": n_held / n,
        "turnover": float(adp.sum()) / n * per_year,
        "costs": float(cost.sum()),
        "pnl_pips": pips,
        "pnl_long_pips": float(np.sum(t_pips, where=long)),
        "pnl_short_pips": float(np.sum(t_pips, where=~long)),
        "pnl_account": acc,
        "pnl_long_account": float(np.sum(t_acc, where=long)),
        "pnl_short_account": float(np.sum(t_acc, where=~long)),
        "bars": n,
        "years": n / per_year,
        "benchmark_return": float(r.sum()),
        "benchmark_sharpe": ratio(float(r.mean()), sd_b) * math.sqrt(per_year),
    }
    trades = {"t_start": t_start.astype(np.int32), "t_bars": t_bars.astype(np.int32), "t_pos": t_pos, "t_pnl": t_pnl,
              "t_pips": t_pips, "t_acc": t_acc, "t_cost": t_cost}
    return m, trades


def best_of(f):
    best = float('inf')
    for k in range(warm + runs):
        t = time.perf_counter()
        res = f(o, pred)
        if k >= warm:
            best = min(best, (time.perf_counter() - t) * 1000)
    return best, res


def clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


min_ms, mres = best_of(minimal)
full_ms, (fm, ft) = best_of(full)
if out_dir:
    for name, a in ft.items():
        suffix = 'i32' if a.dtype == np.int32 else 'f64'
        a.tofile(os.path.join(out_dir, f"{name}.{suffix}"))
print(json.dumps({
    "numpy": np.__version__,
    "minimal": {"ms": min_ms, "total_return": mres[0], "sharpe": mres[1], "max_drawdown": mres[2], "trades": mres[3]},
    "full": {"ms": full_ms, "metrics": {k: clean(v) for k, v in fm.items()}},
}))
