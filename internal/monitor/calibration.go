package monitor

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/modelmon/modelmon/internal/drift"
	"github.com/modelmon/modelmon/internal/report"
)

// validateWindow checks service.window_minutes.
func (c *Config) validateWindow() []error {
	var errs []error
	wm := c.Service.WindowMinutes
	if _, set := c.lines["service.window_minutes"]; set && (!(wm > 0) || math.IsInf(wm, 0)) {
		errs = append(errs, c.errf("service.window_minutes", "must be > 0 minutes, got %v", wm))
	}
	return errs
}

// validateCalibration checks a dataset's drift.{method, alpha, min_window_rows,
// per_column.*.alpha}. A key that is written must hold a valid value (alpha: 0 is
// not a false-alarm rate).
func (c *Config) validateCalibration(p string, dr *report.DriftOptions) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	switch dr.Method {
	case "", drift.MethodCalibrated, drift.MethodFixed:
	default:
		add(c.errf(p+".drift.method", "unknown method %q: use %s or %s", dr.Method, drift.MethodCalibrated, drift.MethodFixed))
	}
	checkAlpha := func(key string, a float64) {
		if _, set := c.lines[key]; set && !(a > 0 && a < 1) {
			add(c.errf(key, "alpha (a false-alarm rate) must be in (0, 1), got %v", a))
		}
	}
	checkAlpha(p+".drift.alpha", dr.Alpha)
	for col, ct := range dr.PerColumn {
		checkAlpha(p+".drift.per_column."+col+".alpha", ct.Alpha)
	}
	if _, set := c.lines[p+".drift.min_window_rows"]; set && dr.MinWindowRows < 1 {
		add(c.errf(p+".drift.min_window_rows", "must be >= 1, got %d", dr.MinWindowRows))
	}
	if w := c.Service.WindowSize; w > 0 && dr.MinWindowRows > w {
		add(c.errf(p+".drift.min_window_rows", "must be <= service.window_size (%d), got %d: the window never holds enough rows", w, dr.MinWindowRows))
	}
	return errs
}

// checkReferenceSize reports a reference smaller than the window, and columns of
// column_mapping that the reference file lacks, as configuration errors.
func (c *Config) checkReferenceSize(name string, ref *report.Dataset) error {
	if !c.UsesReference() || c.Service.MovingReference || ref.Rows < c.Service.MinReferenceSize {
		return nil // the reference is (also) collected from the stream
	}
	if ref.Rows < c.Service.WindowSize {
		return c.errf("service.window_size", "%d rows is larger than the reference of dataset %s (%s: %d rows): the calibration compares windows of that size with the reference", c.Service.WindowSize, name, c.ReferencePath(name), ref.Rows)
	}
	return nil
}

// missingColumnError turns a reference loader's error about a column absent from
// the reference file into a ConfigError at that column's key.
func (c *Config) missingColumnError(name string, err error) error {
	dc := c.Datasets[name]
	p := "datasets." + name + ".column_mapping."
	for kind, cols := range map[string][]string{"numerical_features": dc.ColumnMapping.NumericalFeatures, "categorical_features": dc.ColumnMapping.CategoricalFeatures} {
		for i, col := range cols {
			if strings.Contains(err.Error(), fmt.Sprintf("no column %q", col)) {
				ce := c.errf(fmt.Sprintf("%s%s[%d]", p, kind, i), "column %q is not in the reference %s", col, c.ReferencePath(name))
				return errors.Join(ce, err)
			}
		}
	}
	return err
}

// gridRows is the number of a time-bounded window's newest rows that is compared
// with the reference: the largest round(2^(i/16)) <= n (steps of 4.4%), so that the
// calibrations of a window whose size changes every period are few and cached.
func gridRows(n int) int {
	if n < 32 {
		return n
	}
	g := 1
	for i := 0; ; i++ {
		v := int(math.Round(math.Pow(2, float64(i)/16)))
		if v > n {
			return g
		}
		g = v
	}
}

// isPValueTest reports whether a test's drift score is its p-value (unknown tests:
// assumed so, as before calibration).
func isPValueTest(test string) bool {
	info, ok := drift.Info(test)
	return !ok || info.PValue
}
