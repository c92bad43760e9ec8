#!/usr/bin/python3
"""Reference values for internal/drift's calibration (calibrate_test.go,
TestCalibrationAgainstNumpy): quantiles of the no-drift distribution of a drift
statistic at a window size, simulated independently with numpy and scipy.

  - jensenshannon (categorical): scipy.spatial.distance.jensenshannon (natural
    log) between the reference shares and the shares of n_eff multinomial draws
    from them (numpy.random.Generator.multinomial);
  - wasserstein (numerical): scipy.stats.wasserstein_distance between the
    reference and n_eff rows resampled from it with replacement, divided by
    max(np.std(ref), 0.001) (Evidently's normed score).

n_eff = round(n*N/(n+N)) (the reference's own sampling noise, see
internal/drift/calibrate.go). Also the statistic of one fixed current sample
(scipy), so that the Go statistic is checked too.

Run: /usr/bin/python3 testdata/drift/calibration.py  (Debian python3-scipy,
python3-numpy; about 20 s) -> testdata/drift/calibration.json
"""
import json
import os

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

B = 20000
LEVEL = 0.99
rng = np.random.default_rng(20261204)


def neff(n, N):
    return max(1, int(round(n * N / (n + N))))


def quantiles(stats):
    return {"lo": float(np.quantile(stats, LEVEL - 0.005)),
            "mid": float(np.quantile(stats, LEVEL)),
            "hi": float(np.quantile(stats, LEVEL + 0.005))}


cases = []

# Categorical: 60 categories with geometric-like counts.
keys = ["c%02d" % i for i in range(60)]
counts = [int(1000 * np.exp(-i / 15.0)) + 1 for i in range(60)]
ref_cat = [k for k, c in zip(keys, counts) for _ in range(c)]
N = len(ref_cat)
p = np.array(counts, dtype=float) / N
n = 500
m = neff(n, N)
stats = np.empty(B)
for b in range(B):
    c = rng.multinomial(m, p)
    stats[b] = jensenshannon(p, c / m)
cur_counts = [int(1000 * np.exp(-i / 10.0)) // 4 + 1 for i in range(60)]
cur_cat = [k for k, c in zip(keys, cur_counts) for _ in range(c)]
cur_p = np.array(cur_counts, dtype=float) / len(cur_cat)
cases.append({"name": "jensenshannon_k60_n500", "test": "jensenshannon", "ref_cat": ref_cat,
              "cur_cat": cur_cat, "scipy_statistic": float(jensenshannon(p, cur_p)),
              "n": n, "draws": B, "level": LEVEL, "quantiles": quantiles(stats)})

# Numerical: lognormal values rounded to 0.1 (ties, like trip_distance).
ref_num = np.round(np.exp(np.random.default_rng(7).normal(0.8, 0.7, 5000)), 1)
norm = max(np.std(ref_num), 0.001)
n = 300
m = neff(n, len(ref_num))
stats = np.empty(B)
for b in range(B):
    stats[b] = wasserstein_distance(ref_num, rng.choice(ref_num, m, replace=True)) / norm
cur_num = np.round(np.exp(np.random.default_rng(8).normal(0.9, 0.7, 300)), 1)
cases.append({"name": "wasserstein_n300", "test": "wasserstein", "ref_num": ref_num.tolist(),
              "cur_num": cur_num.tolist(),
              "scipy_statistic": float(wasserstein_distance(ref_num, cur_num) / norm),
              "n": n, "draws": B, "level": LEVEL, "quantiles": quantiles(stats)})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibration.json")
with open(out, "w") as f:
    json.dump(cases, f)
print("wrote", out)
for c in cases:
    print(c["name"], c["quantiles"], c["scipy_statistic"])
