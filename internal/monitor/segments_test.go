package monitor

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelmon/modelmon/internal/report"
)

func segmentsYAML(root, segments string) string {
	return "datasets:\n  taxi:\n    column_mapping:\n      categorical_features: [PULocationID, DOLocationID]\n      numerical_features: [trip_distance]\n" +
		"    reference_file: " + filepath.Join(root, "data/green_tripdata_2021-01.parquet") + "\n" + segments +
		"service:\n  calculation_period_sec: 2\n  window_size: 5\n"
}

func TestSegmentsConfig(t *testing.T) {
	root := repoRoot(t)
	y := segmentsYAML(root, `    segments:
      - {name: pickup_borough, column: PULocationID, lookup: data/taxi_zone_lookup.csv, lookup_key: LocationID, lookup_value: Borough}
      - name: dropoff_borough
        column: DOLocationID
        lookup: data/taxi_zone_lookup.csv
        lookup_key: LocationID
        lookup_value: Borough
      - {name: pickup_hour_band, hour_bands_of: lpep_pickup_datetime}
    min_segment_rows: 50
`)
	cfg, err := ParseConfig([]byte(y), "cfg.yaml", root) // the lookup is relative to the config's directory
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Datasets["taxi"]
	var names []string
	for _, s := range d.Segmenters() {
		names = append(names, s.Name())
		if !s.Bounded() {
			t.Errorf("%s is unbounded", s.Name())
		}
	}
	if !slices.Equal(names, []string{"pickup_borough", "dropoff_borough", "pickup_hour_band"}) || d.MinSegmentRows != 50 {
		t.Errorf("segmenters %v, min rows %d", names, d.MinSegmentRows)
	}
	if v := d.Segmenters()[0].Values(); !slices.Contains(v, "Queens") || v[len(v)-1] != report.UnknownSegment {
		t.Errorf("borough values %v", v)
	}
	// Without segments: none, and the default minimum.
	cfg, err = ParseConfig([]byte(segmentsYAML(root, "")), "cfg.yaml", root)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Datasets["taxi"]; d.Segmenters() != nil || d.MinSegmentRows != report.DefaultMinSegmentRows {
		t.Errorf("defaults: %v, %d", d.Segmenters(), d.MinSegmentRows)
	}
}

func TestSegmentsConfigErrors(t *testing.T) {
	root := repoRoot(t)
	lookup := "lookup: data/taxi_zone_lookup.csv, lookup_key: LocationID"
	cases := []struct {
		name, segments, key string
		line                int
		msg                 string
	}{
		{"unknown key", "    segments:\n      - {name: a, colum: PULocationID}\n", "datasets.taxi.segments[0]", 8, `unknown key "colum"`},
		{"column and hours", "    segments:\n      - {name: a, column: PULocationID, hour_bands_of: t}\n", "datasets.taxi.segments[0].hour_bands_of", 8, "either column or hour_bands_of"},
		{"neither", "    segments:\n      - {name: a}\n", "datasets.taxi.segments[0]", 8, "set column"},
		{"bad name", "    segments:\n      - {name: 'pick up', hour_bands_of: t}\n", "datasets.taxi.segments[0].name", 8, "letters, digits"},
		{"not a feature", "    segments:\n      - {name: a, column: VendorID, " + lookup + ", lookup_value: Borough}\n", "datasets.taxi.segments[0].column", 8, "not a feature"},
		{"unbounded zones", "    segments:\n      - {name: zone, column: PULocationID}\n", "datasets.taxi.segments[0].lookup", 8, "bounded"},
		{"too many values", "    segments:\n      - {name: zone, column: PULocationID, " + lookup + ", lookup_value: Zone}\n", "datasets.taxi.segments[0].lookup_value", 8, "more than 32"},
		{"missing lookup file", "    segments:\n      - {name: a, column: PULocationID, lookup: nowhere.csv, lookup_key: LocationID, lookup_value: Borough}\n", "datasets.taxi.segments[0].lookup", 8, "no such file"},
		{"missing lookup column", "    segments:\n      - {name: a, column: PULocationID, " + lookup + ", lookup_value: borough}\n", "datasets.taxi.segments[0].lookup", 8, `no column "borough"`},
		{"no lookup_value", "    segments:\n      - {name: a, column: PULocationID, " + lookup + "}\n", "datasets.taxi.segments[0].lookup_value", 8, "required"},
		{"duplicate", "    segments:\n      - {name: a, hour_bands_of: t}\n      - {name: a, hour_bands_of: u}\n", "datasets.taxi.segments[1].name", 9, "already defined"},
		{"negative minimum", "    min_segment_rows: -5\n", "datasets.taxi.min_segment_rows", 7, "must be >= 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(segmentsYAML(root, tc.segments)), "cfg.yaml", root)
			if err == nil {
				t.Fatal("no error")
			}
			var found bool
			for _, e := range unjoin(err) {
				var ce *ConfigError
				if errors.As(e, &ce) && ce.Key == tc.key && ce.Line == tc.line && strings.Contains(ce.Msg, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s:%d %q, got: %v", tc.key, tc.line, tc.msg, err)
			}
		})
	}
}
