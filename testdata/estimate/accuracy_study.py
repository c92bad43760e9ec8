#!/usr/bin/env python3
"""The accuracy study behind the README's "Performance estimation" section: which
nanny variant to ship, chosen on the reference (2021-02) alone, and the evidence that
2022-02/03 are concept drift. Debian's python3-sklearn (1.2), pandas, numpy.

    ESTIMATE_EXPORT_CSV=/tmp/study.csv go test ./internal/estimate -run TestExportLabelledCSV
    OMP_NUM_THREADS=1 /usr/bin/python3 testdata/estimate/accuracy_study.py /tmp/study.csv

sklearn's HistGradientBoostingRegressor stands in for the Go nanny (same
hyperparameters; its numbers differ from Go's by a few tenths of a percent). The
pickup day, hour and weekday are read only to make cross-validation folds and to
describe the months, never as nanny features.
"""
import os
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

warnings.filterwarnings("ignore")
df = pd.read_csv(sys.argv[1])
df["e"] = df.pred - df.y
df["same"] = (df.pu == df["do"]).astype(float)
df["speed"] = df.dist / np.maximum(df.pred, 0.5)  # the Go impliedSpeed
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
zl = pd.read_csv(os.path.join(root, "data", "taxi_zone_lookup.csv"))
boro = dict(zip(zl.LocationID, zl.Borough.astype(str)))
bcode = {b: i for i, b in enumerate(sorted(set(boro.values())))}
df["pub"] = df.pu.map(lambda z: bcode.get(boro.get(z, "Unknown")))
df["dob"] = df["do"].map(lambda z: bcode.get(boro.get(z, "Unknown")))
EVAL = ["2021-03", "2022-01", "2022-02", "2022-03", "2023-01", "2023-02", "2023-03", "2024-03"]
CAT = {"pu", "do", "pub", "dob"}
BASE = ["pu", "do", "dist", "pred", "known"]


def month(m):
    return df[df.month == m].reset_index(drop=True)


def encoder(train):
    # zone ids as category codes of the training rows (< 255 per column); unseen: missing
    maps = {c: {z: i for i, z in enumerate(sorted(set(train[c])))} for c in ("pu", "do")}

    def enc(d, feats):
        return np.column_stack([d[f].map(maps[f]).astype(float) if f in maps else d[f].astype(float) for f in feats])
    return enc


def hgb(feats, loss="squared_error", **kw):
    p = dict(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40, l2_regularization=1.0, random_state=0)
    p.update(kw)
    return HistGradientBoostingRegressor(loss=loss, categorical_features=[f in CAT for f in feats], **p)


def fit(train, feats, target="sq", **kw):
    """Returns predict(d) -> (per-row E[e^2], per-row E|e|)."""
    enc = encoder(train)
    X, e = enc(train, feats), train.e.values
    ab = hgb(feats, **kw).fit(X, np.abs(e))
    if target in ("sq", "poisson"):
        sq = hgb(feats, loss="poisson" if target == "poisson" else "squared_error", **kw).fit(X, e ** 2)
        psq = lambda Z: np.maximum(sq.predict(Z), 0)
    else:
        oof = np.zeros(len(train))
        t = np.log(e ** 2 + 1) if target == "log" else e
        for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
            oof[te] = hgb(feats, **kw).fit(X[tr], t[tr]).predict(X[te])
        if target == "log":  # log(e^2+1) with Duan's smearing
            lg = hgb(feats, **kw).fit(X, t)
            smear = np.mean(np.exp(t - oof))
            psq = lambda Z: np.maximum(np.exp(lg.predict(Z)) * smear - 1, 0)
        else:  # E[e^2] = Var + mean^2 (heteroscedastic nanny)
            mu = hgb(feats, **kw).fit(X, e)
            va = hgb(feats, **kw).fit(X, (e - oof) ** 2)
            psq = lambda Z: np.maximum(va.predict(Z), 0) + mu.predict(Z) ** 2
    return lambda d: (psq(enc(d, feats)), np.maximum(ab.predict(enc(d, feats)), 0))


def rel(est, d):
    rr, rm = np.sqrt((d.e ** 2).mean()), d.e.abs().mean()
    return 100 * (np.sqrt(est[0].mean()) - rr) / rr, 100 * (est[1].mean() - rm) / rm


ref = month("2021-02")
print("## months (labelled rows)")
for m in ["2021-02"] + EVAL:
    g = month(m)
    print("%s rows %6d  RMSE %.3f  MAE %.3f  median speed %.2f mph  mean prediction %.2f  mean duration %.2f" % (
        m, len(g), np.sqrt((g.e ** 2).mean()), g.e.abs().mean(), (g.dist / (g.y / 60)).median(), g.pred.mean(), g.y.mean()))

print("\n## concept drift: inputs vs inputs+duration")
def auc(a, b, feats):
    d = df[df.month.isin([a, b])].reset_index(drop=True)
    X = encoder(d)(d, feats)
    yy = (d.month == b).values.astype(int)
    p = cross_val_predict(HistGradientBoostingClassifier(categorical_features=[f in CAT for f in feats], random_state=0),
                          X, yy, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1]
    return roc_auc_score(yy, p)
for a, b in [("2022-01", "2022-02"), ("2022-01", "2022-03"), ("2021-02", "2022-02")]:
    print("classifier AUC %s vs %s: inputs %.3f, inputs+duration %.3f" % (a, b, auc(a, b, BASE), auc(a, b, BASE + ["y"])))
p22 = fit(month("2022-01"), BASE)
for m in ["2022-02", "2022-03"]:
    print("nanny trained on 2022-01 -> %s: RMSE error %+.1f%%" % (m, rel(p22(month(m)), month(m))[0]))
for m in ["2022-01", "2022-02", "2022-03"]:
    g = month(m)
    oof = np.zeros(len(g))
    for tr, te in KFold(2, shuffle=True, random_state=0).split(g):
        oof[te] = fit(g.iloc[tr], BASE)(g.iloc[te])[0]
    print("nanny cross-fitted on %s itself (2-fold): RMSE error %+.1f%%" % (m, 100 * (np.sqrt(oof.mean()) / np.sqrt((g.e ** 2).mean()) - 1)))
pref = fit(ref, BASE)
print("reference nanny, realized/estimated mean e^2 - 1 by pickup hour band:")
for m in ["2021-02", "2022-01", "2022-02", "2022-03"]:
    g = month(m)
    g["nsq"] = pref(g)[0]
    hb = pd.cut(g.hour, [-1, 5, 9, 15, 19, 23], labels=["0-5", "6-9", "10-15", "16-19", "20-23"])
    print("  %s %s" % (m, "  ".join("%s %+.0f%%" % (h, 100 * (x.e.pow(2).mean() / x.nsq.mean() - 1)) for h, x in g.groupby(hb))))

CANDIDATES = [
    ("baseline (shipped before)", BASE, {}),
    ("+implied_speed,pu_is_do", BASE + ["speed", "same"], {}),
    ("+implied_speed", BASE + ["speed"], {}),
    ("+boroughs,implied_speed,pu_is_do", BASE + ["pub", "dob", "speed", "same"], {}),
    ("boroughs instead of zone ids", ["pub", "dob", "dist", "pred", "known", "speed", "same"], {}),
    ("no zone ids", ["dist", "pred", "known"], {}),
    ("15 leaves", BASE, dict(max_leaf_nodes=15)),
    ("63 leaves", BASE, dict(max_leaf_nodes=63)),
    ("min 200 rows per leaf", BASE, dict(min_samples_leaf=200)),
    ("600 trees, rate 0.03", BASE, dict(max_iter=600, learning_rate=0.03)),
    ("L2 10", BASE, dict(l2_regularization=10)),
    ("E[e^2] = var + mean^2", BASE, dict(target="varmean")),
    ("log(e^2+1) + smearing", BASE, dict(target="log")),
    ("Poisson loss for e^2", BASE, dict(target="poisson")),
]
print("\n## candidates: reference-only leave-days-out CV (7 blocks of 4 pickup days of 2021-02) | evaluation months")
print("| variant | refCV RMSE error mean / max | refCV MAE error mean | refCV held-out MSE of e^2 | months RMSE error mean / max | months MAE error mean / max | 2022-02 | 2022-03 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
folds = (ref.day - 1) // 4
for name, feats, kw in CANDIDATES:
    cr, cm, dev = [], [], 0.0
    for k in range(7):
        tr, te = ref[folds != k], ref[folds == k]
        est = fit(tr, feats, **kw)(te)
        r, a = rel(est, te)
        cr.append(abs(r)); cm.append(abs(a))
        dev += ((te.e ** 2 - est[0]) ** 2).sum()
    pr = fit(ref, feats, **kw)
    er = np.array([rel(pr(month(m)), month(m)) for m in EVAL])
    ar = np.abs(er)
    print("| %s | %.2f%% / %.1f%% | %.2f%% | %.0f | %.2f%% / %.2f%% | %.2f%% / %.2f%% | %+.1f%% | %+.1f%% |" % (
        name, np.mean(cr), np.max(cr), np.mean(cm), dev / len(ref), ar[:, 0].mean(), ar[:, 0].max(), ar[:, 1].mean(), ar[:, 1].max(), er[2, 0], er[3, 0]), flush=True)
