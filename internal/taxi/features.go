package taxi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelmon/modelmon/internal/model"
)

// Feature and target names of the trip-duration model.
const (
	FeatureCategorical = "PU_DO"
	FeatureDistance    = "trip_distance"
	TargetName         = "duration"
)

// TrainingData turns trips into the model's design: PU_DO, trip_distance and the
// duration in minutes, for the trips that pass KeepForTraining.
func TrainingData(trips []Trip) model.Data {
	var d model.Data
	dist := make([]float64, 0, len(trips))
	for i := range trips {
		t := &trips[i]
		if !t.KeepForTraining() {
			continue
		}
		dur, _ := t.DurationMinutes()
		d.Category = append(d.Category, PUDO(*t.PULocationID, *t.DOLocationID))
		dist = append(dist, *t.TripDistance)
		d.Target = append(d.Target, dur)
	}
	d.Numerical = [][]float64{dist}
	return d
}

// Predictions applies m to every row of d.
func Predictions(m *model.Model, d model.Data) []float64 {
	out := make([]float64, len(d.Target))
	num := make([]float64, len(d.Numerical))
	for i := range out {
		for j := range num {
			num[j] = d.Numerical[j][i]
		}
		out[i] = m.Predict(d.Category[i], num)
	}
	return out
}

// Train fits the trip-duration model on one TLC month and, when validatePath is not
// empty, measures it on another. The result is sealed (versioned) and ready to Save.
func Train(ctx context.Context, trainPath, validatePath string) (*model.Model, error) {
	trips, err := ReadFile(ctx, trainPath)
	if err != nil {
		return nil, err
	}
	d := TrainingData(trips)
	icpt, numCoef, catCoef, err := model.Fit(d)
	if err != nil {
		return nil, fmt.Errorf("train on %s: %w", trainPath, err)
	}
	sum, err := FileSHA256(trainPath)
	if err != nil {
		return nil, err
	}
	m := &model.Model{
		Target:        TargetName,
		Categorical:   FeatureCategorical,
		Numerical:     []string{FeatureDistance},
		Intercept:     icpt,
		NumericalCoef: numCoef,
		CategoryCoef:  catCoef,
		Training: model.Training{
			Method: "ols-min-norm-centered",
			File:   filepath.Base(trainPath),
			SHA256: sum,
			Rows:   len(d.Target),
		},
	}
	m.Training.RMSE = model.RMSE(Predictions(m, d), d.Target)
	if validatePath != "" {
		vt, err := ReadFile(ctx, validatePath)
		if err != nil {
			return nil, err
		}
		vd := TrainingData(vt)
		if len(vd.Target) == 0 {
			return nil, fmt.Errorf("validate: %s has no rows with 1 <= duration <= 60", validatePath)
		}
		vsum, err := FileSHA256(validatePath)
		if err != nil {
			return nil, err
		}
		m.Training.ValidationFile = filepath.Base(validatePath)
		m.Training.ValidationSHA256 = vsum
		m.Training.ValidationRows = len(vd.Target)
		m.Training.ValidationRMSE = model.RMSE(Predictions(m, vd), vd.Target)
	}
	if err := m.Seal(); err != nil {
		return nil, err
	}
	return m, nil
}

// FileSHA256 is the hex SHA-256 of a file's content (the training file of a model, the
// reference of an estimator).
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
