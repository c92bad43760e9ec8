#!/usr/bin/python3
"""Golden per-segment regression metrics (internal/report/segments_golden_test.go).

Independent implementation with pandas and scikit-learn (Debian 12: python3-pandas 1.5,
python3-sklearn 1.2, numpy 1.24) of `starter report --segments ...` with the shipped
model: reference 2021-01, current 2022-01, every segment (no minimum size).

Input: every row of both months, raw (PULocationID, DOLocationID, trip_distance,
pickup and dropoff wall-clock times; empty = null), written by
`UPDATE_GOLDEN=1 go test ./internal/report -run TestWriteSegmentsGoldenInput`
(Debian has no pyarrow, so Python cannot read the parquet files). Everything else is
done here from the raw columns:
- the training filter: 1 <= duration <= 60 minutes, PU, DO and distance present (row
  counts checked against data/SOURCES.md: 73,908 and 59,603);
- predictions from the model artifact models/duration_model.json:
  intercept + category_coef["<PU>_<DO>"] (0 if unseen) + numerical_coef[0] * trip_distance;
- segments: pickup/dropoff borough from data/taxi_zone_lookup.csv (LocationID ->
  Borough; an id the file does not list is "Unknown"), pickup hour bands night [0,6),
  morning [6,10), midday [10,16), evening [16,20), late [20,24);
- metrics per segment and side, error = prediction - duration: rows, me (mean error),
  mae and rmse (sklearn mean_absolute_error, sqrt of mean_squared_error), r2
  (sklearn r2_score; null below 2 rows).

Run from the repository root: /usr/bin/python3 testdata/segments/golden.py
"""
import json
import math
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

with open(os.path.join(ROOT, "models", "duration_model.json")) as f:
    MODEL = json.load(f)
assert MODEL["categorical"] == "PU_DO" and MODEL["numerical"] == ["trip_distance"], MODEL["numerical"]

LOOKUP = pd.read_csv(os.path.join(ROOT, "data", "taxi_zone_lookup.csv"))
BOROUGH = dict(zip(LOOKUP["LocationID"].astype(int), LOOKUP["Borough"]))

BANDS = [("night", 0, 6), ("morning", 6, 10), ("midday", 10, 16), ("evening", 16, 20), ("late", 20, 24)]


def hour_band(h):
    for name, lo, hi in BANDS:
        if lo <= h < hi:
            return name
    raise ValueError(h)


def load(name, want_rows):
    df = pd.read_csv(
        os.path.join(HERE, name + ".csv.gz"),
        dtype={"PULocationID": "Int64", "DOLocationID": "Int64", "trip_distance": "float64"},
        parse_dates=["lpep_pickup_datetime", "lpep_dropoff_datetime"],
    )
    dur = (df["lpep_dropoff_datetime"] - df["lpep_pickup_datetime"]).dt.total_seconds() / 60
    keep = (
        dur.between(1, 60)
        & df["PULocationID"].notna()
        & df["DOLocationID"].notna()
        & df["trip_distance"].notna()
    )
    df = df[keep].copy()
    df["duration"] = dur[keep]
    assert len(df) == want_rows, (name, len(df))
    pudo = df["PULocationID"].astype(str) + "_" + df["DOLocationID"].astype(str)
    coef = MODEL["category_coef"]
    df["prediction"] = (
        MODEL["intercept"]
        + pudo.map(lambda k: coef.get(k, 0.0)).astype(float)
        + MODEL["numerical_coef"][0] * df["trip_distance"]
    )
    df["pickup_borough"] = df["PULocationID"].map(lambda i: BOROUGH.get(int(i), "Unknown"))
    df["dropoff_borough"] = df["DOLocationID"].map(lambda i: BOROUGH.get(int(i), "Unknown"))
    df["pickup_hour_band"] = df["lpep_pickup_datetime"].dt.hour.map(hour_band)
    return df


def metrics(g):
    if len(g) == 0:
        return {"rows": 0, "me": None, "mae": None, "rmse": None, "r2": None}
    y, p = g["duration"].to_numpy(), g["prediction"].to_numpy()
    return {
        "rows": int(len(g)),
        "me": float(np.mean(p - y)),
        "mae": float(mean_absolute_error(y, p)),
        "rmse": float(math.sqrt(mean_squared_error(y, p))),
        "r2": float(r2_score(y, p)) if len(g) >= 2 else None,
    }


ref = load("green_tripdata_2021-01", 73908)
cur = load("green_tripdata_2022-01", 59603)

out = {
    "versions": {"pandas": pd.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__},
    "model_version": MODEL["model_version"],
    "reference_rows": len(ref),
    "current_rows": len(cur),
    "segments": {},
}
for seg in ["pickup_borough", "dropoff_borough", "pickup_hour_band"]:
    values = sorted(set(ref[seg]) | set(cur[seg]))
    out["segments"][seg] = {
        v: {"reference": metrics(ref[ref[seg] == v]), "current": metrics(cur[cur[seg] == v])} for v in values
    }
with open(os.path.join(HERE, "golden.json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
for v, s in out["segments"]["pickup_borough"].items():
    c = s["current"]
    print(f"pickup_borough {v:14s} rows={c['rows']:6d} rmse={c['rmse']}")
