package estimate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/modelmon/modelmon/internal/model"
	"github.com/modelmon/modelmon/internal/taxi"
)

// ErrTrainingReference is returned (wrapped) by TrainTaxi when the reference is the
// file the model was trained on: its residuals are optimistic.
var ErrTrainingReference = errors.New("reference is the model's training data")

// TrainTaxi trains the estimator for model m on a TLC month file: the rows that pass
// the training filter (1 <= duration <= 60 minutes) are the labelled reference. A
// reference without such rows (no dropoff times, say) is ErrNoTargets; the model's
// own training file is ErrTrainingReference.
func TrainTaxi(ctx context.Context, m *model.Model, refPath string, p GBTParams) (*Estimator, error) {
	sum, err := taxi.FileSHA256(refPath)
	if err != nil {
		return nil, err
	}
	if m.Training.SHA256 != "" && sum == m.Training.SHA256 {
		return nil, fmt.Errorf("train estimator on %s: %w (%s); use a month the model did not train on, e.g. its validation month",
			refPath, ErrTrainingReference, m.Training.File)
	}
	trips, err := taxi.ReadFile(ctx, refPath)
	if err != nil {
		return nil, err
	}
	recs, y := Labelled(m, trips)
	if len(recs) == 0 {
		return nil, fmt.Errorf("train estimator on %s: %w: none of its %d rows has pickup and dropoff times with 1 <= duration <= 60 minutes and the model's inputs",
			refPath, ErrNoTargets, len(trips))
	}
	e, err := Train(ctx, m, recs, y, p)
	if err != nil {
		return nil, fmt.Errorf("train estimator on %s: %w", refPath, err)
	}
	e.Reference.File = filepath.Base(refPath)
	e.Reference.SHA256 = sum
	if err := e.Seal(); err != nil {
		return nil, err
	}
	return e, nil
}

// FileSHA256 is the hex SHA-256 of a file's content (the Reference.SHA256 of an
// estimator trained on it).
func FileSHA256(path string) (string, error) { return taxi.FileSHA256(path) }
