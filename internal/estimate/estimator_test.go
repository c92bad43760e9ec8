package estimate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

// toyModel is a sealed model over 20×20 zones that knows the pairs with pu <= do.
func toyModel(t *testing.T, intercept float64) *model.Model {
	t.Helper()
	m := &model.Model{Target: "duration", Categorical: taxi.FeatureCategorical, Numerical: []string{taxi.FeatureDistance},
		Intercept: intercept, NumericalCoef: []float64{2}, CategoryCoef: map[string]float64{}}
	for pu := int64(1); pu <= 20; pu++ {
		for do := pu; do <= 20; do++ {
			m.CategoryCoef[taxi.PUDO(pu, do)] = float64((pu*7+do*3)%11) - 5
		}
	}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

// toyData draws n trips whose durations scatter around the prediction with a
// spread that grows with the distance and is larger for pairs the model does
// not know; far moves the distances to the upper part of their range
// (covariate shift within the reference's support).
func toyData(m *model.Model, n int, seed uint64, far bool) ([]Record, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	recs := make([]Record, n)
	y := make([]float64, n)
	for i := range recs {
		pu, do := int64(1+rng.IntN(20)), int64(1+rng.IntN(20))
		d := rng.Float64() * 5
		if far {
			d = 2 + rng.Float64()*3
		}
		r := Record{PULocationID: pu, DOLocationID: do, TripDistance: d}
		r.Prediction = m.Predict(taxi.PUDO(pu, do), []float64{d})
		sd := 1 + d
		if !m.Known(taxi.PUDO(pu, do)) {
			sd *= 2
		}
		recs[i] = r
		y[i] = r.Prediction + 0.5 + sd*rng.NormFloat64()
	}
	return recs, y
}

var toyParams = GBTParams{Trees: 40, LearningRate: 0.2, MaxLeaves: 15, MinLeaf: 40, Lambda: 1, MaxBins: 63, MinCatRows: 20, CatSmooth: 10}

func TestEstimateFollowsCovariateShift(t *testing.T) {
	m := toyModel(t, 10)
	recs, y := toyData(m, 50000, 1, false)
	e, err := Train(context.Background(), m, recs, y, toyParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, far := range []bool{false, true} {
		wr, wy := toyData(m, 20000, 2, far)
		res, err := e.Estimate(wr)
		if err != nil {
			t.Fatal(err)
		}
		real := Realized(wr, wy)
		t.Logf("far=%v: estimated %+v realized %+v (reference RMSE %.3f)", far, res.Metrics, real, e.Reference.RMSE)
		for _, c := range []struct {
			name      string
			est, real float64
		}{{"rmse", res.RMSE, real.RMSE}, {"mae", res.MAE, real.MAE}} {
			if relErr(c.est, c.real) > 0.03 {
				t.Errorf("far=%v %s: estimated %.3f, realized %.3f", far, c.name, c.est, c.real)
			}
		}
		// the ME's error is sampling noise of the reference and of the window:
		// allow 3 standard errors of their difference
		if tol := 3 * e.Reference.StdSigned * math.Sqrt(1.0/50000+1.0/20000); math.Abs(res.ME-real.ME) > tol {
			t.Errorf("far=%v me: estimated %.3f, realized %.3f (tolerance %.3f)", far, res.ME, real.ME, tol)
		}
		if far && relErr(e.Reference.RMSE, real.RMSE) < 0.15 {
			t.Errorf("the shift should move the RMSE: reference %.3f, window %.3f", e.Reference.RMSE, real.RMSE)
		}
	}
}

func TestSamplingBand(t *testing.T) {
	ref := referenceStats([]float64{-2, 0, 1, 3})
	// |e| = 2,0,1,3: mean 1.5, population std sqrt(1.25); e² = 4,0,1,9: mean 3.5, std 3.5
	if math.Abs(ref.MAE-1.5) > 1e-12 || math.Abs(ref.StdAbs-math.Sqrt(1.25)) > 1e-12 ||
		math.Abs(ref.MeanSq-3.5) > 1e-12 || math.Abs(ref.StdSq-3.5) > 1e-12 ||
		math.Abs(ref.ME-0.5) > 1e-12 || math.Abs(ref.StdSigned-math.Sqrt(3.25)) > 1e-12 {
		t.Fatalf("reference stats %+v", ref)
	}
	s := ref.Sigma(100)
	if math.Abs(s.MAE-math.Sqrt(1.25)/10) > 1e-12 || math.Abs(s.RMSE-math.Sqrt(3.5*3.5/(4*100*3.5))) > 1e-12 {
		t.Errorf("sigma %+v", s)
	}
	b := bands(Metrics{RMSE: 2, MAE: 0.1, ME: 0}, s)
	if b.MAE.Lower != 0 || math.Abs(b.RMSE.Upper-(2+3*s.RMSE)) > 1e-12 || math.Abs(b.ME.Lower+3*s.ME) > 1e-12 {
		t.Errorf("bands %+v", b)
	}
}

func TestArtifactRoundTripAndModelVersion(t *testing.T) {
	m := toyModel(t, 10)
	recs, y := toyData(m, 5000, 1, false)
	e, err := Train(context.Background(), m, recs, y, toyParams)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "est.json")
	if err := e.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, m)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Estimate(recs)
	b, _ := got.Estimate(recs)
	if a != b {
		t.Errorf("loaded estimator estimates %+v, trained one %+v", b, a)
	}
	if got.Version != e.Version || !strings.HasPrefix(got.Version, "sha256:") {
		t.Errorf("version %q, want %q", got.Version, e.Version)
	}

	// another model version: a clear error, at Load and at Bind
	other := toyModel(t, 11)
	if _, err := Load(path, other); !errors.Is(err, ErrModelMismatch) || !strings.Contains(err.Error(), other.Version) {
		t.Errorf("Load with another model: %v", err)
	}
	if err := got.Bind(other); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("Bind another model: %v", err)
	}
	var unbound Estimator
	if _, err := unbound.Estimate(recs); err == nil {
		t.Error("unbound estimator estimated")
	}

	// altered or foreign files
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"altered value": func(b []byte) []byte { return bytes.Replace(b, []byte(`"rows":5000`), []byte(`"rows":5001`), 1) },
		"format":        func(b []byte) []byte { return bytes.Replace(b, []byte(Format), []byte("modelmon.linear-onehot"), 1) },
		"truncated":     func(b []byte) []byte { return b[:len(b)/2] },
		"model":         func(b []byte) []byte { return []byte(`{"format":"modelmon.linear-onehot"}`) },
	} {
		if _, err := Decode(bytes.NewReader(mutate(bytes.Clone(raw)))); !errors.Is(err, ErrNotEstimator) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	m := toyModel(t, 10)
	ctx := context.Background()
	if _, err := Train(ctx, m, nil, nil, toyParams); !errors.Is(err, ErrNoTargets) {
		t.Errorf("no targets: %v", err)
	}
	recs, y := toyData(m, 3000, 1, false)
	y[7] = math.NaN()
	if _, err := Train(ctx, m, recs, y, toyParams); err == nil || !strings.Contains(err.Error(), "row 7") {
		t.Errorf("NaN target: %v", err)
	}
	recs, y = toyData(m, 3000, 1, false)
	e, err := Train(ctx, m, recs, y, toyParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Estimate(nil); !errors.Is(err, ErrEmptyWindow) {
		t.Errorf("empty window: %v", err)
	}
	w := append([]Record(nil), recs[:100]...)
	w[5].Prediction = math.Inf(1)
	if _, err := e.Estimate(w); err == nil || !strings.Contains(err.Error(), "record 5") {
		t.Errorf("infinite prediction: %v", err)
	}

	// Unknown zone ids (999: not in the reference; 0: not a zone) are counted and
	// estimated as missing zones, exactly as a record whose zones are absent.
	w = append([]Record(nil), recs[:100]...)
	w[0].PULocationID, w[1].DOLocationID, w[2].PULocationID = 999, 0, -3
	res, err := e.Estimate(w)
	if err != nil {
		t.Fatal(err)
	}
	if res.UnknownZoneRows != 3 {
		t.Errorf("unknown zone rows %d, want 3", res.UnknownZoneRows)
	}
	if math.IsNaN(res.RMSE) || math.IsNaN(res.MAE) || math.IsNaN(res.ME) {
		t.Errorf("estimate with unknown zones: %+v", res)
	}
	v := append([]Record(nil), w...)
	v[0].PULocationID, v[1].DOLocationID, v[2].PULocationID = 12345, 777, 4242
	res2, err := e.Estimate(v)
	if err != nil {
		t.Fatal(err)
	}
	// 999 and 12345 are both unknown pairs to the model; 0, -3, 777, 4242 likewise
	if res2.Metrics != res.Metrics {
		t.Errorf("unknown ids of different values estimate differently: %+v vs %+v", res2.Metrics, res.Metrics)
	}
}

// A reference month without dropoff times has no targets: TrainTaxi says so.
// The model's own training file is refused.
func TestTrainTaxiBadReference(t *testing.T) {
	m := toyModel(t, 10)
	type row struct {
		Pickup  *time.Time `parquet:"lpep_pickup_datetime,timestamp(microsecond),optional"`
		Dropoff *time.Time `parquet:"lpep_dropoff_datetime,timestamp(microsecond),optional"`
		PU      *int64     `parquet:"PULocationID,optional"`
		DO      *int64     `parquet:"DOLocationID,optional"`
		Dist    *float64   `parquet:"trip_distance,optional"`
	}
	pt := time.Date(2021, 2, 1, 8, 0, 0, 0, time.UTC)
	pu, do, d := int64(1), int64(2), 1.5
	rows := []row{{Pickup: &pt, PU: &pu, DO: &do, Dist: &d}, {Pickup: &pt, PU: &pu, DO: &do, Dist: &d}}
	path := filepath.Join(t.TempDir(), "no_targets.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	trips, err := taxi.ReadFile(context.Background(), path)
	if err != nil || len(trips) != 2 || trips[0].Dropoff != nil || trips[0].PULocationID == nil {
		t.Fatalf("test file: %v %+v", err, trips)
	}
	if _, err := TrainTaxi(context.Background(), m, path, toyParams); !errors.Is(err, ErrNoTargets) {
		t.Errorf("reference without targets: %v", err)
	}
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Training.SHA256, m.Training.File = sum, "no_targets.parquet"
	if _, err := TrainTaxi(context.Background(), m, path, toyParams); !errors.Is(err, ErrTrainingReference) {
		t.Errorf("the model's training file: %v", err)
	}
}
