"""NumPy peer of fxflow's backtest (bench/backtest.bench.ts): the same rules, vectorised.

Reads open prices and predictions (raw float64 files), trades a signal at bar t at open[t+1],
held to open[t+2]; threshold rule (long > th, short < -th); half a spread per unit of position
change, the final position closed at the end; prints JSON with the best time of `runs` after `warm`
warm-up runs (argv 6 and 7; default 1 and 3) and the results.
Needs NumPy (Debian: apt-get install -y python3-numpy).
"""
import json, sys, time
import numpy as np

open_path, pred_path, th, half_spread, per_year = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
warm, runs = (int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else (1, 3)
o = np.fromfile(open_path, dtype=np.float64)
pred = np.fromfile(pred_path, dtype=np.float64)

def backtest(o, pred):
    n = min(len(pred), len(o) - 2)           # signal t needs open[t+1] and open[t+2]
    p = pred[:n]
    pos = np.where(p > th, 1.0, np.where(p < -th, -1.0, 0.0))
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

best = float('inf')
for k in range(warm + runs):
    t = time.perf_counter()
    res = backtest(o, pred)
    if k >= warm:
        best = min(best, (time.perf_counter() - t) * 1000)
print(json.dumps({"ms": best, "total_return": res[0], "sharpe": res[1], "max_drawdown": res[2], "trades": res[3], "numpy": np.__version__}))
