"""Peer for bench/replay.bench.ts: the fits a replay makes, done by scikit-learn's Ridge and by
xgboost (tree_method=hist), on the same rows: for every retrain window, z-scored on its training
rows (as fxflow's scaler), one fit per target (ridge: one multi-output fit). Prints the summed fit
time in seconds (scaling excluded: only the fits are timed) as JSON.

Setup (Debian): apt-get install -y python3-sklearn python3-xgboost
Input: argv[1] = JSON {"dir", "n", "p", "k", "windows": [[start, end], ...], "which": [...], "gbm": {...}}
"""
import json
import sys
import time

import numpy as np

spec = json.loads(sys.argv[1])
n, p, k = spec["n"], spec["p"], spec["k"]
X = np.fromfile(f"{spec['dir']}/X.f64", dtype=np.float64).reshape(n, p)
Y = np.fromfile(f"{spec['dir']}/Y.f64", dtype=np.float64).reshape(n, k)
windows = spec["windows"]
out = {}


def scaled(a, b):
    x = X[a:b]
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1
    return (x - mu) / sd, Y[a:b]


if "ridge" in spec["which"]:
    import sklearn
    from sklearn.linear_model import Ridge

    total = 0.0
    for a, b in windows:
        x, y = scaled(a, b)
        t = time.perf_counter()
        Ridge(alpha=spec["alpha"]).fit(x, y)
        total += time.perf_counter() - t
    out["ridge"] = {"seconds": total, "version": sklearn.__version__}

if "xgboost" in spec["which"]:
    import xgboost as xgb

    g = spec["gbm"]
    total = 0.0
    for a, b in windows:
        x, y = scaled(a, b)
        for j in range(k):
            t = time.perf_counter()
            xgb.XGBRegressor(n_estimators=g["trees"], max_depth=g["depth"], learning_rate=g["lr"], tree_method="hist", max_bin=g["bins"],
                             n_jobs=g["threads"], reg_lambda=1.0, min_child_weight=1.0, subsample=1.0, colsample_bytree=1.0,
                             base_score=float(np.mean(y[:, j]))).fit(x, y[:, j])
            total += time.perf_counter() - t
    out["xgboost"] = {"seconds": total, "version": xgb.__version__}

print(json.dumps(out))
