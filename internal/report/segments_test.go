package report

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/modelmon/modelmon/internal/drift"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func boroughSegmenter(t *testing.T) *Segmenter {
	t.Helper()
	s, err := NewSegmenter(TaxiSegments(TaxiLookupFile)[0], repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSegmenterUnknownZones(t *testing.T) {
	s := boroughSegmenter(t)
	d := NewDataset(TaxiConfig())
	ids := []string{"132", "999", "0", "264", "265", "", "43.0", " 7", "abc", "1"}
	want := []string{"Queens", UnknownSegment, UnknownSegment, UnknownSegment, UnknownSegment, UnknownSegment, "Manhattan", "Queens", UnknownSegment, "EWR"}
	for _, id := range ids {
		r := Row{Cat: map[string]string{"DOLocationID": "1"}, Num: map[string]float64{"trip_distance": 1}}
		if id != "" { // "" stands for a missing id
			r.Cat["PULocationID"] = id
		}
		d.Append(r)
	}
	got, err := s.Assign(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("segments of %q:\n got %q\nwant %q", ids, got, want)
	}
	for i, id := range ids {
		if l := s.LabelOf(id, id != ""); l != want[i] {
			t.Errorf("LabelOf(%q) = %q, want %q", id, l, want[i])
		}
	}
	wantValues := []string{"Bronx", "Brooklyn", "EWR", "Manhattan", "Queens", "Staten Island", UnknownSegment}
	if v := s.Values(); !slices.Equal(v, wantValues) || !s.Bounded() {
		t.Errorf("values %q (bounded %v), want %q", v, s.Bounded(), wantValues)
	}
}

func TestSegmentColumnAbsent(t *testing.T) {
	s, err := NewSegmenter(SegmentSpec{Name: "pickup_hour_band", HourBandsOf: "pickup_time"}, "")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDataset(TaxiConfig())
	d.Append(Row{})
	_, err = s.Assign(d, SegmentSource{"lpep_pickup_datetime": {Time: []time.Time{{}}}})
	if !errors.Is(err, ErrSegmentColumn) || !strings.Contains(err.Error(), `"pickup_time"`) || !strings.Contains(err.Error(), "lpep_pickup_datetime") {
		t.Errorf("error %v: want ErrSegmentColumn naming the column and the columns there are", err)
	}
	// ComputeSegments fails as a whole: no segmentation is silently left out.
	_, err = ComputeSegments(context.Background(), d, d, nil, nil, []*Segmenter{s}, TaxiConfig(), SegmentOptions{})
	if !errors.Is(err, ErrSegmentColumn) {
		t.Errorf("ComputeSegments: %v, want ErrSegmentColumn", err)
	}
}

func TestHourBands(t *testing.T) {
	s, err := NewSegmenter(SegmentSpec{Name: "pickup_hour_band", HourBandsOf: "t"}, "")
	if err != nil {
		t.Fatal(err)
	}
	hours := []int{0, 5, 6, 9, 10, 15, 16, 19, 20, 23}
	want := []string{"night", "night", "morning", "morning", "midday", "midday", "evening", "evening", "late", "late"}
	d := NewDataset(Config{})
	var times []time.Time
	var strs []string
	for _, h := range hours {
		d.Append(Row{})
		tm := time.Date(2022, 1, 1, h, 59, 59, 0, time.UTC)
		times = append(times, tm)
		strs = append(strs, tm.Format("2006-01-02 15:04:05"))
	}
	for name, src := range map[string]SegmentColumn{"time": {Time: times}, "string": {Str: strs}} {
		got, err := s.Assign(d, SegmentSource{"t": src})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s column: got %q, want %q", name, got, want)
		}
	}
	// A zone suffix keeps the wall-clock hour; a value that is not a timestamp, or a
	// missing one, is Unknown.
	d2 := NewDataset(Config{})
	for range 3 {
		d2.Append(Row{})
	}
	got, err := s.Assign(d2, SegmentSource{"t": {Str: []string{"2022-01-01T07:30:00+05:00", "yesterday", "2022-01-01T12:00:00"}, Valid: []bool{true, true, false}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"morning", UnknownSegment, UnknownSegment}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// synthetic makes a dataset with a segment column "grp": n rows per group, x drawn
// around shift[g], target 10 + x, prediction 10 + x + bias[g].
func synthetic(groups map[string]int, shift, bias map[string]float64) *Dataset {
	d := NewDataset(Config{NumericalFeatures: []string{"x"}, CategoricalFeatures: []string{"grp"}})
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, g := range names {
		for i := range groups[g] {
			x := shift[g] + float64(i%50)/10
			y := 10 + x
			d.Append(Row{Num: map[string]float64{"x": x}, Cat: map[string]string{"grp": g}, Prediction: y + bias[g], Target: &y})
		}
	}
	return d
}

func TestTooSmallSegmentIsNeverAVerdict(t *testing.T) {
	cfg := Config{NumericalFeatures: []string{"x"}, CategoricalFeatures: []string{"grp"}}
	ref := synthetic(map[string]int{"A": 300, "B": 5}, nil, nil)
	// B drifts wildly and is badly predicted, but has 5 rows: too small; C is new.
	cur := synthetic(map[string]int{"A": 200, "B": 5, "C": 150}, map[string]float64{"B": 1000}, map[string]float64{"B": 50})
	s, err := NewSegmenter(SegmentSpec{Name: "grp", Column: "grp"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Bounded() {
		t.Error("a column without lookup is unbounded")
	}
	got, err := ComputeSegments(context.Background(), ref, cur, nil, nil, []*Segmenter{s}, cfg, SegmentOptions{MinRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	seg := got["grp"]
	if a := seg["A"]; a == nil || a.Verdict != VerdictNoDrift || a.DataDrift == nil || a.Regression == nil ||
		a.Regression.Current.Rows != 200 || a.Regression.Current.RMSE != 0 || a.MinRows != 0 {
		t.Errorf("A: %+v, want no_drift with metrics over 200 rows", a)
	}
	for v, rows := range map[string][2]int{"B": {5, 5}, "C": {0, 150}} {
		s := seg[v]
		if s == nil || s.Verdict != VerdictTooSmall || s.DataDrift != nil || s.Regression != nil ||
			s.ReferenceRows != rows[0] || s.CurrentRows != rows[1] || s.MinRows != 100 {
			t.Errorf("%s: %+v, want too_small with rows %v and nothing else", v, s, rows)
			continue
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"data_drift", "regression", "estimated"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s: too small but JSON has %q: %s", v, k, b)
			}
		}
	}
	// With a lower minimum, B gets its verdict: drifted under Evidently's fixed rule (the
	// calibrated rule, rightly, cannot tell 5 rows from 5 rows: its noise quantile at
	// that size is larger than any shift of B).
	fixed := cfg
	fixed.Drift.Method = drift.MethodFixed
	got, err = ComputeSegments(context.Background(), ref, cur, nil, nil, []*Segmenter{s}, fixed, SegmentOptions{MinRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	if b := got["grp"]["B"]; b.Verdict != VerdictDrift || math.Abs(b.Regression.Current.ME-50) > 1e-9 {
		t.Errorf("B with min 5: verdict %s, regression %+v; want drift and ME 50", b.Verdict, b.Regression.Current)
	}
	if _, err := ComputeSegments(context.Background(), ref, cur, nil, nil, []*Segmenter{s}, cfg, SegmentOptions{MinRows: -1}); err == nil {
		t.Error("negative minimum accepted")
	}
}

// One segment holding every row reports what Compute reports for the whole data.
func TestSingleSegmentEqualsReport(t *testing.T) {
	cfg := Config{NumericalFeatures: []string{"x"}, CategoricalFeatures: []string{"grp"}}
	ref := synthetic(map[string]int{"A": 300}, nil, map[string]float64{"A": 1})
	cur := synthetic(map[string]int{"A": 250}, map[string]float64{"A": 0.5}, map[string]float64{"A": -2})
	s, err := NewSegmenter(SegmentSpec{Name: "grp", Column: "grp"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var estimated []int
	opts := SegmentOptions{Estimate: func(_ context.Context, d *Dataset) (any, error) {
		estimated = append(estimated, d.Rows)
		return map[string]int{"rows": d.Rows}, nil
	}}
	segs, err := ComputeSegments(context.Background(), ref, cur, nil, nil, []*Segmenter{s}, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Compute(context.Background(), ref, cur, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := segs["grp"]["A"]
	if *a.Regression.Current != *segmentRegression(whole.Regression.Current) || *a.Regression.Reference != *segmentRegression(whole.Regression.Reference) {
		t.Errorf("segment regression %+v / %+v, report %+v / %+v", a.Regression.Reference, a.Regression.Current, whole.Regression.Reference, whole.Regression.Current)
	}
	wb, _ := json.Marshal(whole.DataDrift)
	sb, _ := json.Marshal(a.DataDrift)
	if string(wb) != string(sb) {
		t.Errorf("segment drift %s, report %s", sb, wb)
	}
	if !slices.Equal(estimated, []int{250}) || a.Estimated == nil {
		t.Errorf("Estimate called with %v rows, Estimated %v", estimated, a.Estimated)
	}
}

func TestSegmentSpecProblems(t *testing.T) {
	cases := []struct {
		spec  SegmentSpec
		field string
	}{
		{SegmentSpec{Name: "a b", Column: "c"}, "name"},
		{SegmentSpec{Name: "x"}, ""},
		{SegmentSpec{Name: "x", Column: "c", HourBandsOf: "t"}, "hour_bands_of"},
		{SegmentSpec{Name: "x", HourBandsOf: "t", Lookup: "f.csv", LookupKey: "k", LookupValue: "v"}, "lookup"},
		{SegmentSpec{Name: "x", Column: "c", Lookup: "f.csv", LookupValue: "v"}, "lookup_key"},
		{SegmentSpec{Name: "x", Column: "c", Lookup: "f.csv", LookupKey: "k"}, "lookup_value"},
		{SegmentSpec{Name: "x", Column: "c", LookupKey: "k"}, "lookup"},
	}
	for _, c := range cases {
		p := c.spec.Problems()
		if !slices.ContainsFunc(p, func(p SpecProblem) bool { return p.Field == c.field }) {
			t.Errorf("%+v: problems %+v, want one on %q", c.spec, p, c.field)
		}
		if _, err := NewSegmenter(c.spec, ""); err == nil {
			t.Errorf("%+v: NewSegmenter accepted it", c.spec)
		}
	}
	for _, spec := range TaxiSegments(TaxiLookupFile) {
		if p := spec.Problems(); len(p) > 0 {
			t.Errorf("%s: %+v", spec.Name, p)
		}
	}
}

func TestLookupErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return name
	}
	spec := func(file string) SegmentSpec {
		return SegmentSpec{Name: "b", Column: "PULocationID", Lookup: file, LookupKey: "LocationID", LookupValue: "Borough"}
	}
	for _, c := range []struct{ file, want string }{
		{write("nocol.csv", "LocationID,Zone\n1,a\n"), `no column "Borough"`},
		{write("dup.csv", "LocationID,Borough\n1,Queens\n1.0,Bronx\n"), "maps to"},
		{write("empty.csv", "LocationID,Borough\n"), "no rows"},
		{"missing.csv", "no such file"},
	} {
		_, err := NewSegmenter(spec(c.file), dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.file, err, c.want)
		}
	}
	// An empty segment value is Unknown, a repeated identical row is fine.
	s, err := NewSegmenter(spec(write("ok.csv", "\ufeffLocationID,Borough\n1,Queens\n1,Queens\n2,\n")), dir)
	if err != nil {
		t.Fatal(err)
	}
	if v := s.Values(); !slices.Equal(v, []string{"Queens", UnknownSegment}) {
		t.Errorf("values %q", v)
	}
}

func TestSegmentRegressionJSON(t *testing.T) {
	r := SegmentRegression{Rows: 1, ME: 2, MAE: 2, RMSE: 2, R2: math.NaN()}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"rows":1,"me":2,"mae":2,"rmse":2,"r2":null}` {
		t.Errorf("JSON %s", b)
	}
	var back SegmentRegression
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Rows != 1 || back.RMSE != 2 || !math.IsNaN(back.R2) {
		t.Errorf("round trip %+v", back)
	}
}
