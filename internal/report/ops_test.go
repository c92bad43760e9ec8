package report

import (
	"reflect"
	"testing"
)

// opsSample has missing values of every kind: features, targets.
func opsSample(n int) *Dataset {
	d := NewDataset(Config{NumericalFeatures: []string{"x", "y"}, CategoricalFeatures: []string{"c"}})
	for i := range n {
		r := Row{Num: map[string]float64{"y": float64(i)}, Cat: map[string]string{}, Prediction: float64(i) * 1.5}
		if i%5 != 0 {
			r.Num["x"] = float64(i) / 3
		}
		if i%7 != 0 {
			r.Cat["c"] = []string{"a", "b", "c"}[i%3]
		}
		if i%4 != 0 {
			v := float64(i)
			r.Target = &v
		}
		d.Append(r)
	}
	return d
}

// checkShape fails unless every column of d has d.Rows entries.
func checkShape(t *testing.T, d *Dataset) {
	t.Helper()
	lenOK := func(n int, nilOK bool) bool { return n == d.Rows || (nilOK && n == 0) }
	for name, c := range d.Numerical {
		if !lenOK(len(c.Values), false) || !lenOK(len(c.Valid), c.Valid == nil) {
			t.Errorf("numerical %s: %d values, %d valid for %d rows", name, len(c.Values), len(c.Valid), d.Rows)
		}
	}
	for name, c := range d.Categorical {
		if !lenOK(len(c.Values), false) || !lenOK(len(c.Valid), c.Valid == nil) {
			t.Errorf("categorical %s: %d values, %d valid for %d rows", name, len(c.Values), len(c.Valid), d.Rows)
		}
	}
	if d.Prediction != nil && len(d.Prediction) != d.Rows {
		t.Errorf("%d predictions for %d rows", len(d.Prediction), d.Rows)
	}
	if d.Target != nil && len(d.Target) != d.Rows || d.TargetValid != nil && len(d.TargetValid) != d.Rows {
		t.Errorf("%d targets, %d target validity for %d rows", len(d.Target), len(d.TargetValid), d.Rows)
	}
	if d.Target == nil && d.TargetValid != nil {
		t.Error("target validity without targets")
	}
}

func TestSliceAndAppendDatasetRoundTrip(t *testing.T) {
	d := opsSample(37)
	for _, step := range []int{1, 10, 37} {
		out := d.EmptyLike()
		out.Grow(d.Rows)
		for from := 0; from < d.Rows; from += step {
			out.AppendDataset(d.Slice(from, min(from+step, d.Rows)))
		}
		checkShape(t, out)
		if !reflect.DeepEqual(out, d) {
			t.Fatalf("step %d: append of slices differs:\n got %+v\nwant %+v", step, out, d)
		}
	}
	// Every value valid: the validity slices stay nil.
	full := NewDataset(Config{NumericalFeatures: []string{"x"}})
	full.Append(Row{Num: map[string]float64{"x": 1}, Prediction: 2, Target: new(float64)})
	got := Concat(full, full)
	if got.Rows != 2 || got.Numerical["x"].Valid != nil || got.TargetValid != nil {
		t.Errorf("all valid: %+v", got)
	}
}

func TestSliceDoesNotLeakIntoOriginal(t *testing.T) {
	d := opsSample(20)
	want := Concat(d)
	s := d.Slice(0, 5)
	s.AppendDataset(d.Slice(10, 20))
	checkShape(t, s)
	if !reflect.DeepEqual(d, want) {
		t.Fatal("appending to a slice changed the original dataset")
	}
	if s.Rows != 15 || s.Numerical["y"].Values[5] != 10 {
		t.Errorf("slice after append: %d rows, y[5] = %v", s.Rows, s.Numerical["y"].Values[5])
	}
	// Nil columns stay nil.
	noTarget := &Dataset{Rows: 3, Numerical: map[string]*NumColumn{"x": {Values: []float64{1, 2, 3}}}}
	if s := noTarget.Slice(1, 3); s.Prediction != nil || s.Target != nil || s.TargetValid != nil || s.Numerical["x"].Valid != nil || s.Rows != 2 {
		t.Errorf("slice of a dataset without predictions/targets: %+v", s)
	}
}

func TestAppendDatasetMissingFeatureColumns(t *testing.T) {
	d := opsSample(3)
	o := &Dataset{Rows: 2,
		Numerical:   map[string]*NumColumn{"x": {Values: []float64{7, 8}}, "extra": {Values: []float64{1, 1}}},
		Categorical: map[string]*CatColumn{},
		Prediction:  []float64{9, 9},
	}
	d.AppendDataset(o)
	checkShape(t, d)
	if _, ok := d.Numerical["extra"]; ok {
		t.Error("a column only in the appended side was added")
	}
	if got, want := d.Numerical["y"].Valid, []bool{true, true, true, false, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("y (absent from the appended side) valid = %v, want %v", got, want)
	}
	if got, want := d.Categorical["c"].Valid, []bool{false, true, true, false, false}; !reflect.DeepEqual(got, want) {
		t.Errorf("c valid = %v, want %v", got, want)
	}
	if got, want := d.Numerical["x"].Values[3:], []float64{7, 8}; !reflect.DeepEqual(got, want) {
		t.Errorf("x values = %v, want %v", got, want)
	}
}

func TestAppendDatasetPredictionRule(t *testing.T) {
	withPred := opsSample(4)
	noPred := opsSample(3)
	noPred.Prediction = nil

	// Both have predictions: kept.
	if got := Concat(withPred, withPred); len(got.Prediction) != 8 || got.Prediction[5] != 1.5 {
		t.Errorf("both with predictions: %v", got.Prediction)
	}
	// One side without: none, in either order, and no zeros invented.
	for _, got := range []*Dataset{Concat(withPred, noPred), Concat(noPred, withPred)} {
		checkShape(t, got)
		if got.Rows != 7 || got.Prediction != nil {
			t.Errorf("one side without predictions: %d rows, predictions %v, want 7 rows and none", got.Rows, got.Prediction)
		}
	}
	// A side with no rows changes nothing.
	empty := withPred.EmptyLike()
	if got := Concat(empty, withPred); !reflect.DeepEqual(got.Prediction, withPred.Prediction) {
		t.Errorf("empty then predicted: %v", got.Prediction)
	}
	if got := Concat(withPred, &Dataset{}); !reflect.DeepEqual(got.Prediction, withPred.Prediction) {
		t.Errorf("predicted then empty: %v", got.Prediction)
	}
	if got := Concat(empty, noPred); got.Prediction != nil {
		t.Errorf("empty then without predictions: %v", got.Prediction)
	}
	// A dataset that lost its predictions keeps none when rows are added one by one
	// or grown.
	d := Concat(withPred, noPred)
	d.Grow(10)
	d.Append(Row{Prediction: 5})
	checkShape(t, d)
	if d.Prediction != nil || d.Rows != 8 {
		t.Errorf("row appended after predictions were dropped: %d rows, predictions %v", d.Rows, d.Prediction)
	}
}

func TestAppendDatasetTargetRule(t *testing.T) {
	withT := opsSample(4) // targets of rows 1..3 known, row 0 unknown
	noT := opsSample(3)
	noT.Target, noT.TargetValid = nil, nil

	got := Concat(noT, withT)
	checkShape(t, got)
	if want := []bool{false, false, false, false, true, true, true}; !reflect.DeepEqual(got.TargetValid, want) {
		t.Errorf("without then with targets: valid %v, want %v", got.TargetValid, want)
	}
	if got.Target[5] != 2 {
		t.Errorf("target[5] = %v, want 2", got.Target[5])
	}
	got = Concat(withT, noT)
	checkShape(t, got)
	if want := []bool{false, true, true, true, false, false, false}; !reflect.DeepEqual(got.TargetValid, want) {
		t.Errorf("with then without targets: valid %v, want %v", got.TargetValid, want)
	}
	if got := Concat(noT, noT); got.Target != nil || got.TargetValid != nil {
		t.Errorf("no targets on either side: %v %v", got.Target, got.TargetValid)
	}
	// Targets only (the batch's joined target chunks): no features, no predictions.
	tgt := &Dataset{Rows: 2, Target: []float64{3, 4}}
	all := &Dataset{}
	all.Grow(4)
	all.AppendDataset(tgt)
	all.AppendDataset(tgt)
	checkShape(t, all)
	if all.Rows != 4 || !reflect.DeepEqual(all.Target, []float64{3, 4, 3, 4}) || all.TargetValid != nil || all.Prediction != nil {
		t.Errorf("targets only: %+v", all)
	}
}

func TestConcatCopies(t *testing.T) {
	a, b := opsSample(5), opsSample(6)
	got := Concat(nil, a, nil, b)
	checkShape(t, got)
	if got.Rows != 11 {
		t.Fatalf("%d rows, want 11", got.Rows)
	}
	want := Concat(a, b)
	a.Numerical["y"].Values[1] = -1
	a.Prediction[1] = -1
	b.Target[2] = -1
	b.Categorical["c"].Values[1] = "changed"
	if !reflect.DeepEqual(got, want) || got.Numerical["y"].Values[1] != 1 {
		t.Error("Concat shares arrays with its parts")
	}
	if Concat() != nil || Concat(nil, nil) != nil {
		t.Error("Concat of no dataset is not nil")
	}
}

func TestGrowAvoidsReallocation(t *testing.T) {
	d := NewDataset(Config{NumericalFeatures: []string{"x"}, CategoricalFeatures: []string{"c"}})
	d.Grow(100)
	x, p := d.Numerical["x"].Values, d.Prediction
	for i := range 100 {
		d.Append(Row{Num: map[string]float64{"x": float64(i)}, Cat: map[string]string{"c": "a"}, Prediction: 1})
	}
	if &d.Numerical["x"].Values[0] != &x[:1][0] || &d.Prediction[0] != &p[:1][0] {
		t.Error("appending 100 rows after Grow(100) reallocated")
	}
}
