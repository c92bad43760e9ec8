package batch

import (
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/report"
)

// TestChunkBuilderLabelsSegments: each logged row gets its segment per segmentation,
// read from the document (a feature or another field, a string or a BSON datetime),
// the labels survive the staging format, and TakeSegmentLabels hands them back and
// leaves only the report's columns.
func TestChunkBuilderLabelsSegments(t *testing.T) {
	ds := Taxi()
	segs, err := ds.Segmenters("../..")
	if err != nil {
		t.Fatal(err)
	}
	b := NewChunkBuilder(&ds, segs, 4)
	docs := []bson.D{
		{{Key: "_id", Value: "a"}, {Key: "prediction", Value: 10.0}, {Key: "PULocationID", Value: int32(43)}, {Key: "DOLocationID", Value: int64(132)},
			{Key: "trip_distance", Value: 2.5}, {Key: "lpep_pickup_datetime", Value: "2022-01-01T07:30:00"}},
		{{Key: "_id", Value: "b"}, {Key: "prediction", Value: 11.0}, {Key: "PULocationID", Value: int32(1)}, {Key: "DOLocationID", Value: int32(9999)},
			{Key: "lpep_pickup_datetime", Value: time.Date(2022, 1, 1, 21, 5, 0, 0, time.UTC)}},
		{{Key: "_id", Value: "c"}, {Key: "prediction", Value: 12.0}, {Key: "lpep_pickup_datetime", Value: "not a time"}},
	}
	for _, d := range docs {
		raw, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := b.Add(raw); !ok {
			t.Fatalf("row %v not added", d)
		}
	}
	got, err := DecodeDataset(EncodeDataset(b.Dataset()))
	if err != nil {
		t.Fatal(err)
	}
	labels := TakeSegmentLabels(got, segs)
	want := map[string][]string{
		"pickup_borough":   {"Manhattan", "EWR", report.UnknownSegment},
		"dropoff_borough":  {"Queens", report.UnknownSegment, report.UnknownSegment},
		"pickup_hour_band": {"morning", "late", report.UnknownSegment},
	}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	var cols []string
	for name := range got.Categorical {
		cols = append(cols, name)
	}
	if len(cols) != len(ds.Report.CategoricalFeatures) {
		t.Errorf("categorical columns after TakeSegmentLabels: %q", cols)
	}
	if f := ds.Fields(); f[len(f)-1] != "lpep_pickup_datetime" {
		t.Errorf("fields %q do not read the hour band's source", f)
	}
	if _, err := ds.Segmenters(t.TempDir()); err == nil {
		t.Error("a missing lookup file is not an error")
	}
}
