package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/report"
)

// sameJSON compares two JSON documents decoded into any: the same keys, the
// same strings, booleans and nulls, numbers within rtol relative (1e-300
// absolute). It returns the differences found.
func sameJSON(path string, a, b any, rtol float64) []string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: object vs %T", path, b)}
		}
		var out []string
		for k := range x {
			if _, ok := y[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: only in the counted report", path, k))
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: only in the expanded report", path, k))
				continue
			}
			out = append(out, sameJSON(path+"."+k, x[k], y[k], rtol)...)
		}
		return out
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return []string{fmt.Sprintf("%s: array of %d vs %v", path, len(x), b)}
		}
		var out []string
		for i := range x {
			out = append(out, sameJSON(path+"["+strconv.Itoa(i)+"]", x[i], y[i], rtol)...)
		}
		return out
	case float64:
		y, ok := b.(float64)
		if !ok || (x != y && math.Abs(x-y) > rtol*math.Max(math.Abs(x), math.Abs(y)) && math.Abs(x-y) > 1e-300) {
			return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}
		}
		return nil
	default:
		if a != b {
			return []string{fmt.Sprintf("%s: %v vs %v", path, a, b)}
		}
		return nil
	}
}

func decoded(t *testing.T, r *report.Report) any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// withExtras returns d with two more columns made from it: "few", a
// numerical column of 7 values (an exact summary), and "parity", a
// categorical column of 2 categories; and with every 13th trip distance and
// every 17th pickup zone missing.
func withExtras(d *report.Dataset) *report.Dataset {
	out := slice(d, 0, d.Rows)
	dist := d.Numerical["trip_distance"]
	few := &report.NumColumn{Values: make([]float64, d.Rows), Valid: make([]bool, d.Rows)}
	nd := &report.NumColumn{Values: slices.Clone(dist.Values), Valid: make([]bool, d.Rows)}
	for i, v := range dist.Values {
		few.Values[i] = min(math.Floor(v), 6)
		few.Valid[i] = (dist.Valid == nil || dist.Valid[i]) && i%11 != 5
		nd.Valid[i] = (dist.Valid == nil || dist.Valid[i]) && i%13 != 0
	}
	pu := d.Categorical["PULocationID"]
	parity := &report.CatColumn{Values: make([]string, d.Rows)}
	npu := &report.CatColumn{Values: pu.Values, Valid: make([]bool, d.Rows)}
	for i, v := range pu.Values {
		n, _ := strconv.Atoi(v)
		parity.Values[i] = []string{"even", "odd"}[n%2]
		npu.Valid[i] = (pu.Valid == nil || pu.Valid[i]) && i%17 != 3
	}
	out.Numerical["trip_distance"], out.Numerical["few"] = nd, few
	out.Categorical["PULocationID"], out.Categorical["parity"] = npu, parity
	return out
}

func extrasConfig() report.Config {
	cfg := report.TaxiConfig()
	cfg.NumericalFeatures = append(cfg.NumericalFeatures, "few")
	cfg.CategoricalFeatures = append(cfg.CategoricalFeatures, "parity")
	return cfg
}

// TestReportCountedEqualsSample: the report computed from the merged
// profile's counts (Report) equals the one computed on the rows rebuilt from
// it (ReportFromSample, the former path) in every JSON field, to 1e-12
// relative: the default tests (wasserstein and jensenshannon against a large
// reference, ks, chisquare and z against a small one), every counted test
// chosen explicitly, both drift methods, missing values, exact and sketched
// numerical summaries, and a test without a counted form (expanded, and said so
// in the bounds).
func TestReportCountedEqualsSample(t *testing.T) {
	ms := taxiMonths(t)
	ref, cur := withExtras(ms["2021-01"]), withExtras(ms["2022-01"])
	smallRef := slice(ref, 0, 800)
	type tc struct {
		name     string
		ref      *report.Dataset
		cur      *report.Dataset
		num, cat string
		method   string
		minRows  int
	}
	cases := []tc{
		{name: "defaults", ref: ref, cur: cur},
		{name: "defaults-fixed", ref: ref, cur: cur, method: drift.MethodFixed},
		{name: "small-reference", ref: smallRef, cur: cur},
		{name: "small-reference-fixed", ref: smallRef, cur: slice(cur, 0, 5000), method: drift.MethodFixed},
		{name: "ks-chisquare", ref: ref, cur: cur, num: "ks", cat: "chisquare"},
		// Fixed thresholds: the calibration of these tests on numerical columns
		// simulates 2,000 windows through the test itself (minutes).
		{name: "psi", ref: ref, cur: cur, num: "psi", cat: "psi", method: drift.MethodFixed},
		{name: "kl_div-g_test", ref: ref, cur: cur, num: "kl_div", cat: "g_test", method: drift.MethodFixed},
		{name: "hellinger", ref: ref, cur: cur, num: "hellinger", cat: "hellinger", method: drift.MethodFixed},
		{name: "ed-jensenshannon", ref: ref, cur: cur, num: "ed", cat: "jensenshannon", method: drift.MethodFixed},
		{name: "not-enough-rows", ref: ref, cur: cur, minRows: 1 << 30},
		{name: "expanded-mannw", ref: ref, cur: cur, num: "mannw"},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := extrasConfig()
			cfg.Drift.NumStattest, cfg.Drift.CatStattest, cfg.Drift.Method, cfg.Drift.MinWindowRows = c.num, c.cat, c.method, c.minRows
			merged := partitioned(t, c.cur, cfg, 5)
			if merged.Num["few"] == nil || !merged.Num["few"].Exact() || merged.Num["trip_distance"].Exact() {
				t.Fatal("want an exact summary for few and a sketch for trip_distance")
			}
			want, err := ReportFromSample(ctx, c.ref, merged, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Report(ctx, c.ref, merged, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diffs := sameJSON("report", decoded(t, got), decoded(t, want), 1e-12); len(diffs) > 0 {
				t.Errorf("%d differences:\n%s", len(diffs), strings.Join(diffs[:min(len(diffs), 20)], "\n"))
			}
			t.Logf("%d fields differ at all (rtol 0)", len(sameJSON("report", decoded(t, got), decoded(t, want), 0)))
			if c.minRows == 0 && len(got.DataDrift.Columns) != 6 {
				t.Errorf("%d columns tested, want 6 (5 features and the prediction): %v", len(got.DataDrift.Columns), got.DataDrift.Skipped)
			}
			tests := map[string]bool{}
			for name, col := range got.DataDrift.Columns {
				tests[col.StatTest] = true
				t.Logf("%-14s %-14s %.6g drifted %v", name, col.StatTest, col.Statistic, col.Drifted)
			}
			expanded := got.Computation.Bounds["expanded"]
			if c.num == "mannw" {
				if !strings.Contains(expanded, "trip_distance (mannw)") || !strings.Contains(expanded, "few (mannw)") {
					t.Errorf("bounds[expanded] = %q, want the mannw columns named", expanded)
				}
			} else if expanded != "" {
				t.Errorf("bounds[expanded] = %q, want none", expanded)
			}
			if c.name == "small-reference" && (!tests["ks"] || !tests["chisquare"] || !tests["z"]) {
				t.Errorf("small reference: tests %v, want ks, chisquare and z among them", tests)
			}
			if c.name == "defaults" && (!tests["wasserstein"] || !tests["jensenshannon"]) {
				t.Errorf("defaults: tests %v, want wasserstein and jensenshannon", tests)
			}
		})
	}
}

// TestCountedHoldsNoRows: the counted current side of a month has as many
// values as the summaries' distinct values or buckets, not rows.
func TestCountedHoldsNoRows(t *testing.T) {
	cur := taxiMonths(t)["2022-01"]
	cfg := report.TaxiConfig()
	p := partitioned(t, cur, cfg, 4)
	c := p.Counted(cfg)
	if c.Rows != cur.Rows {
		t.Fatalf("rows %d, want %d", c.Rows, cur.Rows)
	}
	total := 0
	for name, col := range c.Numerical {
		total += len(col.Values)
		if n := sumInt(col.Counts); n != int(p.Num[name].N()) {
			t.Errorf("%s: counts add to %d, want %d", name, n, p.Num[name].N())
		}
	}
	for name, col := range c.Categorical {
		total += len(col.Values)
		if n := sumInt(col.Counts); n != int(p.Cat[name].N()) {
			t.Errorf("%s: counts add to %d, want %d", name, n, p.Cat[name].N())
		}
	}
	total += len(c.Prediction.Values)
	if total > cur.Rows/10 {
		t.Errorf("%d counted values for %d rows", total, cur.Rows)
	}
	t.Logf("%d rows held as %d (value, count) pairs", cur.Rows, total)
}

func sumInt(c []int64) int {
	n := 0
	for _, k := range c {
		n += int(k)
	}
	return n
}
