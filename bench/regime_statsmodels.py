"""Oracle for fxflow's Markov-switching regimes: statsmodels' MarkovRegression on the same data.

Reads a JSON job from argv[1]:
  {"y": [...], "k": K, "switching_variance": bool,
   "start": {"trans": [K*K row-major, P[i*K+j] = Pr(j | i)], "means": [K], "variances": [K]},
   "at": {...same shape...}   # optional: parameters to evaluate the log-likelihood at
  }
Writes JSON to stdout: statsmodels' fit from `start` (maximum likelihood: its EM then BFGS) and,
if given, its log-likelihood at `at` (timed; with "no_fit": true only that). The initial regime distribution is statsmodels' default, the
chain's steady state, which is fxflow's convention too.
"""
import json
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression


def to_vector(mod, k, p):
    v = np.zeros(len(mod.param_names))
    for i, name in enumerate(mod.param_names):
        if name.startswith('p['):
            a, b = name[2:-1].split('->')
            v[i] = p['trans'][int(a) * k + int(b)]
        elif name.startswith('const['):
            v[i] = p['means'][int(name[6:-1])]
        elif name.startswith('sigma2['):
            v[i] = p['variances'][int(name[7:-1])]
        elif name == 'sigma2':
            v[i] = p['variances'][0]
        else:
            raise ValueError(name)
    return v


def from_result(res, k):
    P = np.asarray(res.regime_transition)[..., 0].T  # statsmodels: [j, i] = Pr(j | i)
    names = res.model.param_names
    params = np.asarray(res.params)
    means = [float(params[names.index(f'const[{j}]')]) for j in range(k)]
    if 'sigma2' in names:
        var = [float(params[names.index('sigma2')])] * k
    else:
        var = [float(params[names.index(f'sigma2[{j}]')]) for j in range(k)]
    return {'trans': P.reshape(-1).tolist(), 'means': means, 'variances': var}


def main():
    job = json.load(open(sys.argv[1]))
    y = np.asarray(job['y'], dtype=float)
    k = job['k']
    mod = MarkovRegression(y, k_regimes=k, trend='c', switching_variance=job['switching_variance'])
    out = {}
    if 'at' in job:
        t0 = time.perf_counter()
        out['loglike_at'] = float(mod.loglike(to_vector(mod, k, job['at'])))
        out['loglike_ms'] = (time.perf_counter() - t0) * 1000
    if job.get('no_fit'):
        json.dump(out, sys.stdout)
        return
    sp = to_vector(mod, k, job['start'])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if job.get('peer_defaults'):
            # What a user gets from statsmodels' defaults (5 EM iterations, then BFGS to its default tolerance).
            res = mod.fit(start_params=sp, disp=False)
        else:
            res = mod.fit(start_params=sp, search_reps=0, em_iter=job.get('em_iter', 5), maxiter=job.get('maxiter', 5000), disp=False,
                          method='bfgs', gtol=1e-9)
    out['fit_ms'] = (time.perf_counter() - t0) * 1000
    out['llf'] = float(res.llf)
    out['fit'] = from_result(res, k)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
