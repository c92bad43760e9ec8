package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/modelmon/modelmon/internal/estimate"
	"github.com/modelmon/modelmon/internal/metrics"
	"github.com/modelmon/modelmon/internal/report"
)

// Format and FormatVersion identify a profile document. A document of another
// format or version is refused (ErrVersion): a profile is never read with a
// layout it was not written with.
// Version 2 added the segments' sub-profiles and the estimate's loss sums.
const (
	Format        = "modelmon-profile"
	FormatVersion = 2
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
// With AddLabeled, also:
//
//   - per segmentation and segment label, the profile of the rows in that
//     segment (Segments; labels are bounded: boroughs, hour bands);
//   - the performance estimator's predicted losses summed (Estimate), in the
//     profile and in each segment's.
//
// Merge adds profiles: counts add (exact), moments combine with Chan, Golub &
// LeVeque's formula (exact up to rounding), sketches add bucket counts (the
// merged sketch is the sketch of the union, whatever the order or grouping),
// segments add label by label, loss sums add.
type Profile struct {
	Rows int64
	// PredictionRows is the number of rows with a prediction: Rows or 0 (a
	// dataset has predictions for every row or none, see report.Dataset).
	PredictionRows int64
	Num            map[string]*metrics.NumSummary
	Cat            map[string]*metrics.CatSummary
	Regression     *metrics.RegressionSummary
	// Estimate holds the estimator's loss sums of the rows; nil: not estimated.
	Estimate *Estimate
	// Segments holds, by segmentation name and segment label, the profile of
	// the rows in that segment (with its own Estimate, without Segments); every
	// row is in one segment of each segmentation (report.UnknownSegment when it
	// has no label). nil: not segmented.
	Segments map[string]map[string]*Profile
}

// Estimate is what a profile keeps of the performance estimator's per-row
// predicted losses (internal/estimate): their sums over the rows that can be
// estimated (report.EstimateRecordRows: the others are the profile's Rows -
// Sums.Rows), the estimator's identity and its reference's sampling-error
// components, so that the band at the merged row count needs no estimator.
type Estimate struct {
	estimate.Sums
	EstimatorVersion string             `json:"estimator_version"`
	ModelVersion     string             `json:"model_version"`
	Reference        estimate.Reference `json:"reference"`
}

// header is e without its sums: the estimate of no row by the same estimator.
func (e *Estimate) header() *Estimate {
	if e == nil {
		return nil
	}
	h := *e
	h.Sums = estimate.Sums{}
	return &h
}

// sameEstimator reports whether a and b come from the same estimator (or both are nil).
func sameEstimator(a, b *Estimate) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.EstimatorVersion == b.EstimatorVersion && a.ModelVersion == b.ModelVersion && a.Reference == b.Reference
}

func (e *Estimate) String() string {
	if e == nil {
		return "no estimator"
	}
	return "estimator " + e.EstimatorVersion
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
// does). A profile with segments or an estimate takes rows by AddLabeled only.
func (p *Profile) Add(d *report.Dataset, cfg report.Config) error {
	if d == nil || d.Rows == 0 {
		return nil
	}
	if p.Segments != nil || p.Estimate != nil {
		return errors.New("profile: a profile with segments or an estimate takes rows by AddLabeled")
	}
	return p.add(d, cfg)
}

// AddLabeled adds the rows of d as Add does, and each row to the sub-profile of
// its segment in every segmentation (labels: by segmentation name, one label
// per row of d); with est, the rows' predicted losses (report.EstimateRecordRows,
// estimate.Estimator.Losses) to the loss sums of the profile and of the row's
// segments. The segmentations and the estimator are those of the first rows
// added: later rows with others are an error.
func (p *Profile) AddLabeled(d *report.Dataset, cfg report.Config, labels map[string][]string, est *estimate.Estimator) error {
	if d == nil || d.Rows == 0 {
		return nil
	}
	var head *Estimate
	if est != nil {
		head = &Estimate{EstimatorVersion: est.Version, ModelVersion: est.ModelVersion, Reference: est.Reference}
	}
	if p.Rows == 0 && p.Segments == nil && p.Estimate == nil {
		p.Estimate = head.header()
		if len(labels) > 0 {
			p.Segments = make(map[string]map[string]*Profile, len(labels))
			for name := range labels {
				p.Segments[name] = map[string]*Profile{}
			}
		}
	}
	if !sameKeys(p.Segments, labels) || !sameEstimator(p.Estimate, head) {
		return fmt.Errorf("profile: rows segmented by %v with %v added to a profile segmented by %v with %v: %w",
			keys(labels), head, keys(p.Segments), p.Estimate, ErrIncompatible)
	}
	for name, l := range labels {
		if len(l) != d.Rows {
			return fmt.Errorf("profile: segmentation %q: %d labels for %d rows", name, len(l), d.Rows)
		}
	}
	// recOf[i] is row i's record in losses, -1 for a row that cannot be estimated.
	var losses *estimate.Losses
	var recOf []int
	if est != nil {
		recs, rows, _, err := report.EstimateRecordRows(d)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		recOf = make([]int, d.Rows)
		for i := range recOf {
			recOf[i] = -1
		}
		for k, i := range rows {
			recOf[i] = k
		}
		if len(recs) > 0 {
			if losses, err = est.Losses(recs); err != nil {
				return fmt.Errorf("profile: %w", err)
			}
		}
	}
	addLosses := func(s *Estimate, rows []int) {
		if losses == nil {
			return
		}
		if rows == nil {
			for k := range losses.Len() {
				losses.AddTo(&s.Sums, k)
			}
			return
		}
		for _, i := range rows {
			if k := recOf[i]; k >= 0 {
				losses.AddTo(&s.Sums, k)
			}
		}
	}
	if err := p.add(d, cfg); err != nil {
		return err
	}
	addLosses(p.Estimate, nil)
	for name, l := range labels {
		for label, rows := range report.GroupRows(l) {
			sub := p.Segments[name][label]
			if sub == nil {
				sub = New(cfg)
				sub.Estimate = head.header() // a copy per segment
				p.Segments[name][label] = sub
			}
			if err := sub.add(report.SubsetRows(d, rows), cfg); err != nil {
				return fmt.Errorf("segment %s=%s: %w", name, label, err)
			}
			addLosses(sub.Estimate, rows)
		}
	}
	return nil
}

func (p *Profile) add(d *report.Dataset, cfg report.Config) error {
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
	if p.Rows > 0 && o.Rows > 0 && (!sameKeys(p.Segments, o.Segments) || !sameEstimator(p.Estimate, o.Estimate)) {
		return fmt.Errorf("profile: segmented by %v with %v vs by %v with %v (the workers must share the dataset's segments and ESTIMATOR_PATH): %w",
			keys(p.Segments), p.Estimate, keys(o.Segments), o.Estimate, ErrIncompatible)
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
	if err := p.mergeParts(o); err != nil {
		return err
	}
	p.Rows += o.Rows
	p.PredictionRows += o.PredictionRows
	return nil
}

// mergeParts merges the loss sums and the segments of o (called before the row
// counts add). A profile of no rows takes the other's segmentations and
// estimator; otherwise both have the same (checked by Merge before it changes p).
func (p *Profile) mergeParts(o *Profile) error {
	switch {
	case o.Rows == 0:
		return nil
	case p.Rows == 0:
		p.Estimate = o.Estimate.header()
		p.Segments = nil
		if o.Segments != nil {
			p.Segments = make(map[string]map[string]*Profile, len(o.Segments))
			for name := range o.Segments {
				p.Segments[name] = map[string]*Profile{}
			}
		}
	}
	if p.Estimate != nil {
		p.Estimate.Sums.Add(o.Estimate.Sums)
	}
	for name, seg := range o.Segments {
		for label, s := range seg {
			sub := p.Segments[name][label]
			if sub == nil {
				sub = emptyLike(s)
				p.Segments[name][label] = sub
			}
			if err := sub.Merge(s); err != nil {
				return fmt.Errorf("segment %s=%s: %w", name, label, err)
			}
		}
	}
	return nil
}

// emptyLike is a profile of no rows with o's columns and estimator.
func emptyLike(o *Profile) *Profile {
	p := &Profile{Num: map[string]*metrics.NumSummary{}, Cat: map[string]*metrics.CatSummary{}, Regression: metrics.NewRegressionSummary(), Estimate: o.Estimate.header()}
	for n := range o.Num {
		p.Num[n] = metrics.NewNumSummary()
	}
	for n := range o.Cat {
		p.Cat[n] = metrics.NewCatSummary()
	}
	return p
}

func sameKeys[A, B any](a map[string]A, b map[string]B) bool {
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

// document is a profile on the wire (JSON): a body with its format.
type document struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`
	body
}

// body is a profile's content; a segment's sub-profile is a body.
type body struct {
	Rows           int64                          `json:"rows"`
	PredictionRows int64                          `json:"prediction_rows"`
	Num            map[string]*metrics.NumSummary `json:"numerical"`
	Cat            map[string]*metrics.CatSummary `json:"categorical"`
	Regression     *metrics.RegressionSummary     `json:"regression"`
	Estimate       *Estimate                      `json:"estimate,omitempty"`
	Segments       map[string]map[string]*body    `json:"segments,omitempty"`
}

func (p *Profile) body() *body {
	b := &body{p.Rows, p.PredictionRows, p.Num, p.Cat, p.Regression, p.Estimate, nil}
	if p.Segments != nil {
		b.Segments = make(map[string]map[string]*body, len(p.Segments))
		for name, seg := range p.Segments {
			b.Segments[name] = make(map[string]*body, len(seg))
			for label, s := range seg {
				b.Segments[name][label] = s.body()
			}
		}
	}
	return b
}

// Marshal encodes p as a versioned JSON document (Format, FormatVersion).
func (p *Profile) Marshal() ([]byte, error) {
	b, err := json.Marshal(document{Format, FormatVersion, *p.body()})
	if err != nil {
		return nil, fmt.Errorf("profile: encode: %w", err)
	}
	return b, nil
}

// Unmarshal decodes and checks a document written by Marshal. A document of
// another format or version wraps ErrVersion; inconsistent counts are an error
// (in a segment too; the segments of a segmentation must count every row).
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
	p, err := d.body.profile()
	if err != nil {
		return nil, fmt.Errorf("profile: decode: %w", err)
	}
	if d.Segments == nil {
		return p, nil
	}
	p.Segments = make(map[string]map[string]*Profile, len(d.Segments))
	for name, seg := range d.Segments {
		p.Segments[name] = make(map[string]*Profile, len(seg))
		var rows int64
		for label, sb := range seg {
			if sb == nil {
				return nil, fmt.Errorf("profile: decode: segment %s=%s is null", name, label)
			}
			s, err := sb.profile()
			if err != nil {
				return nil, fmt.Errorf("profile: decode: segment %s=%s: %w", name, label, err)
			}
			switch {
			case sb.Segments != nil:
				return nil, fmt.Errorf("profile: decode: segment %s=%s has segments", name, label)
			case s.Rows == 0:
				return nil, fmt.Errorf("profile: decode: segment %s=%s has no rows", name, label)
			case !sameKeys(s.Num, p.Num) || !sameKeys(s.Cat, p.Cat):
				return nil, fmt.Errorf("profile: decode: segment %s=%s has other columns", name, label)
			case !sameEstimator(s.Estimate, p.Estimate):
				return nil, fmt.Errorf("profile: decode: segment %s=%s has %v, the profile %v", name, label, s.Estimate, p.Estimate)
			}
			rows += s.Rows
			p.Segments[name][label] = s
		}
		if rows != p.Rows {
			return nil, fmt.Errorf("profile: decode: the segments of %q count %d rows of %d", name, rows, p.Rows)
		}
	}
	return p, nil
}

// profile checks a body's counts and returns it as a Profile without segments.
func (d *body) profile() (*Profile, error) {
	if d.Regression == nil || d.Num == nil || d.Cat == nil || d.Num[report.PredictionColumn] == nil {
		return nil, fmt.Errorf("numerical, categorical, prediction or regression summary missing")
	}
	if d.Rows < 0 || (d.PredictionRows != 0 && d.PredictionRows != d.Rows) || d.Num[report.PredictionColumn].N()+d.Num[report.PredictionColumn].NonFinite() != d.PredictionRows {
		return nil, fmt.Errorf("rows %d, prediction rows %d do not agree", d.Rows, d.PredictionRows)
	}
	for n, s := range d.Num {
		if s == nil {
			return nil, fmt.Errorf("column %q is null", n)
		}
		if n != report.PredictionColumn && s.N()+s.Missing()+s.NonFinite() != d.Rows {
			return nil, fmt.Errorf("column %q counts %d values for %d rows", n, s.N()+s.Missing()+s.NonFinite(), d.Rows)
		}
	}
	for n, s := range d.Cat {
		if s == nil || s.N()+s.Missing() != d.Rows {
			return nil, fmt.Errorf("column %q does not count %d rows", n, d.Rows)
		}
	}
	if d.Regression.N() > d.PredictionRows {
		return nil, fmt.Errorf("%d regression rows for %d rows", d.Regression.N(), d.Rows)
	}
	if e := d.Estimate; e != nil {
		if err := e.Sums.Check(); err != nil {
			return nil, err
		}
		if e.Sums.Rows > d.PredictionRows {
			return nil, fmt.Errorf("%d estimated rows for %d rows with a prediction", e.Sums.Rows, d.PredictionRows)
		}
	}
	return &Profile{Rows: d.Rows, PredictionRows: d.PredictionRows, Num: d.Num, Cat: d.Cat, Regression: d.Regression, Estimate: d.Estimate}, nil
}
