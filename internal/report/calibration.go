package report

import (
	"github.com/modelmon/modelmon/internal/drift"
)

// dataDrift is drift.Dataset, with no columns (not enough data, or none testable)
// giving no verdict instead of an error, and a column whose test is undefined for
// the window's data (a test that needs more or more varied values) skipped with the
// reason instead of failing the report: no window's values can fail a report.
func dataDrift(names []string, ref, cur map[string]drift.Column, opts drift.Options) (drift.DatasetResult, error) {
	if len(names) == 0 {
		return drift.DatasetResult{}, nil
	}
	opts.SkipUndefined = true
	return drift.Dataset(names, ref, cur, opts)
}

func columnCalibration(c *drift.Calibration) ColumnCalibration {
	if c == nil {
		return ColumnCalibration{Method: drift.MethodFixed, Rule: drift.MethodFixed}
	}
	return ColumnCalibration{
		Method: c.Method, Rule: c.Rule, Alpha: c.Alpha,
		CalibratedThreshold: c.CalibratedThreshold, FixedThreshold: c.FixedThreshold,
		NullMedian: c.NullMedian, EffectThreshold: c.EffectThreshold,
		CalibrationRows: c.EffectiveRows, Draws: c.Draws,
	}
}
