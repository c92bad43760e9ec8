package report

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

var (
	monthsOnce sync.Once
	months     map[string]*Dataset
	monthsErr  error
)

// taxiMonths scores the reference month and two current months with the shipped model.
func taxiMonths(t testing.TB) map[string]*Dataset {
	t.Helper()
	monthsOnce.Do(func() {
		m, err := model.Load(filepath.Join("..", "..", "models", "duration_model.json"))
		if err != nil {
			monthsErr = err
			return
		}
		months = map[string]*Dataset{}
		for _, name := range []string{"2021-01", "2021-02", "2022-01"} {
			trips, err := taxi.ReadFile(context.Background(), filepath.Join("..", "..", "data", "green_tripdata_"+name+".parquet"))
			if err != nil {
				monthsErr = err
				return
			}
			months[name] = TaxiDataset(trips, m)
		}
	})
	if monthsErr != nil {
		t.Fatal(monthsErr)
	}
	return months
}

func TestComputeRealMonths(t *testing.T) {
	ms := taxiMonths(t)
	cases := []struct {
		current     string
		rows        int
		drift       bool
		puJS, puTol float64
	}{
		// Figures of the issue: Jensen-Shannon on PULocationID about 0.28 for 2022-01 and
		// about 0.045 for 2021-02 against 2021-01; row counts from data/SOURCES.md.
		{"2022-01", 59603, true, 0.28, 0.01},
		{"2021-02", 61921, false, 0.045, 0.003},
	}
	for _, c := range cases {
		t.Run(c.current, func(t *testing.T) {
			r, err := Compute(context.Background(), ms["2021-01"], ms[c.current], TaxiConfig())
			if err != nil {
				t.Fatal(err)
			}
			if r.ReferenceRows != 73908 || r.CurrentRows != c.rows {
				t.Fatalf("rows %d/%d", r.ReferenceRows, r.CurrentRows)
			}
			if r.DataDrift.DatasetDrift != c.drift {
				t.Errorf("dataset drift %v, want %v (%+v)", r.DataDrift.DatasetDrift, c.drift, r.DataDrift)
			}
			pu := r.DataDrift.Columns["PULocationID"]
			if pu.StatTest != "jensenshannon" || math.Abs(pu.Statistic-c.puJS) > c.puTol {
				t.Errorf("PULocationID %s = %v, want jensenshannon ~%v", pu.StatTest, pu.Statistic, c.puJS)
			}
			if got := r.DataDrift.Columns["trip_distance"].StatTest; got != "wasserstein" {
				t.Errorf("trip_distance test %s, want wasserstein (reference > 1000 rows, > 5 values)", got)
			}
			if _, ok := r.DataDrift.Columns[PredictionColumn]; !ok {
				t.Error("no drift of the prediction")
			}
			// The current months' RMSE is worse than on the training month.
			if r.Regression.Current == nil || r.Regression.Reference == nil || r.Regression.Current.RMSE <= r.Regression.Reference.RMSE {
				t.Errorf("regression %+v / %+v", r.Regression.Reference, r.Regression.Current)
			}
			if math.Abs(r.Regression.Reference.RMSE-4.640696266933439) > 1e-9 {
				t.Errorf("reference RMSE %v, want the training RMSE of testdata/model/golden.json", r.Regression.Reference.RMSE)
			}
			q := r.DataQuality.Current["trip_distance"]
			if q.Count != c.rows || q.Missing != 0 {
				t.Errorf("trip_distance quality %+v", q)
			}
			if len(r.Distributions["PULocationID"].Categories) != maxCategories+1 {
				t.Errorf("PULocationID distribution %v", r.Distributions["PULocationID"].Categories)
			}
		})
	}
}

// The JSON is the contract of `starter report --json` and of the report collection.
func TestReportJSONContract(t *testing.T) {
	ms := taxiMonths(t)
	r, err := Compute(context.Background(), ms["2021-01"], ms["2022-01"], TaxiConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"reference_rows", "current_rows", "data_drift", "regression", "data_quality"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
	dd := doc["data_drift"].(map[string]any)
	for _, k := range []string{"dataset_drift", "share_drifted_columns", "drifted_columns", "columns"} {
		if _, ok := dd[k]; !ok {
			t.Errorf("data_drift has no %q", k)
		}
	}
	td := dd["columns"].(map[string]any)["trip_distance"].(map[string]any)
	for _, k := range []string{"type", "stattest", "statistic", "p_value", "threshold", "drifted"} {
		if _, ok := td[k]; !ok {
			t.Errorf("column has no %q", k)
		}
	}
	// Calibrated verdicts (the default): a distance test has the Monte Carlo p-value
	// and says which rule decided; with method fixed, Evidently's null p-value.
	if p, ok := td["p_value"].(float64); !ok || p <= 0 || p > 1 || td["type"] != "numerical" || td["rule"] == nil || td["alpha"] == nil {
		t.Errorf("wasserstein p_value %v type %v rule %v alpha %v, want a p-value, numerical, a rule and alpha", td["p_value"], td["type"], td["rule"], td["alpha"])
	}
	for _, k := range []string{"method", "alpha", "enough_data"} {
		if _, ok := dd[k]; !ok {
			t.Errorf("data_drift has no %q", k)
		}
	}
	cfg := TaxiConfig()
	cfg.Drift.Method = "fixed"
	fixed, err := Compute(context.Background(), ms["2021-01"], ms["2022-01"], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := fixed.DataDrift.Columns["trip_distance"]; c.PValue != nil || c.Threshold != 0.1 || c.Rule != "fixed" {
		t.Errorf("method fixed: wasserstein p_value %v threshold %v rule %q, want null, 0.1, fixed", c.PValue, c.Threshold, c.Rule)
	}
	reg := doc["regression"].(map[string]any)["current"].(map[string]any)
	for _, k := range []string{"me", "mae", "mape", "rmse", "r2"} {
		if _, ok := reg[k]; !ok {
			t.Errorf("regression has no %q", k)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the report does not decode back: %v", err)
	}
	if back.Regression.Current.RMSE != r.Regression.Current.RMSE {
		t.Error("RMSE lost in the round trip")
	}
}

func TestComputeEmptyAndOptions(t *testing.T) {
	ms := taxiMonths(t)
	empty := NewDataset(TaxiConfig())
	if _, err := Compute(context.Background(), ms["2021-01"], empty, TaxiConfig()); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty current: %v", err)
	}
	cfg := TaxiConfig()
	cfg.Drift.NumStattest = "no_such_test"
	if _, err := Compute(context.Background(), ms["2021-01"], ms["2021-02"], cfg); err == nil {
		t.Error("unknown stattest: no error")
	}
	cfg = TaxiConfig()
	cfg.Drift.NumStattest, cfg.Drift.CatStattest = "ks", "chisquare"
	r, err := Compute(context.Background(), ms["2021-01"], ms["2021-02"], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.DataDrift.Columns["trip_distance"].StatTest != "ks" || r.DataDrift.Columns["PULocationID"].StatTest != "chisquare" {
		t.Errorf("overrides ignored: %+v", r.DataDrift.Columns)
	}
	if r.DataDrift.Columns["trip_distance"].PValue == nil {
		t.Error("ks without p-value")
	}
}

// Missing values in the current window are counted, not tested, and never crash.
func TestComputeMissingValues(t *testing.T) {
	ms := taxiMonths(t)
	cur := NewDataset(TaxiConfig())
	for i := 0; i < 500; i++ {
		r := Row{Num: map[string]float64{}, Cat: map[string]string{"PULocationID": "74", "DOLocationID": "75"}, Prediction: 10}
		if i%2 == 0 {
			r.Num["trip_distance"] = float64(i % 7)
		}
		cur.Append(r)
	}
	r, err := Compute(context.Background(), ms["2021-01"], cur, TaxiConfig())
	if err != nil {
		t.Fatal(err)
	}
	if q := r.DataQuality.Current["trip_distance"]; q.Missing != 250 {
		t.Errorf("missing %d, want 250", q.Missing)
	}
	if r.Regression.Current != nil {
		t.Error("regression without targets")
	}
}

func BenchmarkComputeTaxiMonth(b *testing.B) {
	ms := taxiMonths(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(context.Background(), ms["2021-01"], ms["2022-01"], TaxiConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

// A category absent from the reference makes chi-square infinite; the report must still
// encode (the live monitor serves it as JSON) and decode back.
func TestReportJSONInfiniteStatistic(t *testing.T) {
	ms := taxiMonths(t)
	cur := NewDataset(TaxiConfig())
	for i := 0; i < 200; i++ {
		cur.Append(Row{Num: map[string]float64{"trip_distance": float64(i % 9)}, Cat: map[string]string{"PULocationID": "never-seen", "DOLocationID": "74"}, Prediction: 12})
	}
	cfg := TaxiConfig()
	cfg.Drift.CatStattest = "chisquare"
	r, err := Compute(context.Background(), ms["2021-01"], cur, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pu := r.DataDrift.Columns["PULocationID"]
	if !math.IsInf(pu.Statistic, 1) || !pu.Drifted {
		t.Fatalf("PULocationID %+v, want an infinite chi-square and drift", pu)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.DataDrift.Columns["PULocationID"]; !math.IsInf(got.Statistic, 1) || !got.Drifted {
		t.Errorf("round trip: %+v", got)
	}
}
