#!/usr/bin/python3
"""Golden values for the trip-duration model (internal/taxi/golden_test.go).

Independent implementation: Debian's python3-sklearn 1.2 / python3-scipy 1.10.
Input: the filtered design of 2021-01 (train) and 2021-02 (validation) as CSV, written by
`UPDATE_GOLDEN=1 go test ./internal/taxi -run TestWriteGoldenInput` (Debian has no
pyarrow, so Python cannot read the parquet files). The row counts are checked against
data/SOURCES.md (73,908 and 61,921 rows with 1 <= duration <= 60).

Two fits:
- "sklearn": the seed's pipeline, DictVectorizer + LinearRegression (sparse input, so
  sklearn centers implicitly and runs scipy LSQR with its default tolerances);
- "exact": the same centered problem solved to convergence (LSQR, atol=btol=1e-14),
  which is the minimum-norm least-squares solution the Go code computes in closed form.

Run: /usr/bin/python3 testdata/model/golden.py  (from the repository root)
"""
import csv
import gzip
import json
import os

import numpy as np
import scipy.sparse.linalg as sla
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with gzip.open(os.path.join(HERE, name + ".csv.gz"), "rt") as f:
        rows = list(csv.DictReader(f))
    dicts = [{"PU_DO": r["PULocationID"] + "_" + r["DOLocationID"], "trip_distance": float(r["trip_distance"])} for r in rows]
    y = np.array([float(r["duration"]) for r in rows])
    return dicts, y


train, y_train = load("green_tripdata_2021-01")
val, y_val = load("green_tripdata_2021-02")
assert len(train) == 73908, len(train)
assert len(val) == 61921, len(val)

dv = DictVectorizer()
X_train = dv.fit_transform(train)
X_val = dv.transform(val)
dist_col = dv.vocabulary_["trip_distance"]

rng = np.random.default_rng(20210101)
sample = sorted(rng.choice(len(val), size=300, replace=False).tolist())
# make sure unseen categories are in the sample
seen = set(d["PU_DO"] for d in train)
unseen_rows = [i for i, d in enumerate(val) if d["PU_DO"] not in seen][:20]
sample = sorted(set(sample) | set(unseen_rows))


def result(intercept, coef):
    p_train = X_train @ coef + intercept
    p_val = X_val @ coef + intercept
    return {
        "intercept": float(intercept),
        "trip_distance_coef": float(coef[dist_col]),
        "train_rmse": float(np.sqrt(mean_squared_error(y_train, p_train))),
        "validation_rmse": float(np.sqrt(mean_squared_error(y_val, p_val))),
        "sample_predictions": [float(p_val[i]) for i in sample],
    }


lr = LinearRegression().fit(X_train, y_train)
sk = result(lr.intercept_, lr.coef_)

# Converged minimum-norm solution on the centered design.
x_mean = np.asarray(X_train.mean(axis=0)).ravel()
y_mean = y_train.mean()
n, p = X_train.shape
op = sla.LinearOperator(
    (n, p),
    matvec=lambda b: X_train @ b - x_mean @ b,
    rmatvec=lambda r: X_train.T @ r - x_mean * r.sum(),
    dtype=np.float64,
)
sol = sla.lsqr(op, y_train - y_mean, atol=1e-14, btol=1e-14, iter_lim=200000)
coef = sol[0]
exact = result(y_mean - x_mean @ coef, coef)

out = {
    "train_rows": len(train),
    "validation_rows": len(val),
    "categories": p - 1,
    "exact": exact,
    "sklearn": sk,
    "sample_index": sample,
    "sample_category": [val[i]["PU_DO"] for i in sample],
    "sample_unseen": [val[i]["PU_DO"] not in seen for i in sample],
    "lsqr_iterations": int(sol[2]),
}
with open(os.path.join(HERE, "golden.json"), "w") as f:
    json.dump(out, f, indent=1)
print("sklearn train/val rmse", sk["train_rmse"], sk["validation_rmse"])
print("exact   train/val rmse", exact["train_rmse"], exact["validation_rmse"], "iterations", sol[2])
