package profile

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

var (
	monthsOnce sync.Once
	months     map[string]*report.Dataset
	monthSrc   map[string]report.SegmentSource
	testModel  *model.Model
	monthsErr  error
)

func taxiMonths(t testing.TB) map[string]*report.Dataset {
	t.Helper()
	monthsOnce.Do(func() {
		m, err := model.Load(filepath.Join("..", "..", "models", "duration_model.json"))
		if err != nil {
			monthsErr = err
			return
		}
		testModel = m
		months, monthSrc = map[string]*report.Dataset{}, map[string]report.SegmentSource{}
		for _, name := range []string{"2021-01", "2022-01"} {
			trips, err := taxi.ReadFile(context.Background(), filepath.Join("..", "..", "data", "green_tripdata_"+name+".parquet"))
			if err != nil {
				monthsErr = err
				return
			}
			months[name], monthSrc[name] = report.TaxiDataset(trips, m), report.TaxiSegmentSource(trips)
		}
	})
	if monthsErr != nil {
		t.Fatal(monthsErr)
	}
	return months
}

// slice returns rows [lo, hi) of d.
func slice(d *report.Dataset, lo, hi int) *report.Dataset {
	out := &report.Dataset{Rows: hi - lo, Numerical: map[string]*report.NumColumn{}, Categorical: map[string]*report.CatColumn{}}
	for n, c := range d.Numerical {
		nc := &report.NumColumn{Values: c.Values[lo:hi]}
		if c.Valid != nil {
			nc.Valid = c.Valid[lo:hi]
		}
		out.Numerical[n] = nc
	}
	for n, c := range d.Categorical {
		nc := &report.CatColumn{Values: c.Values[lo:hi]}
		if c.Valid != nil {
			nc.Valid = c.Valid[lo:hi]
		}
		out.Categorical[n] = nc
	}
	if d.Prediction != nil {
		out.Prediction = d.Prediction[lo:hi]
	}
	if d.Target != nil {
		out.Target = d.Target[lo:hi]
	}
	if d.TargetValid != nil {
		out.TargetValid = d.TargetValid[lo:hi]
	}
	return out
}

// partitioned profiles cur in uneven parts, sends each through its JSON
// document and merges them in a shuffled order.
func partitioned(t *testing.T, cur *report.Dataset, cfg report.Config, parts int) *Profile {
	t.Helper()
	var docs [][]byte
	lo := 0
	for k := range parts {
		hi := cur.Rows * (k + 1) * (k + 2) / (parts * (parts + 1)) // growing parts
		p, err := FromDataset(slice(cur, lo, hi), cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
		lo = hi
	}
	if lo != cur.Rows {
		t.Fatalf("parts cover %d of %d rows", lo, cur.Rows)
	}
	return mergeShuffled(t, cfg, docs)
}

// mergeShuffled unmarshals the profile documents and merges them in a shuffled
// order (every third, wrapping around).
func mergeShuffled(t *testing.T, cfg report.Config, docs [][]byte) *Profile {
	t.Helper()
	merged := New(cfg)
	for k := range docs {
		p, err := Unmarshal(docs[(k*3)%len(docs)])
		if err != nil {
			t.Fatal(err)
		}
		if err := merged.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	return merged
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// TestMergedEqualsSinglePass: 2022-01 against 2021-01, the current month
// split in 7 parts, profiled, encoded, merged; the report from the merged
// profile against report.Compute on all rows at once.
func TestMergedEqualsSinglePass(t *testing.T) {
	ms := taxiMonths(t)
	ref, cur := ms["2021-01"], ms["2022-01"]
	for _, numTest := range []string{"", "ks"} {
		t.Run("num_stattest="+numTest, func(t *testing.T) {
			cfg := report.TaxiConfig()
			cfg.Drift.NumStattest = numTest
			ctx := context.Background()
			exact, err := report.Compute(ctx, ref, cur, cfg)
			if err != nil {
				t.Fatal(err)
			}
			merged := partitioned(t, cur, cfg, 7)
			if merged.Rows != int64(cur.Rows) {
				t.Fatalf("merged rows %d, want %d", merged.Rows, cur.Rows)
			}
			got, err := Report(ctx, ref, merged, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Computation == nil || got.Computation.Path != report.PathPartitioned {
				t.Fatalf("computation = %+v", got.Computation)
			}
			if got.CurrentRows != exact.CurrentRows || got.ReferenceRows != exact.ReferenceRows {
				t.Fatalf("rows %d/%d, want %d/%d", got.CurrentRows, got.ReferenceRows, exact.CurrentRows, exact.ReferenceRows)
			}
			for name, e := range exact.DataDrift.Columns {
				g, ok := got.DataDrift.Columns[name]
				if !ok {
					t.Fatalf("column %q not tested", name)
				}
				if g.StatTest != e.StatTest {
					t.Fatalf("%s: test %s, want %s", name, g.StatTest, e.StatTest)
				}
				d := math.Abs(g.Statistic - e.Statistic)
				switch {
				case e.Type == "categorical":
					if d > 1e-12*math.Max(1, math.Abs(e.Statistic)) {
						t.Errorf("%s (%s): statistic %v, single pass %v", name, e.StatTest, g.Statistic, e.Statistic)
					}
				case e.StatTest == "ks":
					if d > 0.005 {
						t.Errorf("%s: K-S D %v, single pass %v (|d| %.2g > 0.005)", name, g.Statistic, e.Statistic, d)
					}
				default:
					if relDiff(g.Statistic, e.Statistic) > 0.01 {
						t.Errorf("%s (%s): statistic %v, single pass %v (> 1%%)", name, e.StatTest, g.Statistic, e.Statistic)
					}
				}
				if g.Drifted != e.Drifted {
					t.Errorf("%s: drifted %v, single pass %v", name, g.Drifted, e.Drifted)
				}
				t.Logf("%-14s %-14s single %.6g merged %.6g", name, e.StatTest, e.Statistic, g.Statistic)
			}
			if got.DataDrift.DatasetDrift != exact.DataDrift.DatasetDrift {
				t.Errorf("dataset drift %v, want %v", got.DataDrift.DatasetDrift, exact.DataDrift.DatasetDrift)
			}
			er, gr := exact.Regression.Current, got.Regression.Current
			if er == nil || gr == nil {
				t.Fatalf("regression current: %v vs %v", er, gr)
			}
			if gr.N != er.N {
				t.Fatalf("regression rows %d, want %d", gr.N, er.N)
			}
			for _, c := range []struct {
				name string
				g, e float64
			}{{"me", gr.ME, er.ME}, {"mae", gr.MAE, er.MAE}, {"rmse", gr.RMSE, er.RMSE}, {"r2", gr.R2, er.R2}, {"mape", gr.MAPE, er.MAPE}, {"max_abs_error", gr.MaxAbsError, er.MaxAbsError}} {
				if relDiff(c.g, c.e) > 1e-9 {
					t.Errorf("%s = %.17g, single pass %.17g", c.name, c.g, c.e)
				}
			}
			for k, e := range er.ErrorQuantiles {
				if relDiff(gr.ErrorQuantiles[k], e) > 0.01 && math.Abs(gr.ErrorQuantiles[k]-e) > 0.01 {
					t.Errorf("error quantile %s = %v, single pass %v", k, gr.ErrorQuantiles[k], e)
				}
			}
			for name, e := range exact.DataQuality.Current {
				g := got.DataQuality.Current[name]
				if g.Count != e.Count || g.Missing != e.Missing {
					t.Errorf("quality %s: count/missing %d/%d, want %d/%d", name, g.Count, g.Missing, e.Count, e.Missing)
				}
				if e.Mean != nil && (g.Mean == nil || relDiff(*g.Mean, *e.Mean) > 1e-9) {
					t.Errorf("quality %s: mean %v, want %v", name, g.Mean, *e.Mean)
				}
				if e.MostCommonCategory != nil && (g.MostCommonCategory == nil || *g.MostCommonCategory != *e.MostCommonCategory) {
					t.Errorf("quality %s: most common %v, want %v", name, g.MostCommonCategory, *e.MostCommonCategory)
				}
			}
		})
	}
}

func TestMergeAssociative(t *testing.T) {
	cur := taxiMonths(t)["2022-01"]
	cfg := report.TaxiConfig()
	n := cur.Rows
	parts := make([]*Profile, 3)
	for k := range parts {
		p, err := FromDataset(slice(cur, n*k/3, n*(k+1)/3), cfg)
		if err != nil {
			t.Fatal(err)
		}
		parts[k] = p
	}
	clone := func(p *Profile) *Profile {
		b, _ := p.Marshal()
		c, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// (a+b)+c against a+(b+c).
	left := clone(parts[0])
	if err := left.Merge(parts[1]); err != nil {
		t.Fatal(err)
	}
	if err := left.Merge(parts[2]); err != nil {
		t.Fatal(err)
	}
	bc := clone(parts[1])
	if err := bc.Merge(parts[2]); err != nil {
		t.Fatal(err)
	}
	right := clone(parts[0])
	if err := right.Merge(bc); err != nil {
		t.Fatal(err)
	}
	for name, c := range left.Cat {
		lc, rc := c.Counts(), right.Cat[name].Counts()
		if len(lc) != len(rc) {
			t.Fatalf("%s: %d vs %d categories", name, len(lc), len(rc))
		}
		for k, v := range lc {
			if rc[k] != v {
				t.Fatalf("%s[%s]: %d vs %d", name, k, v, rc[k])
			}
		}
	}
	for name, s := range left.Num {
		r := right.Num[name]
		if s.N() != r.N() || s.Min() != r.Min() || s.Max() != r.Max() || relDiff(s.Mean(), r.Mean()) > 1e-12 {
			t.Fatalf("%s: n/min/max/mean differ", name)
		}
		for _, q := range []float64{0.05, 0.5, 0.95} {
			if s.Quantile(q) != r.Quantile(q) {
				t.Fatalf("%s: q%v %v vs %v (sketch buckets must be identical)", name, q, s.Quantile(q), r.Quantile(q))
			}
		}
	}
	if left.Rows != int64(n) || right.Rows != int64(n) {
		t.Fatalf("rows %d, %d, want %d", left.Rows, right.Rows, n)
	}
}

func TestUnmarshalRefusesOtherVersions(t *testing.T) {
	p := New(report.TaxiConfig())
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(b); err != nil {
		t.Fatalf("empty profile: %v", err)
	}
	// Version 1 had no segments nor estimate: its profiles are refused, not
	// merged as if no row had a segment.
	old := strings.Replace(string(b), `"format_version":2`, `"format_version":1`, 1)
	if _, err := Unmarshal([]byte(old)); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "version 1, this build reads") {
		t.Fatalf("older version: err = %v, want ErrVersion naming version 1", err)
	}
	newer := strings.Replace(string(b), `"format_version":2`, `"format_version":3`, 1)
	if _, err := Unmarshal([]byte(newer)); !errors.Is(err, ErrVersion) {
		t.Fatalf("newer version: err = %v, want ErrVersion", err)
	}
	if _, err := Unmarshal([]byte(`{"rows":5}`)); !errors.Is(err, ErrVersion) {
		t.Fatalf("no format: err = %v, want ErrVersion", err)
	}
	// Counts that do not add up are refused, not merged.
	d := &report.Dataset{Rows: 2, Numerical: map[string]*report.NumColumn{"trip_distance": {Values: []float64{1, 2}}},
		Categorical: map[string]*report.CatColumn{"PULocationID": {Values: []string{"a", "b"}}, "DOLocationID": {Values: []string{"a", "b"}}},
		Prediction:  []float64{3, 4}}
	p2, err := FromDataset(d, report.TaxiConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = p2.Marshal()
	bad := strings.Replace(string(b), `"rows":2`, `"rows":3`, 1)
	if _, err := Unmarshal([]byte(bad)); err == nil {
		t.Fatal("inconsistent rows accepted")
	}
	// Different columns do not merge.
	other := New(report.Config{NumericalFeatures: []string{"x"}})
	if err := p2.Merge(other); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("merge of other columns: err = %v", err)
	}
}

// BenchmarkProfileMonth profiles the scored 2022-01 month (59,603 rows) once per
// iteration: the CPU cost of a partition apart from reading and decoding rows.
func BenchmarkProfileMonth(b *testing.B) {
	cur := taxiMonths(b)["2022-01"]
	cfg := report.TaxiConfig()
	b.ResetTimer()
	for range b.N {
		if _, err := FromDataset(cur, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cur.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
