package reporthtml

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/modelmon/modelmon/internal/report"
)

// segView is the "Segments" section: per segmentation (e.g. pickup_borough), one
// row per segment with its rows, realized RMSE/MAE/ME of the current window against
// the reference's and the segment's drift verdict, or "too small".
type segView struct {
	Tables       []segTable
	HasEstimated bool
}

type segTable struct {
	Name string
	Rows []segRow
}

type segRow struct {
	Segment, RefRows, CurRows           string
	RMSERef, RMSECur, RMSETone          string
	MAERef, MAECur, MAETone             string
	MERef, MECur, METone                string
	Estimated                           string // estimated RMSE of the current rows, "" if none
	Verdict, VerdictTone, VerdictDetail string
}

func newSegView(segs map[string]report.Segmentation) segView {
	var v segView
	for _, name := range slices.Sorted(maps.Keys(segs)) {
		t := segTable{Name: name}
		values := slices.Collect(maps.Keys(segs[name]))
		report.SortSegmentValues(values)
		for _, val := range values {
			s := segs[name][val]
			if s == nil {
				continue
			}
			row := segRow{Segment: val, RefRows: integer(s.ReferenceRows), CurRows: integer(s.CurrentRows)}
			row.RMSERef, row.RMSECur, row.MAERef, row.MAECur, row.MERef, row.MECur = "—", "—", "—", "—", "—", "—"
			if s.Regression != nil {
				ref, cur := s.Regression.Reference, s.Regression.Current
				pick := func(r *report.SegmentRegression, f func(*report.SegmentRegression) float64) float64 {
					if r == nil {
						return math.NaN()
					}
					return f(r)
				}
				rmse := func(r *report.SegmentRegression) float64 { return r.RMSE }
				mae := func(r *report.SegmentRegression) float64 { return r.MAE }
				me := func(r *report.SegmentRegression) float64 { return r.ME }
				row.RMSERef, row.RMSECur = num(pick(ref, rmse)), num(pick(cur, rmse))
				row.MAERef, row.MAECur = num(pick(ref, mae)), num(pick(cur, mae))
				row.MERef, row.MECur = signed(pick(ref, me)), signed(pick(cur, me))
				row.RMSETone = compareTone(pick(ref, rmse), pick(cur, rmse))
				row.MAETone = compareTone(pick(ref, mae), pick(cur, mae))
				row.METone = compareTone(math.Abs(pick(ref, me)), math.Abs(pick(cur, me)))
			}
			if e, ok := estimatedRMSE(s.Estimated); ok {
				row.Estimated, v.HasEstimated = num(e), true
			}
			switch {
			case s.Verdict == report.VerdictTooSmall:
				row.Verdict, row.VerdictTone = "Too small", toneNone
				row.VerdictDetail = fmt.Sprintf("fewer than %s rows on a side: no metrics, no verdict", integer(s.MinRows))
			case s.DataDrift != nil && notEnoughData(*s.DataDrift):
				row.Verdict, row.VerdictTone = "Not enough data", toneNone
			case s.Verdict == report.VerdictDrift:
				row.Verdict, row.VerdictTone = "Drift", toneBad
			case s.Verdict == report.VerdictNoDrift:
				row.Verdict, row.VerdictTone = "No drift", toneOK
			default:
				row.Verdict, row.VerdictTone = "—", toneNone
			}
			if s.DataDrift != nil && len(s.DataDrift.Columns) > 0 && row.VerdictDetail == "" {
				row.VerdictDetail = fmt.Sprintf("%s of %s columns drifted", integer(s.DataDrift.Drifted), integer(len(s.DataDrift.Columns)))
			}
			t.Rows = append(t.Rows, row)
		}
		v.Tables = append(v.Tables, t)
	}
	return v
}

// estimatedRMSE reads the estimated RMSE of a segment (Segment.Estimated, decoded
// from JSON as a map): its "rmse", or "estimated"."rmse".
func estimatedRMSE(e any) (float64, bool) {
	m, ok := e.(map[string]any)
	if !ok {
		return 0, false
	}
	if inner, ok := m["estimated"].(map[string]any); ok {
		m = inner
	}
	x, ok := m["rmse"].(float64)
	return x, ok && isFinite(x)
}
