package estimate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/modelmon/modelmon/internal/model"
)

// Losses a nanny predicts, per row, with error e = prediction - target (the sign of
// the project's regression metrics: ME > 0 means the model overestimates).
const (
	LossAbs     = "abs_error"     // |e|: the mean is the MAE
	LossSquared = "squared_error" // e²: the square root of the mean is the RMSE
	LossSigned  = "error"         // e: the mean is the ME
)

var losses = []string{LossAbs, LossSquared, LossSigned}

func loss(kind string, e float64) float64 {
	switch kind {
	case LossAbs:
		return math.Abs(e)
	case LossSquared:
		return e * e
	default:
		return e
	}
}

// Nanny is one fitted loss model.
type Nanny struct {
	Loss string `json:"loss"`
	GBT
	flat *flat // compiled by Bind
}

// Reference describes the labelled data the estimator was trained on and holds the
// sampling-error components of its per-row losses (NannyML's
// sampling_error/regression.py): population standard deviations of |e|, e² and e,
// and the mean of e².
type Reference struct {
	File      string  `json:"file"`
	SHA256    string  `json:"sha256"`
	Rows      int     `json:"rows"`
	RMSE      float64 `json:"rmse"`
	MAE       float64 `json:"mae"`
	ME        float64 `json:"me"`
	StdAbs    float64 `json:"std_abs_error"`
	StdSq     float64 `json:"std_squared_error"`
	MeanSq    float64 `json:"mean_squared_error"`
	StdSigned float64 `json:"std_error"`
}

// Interval is a closed band [Lower, Upper].
type Interval struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Contains reports Lower <= v <= Upper.
func (b Interval) Contains(v float64) bool { return v >= b.Lower && v <= b.Upper }

// Metrics are the three regression metrics, in the target's unit (minutes).
type Metrics struct {
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	ME   float64 `json:"me"`
}

// Bands holds one band per metric.
type Bands struct {
	RMSE Interval `json:"rmse"`
	MAE  Interval `json:"mae"`
	ME   Interval `json:"me"`
}

// Result is the estimate for one window of records.
type Result struct {
	Rows int `json:"rows"`
	Metrics
	// Band is the estimate ± BandSigmas standard errors of the metric over Rows rows,
	// the standard errors taken from the reference's per-row losses (NannyML's
	// sampling error): std(|e|)/√n for the MAE, std(e)/√n for the ME, and by the
	// delta method √(var(e²) / (4 n mean(e²))) for the RMSE. It is the band of
	// sampling variability, not of the nanny's own error.
	Band Bands `json:"band"`
	// Sigma holds the standard errors the band is made of.
	Sigma Metrics `json:"sigma"`
	// UnknownZoneRows have a pickup or dropoff zone id absent from the reference
	// (or below 1); the nannies route them with the missing values.
	UnknownZoneRows int `json:"unknown_zone_rows"`
	// PUDOUnknownRows have a pickup-dropoff pair the model never saw in training.
	PUDOUnknownRows int `json:"pu_do_unknown_rows"`
}

// BandSigmas is the half-width of the bands in standard errors (NannyML's default).
const BandSigmas = 3

// Sigma returns the standard errors of the metrics over n rows (see Result.Band).
func (r *Reference) Sigma(n int) Metrics {
	sn := math.Sqrt(float64(n))
	s := Metrics{MAE: r.StdAbs / sn, ME: r.StdSigned / sn}
	if r.MeanSq > 0 {
		s.RMSE = math.Sqrt(r.StdSq * r.StdSq / (4 * float64(n) * r.MeanSq))
	}
	return s
}

func bands(m, s Metrics) Bands {
	iv := func(v, s float64) Interval { return Interval{v - BandSigmas*s, v + BandSigmas*s} }
	b := Bands{RMSE: iv(m.RMSE, s.RMSE), MAE: iv(m.MAE, s.MAE), ME: iv(m.ME, s.ME)}
	b.RMSE.Lower = math.Max(b.RMSE.Lower, 0)
	b.MAE.Lower = math.Max(b.MAE.Lower, 0)
	return b
}

// ReferenceBand is the band of the reference's realized metrics at window size n:
// what a window drawn from the reference's population would show. An estimate
// outside it says the model's performance has changed (the alert rule).
func (e *Estimator) ReferenceBand(n int) Bands { return e.Reference.Band(n) }

// Band is the band of the reference's realized metrics at window size n
// (Estimator.ReferenceBand).
func (r *Reference) Band(n int) Bands {
	return bands(Metrics{RMSE: r.RMSE, MAE: r.MAE, ME: r.ME}, r.Sigma(n))
}

// Realized computes RMSE, MAE and ME of predictions against targets.
func Realized(recs []Record, y []float64) Metrics {
	var sa, ss, se float64
	for i := range recs {
		e := recs[i].Prediction - y[i]
		sa += math.Abs(e)
		ss += e * e
		se += e
	}
	n := float64(len(recs))
	return Metrics{RMSE: math.Sqrt(ss / n), MAE: sa / n, ME: se / n}
}

// DefaultParams are the nanny hyperparameters used by train-estimator.
var DefaultParams = GBTParams{
	Trees:        200,
	LearningRate: 0.1,
	MaxLeaves:    31,
	MaxDepth:     0,
	MinLeaf:      40,
	Lambda:       1,
	MaxBins:      255,
	MinCatRows:   20,
	CatSmooth:    10,
}

// ErrNoTargets is returned (wrapped) by Train for a reference with no labelled rows.
var ErrNoTargets = errors.New("reference has no rows with a target")

// Train fits the estimator for model m on a labelled reference: recs with their
// targets y (minutes). The reference must be data m did not train on (its
// residuals would be optimistic); Train cannot see that, TrainTaxi checks it.
// The nannies are fitted in parallel, each deterministically.
func Train(ctx context.Context, m *model.Model, recs []Record, y []float64, p GBTParams) (*Estimator, error) {
	if m.Version == "" {
		return nil, errors.New("train estimator: the model has no version (not sealed)")
	}
	if len(recs) != len(y) {
		return nil, fmt.Errorf("train estimator: %d records, %d targets", len(recs), len(y))
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("train estimator: %w", ErrNoTargets)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("train estimator: %w", err)
	}
	raw, err := rawColumns(m, recs)
	if err != nil {
		return nil, fmt.Errorf("train estimator: %w", err)
	}
	binners, err := FitBinners(featureNames[:], featureCategorical[:], raw, p.MaxBins)
	if err != nil {
		return nil, fmt.Errorf("train estimator: %w", err)
	}
	cols := BinColumns(binners, raw)

	errs := make([]float64, len(recs))
	for i := range recs {
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return nil, fmt.Errorf("train estimator: target of row %d is %v", i, y[i])
		}
		errs[i] = recs[i].Prediction - y[i]
	}
	ref := referenceStats(errs)
	ref.Rows = len(recs)

	nannies := make([]Nanny, len(losses))
	fitErrs := make([]error, len(losses))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for j, l := range losses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			target := make([]float64, len(errs))
			for i, e := range errs {
				target[i] = loss(l, e)
			}
			g, err := FitGBT(ctx, binners, cols, target, p)
			if err != nil {
				fitErrs[j] = fmt.Errorf("nanny %s: %w", l, err)
				return
			}
			nannies[j] = Nanny{Loss: l, GBT: *g}
		}()
	}
	wg.Wait()
	if err := errors.Join(fitErrs...); err != nil {
		return nil, fmt.Errorf("train estimator: %w", err)
	}
	e := &Estimator{
		ModelVersion: m.Version,
		Reference:    ref,
		Params:       p,
		Features:     binners,
		Nannies:      nannies,
	}
	if err := e.Seal(); err != nil {
		return nil, err
	}
	if err := e.Bind(m); err != nil {
		return nil, err
	}
	return e, nil
}

func referenceStats(errs []float64) Reference {
	n := float64(len(errs))
	var ma, ms, me float64
	for _, e := range errs {
		ma += math.Abs(e)
		ms += e * e
		me += e
	}
	ma, ms, me = ma/n, ms/n, me/n
	var va, vs, ve float64
	for _, e := range errs {
		d := math.Abs(e) - ma
		va += d * d
		d = e*e - ms
		vs += d * d
		d = e - me
		ve += d * d
	}
	return Reference{
		RMSE: math.Sqrt(ms), MAE: ma, ME: me,
		StdAbs: math.Sqrt(va / n), StdSq: math.Sqrt(vs / n), MeanSq: ms, StdSigned: math.Sqrt(ve / n),
	}
}

// nanny returns the nanny of a loss.
func (e *Estimator) nanny(loss string) *Nanny {
	for i := range e.Nannies {
		if e.Nannies[i].Loss == loss {
			return &e.Nannies[i]
		}
	}
	return nil
}

// ErrEmptyWindow is returned (wrapped) by Estimate for a window without records.
var ErrEmptyWindow = errors.New("no records to estimate")

// Estimate estimates the model's RMSE, MAE and ME over the records (their targets
// are neither needed nor read): the mean over the rows of each nanny's predicted
// loss (the squared-error and absolute-error predictions clipped at 0), the RMSE
// being the square root of the estimated mean squared error.
// Estimate only reads the estimator: concurrent calls are safe.
func (e *Estimator) Estimate(recs []Record) (Result, error) {
	rl, res, err := e.rowLosses(recs)
	if err != nil {
		return Result{}, err
	}
	res.Metrics = rl.mean(nil)
	res.Sigma = e.Reference.Sigma(res.Rows)
	res.Band = bands(res.Metrics, res.Sigma)
	return res, nil
}

// rowLoss holds the nannies' per-row predictions and, per row, whether a zone is
// unknown (Result.UnknownZoneRows) and whether the pair is unknown to the model
// (Result.PUDOUnknownRows).
type rowLoss struct {
	abs, sq, signed          []float64
	unknownZone, pudoUnknown []bool
}

// mean aggregates the rows (all of them when rows is nil) into the estimate.
func (rl *rowLoss) mean(rows []int) Metrics {
	var sa, ss, se float64
	n := len(rows)
	if rows == nil {
		n = len(rl.abs)
		for i := range rl.abs {
			sa += rl.abs[i]
			ss += rl.sq[i]
			se += rl.signed[i]
		}
	} else {
		for _, i := range rows {
			sa += rl.abs[i]
			ss += rl.sq[i]
			se += rl.signed[i]
		}
	}
	fn := float64(n)
	return Metrics{RMSE: math.Sqrt(ss / fn), MAE: sa / fn, ME: se / fn}
}

// rowLosses predicts every record's losses and counts the rows of a Result.
func (e *Estimator) rowLosses(recs []Record) (*rowLoss, Result, error) {
	if e.model == nil {
		return nil, Result{}, errors.New("estimate: estimator not bound to its model (use Load or Bind)")
	}
	if len(recs) == 0 {
		return nil, Result{}, ErrEmptyWindow
	}
	raw, err := rawColumns(e.model, recs)
	if err != nil {
		return nil, Result{}, fmt.Errorf("estimate: %w", err)
	}
	res := Result{Rows: len(recs)}
	abs, sq, signed := e.nanny(LossAbs).flat, e.nanny(LossSquared).flat, e.nanny(LossSigned).flat
	rl := &rowLoss{
		abs: make([]float64, len(recs)), sq: make([]float64, len(recs)), signed: make([]float64, len(recs)),
		unknownZone: make([]bool, len(recs)), pudoUnknown: make([]bool, len(recs)),
	}
	// rows are independent: split large windows over the cores
	workers := min(runtime.GOMAXPROCS(0), 1+len(recs)/8192)
	counts := make([]Result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(recs)/workers, (w+1)*len(recs)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &counts[w]
			bins := make([]uint16, (hi-lo)*numFeatures) // row-major
			for i := lo; i < hi; i++ {
				row := bins[(i-lo)*numFeatures : (i-lo+1)*numFeatures]
				zonesKnown := true
				for f := range row {
					b, known := e.Features[f].Bin(raw[f][i])
					row[f] = b
					if f == featPU || f == featDO {
						zonesKnown = zonesKnown && known
					}
				}
				if !zonesKnown {
					c.UnknownZoneRows++
					rl.unknownZone[i] = true
				}
				if raw[featPUDOKnown][i] == 0 {
					c.PUDOUnknownRows++
					rl.pudoUnknown[i] = true
				}
			}
			abs.predictRows(bins, numFeatures, rl.abs[lo:hi])
			sq.predictRows(bins, numFeatures, rl.sq[lo:hi])
			signed.predictRows(bins, numFeatures, rl.signed[lo:hi])
			for i := lo; i < hi; i++ {
				rl.abs[i] = math.Max(rl.abs[i], 0)
				rl.sq[i] = math.Max(rl.sq[i], 0)
			}
		}()
	}
	wg.Wait()
	for _, c := range counts {
		res.UnknownZoneRows += c.UnknownZoneRows
		res.PUDOUnknownRows += c.PUDOUnknownRows
	}
	return rl, res, nil
}
