package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Format and FormatVersion identify a profile document. A document of another
// format or version is refused (ErrVersion): a profile is never read with a
// layout it was not written with.
const (
	Format        = "modelmon-profile"
	FormatVersion = 1
)

var (
	// ErrVersion is wrapped when a document has another format or format_version.
	ErrVersion = errors.New("profile format version not supported")
	// ErrIncompatible is wrapped when two profiles cannot merge (different
	// columns or sketch accuracy).
	ErrIncompatible = errors.New("profiles cannot be merged")
)

// Profile is the mergeable summary of a set of rows of one dataset:
//
//   - per numerical feature and for the prediction (report.PredictionColumn), a
//     metrics.NumSummary: present/missing counts, count, mean and M2, min and
//     max (exact up to rounding), and an exact value table up to
//     metrics.ExactLimit distinct values, beyond it a DDSketch (α = 0.5%);
//   - per categorical feature, a metrics.CatSummary: exact counts per category
//     and the missing count;
//   - for the rows with a known target in the dataset's domain, a
//     metrics.RegressionSummary: moments of e, |e|, e², the target (R2) and the
//     absolute percentage error, max |e| and a sketch of the errors.
//
// Merge adds profiles: counts add (exact), moments combine with Chan, Golub &
// LeVeque's formula (exact up to rounding), sketches add bucket counts (the
// merged sketch is the sketch of the union, whatever the order or grouping).
type Profile struct {
	Rows int64
	// PredictionRows is the number of rows with a prediction: Rows or 0 (a
	// dataset has predictions for every row or none, see report.Dataset).
	PredictionRows int64
	Num            map[string]*metrics.NumSummary
	Cat            map[string]*metrics.CatSummary
	Regression     *metrics.RegressionSummary
}

// New returns an empty profile with the columns of cfg.
func New(cfg report.Config) *Profile {
	p := &Profile{Num: map[string]*metrics.NumSummary{}, Cat: map[string]*metrics.CatSummary{}, Regression: metrics.NewRegressionSummary()}
	for _, n := range cfg.NumericalFeatures {
		p.Num[n] = metrics.NewNumSummary()
	}
	p.Num[report.PredictionColumn] = metrics.NewNumSummary()
	for _, n := range cfg.CategoricalFeatures {
		p.Cat[n] = metrics.NewCatSummary()
	}
	return p
}

// FromDataset returns the profile of d's rows (see Add).
func FromDataset(d *report.Dataset, cfg report.Config) (*Profile, error) {
	p := New(cfg)
	if err := p.Add(d, cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Add adds the rows of d: the columns of cfg (a column d lacks is an error),
// the prediction, and (target, prediction) of the rows whose target is valid
// (d.TargetValid; the caller marks only in-domain targets valid, as JoinTarget
// does).
func (p *Profile) Add(d *report.Dataset, cfg report.Config) error {
	if d == nil || d.Rows == 0 {
		return nil
	}
	for _, n := range cfg.NumericalFeatures {
		c, s := d.Numerical[n], p.Num[n]
		if c == nil || s == nil {
			return fmt.Errorf("profile: numerical column %q missing", n)
		}
		if err := s.AddColumn(*c); err != nil {
			return fmt.Errorf("profile: column %q: %w", n, err)
		}
	}
	for _, n := range cfg.CategoricalFeatures {
		c, s := d.Categorical[n], p.Cat[n]
		if c == nil || s == nil {
			return fmt.Errorf("profile: categorical column %q missing", n)
		}
		if err := s.AddColumn(*c); err != nil {
			return fmt.Errorf("profile: column %q: %w", n, err)
		}
	}
	if d.Prediction != nil {
		if len(d.Prediction) != d.Rows {
			return fmt.Errorf("profile: %d predictions for %d rows", len(d.Prediction), d.Rows)
		}
		ps := p.Num[report.PredictionColumn]
		for _, v := range d.Prediction {
			ps.Add(v)
		}
		p.PredictionRows += int64(d.Rows)
	}
	if d.Prediction != nil && d.Target != nil {
		var ys, ps []float64
		for i := range d.Rows {
			if d.TargetValid == nil || d.TargetValid[i] {
				ys, ps = append(ys, d.Target[i]), append(ps, d.Prediction[i])
			}
		}
		if err := p.Regression.AddBatch(ys, ps); err != nil {
			return fmt.Errorf("profile: regression: %w", err)
		}
	}
	p.Rows += int64(d.Rows)
	return nil
}

// Merge adds o into p (o is unchanged). Both must have the same columns.
func (p *Profile) Merge(o *Profile) error {
	if o == nil {
		return nil
	}
	if !sameKeys(p.Num, o.Num) || !sameKeys(p.Cat, o.Cat) {
		return fmt.Errorf("profile: columns %v %v vs %v %v: %w", keys(p.Num), keys(p.Cat), keys(o.Num), keys(o.Cat), ErrIncompatible)
	}
	for n, s := range o.Num {
		if err := p.Num[n].Merge(s); err != nil {
			return fmt.Errorf("profile: column %q: %w: %w", n, ErrIncompatible, err)
		}
	}
	for n, s := range o.Cat {
		p.Cat[n].Merge(s)
	}
	if err := p.Regression.Merge(o.Regression); err != nil {
		return fmt.Errorf("profile: regression: %w: %w", ErrIncompatible, err)
	}
	p.Rows += o.Rows
	p.PredictionRows += o.PredictionRows
	return nil
}

func sameKeys[V any](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// document is a profile on the wire (JSON).
type document struct {
	Format         string                         `json:"format"`
	FormatVersion  int                            `json:"format_version"`
	Rows           int64                          `json:"rows"`
	PredictionRows int64                          `json:"prediction_rows"`
	Num            map[string]*metrics.NumSummary `json:"numerical"`
	Cat            map[string]*metrics.CatSummary `json:"categorical"`
	Regression     *metrics.RegressionSummary     `json:"regression"`
}

// Marshal encodes p as a versioned JSON document (Format, FormatVersion).
func (p *Profile) Marshal() ([]byte, error) {
	b, err := json.Marshal(document{Format, FormatVersion, p.Rows, p.PredictionRows, p.Num, p.Cat, p.Regression})
	if err != nil {
		return nil, fmt.Errorf("profile: encode: %w", err)
	}
	return b, nil
}

// Unmarshal decodes and checks a document written by Marshal. A document of
// another format or version wraps ErrVersion; inconsistent counts are an error.
func Unmarshal(b []byte) (*Profile, error) {
	var head struct {
		Format        string `json:"format"`
		FormatVersion int    `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("profile: decode: %w", err)
	}
	if head.Format != Format || head.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("profile: document is format %q version %d, this build reads %q version %d (written by another modelmon version: run the window again): %w",
			head.Format, head.FormatVersion, Format, FormatVersion, ErrVersion)
	}
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("profile: decode: %w", err)
	}
	if d.Regression == nil || d.Num == nil || d.Cat == nil || d.Num[report.PredictionColumn] == nil {
		return nil, fmt.Errorf("profile: decode: numerical, categorical, prediction or regression summary missing")
	}
	if d.Rows < 0 || (d.PredictionRows != 0 && d.PredictionRows != d.Rows) || d.Num[report.PredictionColumn].N()+d.Num[report.PredictionColumn].NonFinite() != d.PredictionRows {
		return nil, fmt.Errorf("profile: decode: rows %d, prediction rows %d do not agree", d.Rows, d.PredictionRows)
	}
	for n, s := range d.Num {
		if s == nil {
			return nil, fmt.Errorf("profile: decode: column %q is null", n)
		}
		if n != report.PredictionColumn && s.N()+s.Missing()+s.NonFinite() != d.Rows {
			return nil, fmt.Errorf("profile: decode: column %q counts %d values for %d rows", n, s.N()+s.Missing()+s.NonFinite(), d.Rows)
		}
	}
	for n, s := range d.Cat {
		if s == nil || s.N()+s.Missing() != d.Rows {
			return nil, fmt.Errorf("profile: decode: column %q does not count %d rows", n, d.Rows)
		}
	}
	if d.Regression.N() > d.PredictionRows {
		return nil, fmt.Errorf("profile: decode: %d regression rows for %d rows", d.Regression.N(), d.Rows)
	}
	return &Profile{Rows: d.Rows, PredictionRows: d.PredictionRows, Num: d.Num, Cat: d.Cat, Regression: d.Regression}, nil
}
