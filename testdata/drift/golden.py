#!/usr/bin/python3
"""Generate golden.json for internal/drift from scipy 1.10 / numpy / sklearn 1.2.

Run with Debian's interpreter (the pyenv python3 on PATH has no scipy):

    /usr/bin/python3 testdata/drift/golden.py

Requires python3-scipy (1.10.x) and python3-numpy; the script refuses other
scipy minor versions. Output is deterministic: every random sample comes from
fixed seeds. Large samples are not stored: they are described by a generator
spec ({"gen": ...}) that internal/drift/golden_test.go reproduces bit for bit
(xorshift64* uniforms and only +, -, *, /, floor, so both languages round the
same way).

Where a test has no scipy counterpart (psi, kl_div, hellinger, TVD, z,
normalised Wasserstein, Evidently's binning and empirical MMD) the expected
value is computed here with numpy from the formula Evidently uses, written
out independently of the Go code.
"""

import json
import math
import os
import sys
from collections import Counter
from fractions import Fraction

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance
from scipy.stats import kstwo
from scipy.stats._stats_py import _attempt_exact_2kssamp

if not scipy.__version__.startswith("1.10."):
    sys.exit(f"need scipy 1.10.x, have {scipy.__version__}")

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Deterministic generator shared with Go (golden_test.go: genSample).

MASK = (1 << 64) - 1


class XorShift:
    def __init__(self, seed):
        self.s = (seed * 0x9E3779B97F4A7C15 + 1) & MASK or 1

    def u64(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & MASK
        s ^= s >> 27
        self.s = s
        return (s * 2685821657736338717) & MASK

    def uniform(self):
        return (self.u64() >> 11) * (1.0 / 9007199254740992.0)


def gen(spec):
    """Materialise a generator spec; keep in sync with genSample in Go."""
    r = XorShift(spec["seed"])
    n, dist = spec["n"], spec["dist"]
    a, b = spec.get("a", 0.0), spec.get("b", 1.0)
    out = []
    for _ in range(n):
        if dist == "uniform":  # a + b*u
            x = a + b * r.uniform()
        elif dist == "irwin":  # a + b*(u1+u2+u3+u4-2)
            s = ((r.uniform() + r.uniform()) + r.uniform()) + r.uniform()
            x = a + b * (s - 2.0)
        elif dist == "skew":  # a + b*u1*u2/(1.001-u3), heavy right tail
            u1, u2, u3 = r.uniform(), r.uniform(), r.uniform()
            x = a + b * ((u1 * u2) / (1.001 - u3))
        elif dist == "int":  # floor(a + b*u)
            x = float(math.floor(a + b * r.uniform()))
        elif dist == "intskew":  # floor(b*u1*u2) + a
            u1, u2 = r.uniform(), r.uniform()
            x = float(math.floor(b * (u1 * u2))) + a
        else:
            raise ValueError(dist)
        out.append(x)
    if spec.get("cat"):
        return ["c%d" % int(v) for v in out]
    return out


def materialise(x):
    return gen(x) if isinstance(x, dict) else x


# --------------------------------------------------------------------------
# JSON helpers: non-finite floats become strings.


def enc(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


# --------------------------------------------------------------------------
# KS: p-value of ks_2samp(method="auto") for a given statistic, following
# scipy 1.10 _stats_py.ks_2samp line by line (exact attempt, fallback, asymp).


def ks_auto(d, n1, n2):
    g = math.gcd(n1, n2)
    mode = "exact" if max(n1, n2) <= 10000 else "asymp"
    prob = -np.inf
    if mode == "exact":
        success, d, prob = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
        if not success:
            mode = "asymp"
    if mode == "asymp":
        m, n = sorted([float(n1), float(n2)], reverse=True)
        en = m * n / (m + n)
        prob = kstwo.sf(d, np.round(en))
    return float(d), float(np.clip(prob, 0, 1))


def ks_pvalue_grid():
    rng = np.random.default_rng(20240501)
    rows = []
    sizes = [(1, 1), (1, 2), (2, 3), (3, 3), (5, 7), (7, 5), (10, 10), (13, 17),
             (20, 30), (50, 50), (64, 96), (100, 1), (101, 203), (250, 400),
             (1000, 1000), (999, 1000), (1000, 3), (2500, 4000), (5000, 5000),
             (10000, 10000), (10000, 9999), (10000, 1), (7919, 10000),
             (10001, 10001), (10001, 1), (12000, 100), (15000, 80),
             (20000, 400), (30000, 30000), (100000, 100000),
             (250000, 300000), (1000000, 1000000), (3000000, 2500000)]
    for n1, n2 in sizes:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        ds = set()
        for h in (1, 2, 3):
            if h <= lcm:
                ds.add(h / lcm)
        for q in (0.001, 0.01, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.999):
            ds.add(q)
        en = n1 * n2 / (n1 + n2)
        for z in (0.3, 0.5, 0.8, 1.0, 1.2, 1.36, 1.5, 1.63, 2.0, 2.5, 3.5, 5, 9):
            ds.add(min(1.0, z / math.sqrt(en)))
        for _ in range(4):
            ds.add(float(rng.uniform(0, 1) ** 3))
        ds.add(1.0)
        ds.add(0.0)
        if n1 != n2 and max(n1, n2) <= 10000 and n1 * n2 > 10**6:
            # the exact inside recursion costs O(n1*n2*d): keep it cheap
            ds = {d for d in ds if d <= 0.12 or d in (0.3, 1.0)}
        for d in sorted(ds):
            dd, p = ks_auto(d, n1, n2)
            rows.append({"n": n1, "m": n2, "d": d, "d_adj": dd, "p": enc(p)})
    return rows


def kstwo_grid():
    """Direct points of kstwo.sf covering every branch of _kolmogn."""
    rows = []
    for n in (1, 2, 3, 5, 10, 30, 77, 140, 141, 500, 1000, 5000, 30000,
              100000, 100001, 400000, 500000, 1000000, 1000001, 2000000):
        xs = set()
        for t in (0.5, 0.51, 0.75, 0.99, 1.0, 1.01, 1.5, 3.0):
            xs.add(t / n)
        for nx2 in (0.01, 0.2, 0.5, 0.754, 0.76, 1.0, 2.0, 2.19, 2.21, 3.9, 4.1,
                    10, 17.9, 18.1, 50, 200, 369, 371, 700):
            xs.add(math.sqrt(nx2 / n))
        for x in (0.3, 0.49, 0.5, 0.6, 0.9, 1 - 1.0 / n, 1 - 0.5 / n):
            xs.add(x)
        for x in sorted(xs):
            if 0 < x < 1:
                rows.append({"n": n, "x": x, "sf": enc(kstwo.sf(x, n))})
    return rows



# --------------------------------------------------------------------------
# Evidently's formulas, written out independently (evidently 0.7,
# src/evidently/legacy/calculations/stattests/*.py).


def ev_binned(ref, cur, kind, feel_zeroes):
    """get_binned_data: Sturges bins of the pooled data for a numerical
    column whose reference has > 20 distinct values, else shares per value."""
    ref, cur = np.asarray(ref), np.asarray(cur)
    if kind == "num" and len(np.unique(ref)) > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.tolist()) | set(cur.tolist()))
        rc, cc = Counter(ref.tolist()), Counter(cur.tolist())
        rp = np.array([rc[k] / len(ref) for k in keys])
        cp = np.array([cc[k] / len(cur) for k in keys])
    if feel_zeroes:
        for arr in (rp, cp):
            m = arr[arr != 0].min()
            np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp


def ev_psi(ref, cur, kind):
    rp, cp = ev_binned(ref, cur, kind, True)
    return np.sum((rp - cp) * np.log(rp / cp)), None


def ev_kl(ref, cur, kind):
    rp, cp = ev_binned(ref, cur, kind, True)
    return stats.entropy(rp, cp), None


def ev_js(ref, cur, kind):
    rp, cp = ev_binned(ref, cur, kind, False)
    return distance.jensenshannon(rp, cp), None


def ev_hellinger(ref, cur, kind):
    keys = sorted(set(list(ref)) | set(list(cur)))
    if kind == "cat":
        rc, cc = Counter(ref), Counter(cur)
        bc = 0.0
        for k in keys:
            bc += math.sqrt(rc[k] / len(ref) * cc[k] / len(cur))
    else:
        bins = np.histogram_bin_edges(keys, bins="sturges")
        h1 = np.histogram(np.asarray(ref), bins=bins, density=True)[0]
        h2 = np.histogram(np.asarray(cur), bins=bins, density=True)[0]
        w = (max(bins) - min(bins)) / (len(bins) - 1)
        bc = 0.0
        for i in range(len(h1)):
            bc += math.sqrt(h1[i] * h2[i]) * w
    return math.sqrt(1 - np.clip(bc, 0, 1)), None


def ev_wasserstein(ref, cur, kind):
    norm = max(np.std(np.asarray(ref)), 0.001)
    return stats.wasserstein_distance(ref, cur) / norm, None


def ev_counts(ref, cur):
    keys = sorted(set(list(ref)) | set(list(cur)))
    rc, cc = Counter(ref), Counter(cur)
    return keys, [rc[k] for k in keys], [cc[k] for k in keys]


def ev_chisquare(ref, cur, kind):
    keys, r, c = ev_counts(ref, cur)
    k_norm = len(cur) / len(ref)
    res = stats.chisquare(c, [x * k_norm for x in r])
    return res[0], res[1]


def ev_g(ref, cur, kind):
    keys, r, c = ev_counts(ref, cur)
    k_norm = len(cur) / len(ref)
    res = stats.power_divergence(c, [x * k_norm for x in r], lambda_="log-likelihood")
    return res[0], res[1]


def ev_z(ref, cur, kind):
    if len(set(ref)) == 1 and len(set(cur)) == 1 and set(ref) == set(cur):
        return 0.0, 1.0
    keys = sorted(set(ref) | set(cur))
    r01 = [0 if x == keys[0] else 1 for x in ref]
    c01 = [0 if x == keys[0] else 1 for x in cur]
    n1, n2 = len(r01), len(c01)
    p1 = float(sum(r01)) / n1
    p2 = float(sum(c01)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return z, 2 * (1 - stats.norm.cdf(np.abs(z)))


def ev_fisher(ref, cur, kind):
    keys, r, c = ev_counts(ref, cur)
    if len(keys) > 2:
        raise ValueError("more than 2 categories")
    # "zero" = first key, "one" = second key; [[cur ones, cur zeros], [ref ones, ref zeros]]
    r1 = r[1] if len(keys) == 2 else 0
    c1 = c[1] if len(keys) == 2 else 0
    res = stats.fisher_exact([[c1, c[0]], [r1, r[0]]])
    return res[0], res[1]


def ev_tvd(ref, cur, kind):
    """Evidently's permutation test (np.random.seed(0), 1000 iterations),
    comparing the statistic exactly; the float comparison Evidently makes
    is recorded in the note when it differs."""
    keys = sorted(set(ref) | set(cur))

    def tvd_f(a, b):
        ca, cb = Counter(a), Counter(b)
        ra = np.array([ca[k] for k in keys])
        rb = np.array([cb[k] for k in keys])
        return 0.5 * np.sum(np.abs(ra / sum(ra) - rb / sum(rb)))

    def tvd_x(a, b):
        ca, cb = Counter(a), Counter(b)
        return sum(abs(Fraction(ca[k], len(a)) - Fraction(cb[k], len(b))) for k in keys) / 2

    obs_f, obs_x = tvd_f(ref, cur), tvd_x(ref, cur)
    np.random.seed(0)
    combined = list(ref) + list(cur)
    hx = hf = 0
    for _ in range(1000):
        new_ref = np.random.choice(combined, len(ref), replace=False).tolist()
        new_cur = list((Counter(combined) - Counter(new_ref)).elements())
        hf += obs_f <= abs(tvd_f(new_ref, new_cur))
        hx += obs_x <= tvd_x(new_ref, new_cur)
    note = "" if hx == hf else "evidently float comparison gives p=%r" % (hf / 1000)
    return obs_f, hx / 1000, note


def ev_mmd(ref, cur, kind):
    """Evidently's mmd_pval after np.random.seed(0)."""
    x = np.asarray(ref, dtype=float).reshape(-1, 1)
    y = np.asarray(cur, dtype=float).reshape(-1, 1)

    def sq_dist(a, b):
        return (b ** 2).T - 2 * np.dot(a, b.T) + a ** 2

    dxx = sq_dist(x, x)
    sigma = (0.5 * np.percentile(dxx.flatten(), 50, method="nearest")) ** 0.5
    if sigma == 0:
        sigma = (0.5 * 1) ** 0.5
    gamma = 1.0 / (2.0 * sigma ** 2)
    kxx = np.exp(-gamma * dxx)
    kxy = np.exp(-gamma * sq_dist(x, y))
    kyy = np.exp(-gamma * sq_dist(y, y))
    K = np.concatenate((np.concatenate((kxx, kxy), axis=1), np.concatenate((kxy.T, kyy), axis=1)), axis=0)
    K = K - np.diag(np.diagonal(K))
    ny = y.shape[0]

    def mmd2(K, permute):
        nx = K.shape[0] - ny
        if permute:
            idx = np.random.permutation(K.shape[0])
            K = K[idx][:, idx]
        Kxx = K[:-ny, :-ny]
        Kyy = K[-ny:, -ny:]
        Kxy = K[-ny:, :-ny]
        return 1 / (nx * (nx - 1)) * Kxx.sum() + 1 / (ny * (ny - 1)) * Kyy.sum() - 2.0 * Kxy.mean()

    np.random.seed(0)
    obs = mmd2(K, False)
    perm = np.array([mmd2(K, True) for _ in range(100)])
    return obs, (obs <= perm).mean()


def ev_es(ref, cur, kind):
    if stats.iqr(np.hstack((ref, cur))) == 0:
        raise ValueError("IQR is zero")
    res = stats.epps_singleton_2samp(ref, cur)
    return res[0], res[1]


def sc_ks(ref, cur, kind):
    r = stats.ks_2samp(ref, cur)
    return r.statistic, r.pvalue


def sc_anderson(ref, cur, kind):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = stats.anderson_ksamp([np.asarray(ref), np.asarray(cur)])
    return r.statistic, r.significance_level


def sc_cvm(ref, cur, kind):
    r = stats.cramervonmises_2samp(ref, cur)
    return r.statistic, r.pvalue


def sc_mannw(ref, cur, kind):
    r = stats.mannwhitneyu(ref, cur, alternative="less")
    return r.statistic, r.pvalue


def sc_ttest(ref, cur, kind):
    r = stats.ttest_ind(ref, cur)
    return r.statistic, r.pvalue


def sc_ed(ref, cur, kind):
    return stats.energy_distance(ref, cur), None


IMPL = {
    "ks": sc_ks, "chisquare": ev_chisquare, "z": ev_z, "wasserstein": ev_wasserstein,
    "jensenshannon": ev_js, "psi": ev_psi, "kl_div": ev_kl, "anderson": sc_anderson,
    "cramer_von_mises": sc_cvm, "mannw": sc_mannw, "t_test": sc_ttest,
    "hellinger": ev_hellinger, "TVD": ev_tvd, "ed": sc_ed, "g_test": ev_g,
    "fisher_exact": ev_fisher, "empirical_mmd": ev_mmd, "es": ev_es,
}


def data():
    """Named explicit samples (fixed seeds)."""
    rng = np.random.default_rng(7)
    d = {}
    d["n01_50"] = rng.normal(0, 1, 50).tolist()
    d["n05_60"] = rng.normal(0.5, 1, 60).tolist()
    d["n01_60"] = rng.normal(0, 1, 60).tolist()
    d["n01_7"] = rng.normal(0, 1, 7).tolist()
    d["n1_5"] = rng.normal(1, 1, 5).tolist()
    d["n01_12"] = rng.normal(0, 1, 12).tolist()
    d["n02_10"] = rng.normal(0.2, 1.3, 10).tolist()
    d["ties_30"] = rng.integers(0, 5, 30).astype(float).tolist()
    d["ties_40"] = rng.integers(0, 6, 40).astype(float).tolist()
    d["logn_500"] = rng.lognormal(3, 1, 500).tolist()
    d["logn_600"] = rng.lognormal(3.1, 1.05, 600).tolist()
    d["age_800"] = rng.integers(18, 91, 800).astype(float).tolist()
    d["age_900"] = np.clip(np.round(rng.normal(45, 15, 900)), 18, 90).tolist()
    d["clicks_300"] = rng.poisson(2, 300).astype(float).tolist()
    d["clicks_350"] = rng.poisson(2.4, 350).astype(float).tolist()
    d["exp_200"] = rng.exponential(2.0, 200).tolist()
    d["exp_250"] = (rng.exponential(2.0, 250) + 0.3).tolist()
    d["n01_120"] = rng.normal(0, 1, 120).tolist()
    d["n03_150"] = rng.normal(0.3, 1.2, 150).tolist()
    d["bin_a"] = rng.choice([0.0, 1.0], 200, p=[0.7, 0.3]).tolist()
    d["bin_b"] = rng.choice([0.0, 1.0], 180, p=[0.6, 0.4]).tolist()
    d["cat_a"] = rng.choice(["red", "green", "blue", "grey"], 300, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    d["cat_b"] = rng.choice(["red", "green", "blue", "grey"], 280, p=[0.35, 0.3, 0.25, 0.1]).tolist()
    d["cat_new"] = rng.choice(["red", "green", "blue", "grey", "pink"], 250, p=[0.3, 0.3, 0.2, 0.1, 0.1]).tolist()
    d["cat_missing"] = rng.choice(["red", "green", "blue"], 260, p=[0.5, 0.3, 0.2]).tolist()
    d["yes_no_a"] = rng.choice(["no", "yes"], 150, p=[0.8, 0.2]).tolist()
    d["yes_no_b"] = rng.choice(["no", "yes"], 170, p=[0.65, 0.35]).tolist()
    d["cities_a"] = rng.choice(["c%02d" % i for i in range(30)], 2000).tolist()
    d["cities_b"] = (rng.choice(["c%02d" % i for i in range(30)], 1500).tolist()
                     + ["rare"] * 1)
    d["n03_6"] = rng.normal(0.3, 1, 6).tolist()
    d["n0_400"] = rng.normal(0, 1, 400).tolist()
    return d


def G(seed, n, dist, a=0.0, b=1.0, cat=False):
    spec = {"gen": "xorshift64*", "seed": seed, "n": n, "dist": dist, "a": a, "b": b}
    if cat:
        spec["cat"] = True
    return spec


def case_list():
    d = data()
    C = []

    def add(name, test, ref, cur, kind="num", **kw):
        C.append(dict(name=name, test=test, kind=kind, ref=ref, cur=cur, **kw))

    # ---- ks: tiny, ties, exact (n==m and n!=m), fallbacks, asymptotic
    add("ks_n1", "ks", [1.0], [2.0])
    add("ks_n1_equal", "ks", [1.0], [1.0])
    add("ks_1_vs_5", "ks", [0.3], d["n1_5"])
    add("ks_7_vs_5", "ks", d["n01_7"], d["n1_5"])
    add("ks_ties", "ks", d["ties_30"], d["ties_40"])
    add("ks_all_equal", "ks", [3.0] * 10, [3.0] * 12)
    add("ks_all_equal_apart", "ks", [3.0] * 10, [4.0] * 12)
    add("ks_50_vs_60", "ks", d["n01_50"], d["n05_60"])
    add("ks_equal_n_60", "ks", d["n01_60"], d["n05_60"])
    add("ks_lognormal", "ks", d["logn_500"], d["logn_600"])
    add("ks_age_ties", "ks", d["age_800"], d["age_900"])
    add("ks_exact_3000_5000", "ks", G(1, 3000, "irwin"), G(2, 5000, "irwin", 0.02))
    add("ks_exact_10000_10000", "ks", G(3, 10000, "skew"), G(4, 10000, "skew", 0.0, 1.02))
    add("ks_exact_10000_9999_same", "ks", G(5, 10000, "uniform"), G(6, 9999, "uniform"))
    add("ks_asymp_10001_10001", "ks", G(7, 10001, "irwin"), G(8, 10001, "irwin", 0.01))
    add("ks_asymp_15000_100", "ks", G(9, 15000, "skew"), G(10, 100, "skew"))
    add("ks_asymp_20000_300", "ks", G(11, 20000, "irwin"), G(12, 300, "irwin", 0.1))
    add("ks_asymp_50000_50000_shift", "ks", G(13, 50000, "skew"), G(14, 50000, "skew", 0.0, 1.03))
    add("ks_asymp_200000_200000_same", "ks", G(15, 200000, "skew"), G(16, 200000, "skew"))
    add("ks_asymp_ties_int", "ks", G(17, 30000, "int", 0, 50), G(18, 40000, "int", 0, 51))

    # ---- wasserstein (normalised)
    add("wasserstein_small", "wasserstein", d["n01_50"], d["n05_60"])
    add("wasserstein_n1", "wasserstein", [1.0], [2.5])
    add("wasserstein_const_ref", "wasserstein", [2.0] * 20, d["n01_50"])
    add("wasserstein_ties", "wasserstein", d["ties_30"], d["ties_40"])
    add("wasserstein_lognormal", "wasserstein", d["logn_500"], d["logn_600"])
    add("wasserstein_large", "wasserstein", G(21, 100000, "skew"), G(22, 120000, "skew", 0.05))

    # ---- energy distance
    add("ed_small", "ed", d["n01_50"], d["n05_60"])
    add("ed_ties", "ed", d["ties_30"], d["ties_40"])
    add("ed_n1", "ed", [0.0], [1.0])
    add("ed_large", "ed", G(23, 50000, "irwin"), G(24, 40000, "irwin", 0.03))

    # ---- categorical count tests
    for t in ("chisquare", "g_test"):
        add(t + "_cat", t, d["cat_a"], d["cat_b"], "cat")
        add(t + "_new_category", t, d["cat_a"], d["cat_new"], "cat")
        add(t + "_missing_category", t, d["cat_a"], d["cat_missing"], "cat")
        add(t + "_num_values", t, d["clicks_300"], d["clicks_350"])
        add(t + "_single_category", t, ["a"] * 5, ["a"] * 7, "cat", error=True)
        add(t + "_binary", t, d["yes_no_a"], d["yes_no_b"], "cat")
        add(t + "_260_ints", t, G(31, 200000, "intskew", 0, 260), G(32, 150000, "intskew", 0, 260))
        add(t + "_cities", t, d["cities_a"], d["cities_b"], "cat")
    add("z_binary", "z", d["yes_no_a"], d["yes_no_b"], "cat")
    add("z_binary_num", "z", d["bin_a"], d["bin_b"])
    add("z_same_single", "z", ["x"] * 4, ["x"] * 9, "cat")
    add("z_different_single", "z", ["x"] * 4, ["y"] * 9, "cat")
    add("z_one_sided_single", "z", ["x"] * 4, ["x", "y", "y"], "cat")
    add("z_three_values", "z", d["cat_a"], d["cat_b"], "cat")
    add("z_large", "z", G(33, 300000, "int", 0, 2), G(34, 250000, "int", 0.0, 1.996))
    add("fisher_binary", "fisher_exact", d["yes_no_a"], d["yes_no_b"], "cat")
    add("fisher_binary_num", "fisher_exact", d["bin_a"], d["bin_b"])
    add("fisher_small", "fisher_exact", ["a", "b", "b"], ["a", "a", "a", "a", "b"], "cat")
    add("fisher_zero_cell", "fisher_exact", ["a"] * 6, ["a", "a", "b"], "cat")
    add("fisher_single_category", "fisher_exact", ["a"] * 6, ["a"] * 3, "cat")
    add("fisher_disjoint", "fisher_exact", ["a"] * 6, ["b"] * 3, "cat")
    add("fisher_large", "fisher_exact", G(35, 20000, "int", 0, 2), G(36, 30000, "int", 0.0, 1.98))
    add("fisher_three_categories", "fisher_exact", d["cat_a"], d["cat_b"], "cat", error=True)
    add("tvd_cat", "TVD", d["cat_a"][:120], d["cat_b"][:100], "cat", rtol=0)
    add("tvd_new_category", "TVD", d["cat_a"][:150], d["cat_new"][:140], "cat", rtol=0)
    add("tvd_binary", "TVD", d["yes_no_a"], d["yes_no_b"], "cat", rtol=0)
    add("tvd_num_values", "TVD", d["clicks_300"], d["clicks_350"], rtol=0)

    # ---- share-based distances
    for t in ("jensenshannon", "psi", "kl_div", "hellinger"):
        add(t + "_cat", t, d["cat_a"], d["cat_b"], "cat")
        add(t + "_new_category", t, d["cat_a"], d["cat_new"], "cat")
        add(t + "_missing_category", t, d["cat_a"], d["cat_missing"], "cat")
        add(t + "_rare_category", t, d["cities_a"], d["cities_b"], "cat")
        add(t + "_num_few_values", t, d["clicks_300"], d["clicks_350"])
        add(t + "_num_sturges", t, d["logn_500"], d["logn_600"])
        add(t + "_num_ages", t, d["age_800"], d["age_900"])
        add(t + "_num_n1", t, [1.0], [2.0])
        add(t + "_260_ints", t, G(41, 200000, "intskew", 0, 260), G(42, 150000, "intskew", 0, 262))
        add(t + "_large_skew", t, G(43, 100000, "skew"), G(44, 80000, "skew", 0.01))

    # ---- rank / EDF tests
    add("anderson_small", "anderson", d["n01_50"], d["n05_60"])
    add("anderson_ties", "anderson", d["ties_30"], d["ties_40"])
    add("anderson_capped_upper", "anderson", d["n01_120"], d["n01_60"])
    add("anderson_floored", "anderson", d["exp_200"], d["exp_250"])
    add("anderson_lognormal", "anderson", d["logn_500"], d["logn_600"])
    add("anderson_n4", "anderson", [1.0, 2.0], [1.5, 3.0])
    add("anderson_n3_deviation", "anderson", [1.0, 2.0], [1.5], error=True,
        note="scipy divides by (N-3)=0 and returns p=0.25; we refuse N < 4")
    add("anderson_all_equal", "anderson", [1.0] * 5, [1.0] * 4, error=True)
    add("anderson_large", "anderson", G(51, 20000, "irwin"), G(52, 15000, "irwin", 0.01))
    add("cvm_exact", "cramer_von_mises", d["n01_7"], d["n1_5"])
    add("cvm_exact_ties", "cramer_von_mises", [1.0, 2.0, 2.0, 3.0, 5.0], [2.0, 3.0, 3.0, 4.0])
    add("cvm_exact_20_20", "cramer_von_mises", d["n01_50"][:20], d["n05_60"][:20])
    add("cvm_exact_12_10", "cramer_von_mises", d["n01_12"], d["n02_10"])
    add("cvm_asymptotic", "cramer_von_mises", d["n01_50"], d["n05_60"])
    add("cvm_asymptotic_same", "cramer_von_mises", d["n01_120"], d["n01_60"])
    add("cvm_ties", "cramer_von_mises", d["ties_30"], d["ties_40"])
    add("cvm_n1", "cramer_von_mises", [1.0], [1.0, 2.0], error=True)
    add("cvm_large", "cramer_von_mises", G(53, 20000, "skew"), G(54, 20000, "skew", 0.0, 1.02))
    add("mannw_exact", "mannw", d["n01_7"], d["n1_5"])
    add("mannw_exact_8_30", "mannw", d["n01_50"][:8], d["n05_60"][:30])
    add("mannw_asymptotic", "mannw", d["n01_50"], d["n05_60"])
    add("mannw_ties", "mannw", d["ties_30"], d["ties_40"])
    add("mannw_all_equal", "mannw", [2.0] * 10, [2.0] * 12)
    add("mannw_n1", "mannw", [2.0], [1.0, 3.0])
    add("mannw_exact_6_400", "mannw", d["n03_6"], d["n0_400"])
    add("mannw_large", "mannw", G(55, 100000, "skew"), G(56, 90000, "skew", 0.0, 1.01))
    add("ttest_small", "t_test", d["n01_50"], d["n05_60"])
    add("ttest_lognormal", "t_test", d["logn_500"], d["logn_600"])
    add("ttest_n1", "t_test", [1.0], [1.0, 2.0], error=True)
    add("ttest_const_equal", "t_test", [2.0] * 4, [2.0] * 5, error=True)
    add("ttest_const_apart", "t_test", [2.0] * 4, [3.0] * 5)
    add("ttest_large", "t_test", G(57, 100000, "irwin"), G(58, 80000, "irwin", 0.002))
    add("es_small", "es", d["n01_50"], d["n05_60"])
    add("es_small_correction", "es", d["n01_12"], d["n02_10"])
    add("es_lognormal", "es", d["logn_500"], d["logn_600"])
    add("es_ties", "es", d["ties_30"], d["ties_40"])
    add("es_n4", "es", [1.0, 2.0, 3.0, 4.0], d["n01_12"], error=True)
    add("es_iqr_zero", "es", [1.0] * 10, [1.0] * 9 + [2.0], error=True)
    add("es_large", "es", G(59, 20000, "irwin"), G(60, 30000, "irwin", 0.01))
    add("mmd_small", "empirical_mmd", d["n01_50"], d["n05_60"], rtol=1e-9)
    add("mmd_same", "empirical_mmd", d["n01_120"], d["n01_60"], rtol=1e-9)
    add("mmd_exp", "empirical_mmd", d["exp_200"], d["exp_250"], rtol=1e-9)
    add("mmd_n1", "empirical_mmd", [1.0], [1.0, 2.0], error=True)

    # ---- extreme magnitudes (issue 15): the Go tests rescale data whose largest
    # magnitude is beyond 2^500 (or below 2^-500) by a power of two; scipy/numpy
    # compute these directly (at 1e152 numpy's squares still fit, 1e300 positive
    # data only go through differences, ranks and bins).
    def sc(xs, f):
        return [x * f for x in xs]
    add("wasserstein_scaled_1e152", "wasserstein", sc(d["n01_50"], 1e152), sc(d["n05_60"], 1e152))
    add("ed_scaled_1e152", "ed", sc(d["n01_50"], 1e152), sc(d["n05_60"], 1e152))
    add("ed_scaled_1e300", "ed", sc(d["logn_500"], 1e300), sc(d["logn_600"], 1e300))
    add("ed_scaled_1e-300", "ed", sc(d["n01_50"], 1e-300), sc(d["n05_60"], 1e-300))
    add("ks_scaled_1e300", "ks", sc(d["logn_500"], 1e300), sc(d["logn_600"], 1e300))
    add("ttest_scaled_1e152", "t_test", sc(d["n01_50"], 1e152), sc(d["n05_60"], 1e152))
    add("anderson_scaled_1e300", "anderson", sc(d["logn_500"], 1e300), sc(d["logn_600"], 1e300))
    add("mannw_scaled_-1e300", "mannw", sc(d["n01_50"], -1e300), sc(d["n05_60"], -1e300))
    add("jensenshannon_num_scaled_1e300", "jensenshannon", sc(d["logn_500"], 1e300), sc(d["logn_600"], 1e300))
    add("psi_num_scaled_1e-300", "psi", sc(d["logn_500"], 1e-300), sc(d["logn_600"], 1e-300))
    return C


def cases():
    out = []
    for c in case_list():
        ref, cur = materialise(c["ref"]), materialise(c["cur"])
        row = {"name": c["name"], "test": c["test"], "kind": c["kind"],
               "ref": c["ref"], "cur": c["cur"], "rtol": c.get("rtol", 1e-9),
               "atol": c.get("atol", 0.0), "note": c.get("note", "")}
        if c.get("error"):
            row["error"] = True
        else:
            r = IMPL[c["test"]](ref, cur, c["kind"])
            if len(r) == 3:
                row["note"] = (row["note"] + " " + r[2]).strip()
            stat, p = r[0], r[1]
            if p is not None and math.isnan(p) or p is None and math.isnan(stat):
                raise SystemExit("%s: nan result; mark it error=True" % c["name"])
            row["statistic"] = enc(stat)
            row["p_value"] = enc(p) if p is not None else None
        out.append(row)
        print("%-36s %s" % (c["name"], row.get("p_value", row.get("statistic", "error"))), file=sys.stderr)
    return out


def kernels():
    rng = np.random.default_rng(99)
    k = {"sturges": [], "shares": [], "chisquare": [], "smirnov": []}
    for lo, hi, n in [(0.0, 1.0, 2), (0.0, 1.0, 1024), (-3.5, 7.25, 1000), (1e-3, 1e9, 2000000),
                      (5.0, 5.0, 10), (0.0, 259.0, 2000000), (2.0, 2.0, 1), (0.1, 0.7, 333),
                      (100.0, 100.5, 4096), (-1e6, -1e6 + 3, 65)]:
        a = np.full(n, lo)
        a[-1] = hi
        k["sturges"].append({"min": lo, "max": hi, "n": n,
                             "edges": np.histogram_bin_edges(a, bins="sturges").tolist()})
    for size in (2, 5, 20, 260):
        for _ in range(3):
            p = rng.random(size)
            q = rng.random(size)
            p[rng.random(size) < 0.2] = 0
            q[rng.random(size) < 0.2] = 0
            p[0] = max(p[0], 0.1)
            q[1] = max(q[1], 0.1)
            p, q = p / p.sum(), q / q.sum()
            pf, qf = p.copy(), q.copy()
            for arr in (pf, qf):
                m = arr[arr != 0].min()
                np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
            k["shares"].append({"p": p.tolist(), "q": q.tolist(),
                                "js": enc(distance.jensenshannon(p, q)),
                                "psi": enc(np.sum((pf - qf) * np.log(pf / qf))),
                                "kl": enc(stats.entropy(pf, qf))})
    for size in (2, 3, 10, 260):
        obs = rng.integers(0, 50, size).astype(float)
        obs[0] += 1
        exp = rng.random(size) + 0.01
        exp = exp / exp.sum() * obs.sum()
        r = stats.chisquare(obs, exp)
        k["chisquare"].append({"obs": obs.tolist(), "exp": exp.tolist(), "stat": enc(r[0]), "p": enc(r[1])})
    d = data()
    k["functions"] = []
    for fn, x, y in [("ttest_welch", d["n01_50"], d["n05_60"]), ("ttest_welch", d["logn_500"], d["logn_600"]),
                     ("ttest_welch", [2.0] * 4, [3.0] * 5),
                     ("mannw_two_sided", d["n01_7"], d["n1_5"]), ("mannw_two_sided", d["n01_50"], d["n05_60"]),
                     ("mannw_two_sided", d["n03_6"], d["n0_400"]), ("mannw_greater", d["n01_7"], d["n1_5"]),
                     ("mannw_greater", d["ties_30"], d["ties_40"]),
                     ("wasserstein_raw", d["logn_500"], d["logn_600"]), ("wasserstein_raw", d["ties_30"], d["ties_40"])]:
        if fn == "ttest_welch":
            r = stats.ttest_ind(x, y, equal_var=False)
            st, p = r.statistic, r.pvalue
        elif fn == "mannw_two_sided":
            r = stats.mannwhitneyu(x, y)
            st, p = r.statistic, r.pvalue
        elif fn == "mannw_greater":
            r = stats.mannwhitneyu(x, y, alternative="greater")
            st, p = r.statistic, r.pvalue
        else:
            st, p = stats.wasserstein_distance(x, y), None
        k["functions"].append({"fn": fn, "x": x, "y": y, "stat": enc(st), "p": enc(p)})
    from scipy.special import smirnov
    for n in (1, 2, 5, 20, 140, 1000, 12345, 500000, 1000000, 1000001, 3000000):
        for x in (0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 0.99, 1.0 / n, 2.0 / n, 1 - 1.0 / n, 1.5 / math.sqrt(n), 4 / math.sqrt(n)):
            if 0 < x < 1:
                k["smirnov"].append({"n": n, "x": x, "sf": enc(smirnov(n, x))})
    return k


def main():
    out = {
        "meta": {"scipy": scipy.__version__, "numpy": np.__version__,
                 "generator": "testdata/drift/golden.py"},
        "ks_pvalue": ks_pvalue_grid(),
        "kstwo_sf": kstwo_grid(),
        "cases": cases(),
        "kernels": kernels(),
    }
    path = os.path.join(HERE, "golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote", path, sum(len(v) for k, v in out.items() if isinstance(v, list)), "rows")


if __name__ == "__main__":
    main()
