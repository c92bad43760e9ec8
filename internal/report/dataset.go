package report

import (
	"strconv"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

// Columns of a Dataset: Valid[i] false marks a missing value (nil: none missing).
type (
	NumColumn = metrics.NumColumn
	CatColumn = metrics.CatColumn
)

// Dataset is the columnar input of Compute: features, the model's prediction and,
// where known, the target. All columns have Rows entries.
//
// A feature value or a target can be missing in a row (Valid, TargetValid); a
// prediction cannot: Compute uses the prediction column whole (prediction drift,
// regression quality), so a Dataset has predictions for every row or none
// (Prediction nil). Append, AppendDataset and Concat keep to that and never invent a
// value; see AppendDataset for the rule.
type Dataset struct {
	Rows        int
	Numerical   map[string]*NumColumn
	Categorical map[string]*CatColumn
	Prediction  []float64 // nil: no predictions
	Target      []float64 // nil: no targets
	TargetValid []bool    // nil: every target known
}

// NewDataset makes an empty dataset with the given feature columns.
func NewDataset(cfg Config) *Dataset {
	d := &Dataset{Numerical: map[string]*NumColumn{}, Categorical: map[string]*CatColumn{}}
	for _, n := range cfg.NumericalFeatures {
		d.Numerical[n] = &NumColumn{}
	}
	for _, n := range cfg.CategoricalFeatures {
		d.Categorical[n] = &CatColumn{}
	}
	return d
}

// Row is one record for Dataset.Append: values by column name; a column absent from
// the map is missing in that row.
type Row struct {
	Num        map[string]float64
	Cat        map[string]string
	Prediction float64
	Target     *float64
}

// Append adds one row. It keeps Valid slices only once a value is missing. A
// dataset that already has rows but no predictions (see AppendDataset) stays
// without.
func (d *Dataset) Append(r Row) {
	for name, c := range d.Numerical {
		v, ok := r.Num[name]
		c.Values = append(c.Values, v)
		c.Valid = appendValid(c.Valid, ok, d.Rows)
	}
	for name, c := range d.Categorical {
		v, ok := r.Cat[name]
		c.Values = append(c.Values, v)
		c.Valid = appendValid(c.Valid, ok, d.Rows)
	}
	if d.Prediction != nil || d.Rows == 0 {
		d.Prediction = append(d.Prediction, r.Prediction)
	}
	if d.Target == nil && d.Rows > 0 {
		d.Target, d.TargetValid = make([]float64, d.Rows), make([]bool, d.Rows)
	}
	if r.Target != nil {
		d.Target = append(d.Target, *r.Target)
	} else {
		d.Target = append(d.Target, 0)
	}
	d.TargetValid = appendValid(d.TargetValid, r.Target != nil, d.Rows)
	d.Rows++
}

func appendValid(valid []bool, ok bool, rows int) []bool {
	if valid == nil && ok {
		return nil
	}
	if valid == nil {
		valid = make([]bool, rows, rows+1024)
		for i := range valid {
			valid[i] = true
		}
	}
	return append(valid, ok)
}

// Config names the columns a report covers and how drift is tested.
type Config struct {
	NumericalFeatures   []string     `json:"numerical_features" yaml:"numerical_features"`
	CategoricalFeatures []string     `json:"categorical_features" yaml:"categorical_features"`
	Drift               DriftOptions `json:"drift" yaml:"drift"`
	// PlausibleRanges bound the values of numerical features that are
	// measurements at all (config.yaml datasets.<name>.plausible_ranges). Values
	// outside are counted per column in data quality (implausible_count); they
	// still take part in the statistics, which stay finite for any finite value.
	PlausibleRanges map[string]metrics.Range `json:"plausible_ranges,omitempty" yaml:"plausible_ranges"`
}

// DriftOptions choose the drift tests and how their verdicts are decided; the zero
// value picks Evidently's default tests with calibrated verdicts (method
// "calibrated", alpha 0.01: see drift.Calibration).
type DriftOptions struct {
	// Method is "calibrated" (default: thresholds calibrated for the window's size
	// with a stated false-alarm rate) or "fixed" (Evidently's exact verdicts).
	Method string `json:"method,omitempty" yaml:"method"`
	// Alpha is the dataset verdict's false-alarm rate per window with the
	// calibrated method (0: 0.01). Each column gets drift.ColumnAlpha of it unless
	// per_column sets its own.
	Alpha float64 `json:"alpha,omitempty" yaml:"alpha"`
	// MinWindowRows: a current window with fewer rows is "not enough data"
	// (DataDrift.EnoughData false), never drift. 0: no minimum.
	MinWindowRows int `json:"min_window_rows,omitempty" yaml:"min_window_rows"`

	DriftShare   float64               `json:"drift_share,omitempty" yaml:"drift_share"`
	NumStattest  string                `json:"num_stattest,omitempty" yaml:"num_stattest"`
	NumThreshold float64               `json:"num_threshold,omitempty" yaml:"num_threshold"`
	CatStattest  string                `json:"cat_stattest,omitempty" yaml:"cat_stattest"`
	CatThreshold float64               `json:"cat_threshold,omitempty" yaml:"cat_threshold"`
	PerColumn    map[string]ColumnTest `json:"per_column,omitempty" yaml:"per_column"`
}

// ColumnTest overrides the test of one column.
type ColumnTest struct {
	StatTest  string  `json:"stattest" yaml:"stattest"`
	Threshold float64 `json:"threshold,omitempty" yaml:"threshold"`
	// Alpha overrides the column's false-alarm rate (calibrated method).
	Alpha float64 `json:"alpha,omitempty" yaml:"alpha"`
}

// PredictionColumn is the name under which the model's output is tested for drift.
const PredictionColumn = "prediction"

// TaxiDistanceRange is the plausible range of trip_distance (miles) of the taxi
// model, named in the shipped config.yaml too (a test keeps them equal). The ten
// TLC months in data/ have trip distances up to 259,777.57 miles (2022-02; every
// month has 19 to 79 rides over 1,000 miles, odometer errors that pass the training
// filter and are in the training data), so the bound is set well above them: it
// refuses values that are no measurement at all (1e200) without refusing any
// recorded ride. A physically plausible bound (say 100 miles) would refuse or flag
// 20 to 80 rides a month.
var TaxiDistanceRange = metrics.Range{Min: 0, Max: 1e6}

// TaxiConfig is the seed's column mapping for the trip-duration model:
// trip_distance numerical (plausible range TaxiDistanceRange), PULocationID and
// DOLocationID categorical.
func TaxiConfig() Config {
	return Config{
		NumericalFeatures:   []string{taxi.FeatureDistance},
		CategoricalFeatures: []string{"PULocationID", "DOLocationID"},
		PlausibleRanges:     map[string]metrics.Range{taxi.FeatureDistance: TaxiDistanceRange},
	}
}

// TaxiRow converts one trip (with the model's prediction and, if known, its duration
// target) into a Row of TaxiConfig's columns.
func TaxiRow(t *taxi.Trip, prediction float64, target *float64) Row {
	r := Row{Num: map[string]float64{}, Cat: map[string]string{}, Prediction: prediction, Target: target}
	if v, ok := TaxiNum(t, taxi.FeatureDistance); ok {
		r.Num[taxi.FeatureDistance] = v
	}
	for _, name := range taxiCatColumns {
		if v, ok := TaxiCat(t, name); ok {
			r.Cat[name] = v
		}
	}
	return r
}

var taxiCatColumns = [...]string{"PULocationID", "DOLocationID"}

// TaxiNum is the value TaxiRow puts in Row.Num[name] (ok false: none), without
// building a Row.
func TaxiNum(t *taxi.Trip, name string) (float64, bool) {
	if name == taxi.FeatureDistance && t.TripDistance != nil {
		return *t.TripDistance, true
	}
	return 0, false
}

// TaxiCat is the value TaxiRow puts in Row.Cat[name] (ok false: none), without
// building a Row; the common location ids come formatted from a table.
func TaxiCat(t *taxi.Trip, name string) (string, bool) {
	var id *int64
	switch name {
	case "PULocationID":
		id = t.PULocationID
	case "DOLocationID":
		id = t.DOLocationID
	}
	if id == nil {
		return "", false
	}
	if *id >= 0 && *id < int64(len(locationIDs)) {
		return locationIDs[*id], true
	}
	return strconv.FormatInt(*id, 10), true
}

// locationIDs are the decimal strings of 0..1023 (TLC zone ids are 1..265).
var locationIDs = func() (s [1024]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// TaxiDataset scores trips that pass the training filter (1 <= duration <= 60) with m,
// using the duration as the target: the reference side of a report, or an offline
// current month.
func TaxiDataset(trips []taxi.Trip, m *model.Model) *Dataset {
	d := NewDataset(TaxiConfig())
	num := make([]float64, 1)
	for i := range trips {
		t := &trips[i]
		if !t.KeepForTraining() {
			continue
		}
		num[0] = *t.TripDistance
		dur, _ := t.DurationMinutes()
		d.Append(TaxiRow(t, m.Predict(taxi.PUDO(*t.PULocationID, *t.DOLocationID), num), &dur))
	}
	return d
}
