package drift

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ColumnOption chooses the test and/or threshold for a set of columns.
// Empty Test keeps the default choice; Threshold <= 0 keeps the test's
// default threshold.
type ColumnOption struct {
	Test      string  `yaml:"stattest" json:"stattest"`
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// Alpha overrides the column's false-alarm rate with Method "calibrated"
	// (0: derived from Options.Alpha, see ColumnAlpha).
	Alpha float64 `yaml:"alpha" json:"alpha,omitempty"`
}

// Options configures Dataset, after Evidently's DataDriftOptions.
//
// For each column the test is PerColumn[name].Test if set, else
// NumStattest/CatStattest.Test for the column's kind if set, else
// DefaultFor(ref, cur). The threshold is chosen in the same order
// (PerColumn, then the kind's option, then the test's default), independently
// of where the test came from, as Evidently does.
type Options struct {
	DriftShare  float64                 `yaml:"drift_share" json:"drift_share"` // 0 -> 0.5
	NumStattest ColumnOption            `yaml:"num_stattest" json:"num_stattest"`
	CatStattest ColumnOption            `yaml:"cat_stattest" json:"cat_stattest"`
	PerColumn   map[string]ColumnOption `yaml:"per_column" json:"per_column"`
	// Method is MethodFixed (or empty: Evidently's fixed thresholds) or
	// MethodCalibrated (thresholds calibrated for the window's size, see
	// calibrated.go).
	Method string `yaml:"method" json:"method,omitempty"`
	// Alpha is the dataset's false-alarm rate per window with Method
	// "calibrated" (0: DefaultAlpha).
	Alpha float64 `yaml:"alpha" json:"alpha,omitempty"`
	// Calibrator caches the calibrations (nil: DefaultCalibrator).
	Calibrator *Calibrator `yaml:"-" json:"-"`
	// SkipUndefined leaves out (DatasetResult.Skipped, with the reason) a column
	// whose test is undefined for its data (ErrTooSmall, ErrUndefined: e.g.
	// anderson on one repeated value) instead of failing the whole dataset; the
	// share of drifted columns is then over the tested ones.
	SkipUndefined bool `yaml:"-" json:"-"`
}

// Validate checks test names (an unknown name is reported by name), that
// the per-kind tests suit their kind, and that thresholds and the drift
// share are finite and non-negative (the share at most 1).
func (o Options) Validate() error {
	if math.IsNaN(o.DriftShare) || o.DriftShare < 0 || o.DriftShare > 1 {
		return fmt.Errorf("drift_share %v outside [0, 1]", o.DriftShare)
	}
	check := func(where string, c ColumnOption, kind Kind, checkKind bool) error {
		if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) || c.Threshold < 0 {
			return fmt.Errorf("%s: invalid threshold %v", where, c.Threshold)
		}
		if c.Test == "" {
			return nil
		}
		info, err := lookup(c.Test)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if checkKind && !allows(info, kind) {
			return fmt.Errorf("%s: %s is not applicable to %v columns: %w", where, info.Name, kind, ErrKind)
		}
		return nil
	}
	if err := o.validateCalibration(); err != nil {
		return err
	}
	if err := check("num_stattest", o.NumStattest, Numerical, true); err != nil {
		return err
	}
	if err := check("cat_stattest", o.CatStattest, Categorical, true); err != nil {
		return err
	}
	for name, c := range o.PerColumn {
		if err := check(fmt.Sprintf("per_column[%q]", name), c, Numerical, false); err != nil {
			return err
		}
	}
	return nil
}

func allows(info TestInfo, k Kind) bool {
	if k == Numerical {
		return info.Numerical
	}
	return info.Categorical
}

// ColumnResult is the drift result of one column.
type ColumnResult struct {
	Name string `json:"-"`
	Type string `json:"type"` // "numerical" | "categorical"
	Result
}

// MarshalJSON encodes the column type with the result fields (a non-finite
// statistic as null, see Result.MarshalJSON).
func (c ColumnResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type string `json:"type"`
		resultJSON
	}{c.Type, c.Result.toJSON()})
}

// DatasetResult summarises drift over columns.
type DatasetResult struct {
	DatasetDrift bool           `json:"dataset_drift"`
	ShareDrifted float64        `json:"share_drifted_columns"`
	Drifted      int            `json:"drifted_columns"`
	Columns      []ColumnResult `json:"-"`
	// Skipped names the columns left out by Options.SkipUndefined, with why.
	Skipped map[string]string `json:"skipped,omitempty"`
	// Method and Alpha are set with Method "calibrated": the dataset's
	// false-alarm rate per window that the column alphas guarantee.
	Method string  `json:"method,omitempty"`
	Alpha  float64 `json:"alpha,omitempty"`
}

// Dataset runs one drift test per named column (in the order of names) and
// declares dataset drift when the share of drifted columns is at least
// opts.DriftShare (0.5 if 0), as Evidently's DatasetDriftMetric. Every name
// must be present in both maps with the same kind. Explicitly chosen tests
// must suit the column kind as Evidently requires (e.g. "ks" only on
// numerical, "chisquare" only on categorical columns); the default choice
// may apply categorical tests to low-cardinality numerical columns.
// The first failing column aborts with an error naming it.
func Dataset(names []string, ref, cur map[string]Column, opts Options) (DatasetResult, error) {
	if err := opts.Validate(); err != nil {
		return DatasetResult{}, fmt.Errorf("drift options: %w", err)
	}
	if len(names) == 0 {
		return DatasetResult{}, fmt.Errorf("dataset drift: no columns: %w", ErrEmpty)
	}
	share := opts.DriftShare
	if share == 0 {
		share = 0.5
	}
	out := DatasetResult{Columns: make([]ColumnResult, 0, len(names))}
	cal := opts.calibration(len(names), share)
	if cal != nil {
		out.Method, out.Alpha = MethodCalibrated, cal.alpha
	}
	for _, name := range names {
		r, ok := ref[name]
		if !ok {
			return DatasetResult{}, fmt.Errorf("column %q: missing from reference", name)
		}
		c, ok := cur[name]
		if !ok {
			return DatasetResult{}, fmt.Errorf("column %q: missing from current", name)
		}
		if r.Kind != c.Kind {
			return DatasetResult{}, fmt.Errorf("column %q: reference is %v but current is %v", name, r.Kind, c.Kind)
		}
		test, threshold, err := opts.choose(name, r, c)
		if err != nil {
			return DatasetResult{}, fmt.Errorf("column %q: %w", name, err)
		}
		res, err := Run(test, r, c, threshold)
		if err != nil && opts.SkipUndefined && (errors.Is(err, ErrTooSmall) || errors.Is(err, ErrUndefined)) {
			if out.Skipped == nil {
				out.Skipped = map[string]string{}
			}
			out.Skipped[name] = err.Error()
			continue
		}
		if err != nil {
			return DatasetResult{}, fmt.Errorf("column %q: %w", name, err)
		}
		if cal != nil {
			if err := cal.apply(&res, r, c, opts.PerColumn[name].Alpha); err != nil {
				return DatasetResult{}, fmt.Errorf("column %q: %w", name, err)
			}
		}
		if res.Drifted {
			out.Drifted++
		}
		out.Columns = append(out.Columns, ColumnResult{Name: name, Type: r.Kind.String(), Result: res})
	}
	if tested := len(out.Columns); tested > 0 {
		out.ShareDrifted = float64(out.Drifted) / float64(tested)
		out.DatasetDrift = out.ShareDrifted >= share
	}
	return out, nil
}

// choose resolves the test and threshold of one column.
func (o Options) choose(name string, ref, cur Column) (string, float64, error) {
	kindOpt := o.NumStattest
	if ref.Kind == Categorical {
		kindOpt = o.CatStattest
	}
	per := o.PerColumn[name]
	test := per.Test
	if test == "" {
		test = kindOpt.Test
	}
	threshold := per.Threshold
	if threshold <= 0 {
		threshold = kindOpt.Threshold
	}
	if test == "" {
		def, defThreshold := DefaultFor(ref, cur)
		if threshold <= 0 {
			threshold = defThreshold
		}
		return def, threshold, nil
	}
	info, err := lookup(test)
	if err != nil {
		return "", 0, err
	}
	if !allows(info, ref.Kind) {
		return "", 0, fmt.Errorf("%s is not applicable to %v columns: %w", info.Name, ref.Kind, ErrKind)
	}
	if threshold <= 0 {
		threshold = info.DefaultThreshold
	}
	return info.Name, threshold, nil
}
