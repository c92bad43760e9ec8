package batch

import (
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/report"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Segments in the batch: every staged row carries its segment label per
// segmentation, as an extra categorical column of the staged dataset named
// SegmentLabelColumn(name). The chunk builder labels current rows from the logged
// document (the segment's source field, e.g. lpep_pickup_datetime, need not be a
// feature), ScoreReference labels the reference rows from the reference file, and
// ComputeMetrics takes the label columns out (TakeSegmentLabels) before computing the
// report and the per-segment metrics. Labels are staged in MongoDB with the chunks,
// never sent through Temporal history.

// segmentLabelPrefix starts the names of staged label columns; it cannot clash with
// a field of a logged document (stored MongoDB field names do not start with $).
const segmentLabelPrefix = "$segment:"

// SegmentLabelColumn is the staged categorical column that holds the segment of each
// row for the segmentation called name.
func SegmentLabelColumn(name string) string { return segmentLabelPrefix + name }

// Segmenters builds the dataset's segmenters; relative lookup paths are resolved
// against dir (DATA_DIR). No segments configured: nil.
func (d *Dataset) Segmenters(dir string) ([]*report.Segmenter, error) {
	out := make([]*report.Segmenter, 0, len(d.Segments))
	seen := map[string]bool{}
	for _, spec := range d.Segments {
		if seen[spec.Name] {
			return nil, fmt.Errorf("dataset %s: segment %q is configured twice", d.Name, spec.Name)
		}
		seen[spec.Name] = true
		sg, err := report.NewSegmenter(spec, dir)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		out = append(out, sg)
	}
	return out, nil
}

// StagingConfig is the report config of the staged data: the report's columns and
// one label column per segmentation.
func (d *Dataset) StagingConfig() report.Config {
	cfg := d.Report
	cfg.CategoricalFeatures = slices.Clone(cfg.CategoricalFeatures)
	for _, s := range d.Segments {
		cfg.CategoricalFeatures = append(cfg.CategoricalFeatures, SegmentLabelColumn(s.Name))
	}
	return cfg
}

// LabelReference adds the label columns of segs to a reference dataset; src holds
// the source columns the dataset does not keep (e.g. report.TaxiSegmentSource).
func LabelReference(ref *report.Dataset, src report.SegmentSource, segs []*report.Segmenter) error {
	for _, sg := range segs {
		labels, err := sg.Assign(ref, src)
		if err != nil {
			return fmt.Errorf("label reference: %w", err)
		}
		ref.Categorical[SegmentLabelColumn(sg.Name())] = &report.CatColumn{Values: labels}
	}
	return nil
}

// TakeSegmentLabels removes the label columns from d and returns them by
// segmentation name, one label per row (report.UnknownSegment where a row has none,
// e.g. a chunk staged before the segmentation was configured).
func TakeSegmentLabels(d *report.Dataset, segs []*report.Segmenter) map[string][]string {
	out := make(map[string][]string, len(segs))
	for _, sg := range segs {
		col := SegmentLabelColumn(sg.Name())
		labels := make([]string, d.Rows)
		c := d.Categorical[col]
		for i := range labels {
			switch {
			case c == nil || i >= len(c.Values) || (c.Valid != nil && !c.Valid[i]) || c.Values[i] == "":
				labels[i] = report.UnknownSegment
			default:
				labels[i] = c.Values[i]
			}
		}
		out[sg.Name()] = labels
	}
	for name := range d.Categorical {
		if strings.HasPrefix(name, segmentLabelPrefix) {
			delete(d.Categorical, name)
		}
	}
	return out
}

// segmentValue reads a segment's source field of a logged document as the string
// Segmenter.LabelOf expects: CatValue, and a BSON datetime as wall-clock time in
// taxi.LocalTimeFormat (the timestamp as it was recorded, read in UTC).
func segmentValue(v bson.RawValue) (string, bool) {
	if t, ok := v.TimeOK(); ok {
		return t.UTC().Format(taxi.LocalTimeFormat), true
	}
	return CatValue(v)
}
