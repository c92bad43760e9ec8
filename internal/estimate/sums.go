package estimate

import (
	"errors"
	"fmt"
	"math"
)

// Sums are the nannies' predicted losses of a set of records added up, with the
// set's row counts: the mergeable form of an estimate. The sums of disjoint sets
// add (Add), and Reference.Result turns them into the estimate of their union:
// Estimate's result for the same records, up to the order of summation (the
// metrics are means of per-row losses, so nothing else is needed).
type Sums struct {
	Rows            int64   `json:"rows"`
	Abs             float64 `json:"sum_abs_error"`
	Sq              float64 `json:"sum_squared_error"`
	Signed          float64 `json:"sum_error"`
	UnknownZoneRows int64   `json:"unknown_zone_rows"`
	PUDOUnknownRows int64   `json:"pu_do_unknown_rows"`
}

// Add adds o into s.
func (s *Sums) Add(o Sums) {
	s.Rows += o.Rows
	s.Abs += o.Abs
	s.Sq += o.Sq
	s.Signed += o.Signed
	s.UnknownZoneRows += o.UnknownZoneRows
	s.PUDOUnknownRows += o.PUDOUnknownRows
}

// Check refuses sums no set of records gives: negative counts, counts above
// Rows, non-finite sums, negative sums of |e| or e² (the nannies' predictions of
// those are clipped at 0).
func (s Sums) Check() error {
	switch {
	case s.Rows < 0 || s.UnknownZoneRows < 0 || s.PUDOUnknownRows < 0 || s.UnknownZoneRows > s.Rows || s.PUDOUnknownRows > s.Rows:
		return fmt.Errorf("estimate sums: counts rows %d, unknown zone %d, unknown pair %d", s.Rows, s.UnknownZoneRows, s.PUDOUnknownRows)
	case !finite(s.Abs) || !finite(s.Sq) || !finite(s.Signed) || s.Abs < 0 || s.Sq < 0:
		return fmt.Errorf("estimate sums: sums %v, %v, %v", s.Abs, s.Sq, s.Signed)
	case s.Rows == 0 && (s.Abs != 0 || s.Sq != 0 || s.Signed != 0):
		return errors.New("estimate sums: losses without rows")
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Losses are the nannies' predicted losses of each of a slice of records
// (Estimator.Losses).
type Losses struct{ rl *rowLoss }

// Len is the number of records.
func (l *Losses) Len() int { return len(l.rl.abs) }

// AddTo adds the losses and flags of record i to s.
func (l *Losses) AddTo(s *Sums, i int) {
	s.Rows++
	s.Abs += l.rl.abs[i]
	s.Sq += l.rl.sq[i]
	s.Signed += l.rl.signed[i]
	if l.rl.unknownZone[i] {
		s.UnknownZoneRows++
	}
	if l.rl.pudoUnknown[i] {
		s.PUDOUnknownRows++
	}
}

// Losses predicts the losses of every record (as Estimate does), to be summed by
// group with AddTo. No record: ErrEmptyWindow.
func (e *Estimator) Losses(recs []Record) (*Losses, error) {
	rl, _, err := e.rowLosses(recs)
	if err != nil {
		return nil, err
	}
	return &Losses{rl}, nil
}

// Result is the estimate of the records whose losses s sums: the mean losses,
// the RMSE the square root of the mean e², and the band at s.Rows rows from the
// reference's sampling-error components (Estimate's definitions). No row:
// ErrEmptyWindow.
func (r *Reference) Result(s Sums) (Result, error) {
	if err := s.Check(); err != nil {
		return Result{}, err
	}
	if s.Rows == 0 {
		return Result{}, ErrEmptyWindow
	}
	n := float64(s.Rows)
	res := Result{
		Rows:            int(s.Rows),
		Metrics:         Metrics{RMSE: math.Sqrt(s.Sq / n), MAE: s.Abs / n, ME: s.Signed / n},
		Sigma:           r.Sigma(int(s.Rows)),
		UnknownZoneRows: int(s.UnknownZoneRows),
		PUDOUnknownRows: int(s.PUDOUnknownRows),
	}
	res.Band = bands(res.Metrics, res.Sigma)
	return res, nil
}
