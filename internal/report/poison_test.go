package report

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// poisoned copies the first n rows of d and writes the given distances and
// predictions over the first rows.
func poisoned(d *Dataset, n int, dist, pred []float64) *Dataset {
	p := d.Slice(0, n)
	c := *p.Numerical["trip_distance"]
	c.Values = slices.Clone(c.Values)
	p.Numerical = map[string]*NumColumn{"trip_distance": &c}
	p.Prediction = slices.Clone(p.Prediction)
	copy(c.Values, dist)
	copy(p.Prediction, pred)
	return p
}

// Issue 15: a report of real data with poison values (a 1e200-mile ride and its
// 3e195-minute prediction, ±1e300, ±MaxFloat64) on either side computes, encodes
// to JSON and decodes again, with calibrated and fixed verdicts and segments; the
// plausible range counts the distances outside it.
func TestComputeWithPoisonValues(t *testing.T) {
	ms := taxiMonths(t)
	const mx = math.MaxFloat64
	dist := []float64{1e200, 1e300, -1e300, mx, 5e-324}
	pred := []float64{3e195, -1e300, 1e300, -mx, mx}
	s, err := NewSegmenter(SegmentSpec{Name: "pickup", Column: "PULocationID"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		ref, cur *Dataset
	}{
		{"current", ms["2021-01"], poisoned(ms["2022-01"], 2000, dist, pred)},
		{"reference", poisoned(ms["2021-01"], 5000, dist, pred), ms["2022-01"].Slice(0, 2000)},
		{"both", poisoned(ms["2021-01"], 5000, dist[:2], pred[:2]), poisoned(ms["2022-01"], 2000, dist[2:], pred[2:])},
	} {
		for _, method := range []string{"calibrated", "fixed"} {
			cfg := TaxiConfig()
			cfg.Drift.Method = method
			r, err := Compute(context.Background(), c.ref, c.cur, cfg)
			if err != nil {
				t.Fatalf("%s/%s: %v", c.name, method, err)
			}
			if r.Segments, err = ComputeSegments(context.Background(), c.ref, c.cur, nil, nil, []*Segmenter{s}, cfg, SegmentOptions{MinRows: 50}); err != nil {
				t.Fatalf("%s/%s: segments: %v", c.name, method, err)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("%s/%s: encode: %v", c.name, method, err)
			}
			var back Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s/%s: decode: %v", c.name, method, err)
			}
			for name, cd := range r.DataDrift.Columns {
				if math.IsNaN(cd.Statistic) || (cd.PValue != nil && !(*cd.PValue >= 0 && *cd.PValue <= 1)) {
					t.Errorf("%s/%s: %s: statistic %v p %v", c.name, method, name, cd.Statistic, cd.PValue)
				}
			}
			d := r.Distributions["trip_distance"]
			for i, e := range d.Edges {
				if math.IsNaN(e) || math.IsInf(e, 0) || (i > 0 && e < d.Edges[i-1]) {
					t.Fatalf("%s/%s: histogram edges %v", c.name, method, d.Edges)
				}
			}
			poisonedSide := map[string]int{"current": 4, "reference": 0, "both": 2}[c.name] // 5e-324 is plausible
			if q := r.DataQuality.Current["trip_distance"]; q.Implausible == nil || *q.Implausible != poisonedSide {
				t.Errorf("%s/%s: current implausible_count %v, want %d", c.name, method, deref(q.Implausible), poisonedSide)
			}
			if method == "calibrated" && c.name == "current" && !r.DataDrift.Columns["prediction"].Drifted {
				t.Errorf("%s: predictions of ±1e300 in the window do not drift: %+v", c.name, r.DataDrift.Columns["prediction"])
			}
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// A configured test that is undefined for the window's values (anderson on one
// repeated value, here a poison one) skips its column with the reason instead of
// failing the report.
func TestUndefinedTestSkipsItsColumn(t *testing.T) {
	constant := func(n int, v float64) *Dataset {
		d := NewDataset(TaxiConfig())
		for i := range n {
			d.Append(Row{Num: map[string]float64{"trip_distance": v}, Cat: map[string]string{"PULocationID": "74", "DOLocationID": []string{"75", "41"}[i%2]}, Prediction: 10})
		}
		return d
	}
	cfg := TaxiConfig()
	cfg.Drift.Method = "fixed"
	cfg.Drift.PerColumn = map[string]ColumnTest{"trip_distance": {StatTest: "anderson"}}
	r, err := Compute(context.Background(), constant(400, 1e300), constant(300, 1e300), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if why := r.DataDrift.Skipped["trip_distance"]; !strings.Contains(why, "anderson") {
		t.Errorf("skipped %v, want trip_distance with anderson's reason", r.DataDrift.Skipped)
	}
	if _, ok := r.DataDrift.Columns["trip_distance"]; ok || len(r.DataDrift.Columns) != 3 {
		t.Errorf("tested columns %v", r.DataDrift.Columns)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}
