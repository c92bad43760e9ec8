package batch

import (
	"flag"

	"github.com/modelmon/modelmon/internal/envconf"

	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/modelmon/modelmon/internal/report"
)

func sample() *report.Dataset {
	d := report.NewDataset(report.TaxiConfig())
	for i := 0; i < 37; i++ {
		r := report.Row{Num: map[string]float64{}, Cat: map[string]string{}, Prediction: float64(i) * 1.5}
		if i%5 != 0 {
			r.Num["trip_distance"] = float64(i) / 3
		}
		r.Cat["PULocationID"] = []string{"74", "75", "41"}[i%3]
		if i%7 != 0 {
			r.Cat["DOLocationID"] = []string{"236", "74"}[i%2]
		}
		if i%4 != 0 {
			v := float64(i)
			r.Target = &v
		}
		d.Append(r)
	}
	return d
}

func TestDatasetRoundTrip(t *testing.T) {
	d := sample()
	got, err := DecodeDataset(EncodeDataset(d))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, d)
	}
	// Every value valid: no validity slices at all.
	full := report.NewDataset(report.Config{NumericalFeatures: []string{"x"}})
	full.Append(report.Row{Num: map[string]float64{"x": 1}, Prediction: 2})
	got, err = DecodeDataset(EncodeDataset(full))
	if err != nil || got.Numerical["x"].Valid != nil || got.Rows != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, []byte("MMD1"), []byte("XXXX\x01"), EncodeDataset(d)[:40]} {
		if _, err := DecodeDataset(bad); !errors.Is(err, ErrCorruptChunk) {
			t.Errorf("decode %q: %v, want ErrCorruptChunk", bad, err)
		}
	}
}

func TestIDsRoundTrip(t *testing.T) {
	ids := []string{"a", "", "0b3c6e1c-6f1e-4d5e-9a57-1f0e9c3a3d11"}
	got, err := DecodeIDs(EncodeIDs(ids))
	if err != nil || !reflect.DeepEqual(got, ids) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := DecodeIDs([]byte("MMI1\x05\x01a")); !errors.Is(err, ErrCorruptChunk) {
		t.Errorf("truncated ids: %v", err)
	}
}

func TestSetTargets(t *testing.T) {
	d := sample()
	// Targets joined separately.
	cur := d.Slice(0, d.Rows)
	tgt := &report.Dataset{Rows: d.Rows, Target: d.Target, TargetValid: d.TargetValid}
	cur.Target, cur.TargetValid = nil, nil
	if err := SetTargets(cur, tgt); err != nil || !reflect.DeepEqual(cur.Target, d.Target) {
		t.Fatal(err)
	}
	if err := SetTargets(cur, &report.Dataset{Rows: 1}); err == nil {
		t.Error("row mismatch accepted")
	}
}

func TestReadTargetsCSV(t *testing.T) {
	in := "id,duration\n" +
		"a,12.5\n" +
		"\n" +
		"b, 3\n" +
		"a,99\n" + // repeated id: first wins
		"c,nan\n" // dropped
	got, err := ReadTargetsCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{"a", 12.5}, {"b", 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	// send_data.py: no header.
	got, err = ReadTargetsCSV(strings.NewReader("x,1.0\ny,2.25\n"))
	if err != nil || len(got) != 2 || got[1].Value != 2.25 {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"a,1\nb,xyz\n", "a,1,2\n", ",4\n"} {
		if _, err := ReadTargetsCSV(strings.NewReader(bad)); !errors.Is(err, ErrBadTargets) {
			t.Errorf("%q: %v, want ErrBadTargets", bad, err)
		} else {
			t.Logf("%q: %v", bad, err)
		}
	}
}

func TestWindowsAndIDs(t *testing.T) {
	w := Window{Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC)}
	if got := ReportID("taxi", w); got != "taxi/2022-01-01T00:00:00Z/2022-01-02T00:00:00Z" {
		t.Error(got)
	}
	if got := WorkflowID("taxi", w); got != "batch-monitoring-taxi-20220101T000000Z-20220102T000000Z" {
		t.Error(got)
	}
	if got := HTMLFileName("taxi", w); got != "taxi_20220101T000000Z_20220102T000000Z.html" {
		t.Error(got)
	}
	if ScheduleID("taxi") != "batch-monitoring-taxi" {
		t.Error(ScheduleID("taxi"))
	}
	if err := (Window{Start: w.End, End: w.Start}).Validate(); !errors.Is(err, ErrEmptyWindow) {
		t.Error(err)
	}
	if tm, err := ParseTime("window_start", "2022-01-01T01:00:00+01:00"); err != nil || !tm.Equal(w.Start) || tm.Location() != time.UTC {
		t.Error(tm, err)
	}
	if _, err := ParseTime("window_start", "2022-01-01"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Error(err)
	}
	for _, bad := range []string{"", "Taxi", "a/b", "x y"} {
		if ValidateDatasetName(bad) == nil {
			t.Errorf("dataset name %q accepted", bad)
		}
	}
	if _, err := Lookup("bus"); !errors.Is(err, ErrUnknownDataset) || !strings.Contains(err.Error(), "taxi") {
		t.Error(err)
	}
}

func TestFieldValues(t *testing.T) {
	doc, _ := bson.Marshal(bson.D{
		{Key: "i32", Value: int32(74)}, {Key: "i64", Value: int64(236)}, {Key: "f", Value: 2.5},
		{Key: "fi", Value: 41.0}, {Key: "s", Value: "x"}, {Key: "n", Value: nil}, {Key: "nan", Value: math.NaN()},
	})
	raw := bson.Raw(doc)
	for k, want := range map[string]string{"i32": "74", "i64": "236", "fi": "41", "s": "x", "f": "2.5"} {
		if got, ok := CatValue(raw.Lookup(k)); !ok || got != want {
			t.Errorf("CatValue(%s) = %q, %t", k, got, ok)
		}
	}
	for _, k := range []string{"n", "missing"} {
		if _, ok := CatValue(raw.Lookup(k)); ok {
			t.Errorf("CatValue(%s) ok", k)
		}
		if _, ok := NumValue(raw.Lookup(k)); ok {
			t.Errorf("NumValue(%s) ok", k)
		}
	}
	if v, ok := NumValue(raw.Lookup("i32")); !ok || v != 74 {
		t.Error(v)
	}
	if _, ok := NumValue(raw.Lookup("nan")); ok {
		t.Error("NaN accepted")
	}
}

func TestReportDocumentRejectsUnstorableKeys(t *testing.T) {
	if _, err := ReportDocument([]byte(`{"data_drift":{"columns":{"a.b":{"drifted":true}}}}`)); !errors.Is(err, ErrBadFieldName) {
		t.Errorf("dotted column: %v", err)
	}
	raw, err := ReportDocument([]byte(`{"reference_rows":5,"data_drift":{"columns":{"trip_distance":{"p_value":null}}}}`))
	if err != nil || raw.Lookup("reference_rows").AsInt64() != 5 {
		t.Errorf("%v %v", raw, err)
	}
}

func TestConfigEnvAndFlags(t *testing.T) {
	env := map[string]string{"TEMPORAL_ADDRESS": "temporal:7233", "REPORTS_DIR": " "}
	c, err := ConfigFromGetenv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "temporal:7233" || c.ReportsDir != envconf.ReportsDir.Default || c.TaskQueue != envconf.TaskQueue || c.MongoURI != envconf.MongoDBAddress.Default {
		t.Errorf("%+v", c)
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c2 Config
	c2.Bind(envconf.NewBinder(fs, func(k string) string { return env[k] }), false)
	if err := fs.Parse([]string{"--task-queue", "q2"}); err != nil {
		t.Fatal(err)
	}
	if c2.TaskQueue != "q2" || c2.TemporalAddress != "temporal:7233" || fs.Lookup("reports-dir") != nil {
		t.Errorf("%+v (a starter binds no reports-dir)", c2)
	}
}
