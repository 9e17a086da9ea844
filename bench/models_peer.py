"""Peers for bench/models.bench.ts and test/models/gbm.test.ts: fits xgboost (tree_method=hist),
scikit-learn's HistGradientBoostingRegressor and Ridge on data written by the caller.

Setup (Debian):  apt-get update && apt-get install -y python3-sklearn python3-xgboost
Run with /usr/bin/python3 (the Debian interpreter that sees those packages).

Usage: models_peer.py SPEC.json  — SPEC names raw little-endian float64 files:
  {"dir": ..., "n": rows, "p": cols, "nVal": val rows, "which": ["xgboost", "sklearn_hgb", "ridge"],
   "trees": 200, "depth": 6, "lr": 0.05, "bins": 256, "threads": 2, "alpha": 1.0, "repeat": 1,
   "ridge_warm": 0, "ridge_repeat": repeat}
  files: X.f64 (n×p row-major), y.f64 (n), Xv.f64 (nVal×p), yv.f64 (nVal)
Prints one JSON object: per peer, fit seconds (best of `repeat`; ridge: best and median of
`ridge_repeat` after `ridge_warm` unmeasured fits) and validation RMSE.
"""
import json, os, sys, time
import numpy as np

spec = json.load(open(sys.argv[1]))
d, n, p, nv = spec["dir"], spec["n"], spec["p"], spec["nVal"]
X = np.fromfile(os.path.join(d, "X.f64"), dtype="<f8").reshape(n, p)
y = np.fromfile(os.path.join(d, "y.f64"), dtype="<f8")
Xv = np.fromfile(os.path.join(d, "Xv.f64"), dtype="<f8").reshape(nv, p)
yv = np.fromfile(os.path.join(d, "yv.f64"), dtype="<f8")
rmse = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))
out = {}
rep = spec.get("repeat", 1)

def timed(fit):
    best, model = float("inf"), None
    for _ in range(rep):
        t = time.perf_counter()
        model = fit()
        best = min(best, time.perf_counter() - t)
    return best, model

if "xgboost" in spec["which"]:
    import xgboost as xgb
    def fit():
        m = xgb.XGBRegressor(n_estimators=spec["trees"], max_depth=spec["depth"], learning_rate=spec["lr"],
                             tree_method="hist", max_bin=spec["bins"], n_jobs=spec["threads"], reg_lambda=1.0,
                             min_child_weight=1.0, subsample=1.0, colsample_bytree=1.0, base_score=float(np.mean(y)))
        m.fit(X, y)
        return m
    s, m = timed(fit)
    out["xgboost"] = {"seconds": s, "rmse": rmse(m.predict(Xv), yv), "version": xgb.__version__}

if "sklearn_hgb" in spec["which"]:
    import sklearn
    from sklearn.ensemble import HistGradientBoostingRegressor
    def fit():
        m = HistGradientBoostingRegressor(max_iter=spec["trees"], max_depth=spec["depth"], learning_rate=spec["lr"],
                                          max_bins=min(255, spec["bins"]), max_leaf_nodes=None, min_samples_leaf=1,
                                          l2_regularization=1.0, early_stopping=False)
        m.fit(X, y)
        return m
    s, m = timed(fit)
    out["sklearn_hgb"] = {"seconds": s, "rmse": rmse(m.predict(Xv), yv), "version": sklearn.__version__}

if "ridge" in spec["which"]:
    # A fit of tens of ms: warm-up fits (imports, BLAS threads, page faults) then the best and the
    # median of ridge_repeat, the same protocol as fxflow's side in models.bench.ts.
    from sklearn.linear_model import Ridge
    fit = lambda: Ridge(alpha=spec.get("alpha", 1.0)).fit(X, y)
    for _ in range(spec.get("ridge_warm", 0)):
        fit()
    ts = []
    for _ in range(spec.get("ridge_repeat", rep)):
        t = time.perf_counter()
        m = fit()
        ts.append(time.perf_counter() - t)
    out["ridge"] = {"seconds": min(ts), "median": float(np.median(ts)), "rmse": rmse(m.predict(Xv), yv), "coef": m.coef_.tolist(), "intercept": float(m.intercept_)}

print(json.dumps(out))
