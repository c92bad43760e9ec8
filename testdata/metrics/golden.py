#!/usr/bin/python3
"""Golden values for internal/metrics, computed with numpy, scipy, sklearn and pandas.

Run with Debian's interpreter (the one that has the packages):

    /usr/bin/python3 testdata/metrics/golden.py > testdata/metrics/golden.json

Versions used: numpy 1.24, scipy 1.10, scikit-learn 1.2.1, pandas 1.5
(Debian 12 packages python3-numpy python3-scipy python3-sklearn python3-pandas).
Output is deterministic (fixed seeds, sorted keys).

Encoding of inputs: a float, null (a missing value) or one of the strings
"nan", "inf", "-inf" (a non-finite value that the Go code must reject with
an error). Expected floats that are undefined (NaN) are written as null.
"""
import json
import math
import sys

import numpy as np
import pandas as pd
import scipy
import sklearn
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

Q_LEVELS = [("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)]
MAX_LISTED = 20


def enc(x):
    """Encode an input value."""
    if x is None:
        return None
    if isinstance(x, str):
        return x
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def out(x):
    """Encode an expected float (NaN -> null)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def most_common(values):
    """Most common value; ties -> smallest (the Go package's documented rule)."""
    s = pd.Series(values).dropna()
    if len(s) == 0:
        return None, 0
    vc = s.value_counts()
    top = vc.max()
    return min(vc[vc == top].index), int(top)


# ---------------------------------------------------------------- regression
def regression_case(name, target, pred, features=None, error=None):
    case = {"name": name, "target": [enc(v) for v in target], "pred": [enc(v) for v in pred]}
    if features:
        case["features"] = {
            k: {"kind": kind, "values": [enc(v) if kind == "num" else v for v in vals]}
            for k, (kind, vals) in features.items()
        }
    if error:
        case["error"] = error
        return case
    y = np.asarray(target, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    e = p - y
    n = len(y)
    nz = y != 0
    exp = {
        "n": n,
        "me": float(np.mean(e)),
        "mae": float(mean_absolute_error(y, p)),
        "rmse": float(mean_squared_error(y, p, squared=False)),
        "max_abs_error": float(np.max(np.abs(e))),
        "error_std": out(np.std(e, ddof=1)) if n > 1 else None,
        "mape": out(100 * np.mean(np.abs(e[nz] / y[nz]))) if nz.any() else None,
        "mape_skipped_zero_targets": int((~nz).sum()),
    }
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp["r2"] = out(r2_score(y, p))
    qs = {k: float(np.quantile(e, q)) for k, q in Q_LEVELS}
    exp["error_quantiles"] = qs
    q5, q95 = qs["p5"], qs["p95"]
    under, over, maj = e <= q5, e >= q95, (e > q5) & (e < q95)
    for key, m in (("underestimation", under), ("majority", maj), ("overestimation", over)):
        exp[key] = {"count": int(m.sum()), "mean_error": out(np.mean(e[m])) if m.any() else None}
    if features:
        bias = {}
        for k, (kind, vals) in features.items():
            s = pd.Series(vals, dtype="float64" if kind == "num" else "object")
            if kind == "num":
                # Evidently's _error_num_feature_bias, plus the true majority group.
                ov, un, mj, ovr = s.mean(), s[under].mean(), s[maj].mean(), s[over].mean()
                if math.isnan(un) or math.isnan(ovr):
                    rng = float("nan")
                elif un == ovr or s.max() == s.min():
                    rng = 0.0
                else:
                    rng = 100 * abs(ovr - un) / (s.max() - s.min())
                bias[k] = {"feature_type": "num", "majority": out(mj), "under": out(un), "over": out(ovr),
                           "overall": out(ov), "range": out(rng)}
            else:
                ov, un, mj, ovr = (most_common(s[m].tolist())[0] for m in (np.ones(n, bool), under, maj, over))
                if un is None or ovr is None or ov is None:
                    rng = None
                else:
                    rng = 1.0 if (un != ov or ovr != ov) else 0.0
                bias[k] = {"feature_type": "cat", "majority": mj, "under": un, "over": ovr, "overall": ov, "range": rng}
        exp["error_bias"] = bias
    case["expected"] = exp
    return case


def regression_cases():
    rng = np.random.default_rng(20240601)
    cases = [
        regression_case("sklearn_doc_example", [3, -0.5, 2, 7], [2.5, 0.0, 2, 8]),
        regression_case("single_value", [4.0], [5.5]),
        regression_case("two_values", [1.0, 2.0], [1.5, 1.0]),
        regression_case("ties", list(range(1, 11)), [t + d for t, d in zip(range(1, 11), [0, 0, 0, 1, 1, 1, -1, -1, 2, 2])]),
        regression_case("all_errors_equal", [1, 2, 3, 4, 5], [2, 3, 4, 5, 6]),
        regression_case("zeros_in_target", [0, 1, 0, 4, -2, 10], [0.5, 1.5, -1, 3, -2.5, 12]),
        regression_case("all_targets_zero", [0, 0, 0], [1, -1, 2]),
        regression_case("constant_target", [5, 5, 5, 5], [4, 5, 6, 5.5]),
        regression_case("perfect_constant", [3, 3, 3], [3, 3, 3]),
        regression_case("perfect", [1, 2, 3], [1, 2, 3]),
        regression_case("large_offset", (1e9 + np.arange(50)).tolist(), (1e9 + np.arange(50) + rng.normal(0, 1, 50)).tolist()),
    ]
    # Random case with numerical and categorical features, some missing.
    n = 1000
    y = rng.gamma(2.0, 10.0, n)
    p = y + rng.normal(0, 3, n) + 0.1 * (y - 20)
    dist = rng.exponential(3.0, n)
    dist_list = [None if rng.random() < 0.05 else round(float(v), 3) for v in dist]
    cat = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    cat = [None if rng.random() < 0.05 else v for v in cat]
    cases.append(regression_case("random_1000_features", y.tolist(), p.tolist(),
                                 {"distance": ("num", dist_list), "zone": ("cat", cat)}))
    # Integer-valued errors with heavy ties and features.
    n = 200
    y = rng.integers(0, 20, n).astype(float)
    p = y + rng.integers(-3, 4, n)
    f = rng.integers(0, 5, n).astype(float).tolist()
    c = rng.choice(["x", "y"], n).tolist()
    cases.append(regression_case("integer_ties_features", y.tolist(), p.tolist(), {"f": ("num", f), "c": ("cat", c)}))
    cases += [
        regression_case("empty", [], [], error="empty"),
        regression_case("length_mismatch", [1, 2], [1], error="length"),
        regression_case("nan_target", [1, "nan", 3], [1, 2, 3], error="non_finite"),
        regression_case("inf_prediction", [1, 2, 3], [1, "inf", 3], error="non_finite"),
        regression_case("neg_inf_prediction", [1, 2, 3], [1, 2, "-inf"], error="non_finite"),
        regression_case("nan_feature", [1, 2, 3], [1, 2, 4], {"f": ("num", [1, "nan", 2])}, error="non_finite"),
    ]
    return cases


# ---------------------------------------------------------------- data quality
def num_quality_case(name, cur, ref=None, error=None):
    case = {"name": name, "cur": [enc(v) for v in cur]}
    if ref is not None:
        case["ref"] = [enc(v) for v in ref]
    if error:
        case["error"] = error
        return case
    s = pd.Series([np.nan if v is None else v for v in cur], dtype="float64")
    present = s.dropna()
    n = int(present.count())
    exp = {"column_type": "num", "rows": len(s), "count": n, "missing_count": int(s.isna().sum()),
           "missing_share": out(s.isna().sum() / len(s)) if len(s) else None,
           "unique_count": int(present.nunique())}
    if n:
        arr = present.to_numpy()
        exp.update({"min": float(present.min()), "max": float(present.max()), "mean": float(present.mean()),
                    "std": out(present.std()) if n > 1 else None,
                    "p25": float(np.quantile(arr, 0.25)), "p50": float(np.quantile(arr, 0.5)),
                    "p75": float(np.quantile(arr, 0.75))})
        mc, mcn = most_common(present.tolist())
        exp.update({"most_common_value": float(mc) + 0.0, "most_common_count": mcn, "most_common_share": mcn / n})
    if ref is not None:
        r = pd.Series([np.nan if v is None else v for v in ref], dtype="float64").dropna()
        cs, rs = set(present.tolist()), set(r.tolist())
        new, unused = sorted(cs - rs), sorted(rs - cs)
        exp.update({"new_in_current_count": len(new), "new_in_current_values": new[:MAX_LISTED],
                    "unused_in_current_count": len(unused), "unused_in_current_values": unused[:MAX_LISTED]})
        if len(r):
            oor = int(((present < r.min()) | (present > r.max())).sum())
            exp["out_of_range_count"] = oor
            exp["out_of_range_share"] = oor / n if n else None
    case["expected"] = exp
    return case


def cat_quality_case(name, cur, ref=None):
    case = {"name": name, "cur": cur}
    if ref is not None:
        case["ref"] = ref
    s = pd.Series(cur, dtype="object")
    present = s.dropna()
    n = int(present.count())
    exp = {"column_type": "cat", "rows": len(s), "count": n, "missing_count": int(s.isna().sum()),
           "missing_share": out(s.isna().sum() / len(s)) if len(s) else None, "unique_count": int(present.nunique())}
    if n:
        mc, mcn = most_common(present.tolist())
        exp.update({"most_common_category": mc, "most_common_count": mcn, "most_common_share": mcn / n})
    if ref is not None:
        r = pd.Series(ref, dtype="object").dropna()
        cs, rs = set(present.tolist()), set(r.tolist())
        new, unused = sorted(cs - rs), sorted(rs - cs)
        exp.update({"new_in_current_count": len(new), "new_in_current_categories": new[:MAX_LISTED],
                    "unused_in_current_count": len(unused), "unused_in_current_categories": unused[:MAX_LISTED]})
    case["expected"] = exp
    return case


def quality_cases():
    rng = np.random.default_rng(7)
    num = [
        num_quality_case("small_with_missing", [1, 2, 2, 3, None, 5], [0, 1, 2, 2.5]),
        num_quality_case("ties_most_common_smallest", [3, 1, 3, 1, 2], [1, 2, 3]),
        num_quality_case("single_value", [4.25]),
        num_quality_case("single_value_with_ref", [4.25, None], [1, 2]),
        num_quality_case("all_missing", [None, None], [1.0]),
        num_quality_case("empty", [], [1.0, 2.0]),
        num_quality_case("negative_zero", [-0.0, 0.0, 1.0, -1.5], [0.0]),
        num_quality_case("out_of_range_both_sides", [-5, 0, 1, 2, 3, 10, 11], [0, 10]),
        num_quality_case("large_offset", (1e9 + rng.normal(0, 1, 100)).tolist()),
        num_quality_case("nan_present", [1, "nan", 2], error="non_finite"),
        num_quality_case("inf_in_ref", [1, 2], ["inf", 1], error="non_finite"),
    ]
    cur = [None if rng.random() < 0.1 else float(v) for v in np.round(rng.lognormal(1, 0.8, 2000), 1)]
    ref = [None if rng.random() < 0.05 else float(v) for v in np.round(rng.lognormal(0.9, 0.7, 1500), 1)]
    num.append(num_quality_case("random_lognormal_2000", cur, ref))
    cats = [
        cat_quality_case("small_with_missing", ["a", "b", None, "a", "c"], ["a", "b", "d"]),
        cat_quality_case("ties_most_common_smallest", ["z", "y", "z", "y", "x"], None),
        cat_quality_case("empty_string_is_a_category", ["", "", "a"], ["a"]),
        cat_quality_case("all_missing", [None, None], ["a"]),
        cat_quality_case("empty", [], ["a"]),
        cat_quality_case("many_new_capped", [f"c{i:02d}" for i in range(30)] + ["r0"], ["r0", "r1"]),
    ]
    cur = rng.choice([f"k{i}" for i in range(40)], 3000, p=np.arange(1, 41) / np.arange(1, 41).sum()).tolist()
    ref = rng.choice([f"k{i}" for i in range(10, 60)], 2000).tolist()
    cur = [None if rng.random() < 0.02 else v for v in cur]
    cats.append(cat_quality_case("random_3000", cur, ref))
    return num, cats


# ---------------------------------------------------------------- quantiles, KS, Wasserstein
def quantile_cases():
    rng = np.random.default_rng(11)
    qs = [0, 0.01, 0.05, 0.1, 0.25, 0.3333, 0.5, 0.75, 0.9, 0.95, 0.99, 1]
    data = {
        "single": [3.5],
        "two": [1.0, 2.0],
        "ties": [1, 1, 1, 2, 2, 3, 3, 3, 3, 10],
        "negative": [-5, -1, -3.5, 0, 2],
        "normal_1001": rng.normal(0, 1, 1001).tolist(),
        "integers_500": rng.integers(-50, 50, 500).astype(float).tolist(),
    }
    return [{"name": k, "x": v, "q": qs, "expected": [float(np.quantile(np.asarray(v, float), q)) for q in qs]}
            for k, v in data.items()]


def distance_cases():
    rng = np.random.default_rng(13)
    pairs = {
        "identical": ([1, 2, 3], [1, 2, 3]),
        "disjoint": ([1, 2, 3], [10, 11]),
        "ties": ([1, 1, 2, 2, 2, 3], [1, 2, 2, 3, 3, 3, 3]),
        "single_each": ([0.0], [1.5]),
        "normal_shift": (rng.normal(0, 1, 700).tolist(), rng.normal(0.3, 1.2, 400).tolist()),
        "integers": (rng.integers(0, 10, 300).astype(float).tolist(), rng.integers(2, 12, 250).astype(float).tolist()),
    }
    return [{"name": k, "a": a, "b": b, "ks": float(ks_2samp(a, b).statistic),
             "wasserstein": float(wasserstein_distance(a, b))} for k, (a, b) in pairs.items()]


def main():
    num, cats = quality_cases()
    doc = {
        "generator": "testdata/metrics/golden.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
                     "pandas": pd.__version__},
        "regression": regression_cases(),
        "numeric_quality": num,
        "categorical_quality": cats,
        "quantiles": quantile_cases(),
        "distances": distance_cases(),
    }
    json.dump(doc, sys.stdout, indent=1, sort_keys=True, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
