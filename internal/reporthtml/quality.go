package reporthtml

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/modelmon/modelmon/internal/report"
)

// qualityView is the "Data quality" section: a reference row and a current row per
// column.
type qualityView struct {
	Rows []qualityRow
}

type qualityRow struct {
	Name, Type string
	Sides      []qualitySide
}

type qualitySide struct {
	Label, Class                                                             string
	Absent                                                                   bool
	Count, Missing, MissingCount, Min, P25, P50, P75, Max, Mean, Std, Unique string
	MostCommon, MostCommonShare, New, Unused, OutOfRange, OutOfRangeCount    string
	Implausible                                                              string // values outside the configured plausible range
	MissingWarn, NewWarn, OutOfRangeWarn                                     bool
	NewExamples                                                              []string
	NewMore                                                                  string
}

// maxNewExamples caps the new-category chips shown per column.
const maxNewExamples = 3

func newQualityView(q report.QualityPair) qualityView {
	var v qualityView
	names := slices.Sorted(maps.Keys(q.Reference))
	for _, n := range slices.Sorted(maps.Keys(q.Current)) {
		if _, ok := q.Reference[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		rq, rok := q.Reference[name]
		cq, cok := q.Current[name]
		typ := rq.Type
		if !rok || typ == "" {
			typ = cq.Type
		}
		v.Rows = append(v.Rows, qualityRow{Name: name, Type: typeLabel(typ), Sides: []qualitySide{
			newQualitySide(rq, rok, "Reference", "ref", false),
			newQualitySide(cq, cok, "Current", "cur", true),
		}})
	}
	return v
}

func newQualitySide(q report.ColumnQuality, ok bool, label, class string, current bool) qualitySide {
	s := qualitySide{Label: label, Class: class}
	if !ok {
		s.Absent = true
		return s
	}
	approx := func(field, v string) string {
		if v != "—" && slices.Contains(q.Approx, field) {
			return "≈" + v
		}
		return v
	}
	s.Count = integer(q.Count)
	s.Missing = pctPtr(q.MissingShare)
	if q.Missing > 0 {
		s.MissingCount = rowCount(q.Missing)
	}
	s.MissingWarn = q.MissingShare != nil && *q.MissingShare > 0.05
	s.Min, s.P25, s.P50, s.P75 = numPtr(q.Min), approx("p25", numPtr(q.P25)), approx("p50", numPtr(q.P50)), approx("p75", numPtr(q.P75))
	s.Max, s.Mean, s.Std = numPtr(q.Max), numPtr(q.Mean), numPtr(q.Std)
	s.Unique = approx("unique_count", integer(q.Unique))
	switch {
	case q.MostCommonCategory != nil:
		s.MostCommon = cmp.Or(*q.MostCommonCategory, "(empty)")
	case q.MostCommonValue != nil:
		s.MostCommon = num(*q.MostCommonValue)
	}
	if s.MostCommon != "" {
		s.MostCommonShare = pctPtr(q.MostCommonShare)
	}
	s.New, s.OutOfRange = "—", "—"
	if q.NewCount != nil {
		s.New = integer(*q.NewCount)
		s.NewWarn = *q.NewCount > 0
		// Examples of new categories only: new numerical values are rarely telling.
		var examples []string
		for _, c := range q.NewCategories {
			examples = append(examples, cmp.Or(c, "(empty)"))
		}
		for i, e := range examples {
			if i == maxNewExamples {
				break
			}
			s.NewExamples = append(s.NewExamples, truncate(e, 40))
		}
		if more := *q.NewCount - len(s.NewExamples); more > 0 && len(s.NewExamples) > 0 {
			s.NewMore = "+" + integer(more) + " more"
		}
	}
	if q.UnusedCount != nil && *q.UnusedCount > 0 {
		s.Unused = integer(*q.UnusedCount) + " unused"
	}
	if q.OutOfRangeShare != nil {
		s.OutOfRange = pct(*q.OutOfRangeShare)
		s.OutOfRangeWarn = *q.OutOfRangeShare > 0
		if q.OutOfRangeCount != nil && *q.OutOfRangeCount > 0 {
			s.OutOfRangeCount = rowCount(*q.OutOfRangeCount)
		}
	}
	if q.Implausible != nil && *q.Implausible > 0 {
		s.Implausible = integer(*q.Implausible) + " implausible"
		if r := q.PlausibleRange; r != nil {
			s.Implausible += fmt.Sprintf(" (outside [%s, %s])", num(r.Min), num(r.Max))
		}
	}
	return s
}
