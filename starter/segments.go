package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/modelmon/modelmon/internal/report"
)

// segmentFlags are report's --segments options.
type segmentFlags struct {
	list    *string
	lookup  *string
	minRows *int
	segs    []*report.Segmenter
}

func addSegmentFlags(fs *flag.FlagSet) *segmentFlags {
	var known []string
	for _, s := range report.TaxiSegments("") {
		known = append(known, s.Name)
	}
	return &segmentFlags{
		list:    fs.String("segments", "", "comma-separated segmentations to report per segment: "+strings.Join(known, ", ")),
		lookup:  fs.String("zone-lookup", report.TaxiLookupFile, "TLC zone lookup CSV (LocationID -> Borough) for the borough segments"),
		minRows: fs.Int("min-segment-rows", report.DefaultMinSegmentRows, "fewest rows a segment needs on each side; smaller ones are reported as too_small"),
	}
}

// load resolves --segments into segmenters (reading the lookup file).
func (f *segmentFlags) load() error {
	if *f.list == "" {
		return nil
	}
	if *f.minRows < 1 {
		return fmt.Errorf("--min-segment-rows must be >= 1, got %d", *f.minRows)
	}
	specs := report.TaxiSegments(*f.lookup)
	for _, name := range strings.Split(*f.list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(specs, func(s report.SegmentSpec) bool { return s.Name == name })
		if i < 0 {
			var known []string
			for _, s := range specs {
				known = append(known, s.Name)
			}
			return fmt.Errorf("--segments: unknown segmentation %q (known: %s)", name, strings.Join(known, ", "))
		}
		if slices.ContainsFunc(f.segs, func(s *report.Segmenter) bool { return s.Name() == name }) {
			continue
		}
		sg, err := report.NewSegmenter(specs[i], "")
		if err != nil {
			return fmt.Errorf("--segments: %w", err)
		}
		f.segs = append(f.segs, sg)
	}
	return nil
}

func (f *segmentFlags) names() []string {
	out := make([]string, len(f.segs))
	for i, s := range f.segs {
		out[i] = s.Name()
	}
	return out
}

func (f *segmentFlags) compute(ctx context.Context, ref, cur *report.Dataset, refSrc, curSrc report.SegmentSource, cfg report.Config) (map[string]report.Segmentation, error) {
	if len(f.segs) == 0 {
		return nil, nil
	}
	return report.ComputeSegments(ctx, ref, cur, refSrc, curSrc, f.segs, cfg, report.SegmentOptions{MinRows: *f.minRows})
}

// printSegments writes one table per segmentation: rows, RMSE on both sides, the
// current ME and MAE, the share of drifted columns and the verdict.
func printSegments(w io.Writer, segs map[string]report.Segmentation, order []string) {
	for _, name := range order {
		seg := segs[name]
		values := make([]string, 0, len(seg))
		for v := range seg {
			values = append(values, v)
		}
		report.SortSegmentValues(values)
		fmt.Fprintf(w, "segments %s:\n", name)
		tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  segment\tref_rows\tcur_rows\tref_rmse\tcur_rmse\tcur_me\tcur_mae\tdrifted\tverdict\t")
		for _, v := range values {
			s := seg[v]
			refRMSE, curRMSE, me, mae, drifted := "-", "-", "-", "-", "-"
			if s.Regression != nil && s.Regression.Reference != nil {
				refRMSE = num(s.Regression.Reference.RMSE)
			}
			if s.Regression != nil && s.Regression.Current != nil {
				c := s.Regression.Current
				curRMSE, me, mae = num(c.RMSE), num(c.ME), num(c.MAE)
			}
			if s.DataDrift != nil {
				drifted = fmt.Sprintf("%d/%d", s.DataDrift.Drifted, len(s.DataDrift.Columns))
			}
			verdict := s.Verdict
			if verdict == report.VerdictTooSmall {
				verdict = fmt.Sprintf("too_small (<%d)", s.MinRows)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", v, s.ReferenceRows, s.CurrentRows, refRMSE, curRMSE, me, mae, drifted, verdict)
		}
		tw.Flush()
	}
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.3f", x)
}
