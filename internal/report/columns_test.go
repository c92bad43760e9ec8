package report

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/modelmon/modelmon/internal/taxi"
)

// The real TLC month read by name, checked row by row against the taxi package's
// own parquet reader (a separate code path), nulls included.
func TestReadColumnsParquetMatchesTaxiReader(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join("..", "..", "data", "green_tripdata_2021-01.parquet")
	trips, err := taxi.ReadFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	spec := ColumnSpec{
		Numerical:   []string{"trip_distance", "passenger_count", "fare_amount"},
		Categorical: []string{"PULocationID", "store_and_fwd_flag", "payment_type"},
		Prediction:  "no_such_column",
		Target:      "tip_amount",
	}
	d, err := ReadColumns(ctx, path, spec)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rows != len(trips) {
		t.Fatalf("%d rows, the taxi reader has %d", d.Rows, len(trips))
	}
	if d.Prediction != nil {
		t.Error("predictions read from a file without the column")
	}
	nullsSeen := 0
	checkNum := func(name string, got *NumColumn, want func(*taxi.Trip) *float64) {
		for i := range trips {
			w := want(&trips[i])
			valid := got.Valid == nil || got.Valid[i]
			if valid != (w != nil) || w != nil && got.Values[i] != *w {
				t.Fatalf("%s row %d: got %v (valid %t), taxi reader %v", name, i, got.Values[i], valid, w)
			}
			if w == nil {
				nullsSeen++
			}
		}
	}
	checkCat := func(name string, got *CatColumn, want func(*taxi.Trip) *string) {
		for i := range trips {
			w := want(&trips[i])
			valid := got.Valid == nil || got.Valid[i]
			if valid != (w != nil) || w != nil && got.Values[i] != *w {
				t.Fatalf("%s row %d: got %q (valid %t), taxi reader %v", name, i, got.Values[i], valid, w)
			}
			if w == nil {
				nullsSeen++
			}
		}
	}
	intF := func(p *int64) *float64 {
		if p == nil {
			return nil
		}
		f := float64(*p)
		return &f
	}
	intS := func(p *int64) *string {
		if p == nil {
			return nil
		}
		s := strconv.FormatInt(*p, 10)
		return &s
	}
	checkNum("trip_distance", d.Numerical["trip_distance"], func(t *taxi.Trip) *float64 { return t.TripDistance })
	checkNum("passenger_count", d.Numerical["passenger_count"], func(t *taxi.Trip) *float64 { return intF(t.PassengerCount) })
	checkNum("fare_amount", d.Numerical["fare_amount"], func(t *taxi.Trip) *float64 { return t.FareAmount })
	checkNum("tip_amount (target)", &NumColumn{Values: d.Target, Valid: d.TargetValid}, func(t *taxi.Trip) *float64 { return t.TipAmount })
	checkCat("PULocationID", d.Categorical["PULocationID"], func(t *taxi.Trip) *string { return intS(t.PULocationID) })
	checkCat("store_and_fwd_flag", d.Categorical["store_and_fwd_flag"], func(t *taxi.Trip) *string { return t.StoreAndFwdFlag })
	checkCat("payment_type", d.Categorical["payment_type"], func(t *taxi.Trip) *string { return intS(t.PaymentType) })
	if nullsSeen == 0 {
		t.Error("no null in the month: the validity check tested nothing")
	}
	t.Logf("%d rows, %d null values checked", d.Rows, nullsSeen)
	if d.Categorical["PULocationID"].Valid != nil {
		t.Error("a column without nulls keeps a validity slice")
	}

	if _, err := ReadColumns(ctx, path, ColumnSpec{Numerical: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("missing column: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReadColumns(cctx, path, spec); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

type pqRow struct {
	F    *float64 `parquet:"f,optional"`
	I    *int32   `parquet:"i,optional"`
	B    *bool    `parquet:"b,optional"`
	S    *string  `parquet:"s,optional"`
	Pred *float64 `parquet:"pred,optional"`
}

// Value kinds and nulls of a parquet file written here.
func TestReadColumnsParquetKinds(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	i := func(v int32) *int32 { return &v }
	b := func(v bool) *bool { return &v }
	s := func(v string) *string { return &v }
	rows := []pqRow{
		{F: f(132), I: i(7), B: b(true), S: s("a"), Pred: f(1)},
		{F: f(2.5), I: nil, B: b(false), S: nil, Pred: f(2)},
		{F: f(math.NaN()), I: i(-3), B: nil, S: s(""), Pred: f(3)},
		{F: nil, I: i(0), B: b(true), S: s("z"), Pred: f(4)},
	}
	path := filepath.Join(t.TempDir(), "kinds.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := ReadColumns(ctx, path, ColumnSpec{
		Numerical:   []string{"f", "i", "b"},
		Categorical: []string{"s"},
		Prediction:  "pred",
	})
	if err != nil {
		t.Fatal(err)
	}
	wantNum := map[string]*NumColumn{
		"f": {Values: []float64{132, 2.5, 0, 0}, Valid: []bool{true, true, false, false}},
		"i": {Values: []float64{7, 0, -3, 0}, Valid: []bool{true, false, true, true}},
		"b": {Values: []float64{1, 0, 0, 1}, Valid: []bool{true, true, false, true}},
	}
	if !reflect.DeepEqual(d.Numerical, wantNum) {
		t.Errorf("numerical:\n got %+v\nwant %+v", d.Numerical, wantNum)
	}
	if want := (&CatColumn{Values: []string{"a", "", "", "z"}, Valid: []bool{true, false, true, true}}); !reflect.DeepEqual(d.Categorical["s"], want) {
		t.Errorf("s = %+v, want %+v", d.Categorical["s"], want)
	}
	if !reflect.DeepEqual(d.Prediction, []float64{1, 2, 3, 4}) || d.Target != nil {
		t.Errorf("prediction %v target %v", d.Prediction, d.Target)
	}
	// Numbers and booleans as categories.
	d, err = ReadColumns(ctx, path, ColumnSpec{Categorical: []string{"f", "i", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"f": {"132", "2.5", "NaN", ""}, "i": {"7", "", "-3", "0"}, "b": {"true", "false", "", "true"}} {
		if got := d.Categorical[name].Values; !reflect.DeepEqual(got, want) {
			t.Errorf("%s as category: %q, want %q", name, got, want)
		}
	}
	// A string is not a number; a missing prediction is an error.
	if _, err := ReadColumns(ctx, path, ColumnSpec{Numerical: []string{"s"}}); err == nil || !strings.Contains(err.Error(), "not numerical") {
		t.Errorf("string as number: %v", err)
	}
	if _, err := ReadColumns(ctx, path, ColumnSpec{Prediction: "i"}); err == nil || !strings.Contains(err.Error(), `prediction column "i": row 1 is missing`) {
		t.Errorf("missing prediction: %v", err)
	}
}

func TestReadColumnsCSV(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := ColumnSpec{Numerical: []string{"x"}, Categorical: []string{"zone"}, Prediction: "prediction", Target: "duration"}
	p := write("a.csv", "zone,x,unused,prediction,duration\n"+
		"132.0, 1.5,z,10,11\n"+
		"74,,z,12,\n"+
		",NaN,z,14,nan\n"+
		"BK, 4 ,z,16,17\n")
	d, err := ReadColumns(ctx, p, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := &Dataset{
		Rows:        4,
		Numerical:   map[string]*NumColumn{"x": {Values: []float64{1.5, 0, 0, 4}, Valid: []bool{true, false, false, true}}},
		Categorical: map[string]*CatColumn{"zone": {Values: []string{"132", "74", "", "BK"}, Valid: []bool{true, true, false, true}}},
		Prediction:  []float64{10, 12, 14, 16},
		Target:      []float64{11, 0, 0, 17},
		TargetValid: []bool{true, false, false, true},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("csv:\n got %+v\nwant %+v", d, want)
	}
	// No prediction or target column: none.
	d, err = ReadColumns(ctx, write("b.CSV", "x,zone\n1,a\n2,b\n"), spec)
	if err != nil || d.Prediction != nil || d.Target != nil || d.Rows != 2 || d.Numerical["x"].Valid != nil {
		t.Errorf("without prediction and target: %+v %v", d, err)
	}
	// Separator, no header (columns named 0, 1, ...).
	d, err = ReadColumns(ctx, write("c.csv", "1;a\n2;b\n3;a\n"), ColumnSpec{Numerical: []string{"0"}, Categorical: []string{"1"}, Separator: ';', NoHeader: true})
	if err != nil || d.Rows != 3 || !reflect.DeepEqual(d.Numerical["0"].Values, []float64{1, 2, 3}) || !reflect.DeepEqual(d.Categorical["1"].Values, []string{"a", "b", "a"}) {
		t.Errorf("headerless: %+v %v", d, err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"missing column", "zone,prediction\na,1\n", `csv has no column "x"`},
		{"not a number", "x,zone\n1,a\nabc,b\n", `line 3: column x: "abc" is not a number`},
		{"duplicate column", "x,zone,x\n1,a,2\n", `column "x" appears twice`},
		{"missing prediction", "x,zone,prediction\n1,a,1\n2,b,\n", `prediction column "prediction": row 1 is missing`},
	} {
		if _, err := ReadColumns(ctx, write(tc.name+".csv", tc.text), spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadColumns(ctx, filepath.Join(dir, "none.csv"), spec); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no file: %v", err)
	}
}

func TestFormatCategoryNumber(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want string
	}{{132, "132"}, {-7, "-7"}, {0, "0"}, {2.5, "2.5"}, {0.1, "0.1"}, {1e20, "1e+20"}, {1 << 52, "4503599627370496"}} {
		if got := FormatCategoryNumber(tc.x); got != tc.want {
			t.Errorf("FormatCategoryNumber(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}
