package profile

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/report"
)

// labelled returns the taxi segmenters' labels of a month, by segmentation.
func labelled(t *testing.T, d *report.Dataset, src report.SegmentSource) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, spec := range report.TaxiSegments(report.TaxiLookupFile) {
		sg, err := report.NewSegmenter(spec, filepath.Join("..", ".."))
		if err != nil {
			t.Fatal(err)
		}
		if out[sg.Name()], err = sg.Assign(d, src); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sliceLabels(labels map[string][]string, lo, hi int) map[string][]string {
	out := make(map[string][]string, len(labels))
	for n, l := range labels {
		out[n] = l[lo:hi]
	}
	return out
}

func testEstimator(t *testing.T) *estimate.Estimator {
	t.Helper()
	est, err := estimate.Load(filepath.Join("..", "..", "models", "duration_estimator.json"), testModel)
	if err != nil {
		t.Fatal(err)
	}
	return est
}

// partitionedLabelled is partitioned with segments and the estimator (AddLabeled).
func partitionedLabelled(t *testing.T, cur *report.Dataset, labels map[string][]string, cfg report.Config, est *estimate.Estimator, parts int) (*Profile, int) {
	t.Helper()
	var docs [][]byte
	lo, maxBytes := 0, 0
	for k := range parts {
		hi := cur.Rows * (k + 1) * (k + 2) / (parts * (parts + 1))
		p := New(cfg)
		// two chunks per part, as a partition adds its rows chunk by chunk
		mid := (lo + hi) / 2
		for _, c := range [][2]int{{lo, mid}, {mid, hi}} {
			if err := p.AddLabeled(slice(cur, c[0], c[1]), cfg, sliceLabels(labels, c[0], c[1]), est); err != nil {
				t.Fatal(err)
			}
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		maxBytes = max(maxBytes, len(b))
		docs = append(docs, b)
		lo = hi
	}
	return mergeShuffled(t, cfg, docs), maxBytes
}

func near(g, w, rel float64) bool {
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	return math.Abs(g-w) <= rel*math.Abs(w)
}

// TestSegmentsMergedEqualSinglePass: 2022-01 against 2021-01, segmented by pickup
// and dropoff borough and pickup hour band, the current month profiled in 7 parts
// (2 chunks each) with the estimator, encoded, merged: every segment's verdict
// rule, rows, current regression (rows, me, mae, rmse, r2) and estimate equal
// report.ComputeSegmentsLabeled's with the estimate of the segment's rows
// (report.EstimatePerformance), to 1e-9 relative; the segments' drift statistics
// within the sketch's bounds; the window's performance_estimate equals
// report.EstimatePerformance's.
func TestSegmentsMergedEqualSinglePass(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s: the single pass calibrates every segment's drift tests")
	}
	ms := taxiMonths(t)
	ref, cur := ms["2021-01"], ms["2022-01"]
	refLabels, curLabels := labelled(t, ref, monthSrc["2021-01"]), labelled(t, cur, monthSrc["2022-01"])
	est := testEstimator(t)
	cfg := report.TaxiConfig()
	ctx := context.Background()
	t0 := time.Now()
	exact, err := report.ComputeSegmentsLabeled(ctx, ref, cur, refLabels, curLabels, cfg, report.SegmentOptions{
		Estimate: func(_ context.Context, d *report.Dataset) (any, error) { return report.EstimatePerformance(est, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	merged, maxBytes := partitionedLabelled(t, cur, curLabels, cfg, est, 7)
	t2 := time.Now()
	got, err := Segments(ctx, ref, refLabels, merged, cfg, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("single pass %v, profiles %v (largest %d bytes), segments from profiles %v", t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), maxBytes, time.Since(t2).Round(time.Millisecond))
	checkEstimate := func(what string, g, w *report.PerformanceEstimate) {
		t.Helper()
		if g.Rows != w.Rows || g.SkippedRows != w.SkippedRows || g.UnknownZoneRows != w.UnknownZoneRows || g.PUDOUnknownRows != w.PUDOUnknownRows ||
			g.EstimatorVersion != w.EstimatorVersion || g.ModelVersion != w.ModelVersion || g.Sigma != w.Sigma || g.ReferenceBand != w.ReferenceBand {
			t.Errorf("%s: estimate %+v, single pass %+v", what, *g, *w)
		}
		for _, c := range [][3]any{{"rmse", g.RMSE, w.RMSE}, {"mae", g.MAE, w.MAE}, {"me", g.ME, w.ME},
			{"band.rmse.upper", g.Band.RMSE.Upper, w.Band.RMSE.Upper}, {"band.mae.lower", g.Band.MAE.Lower, w.Band.MAE.Lower}, {"band.me.lower", g.Band.ME.Lower, w.Band.ME.Lower}} {
			if !near(c[1].(float64), c[2].(float64), 1e-9) {
				t.Errorf("%s: estimated %s = %.17g, single pass %.17g", what, c[0], c[1], c[2])
			}
		}
	}
	var compared, small int
	for name, eseg := range exact {
		gseg := got[name]
		if len(gseg) != len(eseg) {
			t.Fatalf("%s: %d segments, single pass %d", name, len(gseg), len(eseg))
		}
		for v, e := range eseg {
			g := gseg[v]
			if g == nil || g.Verdict != e.Verdict && (g.Verdict == report.VerdictTooSmall || e.Verdict == report.VerdictTooSmall) ||
				g.ReferenceRows != e.ReferenceRows || g.CurrentRows != e.CurrentRows || g.MinRows != e.MinRows {
				t.Fatalf("%s=%s: %+v, single pass %+v", name, v, g, e)
			}
			if e.Verdict == report.VerdictTooSmall {
				small++
				if g.Regression != nil || g.DataDrift != nil || g.Estimated != nil {
					t.Errorf("%s=%s: too small but has metrics", name, v)
				}
				continue
			}
			compared++
			if g.Verdict != e.Verdict {
				t.Logf("%s=%s: verdict %s, single pass %s (drift on sketches)", name, v, g.Verdict, e.Verdict)
			}
			er, gr := e.Regression.Current, g.Regression.Current
			if gr == nil || gr.Rows != er.Rows {
				t.Fatalf("%s=%s: regression current %+v, single pass %+v", name, v, gr, er)
			}
			for _, c := range [][3]any{{"me", gr.ME, er.ME}, {"mae", gr.MAE, er.MAE}, {"rmse", gr.RMSE, er.RMSE}, {"r2", gr.R2, er.R2}} {
				if !near(c[1].(float64), c[2].(float64), 1e-9) {
					t.Errorf("%s=%s: %s = %.17g, single pass %.17g", name, v, c[0], c[1], c[2])
				}
			}
			if *g.Regression.Reference != *e.Regression.Reference && !near(g.Regression.Reference.RMSE, e.Regression.Reference.RMSE, 1e-12) {
				t.Errorf("%s=%s: reference regression %+v, single pass %+v", name, v, g.Regression.Reference, e.Regression.Reference)
			}
			for col, ec := range e.DataDrift.Columns {
				gc := g.DataDrift.Columns[col]
				d := math.Abs(gc.Statistic - ec.Statistic)
				switch {
				case gc.StatTest != ec.StatTest:
					t.Errorf("%s=%s %s: test %s, single pass %s", name, v, col, gc.StatTest, ec.StatTest)
				case ec.Type == "categorical" && d > 1e-12*math.Max(1, math.Abs(ec.Statistic)):
					t.Errorf("%s=%s %s: %v, single pass %v", name, v, col, gc.Statistic, ec.Statistic)
				case ec.Type == "numerical" && ec.StatTest == "ks" && d > 0.005:
					t.Errorf("%s=%s %s: K-S D %v, single pass %v", name, v, col, gc.Statistic, ec.Statistic)
				case ec.Type == "numerical" && ec.StatTest != "ks" && d > 0.01*math.Abs(ec.Statistic)+1e-3:
					t.Errorf("%s=%s %s (%s): %v, single pass %v", name, v, col, ec.StatTest, gc.Statistic, ec.Statistic)
				}
			}
			ge, ok := g.Estimated.(*report.PerformanceEstimate)
			if !ok {
				t.Fatalf("%s=%s: estimated %T", name, v, g.Estimated)
			}
			checkEstimate(name+"="+v, ge, e.Estimated.(*report.PerformanceEstimate))
		}
	}
	if compared < 8 || small < 3 {
		t.Errorf("%d segments compared, %d too small: the test should see both", compared, small)
	}
	t.Logf("%d segments compared, %d too small", compared, small)
	want, err := report.EstimatePerformance(est, cur)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := merged.PerformanceEstimate()
	if err != nil || pe == nil {
		t.Fatalf("performance estimate %v, %v", pe, err)
	}
	checkEstimate("window", pe, want)
	// The report of the whole window is unchanged by the segments.
	plain, err := Report(ctx, ref, partitioned(t, cur, cfg, 5), cfg)
	if err != nil {
		t.Fatal(err)
	}
	withSeg, err := Report(ctx, ref, merged, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Regression.Current.N != withSeg.Regression.Current.N || !near(plain.Regression.Current.RMSE, withSeg.Regression.Current.RMSE, 1e-12) {
		t.Errorf("segmented profile's regression %+v, plain %+v", withSeg.Regression.Current, plain.Regression.Current)
	}
}

// TestSegmentedProfileBadInput: rows of another segmentation or estimator do not
// join a profile, partitions profiled by workers with another estimator (or none)
// do not merge, and documents whose segments do not count every row are refused.
func TestSegmentedProfileBadInput(t *testing.T) {
	cur := taxiMonths(t)["2022-01"]
	labels := labelled(t, cur, monthSrc["2022-01"])
	est := testEstimator(t)
	cfg := report.TaxiConfig()
	part := func(lo, hi int, labels map[string][]string, est *estimate.Estimator) *Profile {
		p := New(cfg)
		if err := p.AddLabeled(slice(cur, lo, hi), cfg, sliceLabels(labels, lo, hi), est); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := part(0, 500, labels, est)
	if err := a.AddLabeled(slice(cur, 500, 600), cfg, sliceLabels(labels, 500, 600), nil); !errors.Is(err, ErrIncompatible) {
		t.Errorf("rows without the estimator: err = %v", err)
	}
	one := map[string][]string{"pickup_borough": labels["pickup_borough"]}
	if err := a.AddLabeled(slice(cur, 500, 600), cfg, sliceLabels(one, 500, 600), est); !errors.Is(err, ErrIncompatible) {
		t.Errorf("rows of one segmentation: err = %v", err)
	}
	if err := a.Add(slice(cur, 500, 600), cfg); err == nil {
		t.Error("Add of unsegmented rows to a segmented profile accepted")
	}
	if err := a.AddLabeled(slice(cur, 500, 600), cfg, sliceLabels(labels, 500, 599), est); err == nil {
		t.Error("99 labels for 100 rows accepted")
	}
	for _, o := range []*Profile{part(600, 700, labels, nil), part(600, 700, one, est)} {
		if err := a.Merge(o); !errors.Is(err, ErrIncompatible) || !strings.Contains(err.Error(), "ESTIMATOR_PATH") {
			t.Errorf("merge of %v segmented by %v: err = %v", o.Estimate, keys(o.Segments), err)
		}
	}
	// A profile of no rows merges with any (an empty partition).
	empty := New(cfg)
	if err := empty.Merge(a); err != nil || empty.Rows != 500 || len(empty.Segments) != 3 || empty.Estimate.Rows != a.Estimate.Rows {
		t.Fatalf("empty.Merge: %v, rows %d, %d segmentations, %+v", err, empty.Rows, len(empty.Segments), empty.Estimate)
	}
	if err := a.Merge(New(cfg)); err != nil {
		t.Fatal(err)
	}
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Segments["pickup_hour_band"]["morning"] == nil || back.Estimate.Sums != a.Estimate.Sums {
		t.Fatalf("round trip: %v, %+v", keys(back.Segments["pickup_hour_band"]), back.Estimate)
	}
	// A segment dropped from the document: its segmentation no longer counts the rows.
	for v := range back.Segments["pickup_borough"] {
		delete(back.Segments["pickup_borough"], v)
		break
	}
	b, _ = back.Marshal()
	if _, err := Unmarshal(b); err == nil || !strings.Contains(err.Error(), "segments of \"pickup_borough\" count") {
		t.Errorf("segments short of rows: err = %v", err)
	}
	// Estimated rows above the rows.
	bad := strings.Replace(string(b), `"estimate":{"rows":`, `"estimate":{"rows":9`, 1)
	if _, err := Unmarshal([]byte(bad)); err == nil {
		t.Error("estimate of more rows than the profile accepted")
	}
}
