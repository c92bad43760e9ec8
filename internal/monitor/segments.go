package monitor

import (
	"fmt"
	"slices"

	"github.com/modelmon/modelmon/internal/report"
)

// MaxSegmentValues bounds the segments of one segmentation: live metrics carry the
// segment as a label value, so the set must be small and fixed (boroughs and hour
// bands, not the ~260 taxi zones).
const MaxSegmentValues = 32

// validateSegments checks datasets.<name>.segments and min_segment_rows:
//
//	segments:
//	  - {name: pickup_borough, column: PULocationID, lookup: data/taxi_zone_lookup.csv,
//	     lookup_key: LocationID, lookup_value: Borough}
//	  - {name: pickup_hour_band, hour_bands_of: lpep_pickup_datetime}
//	min_segment_rows: 100
//
// A segment's column must be one of the dataset's features (the monitor keeps no
// other column); hour_bands_of names a timestamp field of the records. A column
// segment needs a lookup file (relative to the config file), read here: its
// columns must exist and it may map to at most MaxSegmentValues segments. Names are
// unique. The segmenters are kept for Segmenters.
func (c *Config) validateSegments(name string, d *DatasetConfig) []error {
	var errs []error
	p := "datasets." + name
	if d.MinSegmentRows < 0 {
		errs = append(errs, c.errf(p+".min_segment_rows", "must be >= 1 (0: the default %d), got %d", report.DefaultMinSegmentRows, d.MinSegmentRows))
	}
	if d.MinSegmentRows == 0 {
		d.MinSegmentRows = report.DefaultMinSegmentRows
	}
	d.segmenters = nil
	features := slices.Concat(d.ColumnMapping.NumericalFeatures, d.ColumnMapping.CategoricalFeatures)
	names := map[string]string{}
	for i, spec := range d.Segments {
		key := fmt.Sprintf("%s.segments[%d]", p, i)
		bad := false
		for _, pr := range spec.Problems() {
			k := key
			if pr.Field != "" {
				k += "." + pr.Field
			}
			errs = append(errs, c.errf(k, "%s", pr.Msg))
			bad = true
		}
		if prev, ok := names[spec.Name]; ok && spec.Name != "" {
			errs = append(errs, c.errf(key+".name", "segment %q is already defined by %s", spec.Name, prev))
			bad = true
		}
		names[spec.Name] = key
		if spec.Column != "" && !slices.Contains(features, spec.Column) {
			errs = append(errs, c.errf(key+".column", "column %q is not a feature of the dataset (column_mapping has %v): the monitor keeps features only", spec.Column, features))
			bad = true
		}
		if spec.Column != "" && spec.Lookup == "" {
			errs = append(errs, c.errf(key+".lookup", "a segment of column %q needs a lookup file that maps its values to a few segments: segments are metric labels, so the set must be bounded", spec.Column))
			bad = true
		}
		if bad {
			continue
		}
		s, err := report.NewSegmenter(spec, c.Dir)
		if err != nil {
			errs = append(errs, &ConfigError{File: c.File, Line: c.lineOf(key+".lookup", key), Key: key + ".lookup", Msg: err.Error(), Err: err})
			continue
		}
		if n := len(s.Values()); n > MaxSegmentValues {
			errs = append(errs, c.errf(key+".lookup_value", "the lookup maps to %d segments, more than %d: choose a coarser column (e.g. Borough, not Zone)", n, MaxSegmentValues))
			continue
		}
		d.segmenters = append(d.segmenters, s)
	}
	return errs
}

// Segmenters are the dataset's segmentations, in configuration order (nil when it
// has none): report.ComputeSegments takes them with MinSegmentRows.
func (d *DatasetConfig) Segmenters() []*report.Segmenter { return slices.Clone(d.segmenters) }
