#!/usr/bin/env python3
"""Goldens for internal/estimate's gradient-boosted trees, from scikit-learn.

Run from the repository root with Debian's python3-sklearn (1.2):
    /usr/bin/python3 testdata/estimate/sklearn_gbt.py

tree_{train,test}.csv: a single exact tree. 300 training rows, three numerical
features with at most 200 distinct values each (so the Go binner puts one value
per bin and its thresholds are sklearn's midpoints) and a continuous target;
DecisionTreeRegressor(max_depth=4) predictions of the test rows in column "sk".

hgb_{train,test}.csv: HistGradientBoostingRegressor on Friedman #1 plus a
40-level categorical feature and 5% missing values in x0; the held-out MSE is
in hgb_golden.json (Go's ensemble with the same hyperparameters must come close).
"""
import json
import os

import numpy as np
import pandas as pd
from sklearn.datasets import make_friedman1
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_squared_error
from sklearn.tree import DecisionTreeRegressor

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261204)

# 1. one exact tree
n, m = 300, 100
X = rng.integers(0, 200, size=(n + m, 3)) / 10.0
y = np.sin(X[:, 0]) * 3 + 0.3 * X[:, 1] ** 1.5 - 0.2 * X[:, 2] + rng.normal(0, 0.5, n + m)
tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X[:n], y[:n])
cols = ["x0", "x1", "x2"]
tr = pd.DataFrame(X[:n], columns=cols)
tr["y"] = y[:n]
te = pd.DataFrame(X[n:], columns=cols)
te["sk"] = tree.predict(X[n:])
tr.to_csv(os.path.join(here, "tree_train.csv"), index=False, float_format="%.17g")
te.to_csv(os.path.join(here, "tree_test.csv"), index=False, float_format="%.17g")

# 2. a boosted ensemble against HistGradientBoostingRegressor
n, m = 3000, 2000
X, y = make_friedman1(n_samples=n + m, n_features=5, noise=1.0, random_state=7)
cat = rng.integers(0, 40, size=n + m)
effect = rng.normal(0, 2, 40)
y = y + effect[cat]
X = np.column_stack([X, cat.astype(float)])
miss = rng.random(n + m) < 0.05
X[miss, 0] = np.nan
params = dict(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
              l2_regularization=1.0, max_bins=255)
hgb = HistGradientBoostingRegressor(categorical_features=[5], early_stopping=False, random_state=0, **params)
hgb.fit(X[:n], y[:n])
mse = mean_squared_error(y[n:], hgb.predict(X[n:]))
cols = ["x0", "x1", "x2", "x3", "x4", "cat"]
for name, sl in (("hgb_train.csv", slice(0, n)), ("hgb_test.csv", slice(n, n + m))):
    d = pd.DataFrame(X[sl], columns=cols)
    d["y"] = y[sl]
    d.to_csv(os.path.join(here, name), index=False, float_format="%.10g", na_rep="NaN")
golden = {"params": params, "test_mse": mse, "test_variance": float(np.var(y[n:])),
          "sklearn": __import__("sklearn").__version__}
with open(os.path.join(here, "hgb_golden.json"), "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print(golden)
