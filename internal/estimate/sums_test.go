package estimate

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestSumsMergeToEstimate: the estimate from the sums of uneven parts, summed in
// another order, equals Estimate over all records (1e-12 relative), including the
// unknown-zone counts and the band; the sums of no record are ErrEmptyWindow and
// impossible sums are refused.
func TestSumsMergeToEstimate(t *testing.T) {
	m := toyModel(t, 10)
	recs, y := toyData(m, 8000, 1, false)
	e, err := Train(context.Background(), m, recs, y, toyParams)
	if err != nil {
		t.Fatal(err)
	}
	win, _ := toyData(m, 5000, 3, true)
	win[7].PULocationID = 99 // a zone the reference never saw
	want, err := e.Estimate(win)
	if err != nil {
		t.Fatal(err)
	}
	var total Sums
	for _, part := range [][2]int{{3000, 5000}, {0, 1}, {1, 3000}} { // not in row order
		l, err := e.Losses(win[part[0]:part[1]])
		if err != nil {
			t.Fatal(err)
		}
		var s Sums
		for i := range l.Len() {
			l.AddTo(&s, i)
		}
		total.Add(s)
	}
	got, err := e.Reference.Result(total)
	if err != nil {
		t.Fatal(err)
	}
	rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-300) }
	if got.Rows != want.Rows || got.UnknownZoneRows != want.UnknownZoneRows || got.UnknownZoneRows < 1 || got.PUDOUnknownRows != want.PUDOUnknownRows ||
		got.Sigma != want.Sigma || rel(got.RMSE, want.RMSE) > 1e-12 || rel(got.MAE, want.MAE) > 1e-12 || rel(got.ME, want.ME) > 1e-12 ||
		rel(got.Band.RMSE.Upper, want.Band.RMSE.Upper) > 1e-12 || rel(got.Band.ME.Lower, want.Band.ME.Lower) > 1e-12 {
		t.Errorf("from sums %+v, Estimate %+v", got, want)
	}
	if e.Reference.Band(want.Rows) != e.ReferenceBand(want.Rows) {
		t.Error("Reference.Band differs from Estimator.ReferenceBand")
	}
	if _, err := e.Reference.Result(Sums{}); !errors.Is(err, ErrEmptyWindow) {
		t.Errorf("no rows: err = %v", err)
	}
	for _, bad := range []Sums{{Rows: -1}, {Rows: 2, UnknownZoneRows: 3}, {Rows: 2, Sq: -1}, {Rows: 2, Abs: math.NaN()}, {Abs: 1}} {
		if _, err := e.Reference.Result(bad); err == nil || errors.Is(err, ErrEmptyWindow) {
			t.Errorf("sums %+v: err = %v", bad, err)
		}
	}
}
