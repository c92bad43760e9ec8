package batch

import (
	"errors"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/report"
)

// AddEstimate sets r.PerformanceEstimate to the model's performance estimated
// without targets over the current window's rows (report.EstimatePerformance): the
// rows with the estimator's inputs, whether their targets arrived or not. It does
// nothing without an estimator, or when no row of the window can be estimated
// (estimate.ErrEmptyWindow). A dataset without the estimator's columns is an error.
func AddEstimate(r *report.Report, est *estimate.Estimator, cur *report.Dataset) error {
	if est == nil {
		return nil
	}
	pe, err := report.EstimatePerformance(est, cur)
	if errors.Is(err, estimate.ErrEmptyWindow) {
		return nil
	}
	if err != nil {
		return err
	}
	r.PerformanceEstimate = pe
	return nil
}
