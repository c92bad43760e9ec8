package report

import (
	"github.com/modelmon/modelmon/internal/drift"
)

// dataDrift is drift.Dataset, with no columns (not enough data, or none testable)
// giving no verdict instead of an error.
func dataDrift(names []string, ref, cur map[string]drift.Column, opts drift.Options) (drift.DatasetResult, error) {
	if len(names) == 0 {
		return drift.DatasetResult{}, nil
	}
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
